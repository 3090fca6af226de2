package main

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/committer"
	"github.com/hoist-gitops/hoist/internal/config"
	"github.com/hoist-gitops/hoist/matcher"
	"github.com/hoist-gitops/hoist/notify"
)

// notifyCloseTimeout bounds how long a stopping service keeps sending the
// notifications still queued.
const notifyCloseTimeout = 5 * time.Second

// notifyTargets maps the notify entries onto the notify package's targets.
func notifyTargets(c *config.Config) []notify.Target {
	var out []notify.Target
	for _, n := range c.Notify {
		t := notify.Target{URL: n.URL, Secret: n.Secret}
		for _, e := range n.Events {
			t.Events = append(t.Events, notify.Kind(e))
		}
		out = append(out, t)
	}
	return out
}

// checkNotify runs the notify package's validation (the URL parses as a
// webhook or as its shoutrrr service, without sending) on the entries that
// have no problems yet, when a stage that sends notifications was checked.
func checkNotify(c *config.Config, found config.Problems) config.Problems {
	var ps config.Problems
	if c.Stages()&(config.StageMatch|config.StageCommit) == 0 {
		return nil
	}
	for i, t := range notifyTargets(c) {
		p := fmt.Sprintf("notify[%d]", i)
		if found.Under(p) {
			continue
		}
		if err := t.Validate(); err != nil {
			key := p + ".url"
			if t.Secret != "" && !t.Webhook() {
				key = p + ".secret"
			}
			ps = append(ps, c.Problem(key, fmt.Sprintf("%s: %v", key, err)))
		}
	}
	return ps
}

// startNotify starts the notification dispatcher of a service that runs
// the matcher or the committer; nil when notify is empty or neither runs.
func startNotify(st stages, cfg *config.Config, reg prometheus.Registerer, log zerolog.Logger) (*notify.Dispatcher, error) {
	if !st.match && !st.commit || len(cfg.Notify) == 0 {
		return nil, nil
	}
	d, err := notify.New(notifyTargets(cfg), notify.Options{}, reg, log)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	return d, nil
}

// stopNotify sends what is still queued, for at most notifyCloseTimeout.
func stopNotify(d *notify.Dispatcher) {
	if d == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), notifyCloseTimeout)
	defer cancel()
	d.Close(ctx)
}

// withNotifier sets the matcher's and committer's Notifier when there is
// a dispatcher (a nil *Dispatcher in an interface would not read as unset).
func withNotifier(d *notify.Dispatcher, m *matcher.Config, c *committer.Config) {
	if d != nil {
		m.Notifier, c.Notifier = d, d
	}
}
