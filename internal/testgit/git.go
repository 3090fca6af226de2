// Package testgit gives tests a real git remote: bare repositories served by
// `git http-backend` over net/http/cgi (and over SSH) on 127.0.0.1, helpers to
// seed them, and a runner for the git binary with an isolated configuration.
// Every constructor skips the test under `go test -short`.
package testgit

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Identity is the name and e-mail the git binary commits with in tests.
const (
	IdentityName  = "Test Person"
	IdentityEmail = "person@example.test"
)

// Env is the environment the git binary runs with: no system or global
// configuration, no prompts, a fixed identity.
func Env() []string {
	env := []string{}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GIT_") || k == "GNUPGHOME" {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME="+IdentityName,
		"GIT_AUTHOR_EMAIL="+IdentityEmail,
		"GIT_COMMITTER_NAME="+IdentityName,
		"GIT_COMMITTER_EMAIL="+IdentityEmail,
	)
}

// Command prepares the git binary with args in dir and the Env environment;
// callers may add to cmd.Env before running it.
func Command(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = Env()
	return cmd
}

// Run runs git with args in dir and returns its standard output; the error
// carries standard error. Safe to call from any goroutine.
func Run(dir string, args ...string) (string, error) {
	return RunCmd(Command(dir, args...))
}

// RunCmd runs a prepared git command and returns its standard output; the
// error carries standard error.
func RunCmd(cmd *exec.Cmd) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("git %s: %w: %s", strings.Join(cmd.Args[1:], " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Git runs git with args in dir and returns its standard output, failing the
// test when git fails. Call it from the test goroutine only.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := Run(dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Lines splits git output into its non-empty lines.
func Lines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// skipShort skips tests that drive the git binary under `go test -short`
// (`make test-short` runs unit tests only).
func skipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("drives the git binary; skipped with -short")
	}
}
