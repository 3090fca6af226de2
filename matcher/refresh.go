package matcher

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hoist-gitops/hoist/internal/manifest"
)

// update fetches the repository branch and brings its index to the new
// head: only the files that changed are parsed again. Every CompactEvery
// new heads (and whenever an incremental update fails) the copy is fetched
// afresh and the index rebuilt, which drops the objects of old heads.
func (s *Service) update(ctx context.Context, r *repoState, trigger string) error {
	start := time.Now()
	full := r.head.IsZero()
	if !full && r.src.updates >= s.cfg.CompactEvery {
		r.src.reset()
		full, trigger = true, "compact"
	}
	result := "failed"
	defer func() {
		s.m.reindexes.WithLabelValues(r.Name, trigger, result).Inc()
		s.m.reindexTime.WithLabelValues(r.Name).Observe(time.Since(start).Seconds())
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
	var changedFiles, removedFiles int
	if full {
		files, err := r.src.snapshot(head)
		if err != nil {
			return err
		}
		idx := NewIndex()
		setFiles(idx, files)
		r.idx.Store(idx)
		changedFiles = len(files)
	} else {
		changed, removed, err := r.src.changes(ctx, r.head, head)
		if err != nil {
			r.src.reset() // rebuilt from scratch on the next update
			return err
		}
		idx := r.idx.Load()
		for _, f := range removed {
			idx.RemoveFile(f)
		}
		setFiles(idx, changed)
		changedFiles, removedFiles = len(changed), len(removed)
	}
	old := r.head
	r.head = head
	result = "updated"
	idx := r.idx.Load()
	s.m.indexSites.WithLabelValues(r.Name).Set(float64(idx.Len()))
	s.m.indexFiles.WithLabelValues(r.Name).Set(float64(len(idx.Files())))
	s.m.indexProblems.WithLabelValues(r.Name).Set(float64(countProblems(idx)))
	s.log.Info().Str("repo", r.Name).Str("branch", r.Branch).Str("trigger", trigger).
		Str("old_head", shortHash(old)).Str("head", shortHash(head)).Bool("full", full).
		Int("files_changed", changedFiles).Int("files_removed", removedFiles).Int("sites", idx.Len()).
		Int64("duration_ms", time.Since(start).Milliseconds()).Msg("index updated")
	return nil
}

// setFiles parses and indexes files on every core.
func setFiles(idx *Index, files []file) {
	workers := min(runtime.GOMAXPROCS(0), len(files))
	next := make(chan file)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for f := range next {
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
