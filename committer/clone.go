package committer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/gitfetch"
	"github.com/hoist-gitops/hoist/internal/redact"
)

// maxCloneUpdates is how many fetched or pushed packs a local clone takes
// before it is rebuilt from a fresh shallow fetch: each update adds a pack
// file, and lookups get slower with every pack.
const maxCloneUpdates = 256

// localClone is the committer's own shallow, bare copy of a repository:
// only the heads it works on, with depth 1 (or the depth the pushBranch
// ancestry check needs). It never has a worktree; files are read from trees.
type localClone struct {
	dir     string // "" keeps it in memory
	st      storage.Storer
	updates int
	// stale marks a clone to rebuild before its next use: it may hold
	// objects the remote lost (a re-created repository, a force-push and a
	// gc), which a push would then leave out, or it failed to record a push.
	stale bool
}

// cloneDirName is the folder of a repository branch's clone under the data
// folder: readable (repository and branch) and keyed by a hash of the
// credential-free URL, the branch and the push branch, so pointing a name
// at another repository never reuses the objects of the first.
func cloneDirName(r Repo) string {
	key := r.URL
	if ep, err := transport.NewEndpoint(r.URL); err == nil {
		ep.User, ep.Password = "", "" // credentials and user do not change the repository
		key = ep.String()
	}
	h := sha256.Sum256([]byte(key + "\x00" + r.Branch + "\x00" + r.PushBranch))
	return bus.RewriteConsumerName(r.Name, r.Branch) + "-" + hex.EncodeToString(h[:8])
}

// legacyCloneDirName is where clones lived when they were keyed by name
// and branch only; such a folder is removed at startup.
func legacyCloneDirName(r Repo) string { return bus.RewriteConsumerName(r.Name, r.Branch) }

func openClone(dir string) (*localClone, error) {
	c := &localClone{dir: dir}
	if err := c.open(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *localClone) open() error {
	c.updates = 0
	if c.dir == "" {
		c.st = memory.NewStorage()
		return nil
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("local clone: %w", err)
	}
	// Not ExclusiveAccess: with it, go-git v5.19's HasEncodedObject reports
	// packed objects as missing.
	// MaxOpenDescriptors keeps the packs open between reads: a batch reads
	// a blob per file, and opening the pack each time dominated.
	c.st = filesystem.NewStorageWithOptions(osfs.New(c.dir), cache.NewObjectLRUDefault(), filesystem.Options{MaxOpenDescriptors: 32})
	if _, err := git.Init(c.st, nil); err != nil && !errors.Is(err, git.ErrRepositoryAlreadyExists) {
		return fmt.Errorf("local clone %s: %w", c.dir, err)
	}
	// A clone kept from an earlier run counts the packs it already has.
	packs, _ := filepath.Glob(filepath.Join(c.dir, "objects", "pack", "*.pack"))
	c.updates = len(packs)
	c.stale = false
	return nil
}

// close releases the clone's open files.
func (c *localClone) close() {
	if cl, ok := c.st.(interface{ Close() error }); ok {
		cl.Close()
	}
}

// reset throws the clone away; the next fetch rebuilds it. A clone that
// cannot be reset stays stale.
func (c *localClone) reset() error {
	c.stale = true
	if c.dir != "" {
		c.close()
		if err := os.RemoveAll(c.dir); err != nil {
			return fmt.Errorf("reset local clone: %w", err)
		}
	}
	return c.open()
}

// has reports whether the commit is in the clone (and with it its tree).
func (c *localClone) has(h plumbing.Hash) bool {
	return c.st.HasEncodedObject(h) == nil
}

// fetch brings the heads of branches (which must exist on the remote) into
// the clone, depth commits deep, and returns what each points at now.
// Shallow fetches tell the server where the clone's history ends, so it
// sends every object the new heads need.
func (c *localClone) fetch(ctx context.Context, r *remote, branches []string, depth int) (map[string]plumbing.Hash, error) {
	var heads map[string]plumbing.Hash
	err := r.within(ctx, "fetch", func(ctx context.Context) error {
		var err error
		heads, err = gitfetch.Fetch(ctx, c.st, r.url, r.auth, branches, depth)
		return err
	})
	if err != nil {
		if c.broken(err) {
			c.stale = true
		}
		return nil, fmt.Errorf("fetch %s: %w", redact.URL(r.url), err)
	}
	c.updates++
	return heads, nil
}

// broken tells fetch errors that point at the clone rather than at the
// remote or the network, and that a rebuilt clone may cure: its files (a
// folder gone or unwritable), an object it lacks, a pack it cannot read.
func (c *localClone) broken(err error) bool {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) && c.dir != "" && strings.HasPrefix(filepath.Clean(pathErr.Path), filepath.Clean(c.dir)) {
		return true
	}
	var packErr *packfile.Error
	return errors.As(err, &packErr) || errors.Is(err, plumbing.ErrObjectNotFound) || errors.Is(err, errObjectMissing) ||
		errors.Is(err, packfile.ErrReferenceDeltaNotFound) || errors.Is(err, packfile.ErrDeltaNotCached) ||
		errors.Is(err, packfile.ErrInvalidDelta) || errors.Is(err, packfile.ErrMalformedPackFile) ||
		errors.Is(err, idxfile.ErrMalformedIdxFile) || errors.Is(err, idxfile.ErrUnsupportedVersion)
}

// storePushed keeps the pack of an accepted push and moves the tracking
// ref, so the next batch starts from this commit without fetching.
func (c *localClone) storePushed(branch string, commit plumbing.Hash, pack []byte) error {
	if err := packfile.UpdateObjectStorage(c.st, bytes.NewReader(pack)); err != nil {
		return fmt.Errorf("store pushed objects: %w", err)
	}
	c.updates++
	if err := c.st.SetReference(plumbing.NewHashReference(gitfetch.TrackingRef(branch), commit)); err != nil {
		return fmt.Errorf("store pushed head: %w", err)
	}
	return nil
}

// isAncestor reports whether anc is desc or one of its first limit
// ancestors that the clone holds.
func (c *localClone) isAncestor(anc, desc plumbing.Hash, limit int) bool {
	seen := map[plumbing.Hash]bool{}
	queue := []plumbing.Hash{desc}
	for len(queue) > 0 && len(seen) < limit {
		h := queue[0]
		queue = queue[1:]
		if h == anc {
			return true
		}
		if seen[h] {
			continue
		}
		seen[h] = true
		cm, err := object.GetCommit(c.st, h)
		if err != nil {
			continue // beyond the shallow boundary
		}
		queue = append(queue, cm.ParentHashes...)
	}
	return false
}

// encodePack packs the objects (no deltas: they are few and fresh).
func encodePack(s *overlay, objs []plumbing.Hash) ([]byte, error) {
	var b bytes.Buffer
	if _, err := packfile.NewEncoder(&b, s, false).Encode(objs, 0); err != nil {
		return nil, fmt.Errorf("encode pack: %w", err)
	}
	return b.Bytes(), nil
}
