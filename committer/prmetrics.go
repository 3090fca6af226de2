package committer

import (
	"github.com/prometheus/client_golang/prometheus"
)

// prMetrics are the pull-request series (namespace hoist); nil records nothing.
type prMetrics struct {
	prs    *prometheus.CounterVec
	errors *prometheus.CounterVec
}

// newPRMetrics registers the pull-request series on reg (nil: not exported).
func newPRMetrics(reg prometheus.Registerer) *prMetrics {
	m := &prMetrics{
		prs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hoist", Subsystem: "committer", Name: "pull_requests_total",
			Help: "Pull requests by action: opened, updated (new commits, title or body), closed (the tracked branch had every change).",
		}, []string{"repo", "action"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hoist", Subsystem: "committer", Name: "forge_errors_total",
			Help: "Failed calls to a forge's pull-request API, by repository (the batch is retried).",
		}, []string{"repo"}),
	}
	if reg != nil {
		reg.MustRegister(m.prs, m.errors)
	}
	return m
}

func (m *prMetrics) forgeError(repo string) {
	if m != nil {
		m.errors.WithLabelValues(repo).Inc()
	}
}

func (m *prMetrics) action(repo, action string) {
	if m != nil {
		m.prs.WithLabelValues(repo, action).Inc()
	}
}
