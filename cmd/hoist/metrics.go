package main

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/config"
)

// readyGauge is hoist_ready: the /readyz checks of the moment, run on
// scrape, so "not ready for ten minutes" is an alert and not only a
// Kubernetes event.
type readyGauge struct {
	checks atomic.Pointer[[]readiness]
}

// set replaces the checks (the start-up ones while NATS is waited for,
// then the service's).
func (r *readyGauge) set(checks []readiness) { r.checks.Store(&checks) }

func (r *readyGauge) value() float64 {
	cs := r.checks.Load()
	if cs == nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, c := range *cs {
		if c.check(ctx) != nil {
			return 0
		}
	}
	return 1
}

// registerProcessMetrics registers what every process exports from its
// start: the Go runtime and process collectors, hoist_build_info and
// hoist_ready.
func registerProcessMetrics(reg prometheus.Registerer, ready *readyGauge) error {
	b := currentBuild()
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "hoist", Name: "build_info",
		Help:        "Always 1; the labels say which hoist runs: version, commit and the Go version it was built with.",
		ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "goversion": runtime.Version()},
	})
	info.Set(1)
	readyG := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "hoist", Name: "ready",
		Help: "1 when every check of /readyz passes, 0 when one fails (NATS not connected, a stream or consumer missing, a repository not ready).",
	}, ready.value)
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), info, readyG,
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register process metrics: %w", err)
		}
	}
	return nil
}

// registerBacklogMetrics registers the NATS connection state and the
// backlog of hoist's work streams and of the durable consumers this
// process's stages read; the collector reads once Attach gives it the
// connection, and says "not connected" until then.
func registerBacklogMetrics(reg prometheus.Registerer, st stages, cfg *config.Config) (*bus.BacklogCollector, error) {
	var consumers []bus.ConsumerRef
	if st.match && len(cfg.Repositories) > 0 {
		consumers = append(consumers, bus.ConsumerRef{Stream: bus.PushStream, Consumer: bus.MatcherConsumer})
	}
	if st.commit {
		for _, r := range cfg.Repositories {
			consumers = append(consumers, bus.ConsumerRef{Stream: bus.RewriteStream, Consumer: bus.RewriteConsumerName(r.Name, r.Branch)})
		}
	}
	col := bus.NewBacklogCollector([]string{bus.PushStream, bus.RewriteStream}, consumers)
	if err := reg.Register(col); err != nil {
		return nil, fmt.Errorf("register NATS backlog metrics: %w", err)
	}
	return col, nil
}
