package committer

import (
	"regexp"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Every series of the committer is on /metrics at zero from the start for
// each configured repository and every outcome and result; label values
// hoist chooses are snake_case; registering twice is an error, not a panic.
func TestMetricsPeopleAlertOnCommitterAtZero(t *testing.T) {
	snake := regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)*$`)
	reg := prometheus.NewRegistry()
	if _, err := registerMetrics(reg, []Repo{{Name: "gitops", Branch: "main"}, {Name: "infra", Branch: "prod"}}); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]bool{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
				if l.GetName() != "repo" && l.GetName() != "branch" && !snake.MatchString(l.GetValue()) {
					t.Errorf("%s: label %s=%q is not snake_case", mf.GetName(), l.GetName(), l.GetValue())
				}
			}
			series[key] = true
		}
	}
	for _, want := range []string{
		"hoist_committer_commits_total repo=gitops",
		"hoist_committer_push_retries_total repo=infra",
		"hoist_committer_rewrites_total outcome=handed_back repo=gitops",
		"hoist_committer_rewrites_total outcome=invalid repo=infra",
		"hoist_committer_batches_total repo=gitops result=handed_back",
		"hoist_committer_batches_total repo=infra result=committed",
		"hoist_committer_last_commit_timestamp_seconds branch=prod repo=infra",
		"hoist_end_to_end_latency_seconds repo=gitops",
		"hoist_committer_batch_rewrites",
	} {
		if !series[want] {
			t.Errorf("series %q not present at start", want)
		}
	}
	if _, err := registerMetrics(reg, nil); err == nil {
		t.Error("registering the committer's metrics twice: no error")
	}
}
