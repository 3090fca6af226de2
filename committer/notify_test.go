package committer

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/testgit"
	"github.com/hoist-gitops/hoist/notify"
)

// notifySink is a webhook server on 127.0.0.1 that hands over every event
// it receives; when hang is set it then never answers (until the test ends).
func notifySink(t *testing.T, hang bool) (string, <-chan notify.Event) {
	t.Helper()
	got := make(chan notify.Event, 100)
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev notify.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("notification %s: %v", body, err)
		}
		got <- ev
		if hang {
			select {
			case <-stop:
			case <-r.Context().Done():
			}
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) })
	return srv.URL, got
}

// dispatcher is a notify.Dispatcher sending to url, closed when the test ends.
func dispatcher(t *testing.T, url string, opts notify.Options) *notify.Dispatcher {
	t.Helper()
	d, err := notify.New([]notify.Target{{URL: url}}, opts, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // cut off what hangs
		d.Close(ctx)
	})
	return d
}

func nextEvent(t *testing.T, got <-chan notify.Event) notify.Event {
	t.Helper()
	select {
	case ev := <-got:
		return ev
	case <-time.After(time.Minute):
		t.Fatal("no notification")
		return notify.Event{}
	}
}

// Item (gates and people): a notification target that never answers does
// not hold up commits. Every commit lands and is acknowledged while the
// first notification is still hanging and the queue behind it overflows.
func TestNotifyHangingNotifierNeverBlocksCommit(t *testing.T) {
	srv := testgit.NewServer(t)
	r := srv.NewRepo(t, "gitops")
	seedApps(t, r, 3)
	b := startBus(t)
	heads := b.heads(t)
	url, got := notifySink(t, true)
	n := dispatcher(t, url, notify.Options{QueueSize: 1, Timeout: time.Hour})

	commit := DefaultCommit()
	commit.Window, commit.MaxWait = 0, 0
	c, err := New(Config{
		Repos:    []Repo{{Name: "gitops", URL: r.URL, Branch: "main", Commit: commit}},
		Editor:   testEditor(),
		Notifier: n,
	}, b.js, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runCommitter(t, c)
	for i := range 3 {
		b.publish(t, appRewrite("gitops", i, "1.0.0", "1.1.0", "ev-"+string(rune('a'+i))))
		h := waitHead(t, heads)
		if h.Commit != r.Head(t, "main") {
			t.Fatalf("commit %d: head %s, remote %s", i, h.Commit, r.Head(t, "main"))
		}
	}
	b.waitSettled(t, "gitops", "main", time.Minute)
	if ev := nextEvent(t, got); ev.Kind != notify.KindCommit { // the first, still hanging
		t.Fatalf("notification %+v", ev)
	}
}

// Item (gates and people): the commit notification says what changed, in
// which commit, for which events; a batch handed back after its retries is
// a failure notification.
func TestNotifyCommitAndHandBackEvents(t *testing.T) {
	srv := testgit.NewServer(t)
	r := srv.NewRepo(t, "gitops")
	seedApps(t, r, 2)
	b := startBus(t)
	heads := b.heads(t)
	url, got := notifySink(t, false)
	n := dispatcher(t, url, notify.Options{})

	commit := DefaultCommit()
	commit.Window, commit.MaxWait = 0, 0
	c, err := New(Config{
		Repos:    []Repo{{Name: "gitops", URL: r.URL, Branch: "main", Commit: commit}},
		Editor:   testEditor(),
		Notifier: n,
	}, b.js, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runCommitter(t, c)
	rw := appRewrite("gitops", 1, "1.0.0", "1.1.0", "ev-1")
	b.publish(t, rw)
	h := waitHead(t, heads)
	ev := nextEvent(t, got)
	if ev.Kind != notify.KindCommit || ev.Repo != "gitops" || ev.Branch != "main" || ev.Commit == nil ||
		ev.Commit.SHA != h.Commit || len(ev.Commit.Changes) != 1 || len(ev.Commit.EventIDs) != 1 || ev.Commit.EventIDs[0] != "ev-1" {
		t.Fatalf("commit notification %+v (head %s)", ev, h.Commit)
	}
	ch := ev.Commit.Changes[0]
	if ch.File != rw.File || ch.Resource != rw.Resource || ch.Container != rw.Container || ch.Old != rw.Old || ch.New != rw.New {
		t.Fatalf("change %+v, want the rewrite %+v", ch, rw)
	}

	// A second committer whose remote refuses connections hands its batch back.
	b2 := startBus(t)
	url2, got2 := notifySink(t, false)
	c2, err := New(Config{
		Repos:    []Repo{{Name: "gitops", URL: refusedURL(t), Branch: "main", Commit: commit}},
		Editor:   testEditor(),
		Retry:    Retry{Attempts: 1, NakDelay: time.Hour},
		Notifier: dispatcher(t, url2, notify.Options{}),
	}, b2.js, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runCommitter(t, c2)
	b2.publish(t, rw)
	ev = nextEvent(t, got2)
	if ev.Kind != notify.KindFailure || ev.Failure == nil || ev.Failure.Stage != "commit" || ev.Failure.Reason == "" ||
		len(ev.Failure.Changes) != 1 || ev.Failure.Changes[0].New != rw.New || ev.Failure.RetryAt.Before(time.Now().Add(30*time.Minute)) {
		t.Fatalf("failure notification %+v", ev)
	}
}
