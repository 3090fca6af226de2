package gitfetch

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/hoist-gitops/hoist/internal/testgit"
)

// TestFetchTracksBranches: a shallow fetch stores each branch's head as
// its tracking ref; a fetch with nothing new is no error; a later fetch
// without depth moves the ref to the new head; a branch the remote lacks
// is an error naming it.
func TestFetchTracksBranches(t *testing.T) {
	repo := testgit.NewLocalRepo(t)
	main1 := repo.SeedFiles(t, "main", map[string]string{"a.yaml": "a: 1\n"})
	other := repo.SeedFiles(t, "other", map[string]string{"b.yaml": "b: 1\n"})
	st := memory.NewStorage()
	ctx := context.Background()

	heads, err := Fetch(ctx, st, repo.URL, nil, []string{"main", "other"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if heads["main"].String() != main1 || heads["other"].String() != other {
		t.Fatalf("heads %v, want main %s and other %s", heads, main1, other)
	}
	if ref, err := st.Reference(TrackingRef("main")); err != nil || ref.Hash().String() != main1 {
		t.Fatalf("tracking ref of main: %v, %v; want %s", ref, err, main1)
	}
	if _, err := Fetch(ctx, st, repo.URL, nil, []string{"main"}, 0); err != nil {
		t.Fatalf("fetch with nothing new: %v", err)
	}
	main2 := repo.SeedFiles(t, "main", map[string]string{"a.yaml": "a: 2\n"})
	heads, err = Fetch(ctx, st, repo.URL, nil, []string{"main"}, 0)
	if err != nil || heads["main"].String() != main2 {
		t.Fatalf("after a new commit: heads %v, %v; want main %s", heads, err, main2)
	}
	if _, err := Fetch(ctx, st, repo.URL, nil, []string{"gone"}, 1); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Fatalf("fetch of a missing branch: %v, want an error naming it", err)
	}
}

// TestRunGivesUpWhenContextEnds: a call that never returns (a transport
// that ignores its context) does not hold its caller past the context.
func TestRunGivesUpWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	go func() { <-started; cancel() }()
	err := Run(ctx, func(context.Context) error { close(started); <-release; return nil })
	if err != context.Canceled {
		t.Fatalf("Run = %v, want %v", err, context.Canceled)
	}
	if err := Run(context.Background(), func(context.Context) error { return errors.New("refused") }); err == nil || err.Error() != "refused" {
		t.Fatalf("Run = %v, want the call's error", err)
	}
}
