package committer

import (
	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/policy"
)

// PolicyEditor is the re-check at the branch head as the committer runs it:
// policy.ApplyRewrites with the tag first-seen times (nil: no history).
func PolicyEditor(times policy.TagTimes) Editor {
	return func(file string, data []byte, rws []bus.Rewrite) ([]byte, []Outcome, error) {
		out, results, err := policy.ApplyRewrites(file, data, rws, times)
		outcomes := make([]Outcome, len(results))
		for i, r := range results {
			outcomes[i] = Outcome{Rewrite: r.Rewrite, Applied: r.Applied, Reason: r.Reason}
		}
		return out, outcomes, err
	}
}
