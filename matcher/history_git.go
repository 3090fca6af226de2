package matcher

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/hoist-gitops/hoist/internal/manifest"
)

// HistoryDepth is how many commits of a branch's first-parent history are
// read back to rebuild its records: a site hoist last wrote before them
// gets no record.
const HistoryDepth = 500

// deepen fetches the branch's history down to depth commits into the
// shallow copy (only what the commits below the head add is sent). The
// objects stay until the copy is next compacted.
func (s *source) deepen(ctx context.Context, depth int) error {
	if _, err := s.fetchWithin(ctx, depth); err != nil {
		return fmt.Errorf("fetch the last %d commits of %s: %w", depth, s.repo.Branch, err)
	}
	return nil
}

// history reads up to depth commits of the first-parent history from head,
// newest first, each with the sites whose tag it changed in the files
// hoist's commits among them touched (only those are parsed). complete is
// false when the history goes on below the commits read.
func (s *source) history(ctx context.Context, head plumbing.Hash, depth int) (commits []histCommit, complete bool, err error) {
	type read struct {
		c       *object.Commit
		parent  *object.Commit // nil: a root commit
		changed []string
	}
	var reads []read
	hoistFiles := map[string]bool{}
	h := head
	for len(reads) < depth {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		c, err := object.GetCommit(s.st, h)
		if err != nil {
			return nil, false, fmt.Errorf("commit %s: %w", h, err)
		}
		if len(c.ParentHashes) == 0 {
			complete = true
			break
		}
		p, err := object.GetCommit(s.st, c.ParentHashes[0])
		if err != nil {
			break // the shallow copy's boundary
		}
		changed, err := s.changedFiles(ctx, p, c)
		if err != nil {
			return nil, false, err
		}
		hoist := strings.Contains(c.Message, hoistTrailer)
		if hoist {
			for _, f := range changed {
				hoistFiles[f] = true
			}
		}
		reads = append(reads, read{c: c, parent: p, changed: changed})
		h = p.Hash
	}
	for _, r := range reads {
		hc := histCommit{Hash: r.c.Hash.String(), When: r.c.Committer.When, Hoist: strings.Contains(r.c.Message, hoistTrailer)}
		for _, f := range r.changed {
			if !hoistFiles[f] {
				continue
			}
			after, err := fileSites(r.c, f)
			if err != nil {
				return nil, false, err
			}
			before, err := fileSites(r.parent, f)
			if err != nil {
				return nil, false, err
			}
			hc.Set = append(hc.Set, tagsSet(before, after)...)
		}
		commits = append(commits, hc)
	}
	return commits, complete, nil
}

// changedFiles lists the manifest files c changes, compared with parent p.
func (s *source) changedFiles(ctx context.Context, p, c *object.Commit) ([]string, error) {
	from, err := p.Tree()
	if err != nil {
		return nil, fmt.Errorf("tree of %s: %w", p.Hash, err)
	}
	to, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("tree of %s: %w", c.Hash, err)
	}
	chs, err := object.DiffTreeWithOptions(ctx, from, to, &object.DiffTreeOptions{})
	if err != nil {
		return nil, fmt.Errorf("diff %s: %w", c.Hash, err)
	}
	var out []string
	for _, ch := range chs {
		if ch.To.Name != "" && badPath(ch.To.Name) == "" && s.inScope(ch.To.Name) {
			out = append(out, ch.To.Name)
		}
	}
	return out, nil
}

// fileSites parses the file at path in commit c (none when it is not there).
func fileSites(c *object.Commit, path string) ([]manifest.Site, error) {
	f, err := c.File(path)
	if errors.Is(err, object.ErrFileNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s at %s: %w", path, c.Hash, err)
	}
	data, err := f.Contents()
	if err != nil {
		return nil, fmt.Errorf("%s at %s: %w", path, c.Hash, err)
	}
	sites, _ := manifest.Parse(path, []byte(data))
	return sites, nil
}
