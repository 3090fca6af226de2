package committer

import (
	"context"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/testgit"
	"github.com/hoist-gitops/hoist/internal/testnotify"
	"github.com/hoist-gitops/hoist/notify"
)

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

// startNotifying runs a committer of the repository at url on b that
// commits at once and notifies n, with retry (zero: the default).
func startNotifying(t *testing.T, b *testBus, url string, n Notifier, retry Retry) {
	t.Helper()
	commit := DefaultCommit()
	commit.Window, commit.MaxWait = 0, 0
	c, err := New(Config{
		Repos:    []Repo{{Name: "gitops", URL: url, Branch: "main", Commit: commit}},
		Editor:   testEditor(),
		Retry:    retry,
		Notifier: n,
	}, b.js, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runCommitter(t, c)
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
	sink := testnotify.Start(t, true)
	startNotifying(t, b, r.URL, dispatcher(t, sink.URL, notify.Options{QueueSize: 1, Timeout: time.Hour}), Retry{})
	for i := range 3 {
		b.publish(t, appRewrite("gitops", i, "1.0.0", "1.1.0", "ev-"+string(rune('a'+i))))
		h := waitHead(t, heads)
		if h.Commit != r.Head(t, "main") {
			t.Fatalf("commit %d: head %s, remote %s", i, h.Commit, r.Head(t, "main"))
		}
	}
	b.waitSettled(t, "gitops", "main", time.Minute)
	if ev := sink.Next(t); ev.Kind != notify.KindCommit { // the first, still hanging
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
	sink := testnotify.Start(t, false)
	startNotifying(t, b, r.URL, dispatcher(t, sink.URL, notify.Options{}), Retry{})
	rw := appRewrite("gitops", 1, "1.0.0", "1.1.0", "ev-1")
	b.publish(t, rw)
	h := waitHead(t, heads)
	ev := sink.Next(t)
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
	sink2 := testnotify.Start(t, false)
	startNotifying(t, b2, refusedURL(t), dispatcher(t, sink2.URL, notify.Options{}), Retry{Attempts: 1, NakDelay: time.Hour})
	b2.publish(t, rw)
	ev = sink2.Next(t)
	if ev.Kind != notify.KindFailure || ev.Failure == nil || ev.Failure.Stage != "commit" || ev.Failure.Reason == "" ||
		len(ev.Failure.Changes) != 1 || ev.Failure.Changes[0].New != rw.New || ev.Failure.RetryAt.Before(time.Now().Add(30*time.Minute)) {
		t.Fatalf("failure notification %+v", ev)
	}
}
