package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

// chaosRate is how many webhooks per second the chaos run's senders start: its
// 2,000 deliveries take 40 s, long enough for every outage to land mid-burst.
const chaosRate = 50

// chaosDeliveryLimit bounds how long a sender keeps delivering one webhook, as a
// registry gives up after a while; outages in the run are far shorter.
const chaosDeliveryLimit = 4 * time.Minute

// TestChaos is the chaos run: hoist as separate services (two ingest, one match, one
// commit) on an external nats-server and a git server behind a proxy that can fail.
// While 2,000 webhooks arrive (duplicates and newer-first orders included) it
// SIGKILLs and restarts every stage and the NATS server, and takes the git server
// away in three ways: 502 answers, requests that hang, and connections closed
// mid-request. Senders act as registries do: they retry a delivery until it is
// answered 2xx. Then every accepted push must be in git exactly once, forward only,
// and both streams must be empty. It takes minutes, so `make chaos` runs it
// (HOIST_CHAOS=1); the default test run skips it.
func TestChaos(t *testing.T) {
	if os.Getenv("HOIST_CHAOS") == "" {
		t.Skip("the chaos run takes minutes: `make chaos` runs it (HOIST_CHAOS=1)")
	}
	natsBin := testenv.Tool(t, "nats-server")
	hoistBin := hoistBinary(t)
	work := t.TempDir()

	gitSrv := testgit.NewServer(t)
	repo := gitSrv.NewRepo(t, "gitops")
	repo.SeedFiles(t, "main", scaleManifests())
	seed := repo.Head(t, "main")
	outage := newGitOutage(t, gitSrv.URL)

	natsURL, js, natsProc := scaleStartNATS(t, natsBin, filepath.Join(work, "nats"))

	procs := map[string]*scaleProc{}
	var stages []*scaleProc
	for _, name := range []string{"ingest-1", "ingest-2", "match-1", "commit-1"} {
		stage, _, _ := strings.Cut(name, "-")
		procs[name] = newScaleProc(t, hoistBin, work, name, stage, func(listen string) string {
			return scaleConfig(natsURL, listen, outage.url+"/gitops.git")
		})
		stages = append(stages, procs[name])
	}
	all := append([]*scaleProc{natsProc}, stages...)
	runScaleProcs(t, stages) // scaleStartNATS shows the NATS server's log

	start := time.Now()
	logf := func(format string, args ...any) {
		t.Logf("%6.1fs "+format, append([]any{time.Since(start).Seconds()}, args...)...)
	}
	restart := func(p *scaleProc) {
		p.kill(t)
		p.start(t)
		logf("SIGKILLed and restarted %s", p.name)
	}
	// The schedule: after this many deliveries have been answered, do this.
	schedule := []struct {
		after int
		what  func()
	}{
		{250, func() { restart(procs["ingest-1"]) }},
		{500, func() { restart(natsProc) }},
		{750, func() { restart(procs["match-1"]) }},
		{900, func() { outage.set(gitFailing); logf("git answers 502") }},
		{1050, func() { outage.set(gitHanging); logf("git hangs") }},
		{1150, func() { restart(procs["commit-1"]) }},
		{1300, func() { outage.set(gitClosing); logf("git closes connections mid-request") }},
		{1450, func() { outage.set(gitUp); logf("git is back") }},
		{1700, func() { restart(natsProc); restart(procs["ingest-2"]) }},
	}
	milestones := map[int]chan struct{}{}
	for _, s := range schedule {
		milestones[s.after] = make(chan struct{})
	}

	deliveries := scaleDeliveries()
	unique := scaleSites * (len(scaleTags) - 1)
	ingests := []*scaleProc{procs["ingest-1"], procs["ingest-2"]}
	var answered atomic.Int64
	sendErrs := make(chan error, len(deliveries))
	sendDone := make(chan struct{})
	go func() {
		defer close(sendDone)
		chaosSend(deliveries, ingests, func() {
			if ch, ok := milestones[int(answered.Add(1))]; ok {
				close(ch)
			}
		}, sendErrs)
	}()
	for _, s := range schedule {
		select {
		case <-milestones[s.after]:
		case <-sendDone:
			t.Fatalf("senders stopped before %d deliveries were answered", s.after)
		}
		s.what()
	}
	<-sendDone
	outage.set(gitUp)
	logf("all %d deliveries answered; git answered %d requests with a failure", answered.Load(), outage.failed.Load())
	close(sendErrs)
	for err := range sendErrs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	// A NATS server that restarts forgets the message ids of pushes it already
	// handed out and deleted (its dedupe window is rebuilt from the messages it
	// still holds), so a registry's retry after the restart is stored again: each
	// push is stored at least once, and git still holds each change exactly once.
	scaleSettleAndCheck(t, repo, js, all, seed, unique, false, start)
	logf("history checked")

	// Graceful shutdown still works after all that: SIGTERM, and each exits 0.
	stopAllCleanly(t, stages)
}

