package committer

import (
	"fmt"
	"time"

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
	lastCommit  *prometheus.GaugeVec
}

// Label values known ahead, made at start for every configured repository
// so each series is on /metrics at zero before its first event. Label
// values are snake_case throughout.
var (
	rewriteOutcomes = []string{"applied", "dropped", "handed_back", "invalid"}
	batchResults    = []string{"committed", "unchanged", "handed_back"}
)

// newMetrics makes the committer's series, not exported.
func newMetrics() *metrics {
	return &metrics{
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
		lastCommit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "hoist", Subsystem: "committer", Name: "last_commit_timestamp_seconds",
			Help: "Unix time of the last commit this process pushed for a repository branch (the configured branch; 0: none since start).",
		}, []string{"repo", "branch"}),
	}
}

// registerMetrics makes the committer's series, those of the given
// repositories at zero, and registers them on reg (nil: not exported).
func registerMetrics(reg prometheus.Registerer, repos []Repo) (*metrics, error) {
	m := newMetrics()
	for _, r := range repos {
		m.commits.WithLabelValues(r.Name)
		m.pushRetries.WithLabelValues(r.Name)
		m.latency.WithLabelValues(r.Name)
		for _, o := range rewriteOutcomes {
			m.rewrites.WithLabelValues(r.Name, o)
		}
		for _, res := range batchResults {
			m.batches.WithLabelValues(r.Name, res)
		}
		m.lastCommit.WithLabelValues(r.Name, r.Branch)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.commits, m.pushRetries, m.rewrites, m.batches, m.latency, m.batchSize, m.lastCommit} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register committer metrics: %w", err)
		}
	}
	return m, nil
}

// committed records the time a commit of repo's branch was pushed.
func (m *metrics) committed(repo Repo, at time.Time) {
	m.lastCommit.WithLabelValues(repo.Name, repo.Branch).Set(float64(at.UnixNano()) / 1e9)
}
