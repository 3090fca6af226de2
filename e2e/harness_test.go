// Package e2e runs hoist as its users do — the built binary, `hoist serve`
// on its embedded NATS — against the real CNCF registry pushed to with
// crane and a git repository served by git http-backend, and checks the
// results with the git binary.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

// e2eSecret authenticates the registry's and the tests' webhooks.
const e2eSecret = "e2e-secret"

// waitLimit bounds every wait for the pipeline: generous, since the
// machine may be shared; a healthy run takes a fraction of it.
const waitLimit = 90 * time.Second

var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// hoistBinary builds bin/hoist once per test run, the way `make build` does.
func hoistBinary(t testing.TB) string {
	t.Helper()
	built.once.Do(func() {
		root, err := testenv.ModuleRoot()
		if err != nil {
			built.err = err
			return
		}
		if built.dir, built.err = os.MkdirTemp("", "hoist-e2e-bin-"); built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "hoist")
		cmd := exec.Command("go", "build", "-o", built.path, "./cmd/hoist")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build ./cmd/hoist: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// hoistProc is one `hoist serve` process.
type hoistProc struct {
	*testenv.Process
	log string
}

// startHoist runs `hoist serve --config cfg` and waits until /readyz says ready.
func startHoist(t testing.TB, cfg, addr, logPath string) *hoistProc {
	t.Helper()
	cmd := exec.Command(hoistBinary(t), "serve", "--config", cfg)
	cmd.Env = append(testgit.Env(), "PATH="+os.Getenv("PATH"))
	client := &http.Client{Timeout: 2 * time.Second}
	ready := func() bool {
		resp, err := client.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	proc, err := testenv.StartProcess(t, "hoist", cmd, logPath, ready, waitLimit)
	if err != nil {
		t.Fatal(err)
	}
	return &hoistProc{Process: proc, log: logPath}
}

// pipeline is a running hoist serve on a git repository, with a NATS
// connection to its embedded server for watching heads and streams.
type pipeline struct {
	t     testing.TB
	dir   string
	repo  *testgit.Repo
	proc  *hoistProc
	addr  string
	js    jetstream.JetStream
	heads chan bus.Head
}

// pipelineConfig describes what startPipeline runs.
type pipelineConfig struct {
	repo   *testgit.Repo
	addr   string // hoist's listen address; "" picks one
	window string // commit window, e.g. "0s" or "200ms"
	extra  string // more receivers, YAML list items
	// verify makes hoist ask the registry for every pushed tag (the
	// default of hoist.yaml); without it the webhooks are trusted, since
	// most tests announce tags that exist in no registry.
	verify bool
}

// startPipeline writes a hoist.yaml for the repository and starts hoist serve.
func startPipeline(t testing.TB, pc pipelineConfig) *pipeline {
	t.Helper()
	dir := t.TempDir()
	if pc.addr == "" {
		pc.addr = testenv.FreeAddr(t)
	}
	natsAddr := testenv.FreeAddr(t)
	images := `images: [{match: "**", verify: none}]`
	if pc.verify {
		images = ""
	}
	cfg := fmt.Sprintf(`nats:
  url: ""
  dataDir: %[1]s/nats
  listen: %[2]s
dataDir: %[1]s/data
listen: %[3]s
log: {level: debug}
receivers:
  - {name: reg, kind: distribution, secret: %[4]s}
  - {name: ci, kind: generic, secret: %[4]s}
%[7]s
%[8]s
repositories:
  - name: gitops
    url: %[5]s
    branch: main
    commit: {window: %[6]s, maxWait: 10s}
`, dir, natsAddr, pc.addr, e2eSecret, pc.repo.URL, pc.window, pc.extra, images)
	cfgPath := filepath.Join(dir, "hoist.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &pipeline{t: t, dir: dir, repo: pc.repo, addr: pc.addr, heads: make(chan bus.Head, 10000)}
	p.proc = startHoist(t, cfgPath, pc.addr, filepath.Join(dir, "hoist.log"))
	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if _, err := bus.SubscribeHeads(nc, func(h bus.Head) { p.heads <- h }); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if p.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitFor returns once cond holds, re-checking it each time a new head is
// announced, and fails the test at the deadline.
func (p *pipeline) waitFor(what string, cond func() bool) {
	p.t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-p.heads:
		case <-deadline.C:
			p.t.Fatalf("timed out after %v waiting for %s", waitLimit, what)
		}
	}
}

// file is the content of path at the head of main, read with the git binary.
func (p *pipeline) file(path string) string {
	p.t.Helper()
	return p.repo.Show(p.t, "main", path)
}

// waitFile waits until path at main contains want.
func (p *pipeline) waitFile(path, want string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("%s to contain %q", path, want), func() bool { return strings.Contains(p.file(path), want) })
}

// settle waits until every push event has been handled and every rewrite
// committed or dropped: both work-queue streams are empty.
func (p *pipeline) settle() {
	p.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		n := p.streamMsgs(bus.PushStream) + p.streamMsgs(bus.RewriteStream)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%d messages still in the streams after %v", n, waitLimit)
		}
		time.Sleep(20 * time.Millisecond) // polling the streams' state with a deadline
	}
}

func (p *pipeline) streamMsgs(name string) uint64 {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := p.js.Stream(ctx, name)
	if err != nil {
		p.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		p.t.Fatal(err)
	}
	return info.State.Msgs
}

// commits is the number of commits on main.
func (p *pipeline) commits() int {
	p.t.Helper()
	out := testgit.Git(p.t, p.repo.Dir, "rev-list", "--count", "main")
	var n int
	fmt.Sscan(out, &n)
	return n
}

// postGeneric sends hoist's own webhook for image (host/path:tag), with an
// optional digest and push time, and returns the stored event ids.
func (p *pipeline) postGeneric(image, digest string, pushedAt time.Time) []string {
	p.t.Helper()
	body := map[string]any{"image": image}
	if digest != "" {
		body["digest"] = digest
	}
	if !pushedAt.IsZero() {
		body["pushedAt"] = pushedAt.UTC().Format(time.RFC3339Nano)
	}
	ids, err := postJSON("http://"+p.addr+"/hooks/ci", body)
	if err != nil {
		p.t.Fatal(err)
	}
	return ids
}

var hookClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// postJSON posts a webhook with the e2e secret and returns the event ids of a 202.
func postJSON(url string, body any) ([]string, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+e2eSecret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hookClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		EventIDs []string `json:"eventIds"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("POST %s: %d, undecodable answer: %w", url, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s: %d", url, resp.StatusCode)
	}
	return out.EventIDs, nil
}
