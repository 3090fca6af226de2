package committer

import (
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/redact"
	"github.com/hoist-gitops/hoist/notify"
)

// Notifier takes notifications of what the committer did (a
// notify.Dispatcher). Notify must return at once: it is called on the
// commit path, after the push and before the acknowledgements.
type Notifier interface {
	Notify(notify.Event)
}

// notifyCommit tells the notifier of a pushed commit: every change, the
// event ids and a link to the commit when the remote is a known forge.
func (c *Committer) notifyCommit(w *writer, res Result) {
	if c.cfg.Notifier == nil {
		return
	}
	sha := res.Commit.String()
	d := newMessageData(w.repo.Name, res.Branch, res.Applied)
	c.cfg.Notifier.Notify(notify.Event{
		Kind: notify.KindCommit, Repo: w.repo.Name, Branch: res.Branch,
		Commit: &notify.Commit{SHA: sha, URL: notify.CommitURL(w.repo.URL, sha), Changes: notifyChanges(d.Changes), EventIDs: d.EventIDs},
	})
}

// notifyPRCommit tells the notifier of a commit pushed to a pull request's
// branch; its link is the pull request, which is where a person acts.
func (c *Committer) notifyPRCommit(w *writer, pr PRResult) {
	if c.cfg.Notifier == nil {
		return
	}
	sha := pr.Commit.String()
	d := newMessageData(w.repo.Name, pr.Branch, pr.Applied)
	c.cfg.Notifier.Notify(notify.Event{
		Kind: notify.KindCommit, Repo: w.repo.Name, Branch: pr.Branch,
		Commit: &notify.Commit{SHA: sha, URL: pr.PR.URL, Changes: notifyChanges(d.Changes), EventIDs: d.EventIDs},
	})
}

// notifyHandBack tells the notifier of a batch handed back after its
// retries ran out; retryIn is the longest hand-back delay. A batch handed
// back at shutdown is no failure and is not reported.
func (c *Committer) notifyHandBack(w *writer, rws []bus.Rewrite, err error, retryIn time.Duration) {
	if c.cfg.Notifier == nil {
		return
	}
	d := newMessageData(w.repo.Name, w.repo.target(), rws)
	c.cfg.Notifier.Notify(notify.Event{
		Kind: notify.KindFailure, Repo: w.repo.Name, Branch: w.repo.target(),
		Failure: &notify.Failure{
			Stage: "commit", Reason: redact.Text(err.Error()), Changes: notifyChanges(d.Changes),
			EventIDs: d.EventIDs, RetryAt: time.Now().Add(retryIn).UTC(),
		},
	})
}

func notifyChanges(cs []Change) []notify.Change {
	out := make([]notify.Change, len(cs))
	for i, ch := range cs {
		out[i] = notify.Change{
			File: ch.File, Resource: ch.Resource, Container: ch.Container, Image: ch.Image,
			Old: ch.Old, New: ch.New, EventIDs: ch.EventIDs,
		}
	}
	return out
}
