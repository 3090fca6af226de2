package committer

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
	"github.com/nats-io/nats.go"
)

// naks collects the hand-back delays committers ask JetStream for: every
// "-NAK" sent on the acknowledgement subjects of the rewrite stream, read
// off the real server. A plain NAK (no delay) reads as 0.
func (b *testBus) naks(t testing.TB) <-chan time.Duration {
	t.Helper()
	ch := make(chan time.Duration, 1000)
	sub, err := b.nc.Subscribe("$JS.ACK."+bus.RewriteStream+".>", func(m *nats.Msg) {
		body, ok := strings.CutPrefix(string(m.Data), "-NAK")
		if !ok {
			return // an ack or an in-progress mark
		}
		var opts struct {
			Delay time.Duration `json:"delay"`
		}
		if strings.TrimSpace(body) != "" {
			if err := json.Unmarshal([]byte(body), &opts); err != nil {
				t.Errorf("NAK %q: %v", m.Data, err)
			}
		}
		ch <- opts.Delay
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Unsubscribe() })
	if err := b.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return ch
}

// waitNak waits for the next hand-back.
func waitNak(t *testing.T, naks <-chan time.Duration) time.Duration {
	t.Helper()
	return testenv.Receive(t, naks, "a batch handed back")
}

// refusedURL is an http URL on 127.0.0.1 where nothing listens.
func refusedURL(t *testing.T) string {
	t.Helper()
	return "http://" + testenv.FreeAddr(t) + "/gitops.git"
}

// TestRetryDelaysAreWhatTheyClaim hands a batch back again and again (its
// remote refuses connections) and reads, on the server, the delay each
// hand-back asks for: the configured delay, doubling per delivery up to
// the cap. The consumer has no BackOff schedule that would replace those
// delays with its own (it did: a 30 s hand-back became 3.5 min, 13.5 min,
// an hour), also when it was created with one by an earlier version.
func TestRetryDelaysAreWhatTheyClaim(t *testing.T) {
	b := startBus(t)
	ctx := context.Background()
	old := bus.RewriteConsumerConfig("gitops", "main")
	old.BackOff = []time.Duration{2 * time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour}
	old.MaxDeliver = 50
	if _, err := b.js.CreateOrUpdateConsumer(ctx, bus.RewriteStream, old); err != nil {
		t.Fatal(err)
	}
	naks := b.naks(t)
	c, err := New(Config{
		Repos:  []Repo{{Name: "gitops", URL: refusedURL(t), Branch: "main"}},
		Editor: testEditor(),
		Retry:  Retry{Attempts: 1, NakDelay: 100 * time.Millisecond, NakDelayMax: 400 * time.Millisecond},
	}, b.js, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runCommitter(t, c)
	b.publish(t, appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-0"))

	want := []time.Duration{100, 200, 400, 400, 400}
	for i, w := range want {
		if got := waitNak(t, naks); got != w*time.Millisecond {
			t.Fatalf("hand-back %d asked for %s, want %s", i+1, got, w*time.Millisecond)
		}
	}

	cons, err := b.js.Consumer(ctx, bus.RewriteStream, bus.RewriteConsumerName("gitops", "main"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Config.BackOff) != 0 || info.Config.AckWait != bus.RewriteAckWait || info.Config.MaxDeliver != bus.RewriteMaxDeliver {
		t.Fatalf("consumer on the server: backoff %v, ack wait %s, max deliver %d; want no backoff, %s, %d",
			info.Config.BackOff, info.Config.AckWait, info.Config.MaxDeliver, bus.RewriteAckWait, bus.RewriteMaxDeliver)
	}
}

func TestNakDelaySchedule(t *testing.T) {
	r := Retry{}.withDefaults()
	var got []time.Duration
	for n := uint64(1); n <= 7; n++ {
		got = append(got, r.nakDelay(n))
	}
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute, 5 * time.Minute}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("default hand-back delays %v, want %v", got, want)
		}
	}
	// About two days of retrying before JetStream gives up, as documented.
	var total time.Duration
	for n := uint64(1); n < bus.RewriteMaxDeliver; n++ {
		total += r.nakDelay(n)
	}
	if total < 46*time.Hour || total > 52*time.Hour {
		t.Fatalf("%d deliveries span %s, documented as about two days", bus.RewriteMaxDeliver, total)
	}
	if d := (Retry{NakDelay: time.Hour}).withDefaults().nakDelay(1); d != time.Hour {
		t.Fatalf("a NakDelay above the default cap gives %s", d)
	}
}

// TestGitCallsTimeOut points the committer at a server that accepts
// connections and never answers, over HTTP and SSH: every git call errors
// after the timeout (instead of hanging the batch forever) and the batch is
// handed back.
func TestGitCallsTimeOut(t *testing.T) {
	silent := testenv.SilentAddr(t)
	sshd := testgit.NewSSHServer(t, t.TempDir()) // for a client key and a known_hosts file
	keys := Auth{SSHKeyFile: sshd.ClientKeyFile, KnownHostsFile: sshd.KnownHostsFile}
	for _, tc := range []struct {
		name string
		repo Repo
	}{
		{"http", Repo{URL: "http://" + silent + "/gitops.git"}},
		{"ssh", Repo{URL: "ssh://git@" + silent + "/gitops.git", Auth: keys}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.repo.Name, tc.repo.Branch = "gitops", "main"
			w, err := newWriter(tc.repo, Config{DataDir: t.TempDir(), Editor: testEditor(), GitTimeout: 100 * time.Millisecond,
				Retry: Retry{Attempts: 2, Base: time.Millisecond, Max: time.Millisecond}}, newMetrics(), testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			defer w.clone.close()
			done := make(chan error, 1)
			go func() {
				_, err := w.commit(context.Background(), []bus.Rewrite{appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-0")}, nil)
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("commit against a silent server: %v, want a timeout", err)
				}
			case <-time.After(time.Minute):
				t.Fatal("commit against a silent server never returned")
			}
			done = make(chan error, 1)
			go func() {
				_, err := w.clone.fetch(context.Background(), w.rem, []string{"main"}, 1)
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("fetch from a silent server: %v, want a timeout", err)
				}
			case <-time.After(time.Minute):
				t.Fatal("fetch from a silent server never returned")
			}
		})
	}

	t.Run("handed-back", func(t *testing.T) {
		b := startBus(t)
		naks := b.naks(t)
		c, err := New(Config{
			Repos:      []Repo{{Name: "gitops", URL: "http://" + silent + "/gitops.git", Branch: "main"}},
			Editor:     testEditor(),
			GitTimeout: 100 * time.Millisecond,
			Retry:      Retry{Attempts: 2, Base: time.Millisecond, Max: time.Millisecond, NakDelay: time.Hour},
		}, b.js, nil, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		runCommitter(t, c)
		b.publish(t, appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-0"))
		if d := waitNak(t, naks); d != time.Hour {
			t.Fatalf("handed back with delay %s, want 1h", d)
		}
	})
}
