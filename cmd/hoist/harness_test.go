package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/config"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

// serveOpts says what startServe runs; the zero value is hoist serve with
// an embedded NATS, one generic receiver "ci" (secret s3cret) and no
// repository.
type serveOpts struct {
	// files seed a repository "gitops" on a git server of its own, which
	// hoist.yaml lists (commit window 0s); nil: no repository.
	files map[string]string
	// repo is a repository hoist.yaml lists instead of one seeded from
	// files (e.g. the one of a serve the test ran before).
	repo *testgit.Repo
	// nats is the nats section (default: embedded, stored in the temp dir).
	nats string
	// receiver is the one receiver (default: ci, generic, secret s3cret).
	receiver string
	// images is the images: section after its key, with a repository (default
	// `[{match: "**", verify: none}]`: the webhooks announce tags that exist
	// in no registry, so they are trusted).
	images string
	// defaultImages leaves the images: section out: every tag is verified
	// in its registry and scanned, as hoist.yaml's defaults say.
	defaultImages bool
	// extra is appended to hoist.yaml (e.g. a notify section).
	extra string
	// name and stages are what runs (default: "serve", every stage and the
	// embedded server).
	name   string
	stages *stages
	// notReady leaves out the wait for /readyz.
	notReady bool
	// dir holds the data directories (default: a new temp dir).
	dir string
	// config is a hoist.yaml file to run as written, loaded for the stages
	// run (its listen aside: the harness's listener serves); every field
	// above that writes hoist.yaml is then unused.
	config string
}

// served is a hoist serve a test runs in-process.
type served struct {
	addr string             // where its HTTP server listens
	base string             // "http://" + addr
	repo *testgit.Repo      // the repository hoist.yaml lists (nil: none)
	seed string             // the seeded main branch's commit ("" for serveOpts.repo)
	cfg  *config.Config     // the parsed hoist.yaml
	logs *testenv.LogBuffer // its JSON log
	stop func() error       // cancels it and waits for it to return

	decided int // pushes sent by pushDecided
}

// pushDecided sends a webhook for image, waits until the matcher has
// decided it (one more "push matched" line than pushes sent this way
// before) and returns the matcher's line saying how.
func (s *served) pushDecided(t *testing.T, image string) string {
	t.Helper()
	s.decided++
	s.mustPush(t, image)
	var last string
	testenv.Eventually(t, "the push of "+image+" decided", func() bool {
		var n int
		for _, l := range strings.Split(s.logs.String(), "\n") {
			if strings.Contains(l, `"message":"push matched"`) {
				n, last = n+1, l
			}
		}
		return n == s.decided
	})
	return last
}

// startServe runs hoist's stages in-process on a listener bound to
// 127.0.0.1:0 (handed over, never closed and re-bound, so no other test can
// take the port in between) and waits until /readyz answers 200. The test's
// end stops it, failing the test when it returns an error.
func startServe(t *testing.T, o serveOpts) *served {
	t.Helper()
	s := &served{logs: &testenv.LogBuffer{}}
	dir := o.dir
	if dir == "" {
		dir = t.TempDir()
	}
	if o.nats == "" {
		o.nats = fmt.Sprintf("{dataDir: %s/nats}", dir)
	}
	if o.receiver == "" {
		o.receiver = "{name: ci, kind: generic, secret: s3cret}"
	}
	if o.name == "" {
		o.name = "serve"
	}
	st := stages{ingest: true, match: true, commit: true, embedded: true}
	if o.stages != nil {
		st = *o.stages
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.base = "http://" + s.addr
	if o.config != "" {
		cfg, problems := loadConfig(o.config, st.config())
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		cfg.Listen = s.addr
		s.cfg = cfg
	} else {
		s.cfg = parseConfig(t, s.hoistYAML(t, o, dir))
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveStagesOn(ctx, o.name, st, s.cfg, zerolog.New(s.logs), ln) }()
	var stopped bool
	var result error
	s.stop = func() error {
		if stopped {
			return result
		}
		stopped = true
		cancel()
		select {
		case result = <-done:
		case <-time.After(testenv.WaitLimit):
			result = fmt.Errorf("hoist %s did not stop within %v of its cancel", o.name, testenv.WaitLimit)
		}
		return result
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("hoist %s: %v", o.name, err)
		}
		if t.Failed() {
			t.Logf("hoist %s log:\n%s", o.name, s.logs.String())
		}
	})
	if !o.notReady {
		testenv.Eventually(t, "/readyz", func() bool { code, _ := httpGet(s.base + "/readyz"); return code == http.StatusOK })
	}
	return s
}

// hoistYAML is the hoist.yaml o describes, seeding s.repo from o.files.
func (s *served) hoistYAML(t *testing.T, o serveOpts, dir string) string {
	t.Helper()
	yaml := fmt.Sprintf("nats: %s\ndataDir: %s/data\nlisten: %s\nreceivers:\n  - %s\n", o.nats, dir, s.addr, o.receiver)
	s.repo = o.repo
	if o.files != nil {
		s.repo = testgit.NewServer(t).NewRepo(t, "gitops")
		s.seed = s.repo.SeedFiles(t, "main", o.files)
	}
	if s.repo != nil {
		if o.images == "" {
			o.images = `[{match: "**", verify: none}]`
		}
		if !o.defaultImages {
			yaml += "images: " + o.images + "\n"
		}
		yaml += fmt.Sprintf("repositories:\n  - name: gitops\n    url: %s\n    commit: {window: 0s}\n", s.repo.URL)
	}
	return yaml + o.extra
}

// push posts a generic webhook for image to receiver ci with its secret
// and returns the status (0 when the request failed).
func (s *served) push(image string) int { return s.post(`{"image":"` + image + `"}`) }

// post posts body to the generic receiver ci with its secret and returns
// the status (0 when the request failed).
func (s *served) post(body string) int {
	req, _ := http.NewRequest(http.MethodPost, s.base+"/hooks/ci", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer s3cret")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// mustPush is push, failing the test unless the webhook is accepted.
func (s *served) mustPush(t *testing.T, image string) {
	t.Helper()
	s.mustPost(t, image, `{"image":"`+image+`"}`)
}

// mustPost is post, failing the test unless the webhook (for what) is
// accepted.
func (s *served) mustPost(t *testing.T, what, body string) {
	t.Helper()
	if code := s.post(body); code != http.StatusAccepted {
		t.Fatalf("webhook for %s answered %d", what, code)
	}
}

// hasMetric reports whether /metrics has the line (series and value).
func (s *served) hasMetric(line string) bool {
	_, m := httpGet(s.base + "/metrics")
	return strings.Contains(m, line)
}

// metric is the value of one series of /metrics (0 when absent).
func (s *served) metric(series string) float64 {
	_, body := httpGet(s.base + "/metrics")
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// get is the status and body of a GET of path.
func (s *served) get(path string) (int, string) { return httpGet(s.base + path) }

// waitCommit waits until the main branch has moved from the commit before.
func (s *served) waitCommit(t *testing.T, before string) string {
	t.Helper()
	testenv.Eventually(t, "a commit after "+before, func() bool { return s.repo.Head(t, "main") != before })
	return s.repo.Head(t, "main")
}

// httpGet is the status and body of a GET of url (0 and the error when the
// request failed).
func httpGet(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
