package matcher

import (
	"context"
	"fmt"
	"math"
	"path"
	"slices"
	"strings"
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
	if full && r.head.IsZero() {
		s.log.Info().Str("repo", r.Name).Str("branch", r.Branch).Str("trigger", trigger).Msg("cloning repository")
	}
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
	nChanged := 0
	if !full {
		changed, removed, err = r.src.changes(ctx, r.head, head)
		if err != nil {
			s.log.Info().Err(err).Str("repo", r.Name).Msg("incremental reindex not possible; reading the whole tree")
			full = true
		}
	}
	if full {
		// Files are parsed as they are read; a big repository's first index
		// says how far it is while it runs.
		idx := NewIndex()
		p := s.newProgress(r, trigger, start)
		add, wait := indexer(idx, math.MaxInt, p)
		err := r.src.eachFile(head, func(f file) { nChanged++; p.fileRead(); add(f) })
		wait()
		if err != nil {
			r.src.reset() // rebuilt from scratch on the next update
			return err
		}
		r.idx.Store(idx)
	} else {
		nChanged = len(changed)
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
		Int("files_changed", nChanged).Int("files_removed", len(removed)).Int("sites", idx.Len()).
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
	add, wait := indexer(idx, len(files), nil)
	for _, f := range files {
		add(f)
	}
	wait()
}

// indexer parses and indexes the files given to add on every core (at most
// n workers); wait returns once every file added is indexed. Each indexed
// file is reported to p (nil: not reported).
func indexer(idx *Index, n int, p *progress) (add func(file), wait func()) {
	return onCores(n, func(f file) {
		switch {
		case f.Problem != "":
			idx.RemoveFile(f.Path)
			idx.AddProblem(manifest.Problem{File: f.Path, Message: f.Problem})
		case f.Link:
			idx.RemoveFile(f.Path)
			idx.AddProblem(manifest.Problem{File: f.Path, Message: "symbolic link not followed"})
		default:
			p.indexed(idx.setFileCount(f.Path, f.Data))
		}
	})
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
