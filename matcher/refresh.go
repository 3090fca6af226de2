package matcher

import (
	"context"
	"fmt"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hoist-gitops/hoist/internal/manifest"
)

// update fetches the repository branch and brings its index to the new
// head: only the files that changed are parsed again. Every CompactEvery
// new heads the copy is fetched afresh and the index rebuilt, which drops
// the objects of old heads. Whatever fails on the way, the next update
// that succeeds leaves a correct index: an incremental fetch that fails is
// retried as a fresh clone, a diff that cannot be taken (the old head is
// gone with a reset copy, or the tree holds unsafe paths) becomes a full
// reindex, and a copy without the old head is always reindexed in full.
func (s *Service) update(ctx context.Context, r *repoState, trigger string) (err error) {
	start := time.Now()
	full := r.head.IsZero() || !r.src.has(r.head)
	if !full && r.src.updates >= s.cfg.CompactEvery {
		r.src.reset()
		full, trigger = true, "compact"
	}
	result := "failed"
	defer func() {
		s.m.reindexes.WithLabelValues(r.Name, trigger, result).Inc()
		s.m.reindexTime.WithLabelValues(r.Name).Observe(time.Since(start).Seconds())
		if ctx.Err() == nil {
			s.recordAttempt(r, err)
		}
	}()
	head, err := r.src.fetch(ctx)
	if err != nil && !full {
		// The incremental fetch may fail on a history rewritten under it;
		// a fresh clone does not.
		r.src.reset()
		full = true
		head, err = r.src.fetch(ctx)
	}
	if err != nil {
		return err
	}
	if head == r.head && !full {
		result = "unchanged"
		return nil
	}
	var changed []file
	var removed []string
	if !full {
		changed, removed, err = r.src.changes(ctx, r.head, head)
		if err != nil {
			s.log.Info().Err(err).Str("repo", r.Name).Msg("incremental reindex not possible; reading the whole tree")
			full = true
		}
	}
	if full {
		files, err := r.src.snapshot(head)
		if err != nil {
			r.src.reset() // rebuilt from scratch on the next update
			return err
		}
		idx := NewIndex()
		setFiles(idx, files)
		r.idx.Store(idx)
		changed = files
	} else {
		idx := r.idx.Load()
		for _, f := range removed {
			idx.RemoveFile(f)
		}
		setFiles(idx, changed)
	}
	old := r.head
	r.head = head
	r.indexed.Store(true)
	result = "updated"
	idx := r.idx.Load()
	s.m.indexSites.WithLabelValues(r.Name).Set(float64(idx.Len()))
	s.m.indexFiles.WithLabelValues(r.Name).Set(float64(len(idx.Files())))
	s.m.indexProblems.WithLabelValues(r.Name).Set(float64(countProblems(idx)))
	s.log.Info().Str("repo", r.Name).Str("branch", r.Branch).Str("trigger", trigger).
		Str("old_head", shortHash(old)).Str("head", shortHash(head)).Bool("full", full).
		Int("files_changed", len(changed)).Int("files_removed", len(removed)).Int("sites", idx.Len()).
		Int64("duration_ms", time.Since(start).Milliseconds()).Msg("index updated")
	s.checkPaths(r, head, idx)
	if full {
		changed = nil // a whole tree re-read is not a change: holds are checked at each push
	}
	s.checkHolds(ctx, r, old, head, changed)
	return nil
}

// checkPaths warns (log, status, metric) about each configured path that
// does not exist at head or holds no manifest that is indexed: a path
// spelt wrong otherwise silently indexes nothing.
func (s *Service) checkPaths(r *repoState, head plumbing.Hash, idx *Index) {
	paths := r.Paths
	if len(paths) == 0 {
		paths = []string{"."}
	}
	files := idx.Files()
	var warnings []string
	for _, p := range paths {
		clean := strings.Trim(path.Clean(p), "/")
		if clean == "" {
			clean = "."
		}
		hit := slices.ContainsFunc(files, func(f string) bool { return underPaths(f, []string{clean}) })
		switch {
		case hit:
		case !r.src.exists(head, clean):
			warnings = append(warnings, fmt.Sprintf("path %q does not exist", p))
		default:
			warnings = append(warnings, fmt.Sprintf("path %q holds no manifest (.yaml or .yml not excluded)", p))
		}
	}
	s.m.emptyPaths.WithLabelValues(r.Name).Set(float64(len(warnings)))
	if r.setWarnings(warnings) {
		for _, w := range warnings {
			s.log.Warn().Str("repo", r.Name).Str("branch", r.Branch).Str("head", shortHash(head)).Msg("configured " + w)
		}
	}
}

// setFiles parses and indexes files on every core.
func setFiles(idx *Index, files []file) {
	workers := min(runtime.GOMAXPROCS(0), len(files))
	next := make(chan file)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for f := range next {
				if f.Problem != "" {
					idx.RemoveFile(f.Path)
					idx.AddProblem(manifest.Problem{File: f.Path, Message: f.Problem})
					continue
				}
				if f.Link {
					idx.RemoveFile(f.Path)
					idx.AddProblem(manifest.Problem{File: f.Path, Message: "symbolic link not followed"})
					continue
				}
				idx.SetFile(f.Path, f.Data)
			}
		})
	}
	for _, f := range files {
		next <- f
	}
	close(next)
	wg.Wait()
}

// countProblems is every file-level and site-level problem of the index.
func countProblems(idx *Index) int {
	n := len(idx.Problems())
	for _, s := range idx.Sites() {
		n += len(s.Problems)
	}
	return n
}

func shortHash(h plumbing.Hash) string {
	if h.IsZero() {
		return ""
	}
	return h.String()[:12]
}
