package matcher

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hoist-gitops/hoist/internal/registry"
)

// scanMetrics are the series of the matcher's scans (namespace hoist).
type scanMetrics struct {
	scans    *prometheus.CounterVec
	tags     *prometheus.CounterVec
	newTags  *prometheus.CounterVec
	events   *prometheus.CounterVec
	requests *prometheus.CounterVec
	lastOK   *prometheus.GaugeVec
}

// newScanMetrics registers the scan series on reg (nil: not exported); a
// series registered already is an error.
func newScanMetrics(reg prometheus.Registerer) (*scanMetrics, error) {
	m := &scanMetrics{
		scans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hoist", Subsystem: "matcher", Name: "scans_total",
			Help: "Image repositories listed by this replica, by registry host and result (ok, failed).",
		}, []string{"host", "result"}),
		tags: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hoist", Subsystem: "matcher", Name: "scan_tags_listed_total",
			Help: "Tags the scans listed, by registry host.",
		}, []string{"host"}),
		newTags: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hoist", Subsystem: "matcher", Name: "scan_new_tags_total",
			Help: "Tags a scan saw for the first time (no webhook had announced them), by registry host.",
		}, []string{"host"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hoist", Subsystem: "matcher", Name: "scan_events_total",
			Help: "Push events the scans published (source scan), by registry host.",
		}, []string{"host"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hoist", Subsystem: "matcher", Name: "scan_requests_total",
			Help: "Tag list pages requested by the scans, by registry host and HTTP status (error: no answer).",
		}, []string{"host", "status"}),
		lastOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "hoist", Subsystem: "matcher", Name: "scan_last_success_timestamp_seconds",
			Help: "Unix time of the last successful scan of a repository on each registry host.",
		}, []string{"host"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.scans, m.tags, m.newTags, m.events, m.requests, m.lastOK} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register matcher scan metrics: %w", err)
		}
	}
	return m, nil
}

// request counts one tag list page answered with status.
func (m *scanMetrics) request(host, status string) { m.requests.WithLabelValues(host, status).Inc() }

// failedRequest counts the request a listing failed on, by the status the
// registry answered ("error" when none came); a failure of hoist's own
// (NATS) after the registry answered is no failed request.
func (m *scanMetrics) failedRequest(host string, err error) {
	var re *registry.Error
	if !errors.As(err, &re) {
		return
	}
	status := "error"
	if re.Status != 0 {
		status = strconv.Itoa(re.Status)
	}
	m.request(host, status)
}

// observe counts one finished scan.
func (m *scanMetrics) observe(host string, res scanResult, err error) {
	m.tags.WithLabelValues(host).Add(float64(res.tags))
	m.newTags.WithLabelValues(host).Add(float64(res.newTags))
	m.events.WithLabelValues(host).Add(float64(res.events))
	if err != nil {
		m.scans.WithLabelValues(host, "failed").Inc()
		return
	}
	m.scans.WithLabelValues(host, "ok").Inc()
	m.lastOK.WithLabelValues(host).Set(float64(time.Now().Unix()))
}
