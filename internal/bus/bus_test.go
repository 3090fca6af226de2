package bus

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func startBus(t *testing.T) *Conn {
	t.Helper()
	s, err := StartEmbedded(EmbeddedOptions{StoreDir: t.TempDir(), DontListen: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	c, err := ConnectEmbedded(context.Background(), s, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestTagTimesFirstWriteWins(t *testing.T) {
	ctx := context.Background()
	c := startBus(t)
	tt, err := OpenTagTimes(ctx, c.JS)
	if err != nil {
		t.Fatal(err)
	}
	repo := "127.0.0.1:5000/team/app"
	if _, ok := tt.FirstSeen(repo, "v1"); ok {
		t.Fatal("unknown tag reported as seen")
	}
	t1 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	got, err := tt.Record(ctx, repo, "v1", t1)
	if err != nil || !got.Equal(t1) {
		t.Fatalf("Record = %v, %v; want %v", got, err, t1)
	}
	// A later (or earlier) record of the same tag keeps the first time.
	got, err = tt.Record(ctx, repo, "v1", t1.Add(time.Hour))
	if err != nil || !got.Equal(t1) {
		t.Fatalf("second Record = %v, %v; want %v", got, err, t1)
	}
	// A second handle (another replica, no cache) reads the stored time.
	other, err := OpenTagTimes(ctx, c.JS)
	if err != nil {
		t.Fatal(err)
	}
	if seen, ok := other.FirstSeen(repo, "v1"); !ok || !seen.Equal(t1) {
		t.Fatalf("FirstSeen = %v, %v; want %v", seen, ok, t1)
	}
	got, err = other.Record(ctx, repo, "v1", t1.Add(-time.Hour))
	if err != nil || !got.Equal(t1) {
		t.Fatalf("Record on other = %v, %v; want %v", got, err, t1)
	}
	if _, ok := other.FirstSeen("docker.io/library/app", "v1"); ok {
		t.Fatal("tag of another repository reported as seen")
	}
}

func TestTagTimeKeyIsValidAndDistinct(t *testing.T) {
	cases := [][2]string{
		{"127.0.0.1:5000/team/app", "v1.2.3"},
		{"docker.io/library/nginx", "1.25-alpine"},
		{"ghcr.io/a/b", "sha256-abc.sig"},
		{"ghcr.io/a/b.", "sig"}, // must not collide with "ghcr.io/a/b" + ".sig"
	}
	seen := map[string]bool{}
	for _, c := range cases {
		k := TagTimeKey(c[0], c[1])
		for _, r := range k {
			ok := r == '-' || r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
			if !ok {
				t.Fatalf("key %q for %v has invalid rune %q", k, c, r)
			}
		}
		if seen[k] {
			t.Fatalf("key %q for %v collides", k, c)
		}
		seen[k] = true
	}
}

// Two replicas bound to the same durable consumer share the messages: each
// message is delivered to exactly one of them.
func TestPushConsumerSharesWork(t *testing.T) {
	ctx := context.Background()
	c := startBus(t)
	cons, err := c.JS.CreateOrUpdateConsumer(ctx, PushStream, PushConsumerConfig())
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	for i := range n {
		ev := PushEvent{ID: "e", Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "v" + string(rune('a'+i))}
		b, _ := json.Marshal(ev)
		if _, err := c.JS.Publish(ctx, PushSubject(ev.Registry, ev.Repository), b, jetstream.WithMsgID(ev.DedupeID())); err != nil {
			t.Fatal(err)
		}
	}
	// A duplicate delivery of the last event is stored once.
	ev := PushEvent{Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "v" + string(rune('a'+n-1))}
	ack, err := c.JS.Publish(ctx, PushSubject(ev.Registry, ev.Repository), []byte("{}"), jetstream.WithMsgID(ev.DedupeID()))
	if err != nil || !ack.Duplicate {
		t.Fatalf("duplicate publish: %+v, %v", ack, err)
	}
	other, err := c.JS.Consumer(ctx, PushStream, MatcherConsumer)
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint64]int{}
	for len(got) < n {
		for _, cn := range []jetstream.Consumer{cons, other} {
			batch, err := cn.FetchNoWait(3)
			if err != nil {
				t.Fatal(err)
			}
			for m := range batch.Messages() {
				md, err := m.Metadata()
				if err != nil {
					t.Fatal(err)
				}
				got[md.Sequence.Stream]++
				if err := m.DoubleAck(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for seq, k := range got {
		if k != 1 {
			t.Fatalf("message %d delivered %d times", seq, k)
		}
	}
	info, err := c.JS.Stream(ctx, PushStream)
	if err != nil {
		t.Fatal(err)
	}
	if msgs := info.CachedInfo().State.Msgs; msgs != 0 {
		t.Fatalf("work queue holds %d acknowledged messages", msgs)
	}
}

func TestRewriteConsumerPerBranch(t *testing.T) {
	ctx := context.Background()
	c := startBus(t)
	a, err := c.JS.CreateOrUpdateConsumer(ctx, RewriteStream, RewriteConsumerConfig("gitops", "main"))
	if err != nil {
		t.Fatal(err)
	}
	// A second repository's consumer does not overlap (work queues forbid that).
	if _, err := c.JS.CreateOrUpdateConsumer(ctx, RewriteStream, RewriteConsumerConfig("other.repo", "release/1.x")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.JS.Publish(ctx, RewriteSubject("other.repo", "release/1.x"), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.JS.Publish(ctx, RewriteSubject("gitops", "main"), []byte(`{"repo":"gitops"}`)); err != nil {
		t.Fatal(err)
	}
	batch, err := a.Fetch(10, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for m := range batch.Messages() {
		n++
		if string(m.Data()) != `{"repo":"gitops"}` {
			t.Fatalf("consumer of gitops/main got %s", m.Data())
		}
	}
	if n != 1 {
		t.Fatalf("got %d messages, want 1", n)
	}
	if got := RewriteConsumerName("other.repo", "release/1.x"); got != "hoist-committer-other_repo_release_1_x" {
		t.Fatalf("RewriteConsumerName = %q", got)
	}
}

func TestHeadsRoundTrip(t *testing.T) {
	c := startBus(t)
	got := make(chan Head, 1)
	sub, err := SubscribeHeads(c.NC, func(h Head) { got <- h })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := c.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	want := Head{Repo: "gitops", Branch: "main", Commit: "abc", EventIDs: []string{"e1"}}
	if err := AnnounceHead(c.NC, want); err != nil {
		t.Fatal(err)
	}
	select {
	case h := <-got:
		if h.Repo != want.Repo || h.Branch != want.Branch || h.Commit != want.Commit || len(h.EventIDs) != 1 {
			t.Fatalf("got %+v, want %+v", h, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no head announced")
	}
	if err := c.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestConnectOverLoopback(t *testing.T) {
	s, err := StartEmbedded(EmbeddedOptions{StoreDir: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	if url := s.ClientURL(); url[:17] != "nats://127.0.0.1:" {
		t.Fatalf("embedded server listens on %s, want 127.0.0.1", url)
	}
	c, err := Connect(context.Background(), Options{URL: s.ClientURL(), Name: t.Name(), Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.JS.Stream(context.Background(), RewriteStream); err != nil {
		t.Fatalf("streams not ensured: %v", err)
	}
}

func TestEmbeddedListensOnLoopbackOnly(t *testing.T) {
	for _, host := range []string{"0.0.0.0", "::", "192.0.2.1", "example.com"} {
		if s, err := StartEmbedded(EmbeddedOptions{StoreDir: t.TempDir(), Host: host, Port: -1}); err == nil {
			s.Shutdown()
			t.Errorf("embedded server started on %s", host)
		}
	}
}

// Publishers are connections of their own, made as the first was: two over
// TCP, one through the embedded server's in-process pipe; each carries a
// request to the server on its own.
func TestPublishersByTransport(t *testing.T) {
	s, err := StartEmbedded(EmbeddedOptions{StoreDir: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	ctx := context.Background()
	tcp, err := Connect(ctx, Options{URL: s.ClientURL(), Name: t.Name(), Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	inproc, err := ConnectEmbedded(ctx, s, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer inproc.Close()
	for _, c := range []struct {
		name string
		conn *Conn
		want int
	}{{"tcp", tcp, 2}, {"in process", inproc, 1}} {
		pubs, err := c.conn.Publishers()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(pubs) != c.want {
			t.Errorf("%s: %d publishers, want %d", c.name, len(pubs), c.want)
		}
		for _, nc := range pubs {
			if nc == c.conn.NC {
				t.Errorf("%s: a publisher is the stage's own connection", c.name)
			}
			if _, err := nc.Request("$JS.API.INFO", nil, 10*time.Second); err != nil {
				t.Errorf("%s: a publisher cannot reach JetStream: %v", c.name, err)
			}
			Drain(nc)
		}
	}
}
