//go:build !hoist_policy

package committer

import (
	"errors"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// PolicyEditor is the Editor of the real re-check (placeholder until
// internal/policy.ApplyRewrites lands).
func PolicyEditor(times interface{}) Editor {
	return func(file string, data []byte, rws []bus.Rewrite) ([]byte, []Outcome, error) {
		return nil, nil, errors.New("policy.ApplyRewrites not available yet")
	}
}
