package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/config"
	"github.com/hoist-gitops/hoist/internal/testenv"
)

// stagesConfig needs the registry secret in ingest, the git password in
// match and commit, and a signing key passphrase in commit only.
const stagesConfig = `nats:
  url: nats://%s
listen: 127.0.0.1:0
receivers:
  - name: reg
    kind: distribution
    secret: ${HOIST_REGISTRY_SECRET}
repositories:
  - name: gitops
    url: https://git.example.com/gitops.git
    auth:
      username: hoist
      password: ${HOIST_GIT_PASSWORD}
    commit:
      signingKeyPassphraseFile: /nonexistent/signing-passphrase
`

// onlyEnv leaves exactly the named variables of the Deployments' secrets set.
func onlyEnv(t *testing.T, set ...string) {
	t.Helper()
	for _, v := range []string{"HOIST_REGISTRY_SECRET", "HOIST_GIT_PASSWORD"} {
		t.Setenv(v, "x")
		if !slices.Contains(set, v) {
			os.Unsetenv(v)
		}
	}
}

// Item: every stage died on the other stages' secrets. A stage command
// resolves only its own sections: given a mistake of its own and none of
// the other stages' secrets, it reports only its own mistake; config check
// --stage agrees.
func TestEveryStageDiesOnOtherStagesSecrets(t *testing.T) {
	p := writeConfig(t, fmt.Sprintf(stagesConfig, testenv.FreeAddr(t)))
	for _, tc := range []struct {
		stage, env, other, own string
	}{
		{"ingest", "HOIST_GIT_PASSWORD", "HOIST_GIT_PASSWORD", "HOIST_REGISTRY_SECRET is not set"},
		{"match", "HOIST_REGISTRY_SECRET", "HOIST_REGISTRY_SECRET", "HOIST_GIT_PASSWORD is not set"},
		{"commit", "HOIST_GIT_PASSWORD", "HOIST_REGISTRY_SECRET", "signingKeyPassphraseFile: cannot read"},
	} {
		t.Run(tc.stage, func(t *testing.T) {
			// ingest and match are given the other's secret but not their
			// own; commit its git password but not its signing passphrase.
			onlyEnv(t, tc.env)
			code, _, errOut := runHoist(t, tc.stage, "--config", p)
			if code != 1 || !strings.Contains(errOut, tc.own) || strings.Contains(errOut, tc.other) || strings.Count(errOut, p+":") != 1 {
				t.Fatalf("hoist %s: exit %d, want only %q\n%s", tc.stage, code, tc.own, errOut)
			}
			code, out, _ := runHoist(t, "config", "check", "--config", p, "--stage", tc.stage)
			if code != 1 || !strings.Contains(out, tc.own) || strings.Contains(out, tc.other) || strings.Count(out, p+":") != 1 {
				t.Fatalf("config check --stage %s: exit %d\n%s", tc.stage, code, out)
			}
		})
	}
	onlyEnv(t, "HOIST_REGISTRY_SECRET")
	if code, out, _ := runHoist(t, "config", "check", "--config", p, "--stage", "ingest"); code != 0 {
		t.Fatalf("config check --stage ingest with its secret: exit %d\n%s", code, out)
	}
	onlyEnv(t, "HOIST_GIT_PASSWORD")
	if code, out, _ := runHoist(t, "config", "check", "--config", p, "--stage", "match"); code != 0 {
		t.Fatalf("config check --stage match with its secret: exit %d\n%s", code, out)
	}
	code, out, _ := runHoist(t, "config", "check", "--config", p)
	if code != 1 || !strings.Contains(out, p+":7: receivers[0].secret: environment variable HOIST_REGISTRY_SECRET is not set") ||
		!strings.Contains(out, p+":15: repositories[0].commit.signingKeyPassphraseFile: cannot read") {
		t.Fatalf("config check of every stage: exit %d\n%s", code, out)
	}
	// Repeated or listed stages check the union.
	for _, args := range [][]string{{"--stage", "ingest", "--stage", "match"}, {"--stage", "ingest,match"}} {
		code, out, _ = runHoist(t, append([]string{"config", "check", "--config", p}, args...)...)
		if code != 1 || !strings.Contains(out, "HOIST_REGISTRY_SECRET") || strings.Contains(out, "signing") {
			t.Fatalf("%v: exit %d\n%s", args, code, out)
		}
	}
	if code, _, _ := runHoist(t, "config", "check", "--config", p, "--stage", "serve"); code != 2 {
		t.Fatalf("--stage serve: exit %d, want 2", code)
	}
	if got := (stages{ingest: true, match: true, commit: true}).config(); got != config.AllStages {
		t.Fatalf("serve's stages = %v", got)
	}
}

