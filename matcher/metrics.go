package matcher

import (
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hoist-gitops/hoist/internal/policy"
)

// metrics are the matcher service's Prometheus series (namespace hoist).
type metrics struct {
	pushes        *prometheus.CounterVec
	pushDuration  prometheus.Histogram
	decisions     *prometheus.CounterVec
	rewrites      *prometheus.CounterVec
	indexSites    *prometheus.GaugeVec
	indexFiles    *prometheus.GaugeVec
	indexProblems *prometheus.GaugeVec
	reindexes     *prometheus.CounterVec
	reindexTime   *prometheus.HistogramVec
	repoState     *prometheus.GaugeVec
	lastIndexed   *prometheus.GaugeVec
	indexFailures *prometheus.CounterVec
	emptyPaths    *prometheus.GaugeVec
	// registryChecks counts tag verifications by result (verify.go).
	registryChecks *prometheus.CounterVec
}

// Label values known ahead, made at start so every series is on /metrics
// at zero before its first event (a rate over a series that appears with
// its first increment misses that increment, and absent series make
// alerts silent). Label values are snake_case throughout.
var (
	pushOutcomes    = []string{"rewrites", "unchanged", "no_sites", "not_in_registry", "unsigned", "bad_signature", "invalid", "failed", "waiting", "held"}
	reindexTriggers = []string{"start", "head", "interval", "compact", "retry"}
	reindexResults  = []string{"updated", "unchanged", "failed"}
	decisionCodes   = []policy.Code{policy.CodeUpdate, policy.CodeNotAutomated, policy.CodeLocked, policy.CodeIgnored,
		policy.CodeInvalidFilter, policy.CodeNoTag, policy.CodeExcludedTag, policy.CodeFilterMismatch,
		policy.CodeNotNewer, policy.CodeSame, policy.CodeNoDigest, policy.CodeReadOnly,
		policy.CodeTooYoung, policy.CodeSuperseded, policy.CodeHeld}
)

// decisionLabel is a decision code as a label value: hoist explain's code
// with '-' written '_' (not-newer: not_newer), the style of every label.
func decisionLabel(c policy.Code) string { return strings.ReplaceAll(string(c), "-", "_") }

// decided counts a site of repo that a push concerned, by its decision.
func (m *metrics) decided(repo string, c policy.Code) {
	m.decisions.WithLabelValues(repo, decisionLabel(c)).Inc()
}

// newMetrics registers the matcher's series on reg (nil: not exported),
// those of the given repositories made at zero.
func newMetrics(reg prometheus.Registerer, repos []string) (*metrics, error) {
	m := &metrics{
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hoist", Subsystem: "matcher", Name: "pushes_total",
			Help: "Push events handled, by outcome: rewrites (at least one rewrite published), unchanged (sites found, none to update), no_sites, not_in_registry (the registry has no such tag: nothing written), unsigned and bad_signature (the image's rule requires a signature and none verifies: nothing written), invalid (undecodable, terminated), failed (handed back for redelivery), waiting (decided for the indexed repositories, handed back for one not indexed yet; or handed back until its image's signature arrives), held (a tag younger than a site's minimum age: handed back until it is old enough).",
		}, []string{"outcome"}),
		pushDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "hoist", Subsystem: "matcher", Name: "push_duration_seconds",
			Help:    "Time to handle one push event: record its tag, match, publish the rewrites.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hoist", Subsystem: "matcher", Name: "matches_total",
			Help: "Sites matched by a push, by repository and decision (update, not_newer, filter_mismatch, locked, ...: hoist explain's codes with _ for -).",
		}, []string{"repo", "decision"}),
		rewrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hoist", Subsystem: "matcher", Name: "rewrites_total",
			Help: "Rewrites stored (duplicates of a redelivered push not counted), by repository.",
		}, []string{"repo"}),
		indexSites: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "hoist", Subsystem: "matcher", Name: "index_sites",
			Help: "Image sites in the index, by repository.",
		}, []string{"repo"}),
		indexFiles: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "hoist", Subsystem: "matcher", Name: "index_files",
			Help: "Manifest files in the index, by repository.",
		}, []string{"repo"}),
		indexProblems: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "hoist", Subsystem: "matcher", Name: "index_problems",
			Help: "Problems found in the indexed manifests (YAML that does not parse, invalid filters, misspelt annotations, ...), by repository.",
		}, []string{"repo"}),
		reindexes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hoist", Subsystem: "matcher", Name: "reindexes_total",
			Help: "Index updates by repository, trigger (start, head, interval, compact, retry) and result (updated, unchanged, failed).",
		}, []string{"repo", "trigger", "result"}),
		reindexTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "hoist", Subsystem: "matcher", Name: "reindex_duration_seconds",
			Help:    "Time to fetch a repository branch and reindex the files that changed, by repository.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"repo"}),
		repoState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "hoist", Subsystem: "matcher", Name: "repository_state",
			Help: "1 for the state each repository's index is in (indexing, failing, ready, stale), 0 for the others.",
		}, []string{"repo", "state"}),
		lastIndexed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "hoist", Subsystem: "matcher", Name: "last_indexed_timestamp_seconds",
			Help: "Unix time of the last successful fetch (and reindex) of each repository.",
		}, []string{"repo"}),
		indexFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hoist", Subsystem: "matcher", Name: "index_failures_total",
			Help: "Failed attempts to fetch and index a repository (each retried with back-off).",
		}, []string{"repo"}),
		emptyPaths: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "hoist", Subsystem: "matcher", Name: "paths_without_manifests",
			Help: "Configured paths of a repository that do not exist or hold no manifest.",
		}, []string{"repo"}),
		registryChecks: newVerifyMetric(),
	}
	for _, o := range pushOutcomes {
		m.pushes.WithLabelValues(o)
	}
	for _, v := range verdicts {
		m.registryChecks.WithLabelValues(string(v))
	}
	for _, r := range repos {
		for _, c := range decisionCodes {
			m.decisions.WithLabelValues(r, decisionLabel(c))
		}
		for _, t := range reindexTriggers {
			for _, res := range reindexResults {
				m.reindexes.WithLabelValues(r, t, res)
			}
		}
		m.rewrites.WithLabelValues(r)
		m.indexSites.WithLabelValues(r)
		m.indexFiles.WithLabelValues(r)
		m.indexProblems.WithLabelValues(r)
		m.reindexTime.WithLabelValues(r)
		m.lastIndexed.WithLabelValues(r)
		m.indexFailures.WithLabelValues(r)
		m.emptyPaths.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.pushes, m.pushDuration, m.decisions, m.rewrites, m.indexSites, m.indexFiles,
		m.indexProblems, m.reindexes, m.reindexTime, m.repoState, m.lastIndexed, m.indexFailures, m.emptyPaths,
		m.registryChecks} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register matcher metrics: %w", err)
		}
	}
	return m, nil
}

// repoNames are the names of repos, in order.
func repoNames(repos []Repo) []string {
	out := make([]string, len(repos))
	for i, r := range repos {
		out[i] = r.Name
	}
	return out
}
