package committer

import (
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// announcePRs records what a batch did to pull requests: metrics, a log
// line per pull request with its URL, and each pushed branch head on the bus.
func (c *Committer) announcePRs(w *writer, res Result, pushedAt time.Time) {
	pushed := false
	for _, pr := range res.PRs {
		if pr.Action != PRUnchanged {
			c.prm.action(w.repo.Name, pr.Action)
		}
		ev := w.log.Info().Str("pr_url", pr.PR.URL).Int64("pr", pr.PR.Number).Str("pr_branch", pr.Branch).
			Str("action", pr.Action).Strs("event_ids", eventIDs(pr.Applied)).Int("applied", len(pr.Applied))
		if !pr.Commit.IsZero() {
			pushed = true
			ev = ev.Str("commit", pr.Commit.String())
			head := bus.Head{Repo: w.repo.Name, Branch: pr.Branch, Commit: pr.Commit.String(), EventIDs: eventIDs(pr.Applied)}
			if err := bus.AnnounceHead(c.js.Conn(), head); err != nil {
				w.log.Warn().Err(err).Msg("announce head")
			}
			c.notifyPRCommit(w, pr)
		}
		ev.Msg("pull request " + pr.Action)
	}
	if pushed {
		c.m.commits.WithLabelValues(w.repo.Name).Inc()
		c.m.batches.WithLabelValues(w.repo.Name, "committed").Inc()
	} else {
		c.m.batches.WithLabelValues(w.repo.Name, "unchanged").Inc()
	}
	// Rewrites count as applied once: with the commit that carries them,
	// or with the pull request opened on a branch that already had them
	// (a batch redelivered after a crash).
	for _, pr := range res.PRs {
		if pr.Commit.IsZero() && pr.Action != PROpened {
			continue
		}
		c.m.rewrites.WithLabelValues(w.repo.Name, "applied").Add(float64(len(pr.Applied)))
		for _, rw := range pr.Applied {
			if !rw.ReceivedAt.IsZero() {
				c.m.latency.WithLabelValues(w.repo.Name).Observe(pushedAt.Sub(rw.ReceivedAt).Seconds())
			}
		}
	}
}