// Item: an empty secret silently opened a receiver.
func TestEmptySecretSilentlyOpensReceiver(t *testing.T) {
	t.Setenv("HOIST_EMPTY", "")
	p := writeConfig(t, "receivers:\n  - name: a\n    kind: generic\n    secret: ${HOIST_EMPTY}\n  - name: b\n    kind: generic\n    secret: \"\"\n")
	code, out, _ := runHoist(t, "config", "check", "--config", p)
	if code != 1 || !strings.Contains(out, p+":4: receivers[0].secret: ${HOIST_EMPTY} is empty") || !strings.Contains(out, p+":7: receivers[1].secret is empty") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

// insecureNoAuth is the one way to run a receiver without authentication,
// and it reaches ingest: a delivery without credentials is stored.
func TestInsecureNoAuthReceiverAcceptsWithoutCredentials(t *testing.T) {
	h := startServe(t, serveOpts{receiver: "{name: ci, kind: generic, insecureNoAuth: true}"})
	if ps := checkStages(h.cfg, nil); len(ps) > 0 {
		t.Fatal(ps)
	}
	base := h.base
	resp, err := http.Post(base+"/hooks/ci", "application/json", strings.NewReader(`{"image":"127.0.0.1:5000/team/app:1.2.4"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("an unauthenticated delivery to an insecureNoAuth receiver: %d", resp.StatusCode)
	}
}

// Item: mistakes config check let through, found only when a stage ran.
func TestConfigCheckedTooLate(t *testing.T) {
	code, out, _ := runHoist(t, "config", "check", "--config", writeConfig(t, ""))
	if code != 1 || !strings.Contains(out, "the file is empty") {
		t.Fatalf("an empty file: exit %d\n%s", code, out)
	}
	p := writeConfig(t, `receivers:
  - name: nx
    kind: nexus
    secret: s
  - name: typo
    kind: dockerhbu
    secret: s
repositories:
  - name: gitops
    url: "htp:/foo bar"
  - name: templated
    url: /srv/gitops.git
    commit:
      authorName: hoist
      messageTemplate: "{{ .Nope }}"
`)
	code, out, _ = runHoist(t, "config", "check", "--config", p)
	want := p + `:3: receivers[0].kind: receiver nx: kind nexus needs host (Nexus webhooks do not name the registry host)` + "\n" +
		p + `:6: receivers[1].kind: unknown kind "dockerhbu" (did you mean "dockerhub"?) (one of acr, cloudevents, distribution, dockerhub, ecr, gcr, generic, gitea, github, harbor, jfrog, nexus, quay)` + "\n" +
		p + `:10: repositories[0].url: "htp:/foo bar": unknown scheme or host "htp" (write http(s)://, ssh://, file://, user@host:path or a local path)` + "\n" +
		p + `:15: repositories[1].commit.messageTemplate: `
	// The template's message is text/template's, whichever check finds it.
	if code != 1 || !strings.HasPrefix(out, want) || !strings.Contains(out[len(want):], "Nope") || strings.Count(out, "\n") != 4 {
		t.Fatalf("exit %d\n%s\nwant\n%s...Nope...", code, out, want)
	}
	// Only the stage that uses a section runs its validation.
	if code, out, _ := runHoist(t, "config", "check", "--config", p, "--stage", "match"); code != 1 || strings.Contains(out, "Nope") || strings.Contains(out, "nexus") {
		t.Fatalf("--stage match: exit %d\n%s", code, out)
	}
}

// Item: a repository's exclude globs are checked, at their line.
func TestRepositoryExcludeGlobs(t *testing.T) {
	p := writeConfig(t, "repositories:\n  - name: gitops\n    url: /srv/gitops.git\n    exclude: [\"charts/**\", \"**/templates/**\"]\n  - name: other\n    url: /srv/other.git\n    exclude:\n      - \"charts/[\"\n")
	code, out, _ := runHoist(t, "config", "check", "--config", p)
	if code != 1 || out != p+`:8: repositories[1].exclude: "charts/[" is not a valid glob (an unclosed '['?)`+"\n" {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

// Item: two processes on one data directory started without complaint.
// The second refuses, naming the first's pid; a lock file a killed process
// left behind blocks nothing.
func TestTwoProcessesOnOneDataDirectory(t *testing.T) {
	dir := t.TempDir()
	// A stale lock file, as a killed process leaves it.
	for _, d := range []string{filepath.Join(dir, "data"), filepath.Join(dir, "nats")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(d, "hoist.lock"), "999999\n")
	}
	startServe(t, serveOpts{dir: dir})

	// The second, on the same directories, is run by hand: it must fail.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close() // serve closes it only once it serves
	second := "http://" + ln.Addr().String()
	cfg := parseConfig(t, fmt.Sprintf("nats: {dataDir: %[1]s/nats}\ndataDir: %[1]s/data\nlisten: %[2]s\n%[3]s", dir, ln.Addr(), oneReceiver))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- serveStagesOn(ctx, "serve", stages{ingest: true, match: true, commit: true, embedded: true}, cfg, zerolog.Nop(), ln)
	}()
	// Until the second serve serves, its bound listener accepts and never
	// answers: each look at its /readyz gives up soon and is tried again.
	client := &http.Client{Timeout: time.Second}
	var err2 error
	testenv.Eventually(t, "the second serve to fail", func() bool {
		select {
		case err2 = <-done:
			return true
		default:
		}
		if resp, err := client.Get(second + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatal("a second hoist serve runs on the same data directories")
			}
		}
		return false
	})
	want := fmt.Sprintf("is in use by another hoist process (pid %d)", os.Getpid())
	if err2 == nil || !strings.Contains(err2.Error(), want) || !strings.Contains(err2.Error(), "hoist.lock") {
		t.Fatalf("second serve on the same directories: %v, want %q", err2, want)
	}
}

// Two opens of one lock in one process conflict like two processes do
// (flock locks belong to the open file), and a closed one frees it.
func TestDataDirLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	l, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "hoist.lock")); strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("lock file holds %q, want the pid", b)
	}
	if _, err := lockDir(dir); err == nil || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second lock: %v", err)
	}
	l.unlock()
	l2, err := lockDir(dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	l2.unlock()
	// The same folder for both data directories is locked once.
	ls := dirLocks{}
	if err := ls.lock(dir); err != nil {
		t.Fatal(err)
	}
	if err := ls.lock(dir + "/"); err != nil {
		t.Fatalf("the same folder again: %v", err)
	}
	if _, err := lockDir(dir); err == nil {
		t.Fatal("a held lock was taken again")
	}
	ls.release()
	if l, err := lockDir(dir); err != nil {
		t.Fatalf("after release: %v", err)
	} else {
		l.unlock()
	}
}

