package committer

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// prMetrics are the pull-request series (namespace hoist); nil records nothing.
type prMetrics struct {
	prs    *prometheus.CounterVec
	errors *prometheus.CounterVec
}

// newPRMetrics registers the pull-request series on reg (nil: not exported),
// each configured PR-mode repository's at zero from the start.
func newPRMetrics(reg prometheus.Registerer, repos []Repo) (*prMetrics, error) {
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
	for _, r := range repos {
		if r.PullRequest == nil {
			continue
		}
		for _, a := range []string{PROpened, PRUpdated, PRClosed} {
			m.prs.WithLabelValues(r.Name, a)
		}
		m.errors.WithLabelValues(r.Name)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.prs, m.errors} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register pull-request metrics: %w", err)
			}
		}
	}
	return m, nil
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
