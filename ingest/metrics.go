package ingest

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are ingest's Prometheus series, registered on the caller's registry.
type metrics struct {
	deliveries *prometheus.CounterVec   // by receiver, outcome
	latency    *prometheus.HistogramVec // by receiver, outcome
	events     *prometheus.CounterVec   // by receiver, result (stored, duplicate, untagged)
	phase      *prometheus.HistogramVec // by phase (read, auth, parse, publish)
	phases     [numPhases]prometheus.Observer
}

// phase is a step of a delivery whose duration is observed.
type phase int

// The phases of a delivery, in order.
const (
	phaseRead phase = iota
	phaseAuth
	phaseParse
	phasePublish
	numPhases
)

// phaseNames are the "phase" label values.
var phaseNames = [numPhases]string{"read", "auth", "parse", "publish"}

// receiverSeries are one receiver label's series, looked up once at start
// rather than by label values on every delivery; made ahead, they are also
// on /metrics at zero before the first delivery, as alert rules like. One
// not made ahead is looked up when it is first needed.
type receiverSeries struct {
	m          *metrics
	label      string
	deliveries map[outcome]prometheus.Counter
	latency    map[outcome]prometheus.Observer
	events     map[string]prometheus.Counter // by result
}

// The results of hoist_ingest_events_total.
const (
	resultStored    = "stored"
	resultDuplicate = "duplicate"
	resultUntagged  = "untagged"
)

// seriesFor makes the series of receiver label l for the given outcomes
// and event results.
func (m *metrics) seriesFor(l string, os []outcome, results ...string) *receiverSeries {
	rs := &receiverSeries{m: m, label: l,
		deliveries: make(map[outcome]prometheus.Counter, len(os)),
		latency:    make(map[outcome]prometheus.Observer, len(os)),
		events:     make(map[string]prometheus.Counter, len(results)),
	}
	for _, o := range os {
		rs.deliveries[o] = m.deliveries.WithLabelValues(l, string(o))
		rs.latency[o] = m.latency.WithLabelValues(l, string(o))
	}
	for _, r := range results {
		rs.events[r] = m.events.WithLabelValues(l, r)
	}
	return rs
}

// delivered counts a delivery that ended in o after latency.
func (rs *receiverSeries) delivered(o outcome, latency time.Duration) {
	c, ok := rs.deliveries[o]
	if !ok {
		c = rs.m.deliveries.WithLabelValues(rs.label, string(o))
	}
	c.Inc()
	h, ok := rs.latency[o]
	if !ok {
		h = rs.m.latency.WithLabelValues(rs.label, string(o))
	}
	h.Observe(latency.Seconds())
}

// counted adds n events with the given result.
func (rs *receiverSeries) counted(result string, n int) {
	if n == 0 {
		return
	}
	c, ok := rs.events[result]
	if !ok {
		c = rs.m.events.WithLabelValues(rs.label, result)
	}
	c.Add(float64(n))
}

// newMetrics creates and registers the series on reg.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hoist", Subsystem: "ingest", Name: "deliveries_total",
			Help: "Webhook deliveries by receiver and outcome (stored, ignored, malformed, unauthorized, ...).",
		}, []string{"receiver", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "hoist", Subsystem: "ingest", Name: "delivery_duration_seconds",
			Help:    "Time from request to answer, by receiver and outcome.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"receiver", "outcome"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hoist", Subsystem: "ingest", Name: "events_total",
			Help: "Push events by receiver and result: stored, duplicate (already stored), untagged (never stored).",
		}, []string{"receiver", "result"}),
		phase: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "hoist", Subsystem: "ingest", Name: "phase_duration_seconds",
			Help:    "Time spent per delivery in each phase: read, auth, parse, publish.",
			Buckets: []float64{.00001, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .05, .1, 1, 10},
		}, []string{"phase"}),
	}
	for p, name := range phaseNames {
		m.phases[p] = m.phase.WithLabelValues(name)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.deliveries, m.latency, m.events, m.phase} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register ingest metrics: %w", err)
		}
	}
	return m, nil
}
