// Package gitfetch brings branches of a git remote into a local object
// store as remote-tracking refs: the one way the matcher's in-memory copy
// and the committer's clone fetch.
package gitfetch

import (
	"context"
	"errors"
	"fmt"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage"
)

// remoteName is the name the remote goes by in the store's refs.
const remoteName = "origin"

// TrackingRef is where a store keeps the fetched head of branch.
func TrackingRef(branch string) plumbing.ReferenceName {
	return plumbing.NewRemoteReferenceName(remoteName, branch)
}

// Run runs one call to a remote until ctx ends: it returns the call's
// error, or ctx's when ctx ends first. Not every transport obeys ctx
// everywhere (go-git's SSH handshake waits for the server's banner for
// ever), so the call runs on its own goroutine, and one given up on is
// left to notice its done ctx at its next step; the caller must not use
// what it writes to after that.
func Run(ctx context.Context, call func(context.Context) error) error {
	done := make(chan error, 1)
	go func() { done <- call(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Fetch brings the heads of branches at url into st, each force-updating
// its TrackingRef, and returns what each points at now. depth is the
// number of commits fetched (1: the head's objects only); 0 asks for no
// depth, so a store that has the old head receives only what the new
// commits add. A fetch that brings nothing new is no error; a branch the
// remote does not have is. Tags are not fetched.
func Fetch(ctx context.Context, st storage.Storer, url string, auth transport.AuthMethod, branches []string, depth int) (map[string]plumbing.Hash, error) {
	specs := make([]config.RefSpec, 0, len(branches))
	for _, b := range branches {
		specs = append(specs, config.RefSpec("+"+plumbing.NewBranchReferenceName(b).String()+":"+TrackingRef(b).String()))
	}
	rem := git.NewRemote(st, &config.RemoteConfig{Name: remoteName, URLs: []string{url}})
	err := rem.FetchContext(ctx, &git.FetchOptions{
		RemoteName: remoteName,
		RefSpecs:   specs,
		Depth:      depth,
		Auth:       auth,
		Tags:       git.NoTags,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, err
	}
	heads := make(map[string]plumbing.Hash, len(branches))
	for _, b := range branches {
		ref, err := st.Reference(TrackingRef(b))
		if err != nil {
			return nil, fmt.Errorf("branch %s not found: %w", b, err)
		}
		heads[b] = ref.Hash()
	}
	return heads, nil
}
