package bus

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hoist-gitops/hoist/internal/testenv"
)

// The backlog people alert on is read from JetStream on scrape: messages
// not delivered, delivered and not acknowledged, redelivered, the last
// acknowledgement, and the age of the oldest message of each stream.
func TestMetricsPeopleAlertOnBacklog(t *testing.T) {
	ctx := context.Background()
	c := startBus(t)
	cfg := RewriteConsumerConfig("gitops", "main")
	cons, err := c.JS.CreateOrUpdateConsumer(ctx, RewriteStream, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := c.JS.Publish(ctx, RewriteSubject("gitops", "main"), []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	// The consumer's counts lag the publishes a moment: wait for the server
	// to count all three, as a scrape some time later would see them.
	testenv.Eventually(t, "the consumer to count the three rewrites", func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumPending == 3
	})
	col := NewBacklogCollector([]string{PushStream, RewriteStream}, []ConsumerRef{
		{RewriteStream, cfg.Durable}, {RewriteStream, "hoist-committer-missing_main"},
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(col)
	// Before the connection is made: not connected, no backlog.
	if got := gauge(t, reg, "hoist_nats_connected", nil); got != 0 {
		t.Errorf("hoist_nats_connected = %v before Attach", got)
	}
	if n, err := testutil.GatherAndCount(reg, "hoist_stream_messages"); err != nil || n != 0 {
		t.Errorf("stream series before Attach = %d, %v; want none", n, err)
	}
	col.Attach(c)
	now := time.Now().Add(time.Minute) // the oldest message is at least a minute old
	col.now = func() time.Time { return now }
	want := `
# HELP hoist_consumer_ack_pending_messages Messages delivered to a durable consumer and not acknowledged yet (being handled, or handed back and waiting for redelivery).
# TYPE hoist_consumer_ack_pending_messages gauge
hoist_consumer_ack_pending_messages{consumer="hoist-committer-gitops_main",stream="HOIST_REWRITES"} 0
# HELP hoist_consumer_pending_messages Messages of a durable consumer not delivered yet (its backlog).
# TYPE hoist_consumer_pending_messages gauge
hoist_consumer_pending_messages{consumer="hoist-committer-gitops_main",stream="HOIST_REWRITES"} 3
# HELP hoist_jetstream_info_errors_total Stream and consumer info requests of the metrics that failed (NATS down, timeout, missing stream or consumer).
# TYPE hoist_jetstream_info_errors_total counter
hoist_jetstream_info_errors_total 1
# HELP hoist_nats_connected 1 while the process's NATS connection is up, 0 while it is lost (reconnecting) or not made yet.
# TYPE hoist_nats_connected gauge
hoist_nats_connected 1
# HELP hoist_stream_messages Messages stored in a stream: on the work-queue streams, those no consumer has acknowledged yet.
# TYPE hoist_stream_messages gauge
hoist_stream_messages{stream="HOIST_PUSHES"} 0
hoist_stream_messages{stream="HOIST_REWRITES"} 3
`
	names := []string{"hoist_consumer_ack_pending_messages", "hoist_consumer_pending_messages",
		"hoist_jetstream_info_errors_total", "hoist_nats_connected", "hoist_stream_messages"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	age := gauge(t, reg, "hoist_stream_oldest_message_age_seconds", map[string]string{"stream": RewriteStream})
	if age < 60 {
		t.Errorf("oldest rewrite's age = %v s, want at least 60", age)
	}
	if got := gauge(t, reg, "hoist_stream_oldest_message_age_seconds", map[string]string{"stream": PushStream}); got != 0 {
		t.Errorf("empty stream's oldest age = %v, want 0", got)
	}

	// Deliver two and acknowledge one: after the cache expires
	// the next scrape shows it.
	batch, err := cons.Fetch(2)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []jetstream.Msg
	for m := range batch.Messages() {
		msgs = append(msgs, m)
	}
	if len(msgs) != 2 {
		t.Fatalf("fetched %d messages, want 2", len(msgs))
	}
	if err := msgs[0].DoubleAck(ctx); err != nil {
		t.Fatal(err)
	}
	consumer := map[string]string{"consumer": cfg.Durable, "stream": RewriteStream}
	// Cached: the same answer within scrapeCache.
	if got := gauge(t, reg, "hoist_consumer_pending_messages", consumer); got != 3 {
		t.Errorf("pending within the cache = %v, want the cached 3", got)
	}
	now = now.Add(scrapeCache)
	if got := gauge(t, reg, "hoist_consumer_pending_messages", consumer); got != 1 {
		t.Errorf("pending = %v, want 1 (never delivered)", got)
	}
	if got := gauge(t, reg, "hoist_consumer_ack_pending_messages", consumer); got != 1 {
		t.Errorf("ack pending = %v, want 1 (delivered, not acknowledged)", got)
	}
	if got := gauge(t, reg, "hoist_consumer_last_ack_timestamp_seconds", consumer); got == 0 {
		t.Error("last ack timestamp = 0 after an acknowledgement")
	}
	if got := gauge(t, reg, "hoist_stream_messages", map[string]string{"stream": RewriteStream}); got != 2 {
		t.Errorf("stream messages = %v, want 2", got)
	}

	// A lost connection: 0 connected, no stale backlog.
	c.NC.Close()
	now = now.Add(scrapeCache)
	if got := gauge(t, reg, "hoist_nats_connected", nil); got != 0 {
		t.Errorf("hoist_nats_connected = %v after the connection closed", got)
	}
	if n, err := testutil.GatherAndCount(reg, "hoist_consumer_pending_messages"); err != nil || n != 0 {
		t.Errorf("pending series while disconnected = %d, %v; want none", n, err)
	}
}

// gauge is the value of the series name{labels} gathered from reg
// (failing the test when there is none).
func gauge(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	v, ok := testenv.MetricValue(t, reg, name, labels)
	if !ok {
		t.Fatalf("no series %s%v", name, labels)
	}
	return v
}