// Item: config messages and hoist's logs printed the passwords of URLs.
func TestSecretsInURLsArePrinted(t *testing.T) {
	p := writeConfig(t, "repositories:\n  - name: a\n    url: \"https://hoist:pa55word@git.example.com/my repo.git\"\n")
	if code, out, _ := runHoist(t, "config", "check", "--config", p); code != 1 || strings.Contains(out, "pa55word") || !strings.Contains(out, "hoist:xxxxx@") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	p = writeConfig(t, "nats:\n  url: nats://hoist:pa55word@127.0.0.1:4222\nreceivers: [{name: a, kind: generic, secret: s}]\n")
	if code, out, _ := runHoist(t, "config", "check", "--config", p, "--stage", "ingest"); code != 0 || strings.Contains(out, "pa55word") || !strings.Contains(out, "NATS at nats://hoist:xxxxx@127.0.0.1:4222") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	// The startup line of a stage against an external server that wants the password.
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		Username: "hoist", Password: "pa55word", NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	h := startServe(t, serveOpts{nats: fmt.Sprintf("{url: nats://hoist:pa55word@%s}", strings.TrimPrefix(ns.ClientURL(), "nats://")),
		name: "ingest", stages: &stages{ingest: true}, notReady: true})
	logs := h.logs
	testenv.Eventually(t, "hoist ingest", func() bool { return strings.Contains(logs.String(), "hoist ingest started") })
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "pa55word") || !strings.Contains(logs.String(), "nats://hoist:xxxxx@") {
		t.Fatalf("the log shows the password, or not the server:\n%s", logs)
	}
}

