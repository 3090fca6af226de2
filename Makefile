# hoist — the two commands a new user needs are `make run` and `make test`.
GO      ?= go
BIN     := bin/hoist
TOOLS   := $(CURDIR)/.tools/bin
# One version, the git tag: a checkout of tag v1.2.3 builds v1.2.3, a later commit
# v1.2.3-4-g<hash>, uncommitted changes add -dirty; outside a git checkout it is "dev".
VERSION ?= $(shell git describe --tags --always --dirty --match 'v[0-9]*' 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# The image is tagged with the version without its v (v1.2.3 -> 1.2.3), the form the Helm
# chart's appVersion and the kustomize base use.
IMAGE     ?= ghcr.io/hoist-gitops/hoist
IMAGE_TAG ?= $(patsubst v%,%,$(VERSION))
# Packages whose code runs concurrently: tested with the race detector.
RACE_PKGS ?= ./ingest/... ./matcher/... ./committer/... ./internal/bus/... ./cmd/...

# Pinned external programs the tests drive for real (installed from the Go module proxy).
REGISTRY_VERSION   := v3.1.2
CRANE_VERSION      := v0.22.1
NATS_SERVER_VERSION := v2.15.2
HELM_VERSION       := v3.22.0
PROMTOOL_VERSION   := v0.316.0
# Static checkers (staticcheck 2026.1's module version, the first for Go 1.26).
STATICCHECK_VERSION := v0.8.2
DEADCODE_VERSION    := v0.53.0
# cosign signs images in the signature-verification tests (offline, with generated keys).
COSIGN_VERSION     := v3.1.2
# Gitea is the forge of the pull-request tests (internal/testforge). Its module
# cannot be `go install`ed (replace directives), so it is built in its own
# module folder; gitea.root tells the tests where its locale and templates are.
GITEA_VERSION      := v1.27.3

export HOIST_TOOLS := $(TOOLS)

.PHONY: build run test test-deploy test-short bench chaos fuzz fuzz-ci lint vet fmt-check tools image version release clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/hoist

## run: hoist on its embedded NATS against the example GitOps repository, ready for a webhook.
run: build
	./scripts/run-example.sh

## test: everything, including the real-registry and real-git end-to-end tests.
test: tools vet fmt-check lint test-deploy
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -race $(RACE_PKGS)

## test-deploy: Dockerfile, Kubernetes manifests, Helm chart and operations docs (own module: deploy/go.mod).
test-deploy: tools
	cd deploy && $(GO) vet ./... && $(GO) test -count=1 ./...

## test-short: unit tests only, no external programs.
test-short:
	$(GO) test -short ./...

vet:
	$(GO) vet ./...

## lint: staticcheck on both modules, and deadcode -test: a function nothing reaches, not even a
## test, is deleted rather than kept.
lint: $(TOOLS)/staticcheck $(TOOLS)/deadcode
	$(TOOLS)/staticcheck ./...
	cd deploy && $(TOOLS)/staticcheck ./...
	@out=$$($(TOOLS)/deadcode -test ./...); \
	  if [ -n "$$out" ]; then echo "dead code (delete it):"; echo "$$out"; exit 1; fi

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## bench: measure, and write the figures to BENCHMARKS.md.
bench: tools
	HOIST_BENCH_REPORT=$(CURDIR)/BENCHMARKS.md $(GO) test -count=1 -run '^TestBenchReport' -timeout 60m ./...

## chaos: SIGKILL every stage and NATS and take git away mid-burst; every accepted push must land
## exactly once (several minutes, so not part of make test).
chaos: tools
	HOIST_CHAOS=1 $(GO) test -count=1 -run '^TestChaos$$' -timeout 30m -v ./e2e/

## fuzz: run every fuzz target for a short while (FUZZTIME=30s by default).
FUZZTIME ?= 30s
FUZZ_PKGS ?= ./...
fuzz:
	@GO=$(GO) ./scripts/fuzz.sh $(FUZZTIME) $(FUZZ_PKGS)

## fuzz-ci: CI's bounded fuzzing, run by .ci/run after make test: every fuzz target of the YAML
## reader (internal/manifest) and the webhook parsers (ingest) for 10 s each (22 targets: 4 to 7 minutes with their builds).
fuzz-ci:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=10s FUZZ_PKGS="./internal/manifest ./ingest"

## tools: the pinned programs the end-to-end tests run and the static checkers, built into .tools/bin.
tools: $(TOOLS)/registry $(TOOLS)/crane $(TOOLS)/nats-server $(TOOLS)/helm $(TOOLS)/promtool $(TOOLS)/gitea \
	$(TOOLS)/cosign $(TOOLS)/staticcheck $(TOOLS)/deadcode

$(TOOLS)/registry:
	GOBIN=$(TOOLS) $(GO) install github.com/distribution/distribution/v3/cmd/registry@$(REGISTRY_VERSION)
$(TOOLS)/crane:
	GOBIN=$(TOOLS) $(GO) install github.com/google/go-containerregistry/cmd/crane@$(CRANE_VERSION)
$(TOOLS)/nats-server:
	GOBIN=$(TOOLS) $(GO) install github.com/nats-io/nats-server/v2@$(NATS_SERVER_VERSION)
$(TOOLS)/helm:
	GOBIN=$(TOOLS) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
$(TOOLS)/cosign:
	GOBIN=$(TOOLS) $(GO) install github.com/sigstore/cosign/v3/cmd/cosign@$(COSIGN_VERSION)
# promtool checks and unit-tests deploy/monitoring's alerts (a large build: minutes).
$(TOOLS)/promtool:
	GOBIN=$(TOOLS) $(GO) install github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION)
$(TOOLS)/staticcheck:
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
$(TOOLS)/deadcode:
	GOBIN=$(TOOLS) $(GO) install golang.org/x/tools/cmd/deadcode@$(DEADCODE_VERSION)
$(TOOLS)/gitea:
	@mkdir -p $(TOOLS)
	dir=$$($(GO) mod download -json code.gitea.io/gitea@$(GITEA_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	  test -n "$$dir" || { echo "go mod download of gitea $(GITEA_VERSION) failed"; exit 1; }; \
	  (cd "$$dir" && $(GO) build -trimpath -tags 'sqlite sqlite_unlock_notify' \
	    -ldflags '-s -w -X main.Version=$(GITEA_VERSION:v%=%)' -o $(TOOLS)/gitea.tmp .) && \
	  echo "$$dir" > $(TOOLS)/gitea.root && mv $(TOOLS)/gitea.tmp $(TOOLS)/gitea

## image: the container image $(IMAGE):$(IMAGE_TAG) (needs a Docker engine; its build steps
## are `make build`, which gets the version and commit as build arguments: no .git in Docker).
image:
	docker build --build-arg VERSION=$(VERSION) --build-arg REVISION=$(COMMIT) \
	  --build-arg CREATED=$$(date -u +%Y-%m-%dT%H:%M:%SZ) -t $(IMAGE):$(IMAGE_TAG) .

## version: the version, commit and image `make build` and `make image` would use (shell syntax).
version:
	@echo VERSION=$(VERSION)
	@echo COMMIT=$(COMMIT)
	@echo IMAGE=$(IMAGE):$(IMAGE_TAG)

## release: `make release VERSION=v1.2.3` names the release in CHANGELOG.md and writes its version
## into the chart, the kustomize base and the Flux example; then commit, tag and push (it says how).
release:
	@test "$(origin VERSION)" = "command line" || { echo "usage: make release VERSION=vX.Y.Z" >&2; exit 2; }
	./scripts/release.sh $(VERSION)

clean:
	rm -rf bin .tools data
