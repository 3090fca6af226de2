package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dockerStage is one FROM ... stage of a Dockerfile with its instructions.
type dockerStage struct {
	from, name string
	lines      []string // instructions after FROM, continuation lines joined
}

// parseDockerfile splits a Dockerfile into stages (no Docker engine here: the checks
// are on the text; CI's `make build` proves the build steps themselves).
func parseDockerfile(t *testing.T, path string) (args map[string]string, stages []dockerStage) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	args = map[string]string{}
	var logical []string
	cur := ""
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		logical = append(logical, cur+trimmed)
		cur = ""
	}
	for _, l := range logical {
		word, rest, _ := strings.Cut(l, " ")
		switch strings.ToUpper(word) {
		case "FROM":
			f := strings.Fields(rest)
			st := dockerStage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
		case "ARG":
			if len(stages) == 0 {
				k, v, _ := strings.Cut(rest, "=")
				args[k] = v
			}
			fallthrough
		default:
			if len(stages) > 0 {
				stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, l)
			}
		}
	}
	return args, stages
}

func (s dockerStage) has(prefix string) []string {
	var out []string
	for _, l := range s.lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// TestDockerfile checks the image recipe: the build stage runs `make build` on the
// Go version of go.mod, and the default (last) stage is a non-root distroless image
// with hoist as its entrypoint and the OCI labels.
func TestDockerfile(t *testing.T) {
	args, stages := parseDockerfile(t, filepath.Join(repoRoot, "Dockerfile"))
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and a runtime stage", len(stages))
	}
	gomod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	if goVersion == nil || args["GO_VERSION"] != string(goVersion[1]) {
		t.Errorf("Dockerfile GO_VERSION %q, want go.mod's %q", args["GO_VERSION"], goVersion[1])
	}
	build := stages[0]
	if build.name != "build" || !strings.HasPrefix(build.from, "golang:${GO_VERSION}") {
		t.Errorf("first stage FROM %s AS %s, want golang:${GO_VERSION}... AS build", build.from, build.name)
	}
	runs := strings.Join(build.has("RUN "), "\n")
	if !strings.Contains(runs, "make build VERSION=${VERSION}") {
		t.Errorf("the build stage does not run `make build VERSION=${VERSION}`:\n%s", runs)
	}
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") || !strings.HasSuffix(final.from, ":nonroot") {
		t.Errorf("default runtime FROM %s, want distroless static :nonroot", final.from)
	}
	for _, st := range stages[1:] {
		users := st.has("USER ")
		if len(users) == 0 {
			t.Errorf("stage %s runs as root: no USER", st.name)
			continue
		}
		if u := strings.Fields(users[len(users)-1])[1]; strings.HasPrefix(u, "0") || strings.HasPrefix(u, "root") {
			t.Errorf("stage %s: USER %s is root", st.name, u)
		}
		if cp := strings.Join(st.has("COPY "), "\n"); !strings.Contains(cp, "--from=build /src/bin/hoist /usr/local/bin/hoist") {
			t.Errorf("stage %s does not copy the binary `make build` writes (bin/hoist)", st.name)
		}
		if ep := st.has("ENTRYPOINT "); len(ep) != 1 || !strings.Contains(ep[0], `"/usr/local/bin/hoist"`) {
			t.Errorf("stage %s: ENTRYPOINT %v, want /usr/local/bin/hoist", st.name, ep)
		}
	}
	labels := strings.Join(final.has("LABEL "), " ")
	for _, l := range []string{"title", "source", "version", "revision", "created", "description"} {
		if !strings.Contains(labels, "org.opencontainers.image."+l+"=") {
			t.Errorf("runtime stage has no OCI label org.opencontainers.image.%s", l)
		}
	}
	checkDockerVersionArgs(t, build, final)
	if len(final.has("HEALTHCHECK")) > 0 {
		t.Error("HEALTHCHECK in the runtime stage; Kubernetes probes /healthz and /readyz instead")
	}

	makefile, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	recipe := regexp.MustCompile(`(?m)^build:.*\n\t(.*)$`).FindSubmatch(makefile)
	if recipe == nil {
		t.Fatal("Makefile has no build target")
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-ldflags '$(LDFLAGS)'", "-o $(BIN)", "./cmd/hoist"} {
		if !strings.Contains(string(recipe[1]), want) {
			t.Errorf("`make build` recipe %q lacks %s", recipe[1], want)
		}
	}
	if !regexp.MustCompile(`(?m)^LDFLAGS +:= .*-X main\.version=\$\(VERSION\)`).Match(makefile) {
		t.Error("Makefile LDFLAGS does not set main.version from VERSION, which the Dockerfile passes")
	}
	if !regexp.MustCompile(`(?m)^BIN +:= bin/hoist$`).Match(makefile) {
		t.Error("Makefile BIN is not bin/hoist, which the Dockerfile copies")
	}
}

