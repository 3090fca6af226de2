package notify

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// The outcomes of a notification, the values of the outcome label.
const (
	outcomeSent    = "sent"
	outcomeFailed  = "failed"  // every attempt failed, or a permanent error
	outcomeDropped = "dropped" // pushed out of a full queue, or still queued at shutdown
)

type metrics struct {
	total *prometheus.CounterVec
}

// newMetrics registers the notification series on reg (nil: not exported);
// a series registered already is an error.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{total: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hoist", Name: "notifications_total",
		Help: "Notifications by notifier (its index in notify and its scheme), event and outcome: sent, failed (after every retry), dropped (out of a full queue, or at shutdown).",
	}, []string{"notifier", "event", "outcome"})}
	if reg != nil {
		if err := reg.Register(m.total); err != nil {
			return nil, fmt.Errorf("register notification metrics: %w", err)
		}
	}
	return m, nil
}

// zero makes a notifier's series visible before its first event.
func (m *metrics) zero(name string, kinds map[Kind]bool) {
	for _, k := range Kinds() {
		if !kinds[k] {
			continue
		}
		for _, o := range []string{outcomeSent, outcomeFailed, outcomeDropped} {
			m.total.WithLabelValues(name, string(k), o)
		}
	}
}

func (m *metrics) inc(name string, k Kind, outcome string) {
	m.total.WithLabelValues(name, string(k), outcome).Inc()
}
