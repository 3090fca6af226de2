package bus

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Backlog metrics: what people alert on is work piling up in JetStream, and
// only JetStream knows it. The collector asks for the stream and consumer
// info on scrape (not on a timer: nothing is asked while nobody looks),
// bounded by a timeout, and keeps the answer for a short while so several
// scrapers (two Prometheus replicas) cost one round of requests.

// scrapeTimeout bounds one round of info requests.
const scrapeTimeout = 3 * time.Second

// scrapeCache is how long one round's answers are served again.
const scrapeCache = 5 * time.Second

// ConsumerRef names a durable consumer of a stream.
type ConsumerRef struct{ Stream, Consumer string }

var (
	descConnected = prometheus.NewDesc("hoist_nats_connected",
		"1 while the process's NATS connection is up, 0 while it is lost (reconnecting) or not made yet.", nil, nil)
	descStreamMsgs = prometheus.NewDesc("hoist_stream_messages",
		"Messages stored in a stream: on the work-queue streams, those no consumer has acknowledged yet.", []string{"stream"}, nil)
	descStreamAge = prometheus.NewDesc("hoist_stream_oldest_message_age_seconds",
		"Age of the oldest message of a stream (0 when empty): on the work-queue streams, the oldest push or rewrite not handled yet.", []string{"stream"}, nil)
	descPending = prometheus.NewDesc("hoist_consumer_pending_messages",
		"Messages of a durable consumer not delivered yet (its backlog).", []string{"stream", "consumer"}, nil)
	descAckPending = prometheus.NewDesc("hoist_consumer_ack_pending_messages",
		"Messages delivered to a durable consumer and not acknowledged yet (being handled, or handed back and waiting for redelivery).", []string{"stream", "consumer"}, nil)
	descRedelivered = prometheus.NewDesc("hoist_consumer_redelivered_messages",
		"Messages of a durable consumer delivered more than once and not acknowledged yet.", []string{"stream", "consumer"}, nil)
	descLastAck = prometheus.NewDesc("hoist_consumer_last_ack_timestamp_seconds",
		"Unix time of a durable consumer's last acknowledgement (0: none since it was created or its server started).", []string{"stream", "consumer"}, nil)
	descInfoErrors = prometheus.NewDesc("hoist_jetstream_info_errors_total",
		"Stream and consumer info requests of the metrics that failed (NATS down, timeout, missing stream or consumer).", nil, nil)
)

// BacklogCollector exports the NATS connection state and the backlog of
// hoist's streams and of the durable consumers a process reads.
type BacklogCollector struct {
	conn      atomic.Pointer[Conn]
	streams   []string
	consumers []ConsumerRef
	now       func() time.Time

	mu     sync.Mutex
	at     time.Time           // when metrics were gathered
	cached []prometheus.Metric // the last round's answers
	errs   float64             // info requests that failed, ever
}

// NewBacklogCollector is the collector of the given streams' and consumers'
// backlog, read through the connection Attach gives it (until then it says
// NATS is not connected). Register it on the registry /metrics serves.
func NewBacklogCollector(streams []string, consumers []ConsumerRef) *BacklogCollector {
	return &BacklogCollector{streams: streams, consumers: consumers, now: time.Now}
}

// Attach has the collector read through c from now on.
func (b *BacklogCollector) Attach(c *Conn) { b.conn.Store(c) }

// Describe sends the descriptions of every series.
func (b *BacklogCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConnected, descStreamMsgs, descStreamAge, descPending, descAckPending, descRedelivered, descLastAck, descInfoErrors} {
		ch <- d
	}
}

// Collect sends the series, asking JetStream at most once per scrapeCache.
func (b *BacklogCollector) Collect(ch chan<- prometheus.Metric) {
	c := b.conn.Load()
	connected := 0.0
	if c != nil && c.NC != nil && c.NC.IsConnected() {
		connected = 1
	}
	ch <- prometheus.MustNewConstMetric(descConnected, prometheus.GaugeValue, connected)
	b.mu.Lock()
	defer b.mu.Unlock()
	switch now := b.now(); {
	case connected == 0:
		b.cached = nil // nothing to ask, and no stale backlog
	case b.cached == nil || now.Sub(b.at) >= scrapeCache:
		b.cached = b.gather(c)
		b.at = now
	}
	for _, m := range b.cached {
		ch <- m
	}
	ch <- prometheus.MustNewConstMetric(descInfoErrors, prometheus.CounterValue, b.errs)
}

// gather asks c for every stream's and consumer's info; one that cannot
// be had is counted as an error and left out (an alert on a stale value
// would be worse than a gap).
func (b *BacklogCollector) gather(c *Conn) []prometheus.Metric {
	out := []prometheus.Metric{}
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	now := b.now()
	for _, name := range b.streams {
		st, err := c.JS.Stream(ctx, name)
		if err != nil {
			b.errs++
			continue
		}
		info := st.CachedInfo()
		age := 0.0
		if info.State.Msgs > 0 && !info.State.FirstTime.IsZero() {
			age = max(now.Sub(info.State.FirstTime).Seconds(), 0)
		}
		out = append(out,
			prometheus.MustNewConstMetric(descStreamMsgs, prometheus.GaugeValue, float64(info.State.Msgs), name),
			prometheus.MustNewConstMetric(descStreamAge, prometheus.GaugeValue, age, name))
	}
	for _, ref := range b.consumers {
		info, err := consumerInfo(ctx, c.JS, ref)
		if err != nil {
			b.errs++
			continue
		}
		lastAck := 0.0
		if info.AckFloor.Last != nil {
			lastAck = float64(info.AckFloor.Last.UnixNano()) / 1e9
		}
		l := []string{ref.Stream, ref.Consumer}
		out = append(out,
			prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(info.NumPending), l...),
			prometheus.MustNewConstMetric(descAckPending, prometheus.GaugeValue, float64(info.NumAckPending), l...),
			prometheus.MustNewConstMetric(descRedelivered, prometheus.GaugeValue, float64(info.NumRedelivered), l...),
			prometheus.MustNewConstMetric(descLastAck, prometheus.GaugeValue, lastAck, l...))
	}
	return out
}

// consumerInfo is one consumer's info, straight from the server.
func consumerInfo(ctx context.Context, js jetstream.StreamConsumerManager, ref ConsumerRef) (*jetstream.ConsumerInfo, error) {
	cons, err := js.Consumer(ctx, ref.Stream, ref.Consumer)
	if err != nil {
		return nil, err
	}
	info := cons.CachedInfo()
	if info == nil {
		return nil, errors.New("no consumer info")
	}
	return info, nil
}
