package matcher

import (
	"context"
	"fmt"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// ensureHolds makes sure the holds bucket has r's records: a history mark
// for the branch says it has; without one they are rebuilt from the
// branch's git history and the mark written. Pushes are not decided for r
// until then (holdsKnown), so the first push after the bucket lost its
// records cannot write a tag a person rolled back from. Called after each
// refresh of r (one KV read when nothing is missing) and by r's maintainer
// only. A repository whose writes a person merges has no records to rebuild.
func (s *Service) ensureHolds(ctx context.Context, r *repoState) error {
	h, ok := s.gates.Holds.(*bus.Holds)
	if !ok || r.MergedWrites {
		if !r.holdsKnown.Swap(true) {
			r.setHolds("")
		}
		return nil
	}
	gctx, cancel := context.WithTimeout(ctx, gateTimeout)
	_, found, err := h.History(gctx, r.Name, r.Branch)
	cancel()
	if err != nil {
		if !r.holdsKnown.Load() {
			r.setHolds("holds not read yet: " + err.Error())
		}
		return err
	}
	if found {
		if !r.holdsKnown.Swap(true) {
			r.setHolds("")
		}
		return nil
	}
	r.holdsKnown.Store(false)
	r.setHolds("rebuilding its holds from git history")
	if err := s.rebuildHolds(ctx, r, h); err != nil {
		r.setHolds("holds not rebuilt yet: " + err.Error())
		return err
	}
	r.holdsKnown.Store(true)
	r.setHolds("")
	return nil
}

// rebuildTimeout bounds one rebuild of a repository's records: the fetch
// of its history and the walk through it.
func (r Repo) rebuildTimeout() time.Duration { return 2 * r.gitTimeout() }

// rebuildHolds reads the last HistoryDepth commits of r's branch back and
// stores a record for each site hoist wrote there (a hold where a person
// set it back since) that has none, then the branch's history mark.
func (s *Service) rebuildHolds(ctx context.Context, r *repoState, h *bus.Holds) error {
	start := time.Now()
	head := r.head
	s.log.Info().Str("repo", r.Name).Str("branch", r.Branch).Str("head", shortHash(head)).Int("depth", HistoryDepth).
		Msg("the holds bucket has no record of this branch (NATS lost it, or the branch is new to it): rebuilding the records from git history; its pushes wait")
	ctx, cancel := context.WithTimeout(ctx, r.rebuildTimeout())
	defer cancel()
	if err := r.src.deepen(ctx, HistoryDepth); err != nil {
		return fmt.Errorf("rebuild holds: %w", err)
	}
	commits, complete, err := r.src.history(ctx, head, HistoryDepth)
	if err != nil {
		return fmt.Errorf("rebuild holds: read history: %w", err)
	}
	now := time.Now()
	writes := lastWrites(commits)
	recs := rebuiltRecords(ctx, r.Name, r.Branch, writes, r.idx.Load().Sites(), head.String(), s.times, now)
	stored, held := 0, 0
	for _, rec := range recs {
		ok, err := h.Rebuilt(ctx, rec)
		if err != nil {
			return fmt.Errorf("rebuild holds: %w", err)
		}
		if !ok {
			continue // the committer wrote the site meanwhile: its record is newer
		}
		stored++
		if rec.Held {
			held++
			s.log.Warn().Str("repo", rec.Repo).Str("branch", rec.Branch).Str("file", rec.File).Str("resource", rec.Resource).
				Str("container", rec.Container).Str("written", rec.Written).Str("rolled_back_to", rec.RolledBackTo).
				Str("held_commit", rec.HeldCommit).Msg("site held (rebuilt from git history): a person rolled it back from what hoist wrote; only a newer tag is applied")
		}
	}
	mark := bus.HistoryMark{Repo: r.Name, Branch: r.Branch, Head: head.String(), At: now.UTC(), Commits: len(commits), Records: stored, Holds: held}
	if err := h.SetHistory(ctx, mark); err != nil {
		return fmt.Errorf("rebuild holds: %w", err)
	}
	s.log.Info().Str("repo", r.Name).Str("branch", r.Branch).Int("commits", len(commits)).Bool("whole_history", complete).
		Int("sites_written", len(writes)).Int("records", stored).Int("holds", held).
		Int64("duration_ms", time.Since(start).Milliseconds()).Msg("holds rebuilt from git history")
	if !complete {
		s.log.Warn().Str("repo", r.Name).Str("branch", r.Branch).Int("commits", len(commits)).
			Msg("the branch's history goes on below the commits read back: a site hoist last wrote before them has no record, so a rollback of it is not held")
	}
	return nil
}

// holdsRecorded reports whether the holds bucket still has r's records
// (its history mark), for a push about to be decided for r. When it has
// not (lost while hoist runs), r's maintainer is asked to rebuild them
// and the push waits. A mark that cannot be read makes the push wait too.
func (s *Service) holdsRecorded(ctx context.Context, r *repoState) bool {
	h, ok := s.gates.Holds.(*bus.Holds)
	if !ok || r.MergedWrites {
		return true
	}
	_, found, err := h.History(ctx, r.Name, r.Branch)
	if err != nil || found {
		return err == nil
	}
	if r.holdsKnown.Swap(false) {
		r.setHolds("rebuilding its holds from git history")
		s.log.Warn().Str("repo", r.Name).Str("branch", r.Branch).Msg("the holds bucket lost this branch's records; pushes for it wait until they are rebuilt from git history")
	}
	s.onHead(bus.Head{Repo: r.Name, Branch: r.Branch})
	return false
}