// TestDockerignoreKeepsBuildInputs checks that the build context still holds every
// file `make build` compiles: no package of ./cmd/hoist's dependency graph inside
// the module is excluded by .dockerignore.
func TestDockerignoreKeepsBuildInputs(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	for _, want := range []string{".git", ".tools", "bin"} {
		if !ignored(patterns, want) {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-deps", "-f", `{{if not .Standard}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}`, "./cmd/hoist")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./cmd/hoist in the main module: %v", err)
	}
	files := []string{"go.mod", "go.sum", "Makefile"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], root+string(filepath.Separator)) {
			continue // a dependency from the module cache
		}
		rel, _ := filepath.Rel(root, f[0])
		for _, name := range f[1:] {
			files = append(files, filepath.ToSlash(filepath.Join(rel, name)))
		}
	}
	if len(files) < 5 {
		t.Fatalf("only %d build inputs found: %v", len(files), files)
	}
	for _, f := range files {
		if ignored(patterns, f) {
			t.Errorf(".dockerignore excludes %s, which `make build` needs", f)
		}
	}
}

// ignored reports whether a slash path is excluded by .dockerignore patterns (the
// subset used here: plain paths, globs, and a leading **/; no ! exceptions).
func ignored(patterns []string, path string) bool {
	parts := strings.Split(path, "/")
	for _, p := range patterns {
		anyDepth := strings.HasPrefix(p, "**/")
		p = strings.TrimPrefix(p, "**/")
		for i := range parts {
			if !anyDepth && i > 0 {
				break
			}
			for j := i + 1; j <= len(parts); j++ {
				if ok, _ := filepath.Match(p, strings.Join(parts[i:j], "/")); ok {
					return true
				}
			}
		}
	}
	return false
}

// checkDockerVersionArgs (issue 15 item 10): the build context has no .git, so the version and
// commit come in as the build arguments VERSION and REVISION (what `make image` passes): the
// build stage stamps them into the binary through `make build`, and the runtime stage's OCI
// labels carry the image tag (the version without its v, a Dockerfile 1.7 expansion) and the
// commit.
func checkDockerVersionArgs(t *testing.T, build, final dockerStage) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(string(data), "\n"); first != "# syntax=docker/dockerfile:1" {
		t.Errorf("Dockerfile starts %q, want # syntax=docker/dockerfile:1 (1.7 or later expands ${VERSION#v})", first)
	}
	for _, st := range []dockerStage{build, final} {
		args := strings.Join(st.has("ARG "), "\n")
		for _, want := range []string{"ARG VERSION=dev", "ARG REVISION="} {
			if !strings.Contains(args, want) {
				t.Errorf("stage %s does not declare %s:\n%s", st.name, want, args)
			}
		}
	}
	if runs := strings.Join(build.has("RUN "), "\n"); !strings.Contains(runs, "make build VERSION=${VERSION} COMMIT=${REVISION}") {
		t.Errorf("the build stage does not run `make build VERSION=${VERSION} COMMIT=${REVISION}`:\n%s", runs)
	}
	labels := strings.Join(final.has("LABEL "), " ")
	for _, want := range []string{`org.opencontainers.image.version="${VERSION#v}"`, `org.opencontainers.image.revision="${REVISION}"`} {
		if !strings.Contains(labels, want) {
			t.Errorf("runtime stage labels lack %s:\n%s", want, labels)
		}
	}
}
