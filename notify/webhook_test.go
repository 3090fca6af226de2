package notify

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/prometheus/client_golang/prometheus"
)

// received is one request a test webhook server got.
type received struct {
	header http.Header
	body   []byte
}

// hookServer is an httptest server on 127.0.0.1 that records requests and
// answers with the statuses of answer in turn (200 once they run out).
type hookServer struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	answers []int
	calls   atomic.Int32
}

func newHookServer(t *testing.T, answers ...int) *hookServer {
	h := &hookServer{answers: answers}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		n := int(h.calls.Add(1)) - 1
		h.got = append(h.got, received{r.Header.Clone(), body})
		status := http.StatusOK
		if n < len(h.answers) {
			status = h.answers[n]
		}
		h.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) requests() []received {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]received(nil), h.got...)
}

func fastOptions() Options {
	return Options{Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Timeout: 10 * time.Second}
}

func closeNow(t *testing.T, d *Dispatcher) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d.Close(ctx)
}

func TestNotifyWebhookSignedWithHMAC(t *testing.T) {
	srv := newHookServer(t)
	reg := prometheus.NewRegistry()
	d, err := New([]Target{{URL: srv.URL + "/hooks/hoist", Secret: "s3cret", Events: []Kind{KindCommit}}}, fastOptions(), reg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer closeNow(t, d)
	d.Notify(Event{Kind: KindHold, Hold: &Hold{Reason: "not subscribed"}}) // not sent: the target takes commits only
	d.Notify(commitEvent())
	testenv.Eventually(t, "the commit notification", func() bool { return count(t, reg, "0-http", KindCommit, outcomeSent) == 1 })

	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want the commit only", len(reqs))
	}
	r := reqs[0]
	want := Sign([]byte("s3cret"), r.body)
	if got := r.header.Get(SignatureHeader); !hmac.Equal([]byte(got), []byte(want)) || len(got) != len("sha256=")+64 {
		t.Fatalf("signature %q, want %q", got, want)
	}
	if Sign([]byte("other"), r.body) == want {
		t.Fatal("the signature does not depend on the secret")
	}
	if r.header.Get(eventHeader) != "commit" || r.header.Get(deliveryHeader) == "" || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers %v", r.header)
	}
	var ev Event
	if err := json.Unmarshal(r.body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Kind != KindCommit || ev.ID != r.header.Get(deliveryHeader) || ev.Time.IsZero() || ev.Commit == nil ||
		len(ev.Commit.Changes) != 2 || ev.Commit.Changes[0].New != "registry.example/team/api:1.2.4" || ev.Commit.URL == "" {
		t.Fatalf("body %s", r.body)
	}
	if c := count(t, reg, "0-http", KindHold, outcomeSent); c != -1 {
		t.Fatalf("a series for an event the notifier does not take: %v", c)
	}
}

