package matcher

import (
	"regexp"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// snakeCase is the one style of every label value hoist chooses (the names
// of repositories and receivers are the user's).
var snakeCase = regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)*$`)

// Every documented series people alert on is on /metrics at zero from the
// start, for each configured repository and every known outcome, decision,
// trigger and result; label values are snake_case; registering twice is an
// error, not a panic.
func TestMetricsPeopleAlertOnMatcherAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	m.decided("a", "not-newer")
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]bool{}
	for _, mf := range mfs {
		for _, s := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range s.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
				if l.GetName() != "repo" && !snakeCase.MatchString(l.GetValue()) {
					t.Errorf("%s: label %s=%q is not snake_case", mf.GetName(), l.GetName(), l.GetValue())
				}
			}
			series[key] = true
		}
	}
	for _, want := range []string{
		"hoist_matcher_pushes_total outcome=no_sites",
		"hoist_matcher_pushes_total outcome=waiting",
		"hoist_matcher_matches_total decision=update repo=a",
		"hoist_matcher_matches_total decision=not_newer repo=a",
		"hoist_matcher_matches_total decision=filter_mismatch repo=b",
		"hoist_matcher_rewrites_total repo=b",
		"hoist_matcher_reindexes_total repo=a result=failed trigger=start",
		"hoist_matcher_reindexes_total repo=b result=updated trigger=interval",
		"hoist_matcher_index_failures_total repo=a",
		"hoist_matcher_last_indexed_timestamp_seconds repo=b",
		"hoist_matcher_reindex_duration_seconds repo=a",
		"hoist_matcher_paths_without_manifests repo=b",
	} {
		if !series[want] {
			t.Errorf("series %q not present at start", want)
		}
	}
	if series["hoist_matcher_matches_total decision=not-newer repo=a"] {
		t.Error("decision label not-newer written with a hyphen")
	}
	if _, err := newMetrics(reg, nil); err == nil {
		t.Error("registering the matcher's metrics twice: no error")
	}
}

// Registering the scan series where they are registered already is an
// error, not a panic.
func TestMetricRegistrationErrorsReturnedScan(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := newScanMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := newScanMetrics(reg); err == nil {
		t.Error("registering the scan metrics twice: no error")
	}
}
