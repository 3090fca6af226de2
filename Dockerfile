# syntax=docker/dockerfile:1
#
# hoist container image: `make image` (or `docker build --build-arg VERSION=v1.2.3 --build-arg
# REVISION=<commit> .`), tagged ghcr.io/hoist-gitops/hoist:1.2.3.
#
# The build stage runs exactly `make build` — the same target CI runs — so a green
# `make build` proves these steps: CGO_ENABLED=0, -trimpath, -ldflags '-s -w -X main.version=...'.
# The build context has no .git (.dockerignore), so the version (the git tag, `git describe
# --tags`) and the commit come in as build arguments; without them the binary says "dev".
#
# Runtime: distroless "static" as the non-root user 65532. No shell, no package manager and
# no git binary. hoist does not need git for its job: cloning, fetching, committing, OpenPGP and
# SSH signing and pushing over http(s):// and ssh:// all happen in-process (go-git and
# golang.org/x/crypto). The one exception is a repository URL that is a local path or file://:
# go-git hands those to the `git-upload-pack`/`git-receive-pack` programs. For that (rare on
# Kubernetes) case build the `with-git` target: `docker build --target with-git .`.
#
# No HEALTHCHECK: Kubernetes probes /healthz and /readyz (see deploy/); Docker users can
# `curl http://host:8080/healthz`.

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Dependencies first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=""
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    make build VERSION=${VERSION} COMMIT=${REVISION} \
 && ./bin/hoist version \
 && mkdir -p /out/var/lib/hoist

# Optional runtime with the git binary (local-path and file:// repository URLs only).
FROM alpine:3.22 AS with-git
RUN apk add --no-cache git ca-certificates tzdata \
 && adduser -D -H -u 65532 nonroot
COPY --from=build /src/bin/hoist /usr/local/bin/hoist
COPY --from=build --chown=65532:65532 /out/var/lib/hoist /var/lib/hoist
USER 65532:65532
WORKDIR /var/lib/hoist
ENTRYPOINT ["/usr/local/bin/hoist"]
CMD ["serve", "--config", "/etc/hoist/hoist.yaml"]

# Default runtime (last stage): static binary on distroless, non-root. Its version label is the
# image tag: the version without its v (${VERSION#v} needs Dockerfile syntax 1.7, which the
# syntax line's docker/dockerfile:1 is).
FROM gcr.io/distroless/static-debian12:nonroot AS runtime
ARG VERSION=dev
ARG REVISION=""
ARG CREATED=""
LABEL org.opencontainers.image.title="hoist" \
      org.opencontainers.image.description="Turns container-registry push webhooks into exact git commits of new image tags in GitOps repositories" \
      org.opencontainers.image.source="https://github.com/hoist-gitops/hoist" \
      org.opencontainers.image.url="https://github.com/hoist-gitops/hoist" \
      org.opencontainers.image.documentation="https://github.com/hoist-gitops/hoist/blob/main/docs/operations.md" \
      org.opencontainers.image.version="${VERSION#v}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
COPY --from=build /src/bin/hoist /usr/local/bin/hoist
# hoist's state (dataDir ./data, nats.dataDir ./data/nats by default) lives under the working
# directory, the one place the non-root user may write; mount a volume here to keep it.
COPY --from=build --chown=65532:65532 /out/var/lib/hoist /var/lib/hoist
USER 65532:65532
WORKDIR /var/lib/hoist
VOLUME /var/lib/hoist
# Webhooks (/hooks/...), /metrics, /healthz and /readyz all share the `listen` address.
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/hoist"]
CMD ["serve", "--config", "/etc/hoist/hoist.yaml"]
