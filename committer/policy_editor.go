package committer

import (
	"context"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/policy"
)

// recheckTimeout bounds the first-seen lookups of one file's re-check: an
// Editor has no context of its own, and a slow NATS must not hold a batch
// for ever (a lookup that runs out of time counts as unknown).
const recheckTimeout = 10 * time.Second

// policyEditor is the re-check at the branch head as the committer runs it:
// policy.ApplyRewrites with the tag first-seen times (nil: no history).
func policyEditor(times policy.TagTimes) Editor {
	return func(file string, data []byte, rws []bus.Rewrite) ([]byte, []Outcome, error) {
		ctx, cancel := context.WithTimeout(context.Background(), recheckTimeout)
		defer cancel()
		out, results, err := policy.ApplyRewrites(ctx, file, data, rws, times)
		outcomes := make([]Outcome, len(results))
		for i, r := range results {
			outcomes[i] = Outcome{Rewrite: r.Rewrite, Applied: r.Applied, Reason: r.Reason}
		}
		return out, outcomes, err
	}
}