// Item: config check reported yaml.v3's line, not the mistake's; and
// relative *File paths start from the configuration file's folder.
func TestConfigErrorLines(t *testing.T) {
	p := writeConfig(t, "listen: 127.0.0.1:8080\nreceivers:\n  - name: a\n    kind: generic\n   secret: s\n")
	code, out, _ := runHoist(t, "config", "check", "--config", p)
	if code != 1 || !strings.HasPrefix(out, p+":5: YAML syntax:") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	p = writeConfig(t, "receivers:\n  - {name: a, kind: generic, secretFile: registry-secret}\n")
	writeFile(t, filepath.Join(filepath.Dir(p), "registry-secret"), "s3cret\n")
	t.Chdir(t.TempDir())
	if code, out, _ := runHoist(t, "config", "check", "--config", p); code != 0 {
		t.Fatalf("a secretFile beside the config, checked from elsewhere: exit %d\n%s", code, out)
	}
}

// Item: NATS authentication keys.
func TestNATSAuthKeys(t *testing.T) {
	p := writeConfig(t, "nats:\n  url: nats://127.0.0.1:4222\n  user: hoist\nreceivers: [{name: a, kind: generic, secret: s}]\n")
	if code, out, _ := runHoist(t, "config", "check", "--config", p); code != 1 || !strings.Contains(out, p+":3: nats.user needs password or passwordFile") {
		t.Fatalf("user without password: exit %d\n%s", code, out)
	}
	p = writeConfig(t, "nats:\n  url: nats://127.0.0.1:4222\n  user: hoist\n  passwordFile: pw\n  tls: {caFile: pw}\nreceivers: [{name: a, kind: generic, secret: s}]\n")
	writeFile(t, filepath.Join(filepath.Dir(p), "pw"), "secret\n")
	if code, out, _ := runHoist(t, "config", "check", "--config", p); code != 0 {
		t.Fatalf("user, passwordFile and tls: exit %d\n%s", code, out)
	}
}

// The translation onto each stage's configuration keeps every key.
func TestStageConfigTranslation(t *testing.T) {
	t.Setenv("HOIST_TEST_SECRET", "s3cret")
	t.Setenv("HOIST_TEST_DATA", "")
	c, ps := loadConfig(filepath.Join("..", "..", "internal", "config", "testdata", "full.yaml"), config.AllStages)
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	cc := committerConfig(c)
	if len(cc.Repos) != 2 || cc.Repos[0].PushBranch != "hoist/updates" || cc.Repos[0].Commit.AuthorName != "Hoist Bot" ||
		cc.Repos[0].Auth.Password != "file-secret" || cc.Repos[1].Commit.Window != 2*time.Second || cc.DataDir != filepath.Join("data", "git") {
		t.Errorf("committer config = %+v", cc)
	}
	mc := matcherConfig(c)
	if len(mc.Repos) != 2 || mc.Repos[0].FetchInterval != time.Minute || mc.Repos[0].Paths[1] != "clusters/prod" ||
		mc.Repos[1].Branch != "main" || mc.Repos[0].Auth.Password != "file-secret" {
		t.Errorf("matcher config = %+v", mc)
	}
	ic := ingestConfig(c)
	if len(ic.Receivers) != 3 || ic.Receivers[0].Secret != "s3cret" || !ic.Receivers[2].Open() || ic.Receivers[1].Open() ||
		ic.Receivers[1].AuthHeader != "X-Hoist-Token" || ic.Receivers[1].RateBurst != 20 {
		t.Errorf("ingest config = %+v", ic)
	}
}

// lockHolderEnv makes the test binary a process that holds a data
// directory's lock (see TestDataDirLockAcrossProcesses).
const lockHolderEnv = "HOIST_TEST_HOLD_LOCK"

func init() {
	dir := os.Getenv(lockHolderEnv)
	if dir == "" {
		return
	}
	if _, err := lockDir(dir); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin) // hold the lock until killed (the test never closes stdin)
	os.Exit(0)
}

// Two real processes: the second is refused with the first's pid; once the
// first is killed (SIGKILL: nothing cleans up), its lock file blocks nothing.
func TestDataDirLockAcrossProcesses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockHolderEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("lock holder said %q, %v", line, err)
	}
	_, err = lockDir(dir)
	if want := fmt.Sprintf("in use by another hoist process (pid %d)", cmd.Process.Pid); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("lock held by another process: %v, want %q", err, want)
	}
	cmd.Process.Kill()
	cmd.Wait()
	killed = true
	if _, err := os.Stat(filepath.Join(dir, "hoist.lock")); err != nil {
		t.Fatalf("the killed process's lock file: %v", err)
	}
	l, err := lockDir(dir)
	if err != nil {
		t.Fatalf("lock after the holder was killed: %v", err)
	}
	l.unlock()
}
