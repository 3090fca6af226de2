package committer

import "github.com/hoist-gitops/hoist/internal/bus"

// Outcome is what the re-check at the head decided for one rewrite.
type Outcome struct {
	Rewrite bus.Rewrite
	// Applied is true when the rewrite's value is in the edited file.
	Applied bool
	// Reason says why a rewrite was dropped (site gone, locked, already newer, ...).
	Reason string
}

// Editor re-checks the rewrites of one file against its content at the
// branch head and edits the file in place (the site must still exist and be
// automated, unlocked and older than the new value): it returns the new
// bytes and one outcome per rewrite, in the order given. An error means the
// file cannot be edited at all (it no longer parses); its rewrites are dropped.
type Editor func(file string, data []byte, rws []bus.Rewrite) ([]byte, []Outcome, error)
