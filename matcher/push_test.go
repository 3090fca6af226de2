package matcher

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/bus/bustest"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

func TestRetryDelaySchedule(t *testing.T) {
	want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second,
		64 * time.Second, 128 * time.Second, 256 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for i, w := range want {
		if got := retryDelay(uint64(i + 1)); got != w {
			t.Errorf("retryDelay(%d) = %s, want %s", i+1, got, w)
		}
	}
	if got := retryDelay(1 << 40); got != retryLast {
		t.Errorf("retryDelay(huge) = %s", got)
	}
}

// A push handed back with NakWithDelay on the matchers' consumer is
// redelivered after that delay, every time: a BackOff list on the consumer
// would replace the delay with its own schedule (30 s, 1 min, 5 min, ...).
func TestRetryDelaysFarBeyondWhatTheDocsSay(t *testing.T) {
	conn := bustest.Start(t).Conn
	ctx := context.Background()
	cons, err := conn.JS.CreateOrUpdateConsumer(ctx, bus.PushStream, bus.PushConsumerConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.JS.Publish(ctx, bus.PushSubject("127.0.0.1:5000", "team/app"), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	const delay = 200 * time.Millisecond
	// The wait for each delivery is bounded well below the 30 s a BackOff
	// list would impose from the second hand-back on.
	const within = 10 * time.Second
	for n := 1; n <= 4; n++ {
		start := time.Now()
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(within))
		if err != nil {
			t.Fatal(err)
		}
		var got jetstream.Msg
		for m := range batch.Messages() {
			got = m
		}
		if got == nil {
			t.Fatalf("delivery %d: nothing within %s of the hand-back", n, within)
		}
		meta, err := got.Metadata()
		if err != nil || meta.NumDelivered != uint64(n) {
			t.Fatalf("delivery %d: %+v, %v", n, meta, err)
		}
		if n > 1 && time.Since(start) < delay {
			t.Fatalf("delivery %d came before the delay", n)
		}
		if err := got.NakWithDelay(delay); err != nil {
			t.Fatal(err)
		}
	}
}

var globYAML = testenv.HelmRelease("app", "127.0.0.1:5000/team/app:build-1", "glob:build-*")

// One push with a forged time far in the future must not make its tag the
// newest for ever: the first-seen time stored is bounded by the receipt.
func TestForgedPushTimeFreezesGlobSites(t *testing.T) {
	srv := testgit.NewServer(t)
	a := srv.NewRepo(t, "a")
	a.SeedFiles(t, "main", map[string]string{"app.yaml": globYAML})
	h := startService(t, Config{Repos: []Repo{{Name: "a", URL: a.URL, Branch: "main"}}})
	testenv.Eventually(t, "service ready", h.svc.Ready)

	forged := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	before := time.Now()
	h.push(t, bus.PushEvent{ID: "ev-forged", Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "build-1", PushedAt: forged, ReceivedAt: forged})
	testenv.Eventually(t, "forged push handled", func() bool { return h.pendingPushes(t) == 0 })
	seen, ok := h.svc.times.FirstSeen(context.Background(), "127.0.0.1:5000/team/app", "build-1")
	if !ok || seen.After(time.Now().Add(maxClockSkew)) || seen.Before(before.Add(-time.Second)) {
		t.Fatalf("first seen of the forged push = %v, %v", seen, ok)
	}

	later := time.Now().Add(time.Second)
	h.push(t, bus.PushEvent{ID: "ev-2", Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "build-2", PushedAt: later, ReceivedAt: later})
	rw := h.rewrites(t, "a", "main", 1)
	if rw[0].New != "127.0.0.1:5000/team/app:build-2" {
		t.Fatalf("rewrite = %+v", rw[0])
	}
}

func TestClampTimes(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name                     string
		pushed, received         time.Time
		wantPushed, wantReceived time.Time
		clamped                  bool
	}{
		{"honest", now.Add(-time.Minute), now.Add(-time.Second), now.Add(-time.Minute), now.Add(-time.Second), false},
		{"clock a little fast", now.Add(30 * time.Second), now, now.Add(30 * time.Second), now, false},
		{"forged push time", now.Add(time.Hour), now.Add(-time.Second), now.Add(-time.Second), now.Add(-time.Second), true},
		{"both forged", now.Add(time.Hour), now.Add(time.Hour), now, now, true},
		{"no receipt", now.Add(time.Hour), time.Time{}, now, time.Time{}, true},
		{"no times", time.Time{}, time.Time{}, time.Time{}, time.Time{}, false},
	} {
		ev := bus.PushEvent{PushedAt: c.pushed, ReceivedAt: c.received}
		got := clampTimes(&ev, now)
		if got != c.clamped || !ev.PushedAt.Equal(c.wantPushed) || !ev.ReceivedAt.Equal(c.wantReceived) {
			t.Errorf("%s: %v, pushed %v, received %v", c.name, got, ev.PushedAt, ev.ReceivedAt)
		}
	}
}
