package committer

import (
	"os/exec"
	"testing"
)

// TestBranchNameCheckedAsGitDoes: the committer accepts a branch name (a
// branch, a pushBranch, a pull request's rendered branchTemplate) exactly
// when git's own check-ref-format does, so a name git would refuse at push
// time is refused at start instead. "a.lock/b" is the case a hand-written
// check let through: no component of a ref may end in .lock.
func TestBranchNameCheckedAsGitDoes(t *testing.T) {
	for _, name := range []string{
		"main", "release/1.2", "hoist/registry.example-team-api", "a/-b", "feature-x_y",
		"a.lock/b", "a.lock", "-x", "a/", "/a", "a//b", "a..b", "a b", "a:b", "a~1", "a^", "a?", "a*",
		"a[", "a\\b", "a@{1}", ".hidden", "a/.b", "x.", "a\tb",
	} {
		gitSays := exec.Command("git", "check-ref-format", "--branch", name).Run() == nil
		if got := validBranch(name); got != gitSays {
			t.Errorf("branch %q: committer accepts it: %v, git check-ref-format --branch: %v", name, got, gitSays)
		}
	}
}