// chaosSend posts every delivery with 8 concurrent senders, paced at chaosRate,
// delivery i first to ingest i%2. Like a registry, a sender retries a delivery that
// failed (refused, reset, timed out, 5xx or 429) on the other ingest, backing off,
// until it is answered 2xx or chaosDeliveryLimit passes. A 4xx other than 429 is a
// bug and fails the delivery at once. answered is called once per delivery that got
// a 2xx.
func chaosSend(deliveries []scaleDelivery, ingests []*scaleProc, answered func(), errs chan<- error) {
	scaleSendPaced(len(deliveries), chaosRate, func(client *http.Client, i int) error {
		return chaosDeliver(client, ingests, i, deliveries[i].body)
	}, answered, errs)
}

// chaosDeliver delivers one webhook as a registry would, retrying with back-off.
func chaosDeliver(client *http.Client, ingests []*scaleProc, i int, body []byte) error {
	deadline := time.Now().Add(chaosDeliveryLimit)
	wait := 100 * time.Millisecond
	var last string
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		p := ingests[(i+attempt)%len(ingests)]
		status, err := scalePost(client, "http://"+p.addr+"/hooks/ci", body)
		switch {
		case err == nil && status/100 == 2:
			return nil
		case err == nil && status/100 == 4 && status != http.StatusTooManyRequests:
			return fmt.Errorf("delivery %d (%s) answered %d by %s", i, body, status, p.name)
		}
		last = fmt.Sprintf("%s: status %d, %v", p.name, status, err)
		time.Sleep(wait) // a registry's retry back-off, not synchronisation
		wait = min(2*wait, 2*time.Second)
	}
	return fmt.Errorf("delivery %d (%s) not accepted within %s; last: %s", i, body, chaosDeliveryLimit, last)
}

// gitMode is what the git proxy does with a request.
type gitMode int32

const (
	gitUp      gitMode = iota // pass it to the git server
	gitFailing                // answer 502, as a load balancer with no backend does
	gitHanging                // hold it until the mode changes, then answer 502
	gitClosing                // close the connection without an answer
)

// gitOutage is a reverse proxy in front of the test's git server whose mode the
// test switches, to take git away in the ways a real outage does.
type gitOutage struct {
	url    string
	proxy  *httputil.ReverseProxy
	mode   atomic.Int32
	failed atomic.Int64 // requests answered with a failure

	mu      sync.Mutex
	changed chan struct{} // closed and replaced at every mode change
}

func newGitOutage(t *testing.T, target string) *gitOutage {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	o := &gitOutage{proxy: httputil.NewSingleHostReverseProxy(u), changed: make(chan struct{})}
	srv := startHTTP(t, o)
	o.url = "http://" + srv
	return o
}

func (o *gitOutage) set(m gitMode) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.mode.Store(int32(m))
	close(o.changed)
	o.changed = make(chan struct{})
}

func (o *gitOutage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	changed := o.changed
	o.mu.Unlock()
	switch gitMode(o.mode.Load()) {
	case gitUp:
		o.proxy.ServeHTTP(w, r)
		return
	case gitHanging:
		select {
		case <-changed:
		case <-r.Context().Done():
		}
	case gitClosing:
		o.failed.Add(1)
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	o.failed.Add(1)
	http.Error(w, "bad gateway", http.StatusBadGateway)
}

// startHTTP serves h on a 127.0.0.1 port until the test ends and returns its address.
func startHTTP(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := &http.Server{Handler: h}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck // Serve returns when the test closes the server.
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}
