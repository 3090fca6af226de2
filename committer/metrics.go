package committer

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the committer's Prometheus series (namespace hoist).
type metrics struct {
	commits     *prometheus.CounterVec
	pushRetries *prometheus.CounterVec
	rewrites    *prometheus.CounterVec
	batches     *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	batchSize   prometheus.Histogram
}

// newMetrics registers the committer's series on reg (nil: not exported).
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hoist", Subsystem: "committer", Name: "commits_total",
			Help: "Commits pushed, by repository.",
		}, []string{"repo"}),
		pushRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hoist", Subsystem: "committer", Name: "push_retries_total",
			Help: "Commit-and-push attempts after the first (rejected pushes and failures), by repository.",
		}, []string{"repo"}),
		rewrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hoist", Subsystem: "committer", Name: "rewrites_total",
			Help: "Rewrites by outcome: applied (in a pushed commit), dropped (re-check at the head refused them), handed_back (NAKed after the retries), invalid (undecodable, terminated).",
		}, []string{"repo", "outcome"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hoist", Subsystem: "committer", Name: "batches_total",
			Help: "Batches by result: committed, unchanged (nothing to commit), handed_back.",
		}, []string{"repo", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "hoist", Name: "end_to_end_latency_seconds",
			Help:    "From the webhook's receipt by ingest (Rewrite.ReceivedAt) to the push being accepted, per applied rewrite.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 15, 30, 60, 120, 300},
		}, []string{"repo"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "hoist", Subsystem: "committer", Name: "batch_rewrites",
			Help:    "Rewrites per batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.commits, m.pushRetries, m.rewrites, m.batches, m.latency, m.batchSize)
	}
	return m
}