func TestNotifyWebhookUnsignedWithoutSecret(t *testing.T) {
	srv := newHookServer(t)
	reg := prometheus.NewRegistry()
	d, err := New([]Target{{URL: srv.URL}}, fastOptions(), reg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer closeNow(t, d)
	d.Notify(Event{Kind: KindRejected, Rejected: &Rejected{Registry: "registry.example", Image: "registry.example/team/api", Tag: "9.9.9", Reason: "the tag is not in the registry"}})
	testenv.Eventually(t, "the notification", func() bool { return count(t, reg, "0-http", KindRejected, outcomeSent) == 1 })
	if h := srv.requests()[0].header.Get(SignatureHeader); h != "" {
		t.Fatalf("signature %q without a secret", h)
	}
}

func TestNotifyRetriesAfterServerError(t *testing.T) {
	srv := newHookServer(t, http.StatusInternalServerError, http.StatusOK)
	reg := prometheus.NewRegistry()
	d, err := New([]Target{{URL: srv.URL, Secret: "k"}}, fastOptions(), reg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer closeNow(t, d)
	d.Notify(commitEvent())
	testenv.Eventually(t, "the retried notification", func() bool { return count(t, reg, "0-http", KindCommit, outcomeSent) == 1 })
	reqs := srv.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2 (500, then 200)", len(reqs))
	}
	if string(reqs[0].body) != string(reqs[1].body) || reqs[0].header.Get(deliveryHeader) != reqs[1].header.Get(deliveryHeader) {
		t.Fatal("the retry is not the same delivery")
	}
	if f := count(t, reg, "0-http", KindCommit, outcomeFailed); f != 0 {
		t.Fatalf("failed = %v after a successful retry", f)
	}
}

func TestNotifyGivesUpAfterAttemptsAndOnClientErrors(t *testing.T) {
	failing := newHookServer(t, 500, 500, 500, 500, 500, 500)
	refusing := newHookServer(t, http.StatusUnauthorized)
	reg := prometheus.NewRegistry()
	opts := fastOptions()
	opts.Attempts = 3
	d, err := New([]Target{{URL: failing.URL}, {URL: refusing.URL}}, opts, reg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer closeNow(t, d)
	d.Notify(commitEvent())
	testenv.Eventually(t, "both failures", func() bool {
		return count(t, reg, "0-http", KindCommit, outcomeFailed) == 1 && count(t, reg, "1-http", KindCommit, outcomeFailed) == 1
	})
	if n := len(failing.requests()); n != 3 {
		t.Fatalf("%d attempts on a failing server, want 3", n)
	}
	if n := len(refusing.requests()); n != 1 {
		t.Fatalf("%d attempts on a 401, want 1 (retrying does not help)", n)
	}
}

func TestNotifyFullQueueDropsOldest(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- r.Header.Get(deliveryHeader)
		<-release
	}))
	defer srv.Close()
	defer close(release)
	reg := prometheus.NewRegistry()
	opts := fastOptions()
	opts.QueueSize = 2
	d, err := New([]Target{{URL: srv.URL}}, opts, reg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer closeNow(t, d)
	ev := func(id string) Event { e := commitEvent(); e.ID = id; return e }
	d.Notify(ev("first"))
	if got := <-arrived; got != "first" { // in flight: the queue is empty again
		t.Fatalf("first delivery %q", got)
	}
	for _, id := range []string{"a", "b", "c", "d"} {
		d.Notify(ev(id)) // returns at once although the target hangs
	}
	if c := count(t, reg, "0-http", KindCommit, outcomeDropped); c != 2 {
		t.Fatalf("dropped = %v, want 2 (a queue of 2 took 4)", c)
	}
	release <- struct{}{} // first
	for _, want := range []string{"c", "d"} {
		if got := <-arrived; got != want {
			t.Fatalf("delivered %q, want %q: the oldest are dropped", got, want)
		}
		release <- struct{}{}
	}
	testenv.Eventually(t, "three sent", func() bool { return count(t, reg, "0-http", KindCommit, outcomeSent) == 3 })
}

func TestNotifyMetricsPresentAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	d, err := New([]Target{{URL: "https://hooks.example/x", Events: []Kind{KindCommit, KindFailure}}, {URL: "logger://"}}, fastOptions(), reg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer closeNow(t, d)
	for _, c := range []struct {
		n string
		k Kind
	}{{"0-https", KindCommit}, {"0-https", KindFailure}, {"1-logger", KindCommit}, {"1-logger", KindHold}, {"1-logger", KindFailure}, {"1-logger", KindRejected}} {
		for _, o := range []string{outcomeSent, outcomeFailed, outcomeDropped} {
			if v := count(t, reg, c.n, c.k, o); v != 0 {
				t.Errorf("%s %s %s = %v, want 0", c.n, c.k, o, v)
			}
		}
	}
}

func TestNotifyCloseDropsWhatIsLeftAtTheDeadline(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hang)
	reg := prometheus.NewRegistry()
	opts := fastOptions()
	opts.Timeout = time.Hour // only Close's deadline ends the send
	d, err := New([]Target{{URL: srv.URL}}, opts, reg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	d.Notify(commitEvent())
	d.Notify(commitEvent())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d.Close(ctx) // returns although the target hangs
	if f, dr := count(t, reg, "0-http", KindCommit, outcomeFailed), count(t, reg, "0-http", KindCommit, outcomeDropped); f+dr != 2 {
		t.Fatalf("failed %v + dropped %v, want 2", f, dr)
	}
	d.Notify(commitEvent()) // after Close: dropped, never blocks
}

// Registering the notification series where they are registered already
// (a second dispatcher on one registry) is an error New returns, not a
// panic.
func TestMetricRegistrationErrorsReturnedNotify(t *testing.T) {
	reg := prometheus.NewRegistry()
	d, err := New(nil, fastOptions(), reg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer closeNow(t, d)
	_, err = New(nil, fastOptions(), reg, testLogger(t))
	var dup prometheus.AlreadyRegisteredError
	if !errors.As(err, &dup) {
		t.Fatalf("second registration: %v, want the registration's error", err)
	}
}
