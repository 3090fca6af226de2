package committer

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/testgit"
)

// TestLandedPushIsAnnouncedWhenTheCloneFails breaks the committer's data
// folder right after the remote accepted a push (the clone's folder is
// gone and a file stands in its place, so the clone can neither record
// the push nor be rebuilt): the push landed, so the messages are
// acknowledged and the new head announced all the same. Once the folder
// is usable again, the next batch rebuilds the clone and lands too.
func TestLandedPushIsAnnouncedWhenTheCloneFails(t *testing.T) {
	srv := testgit.NewServer(t)
	r := srv.NewRepo(t, "gitops")
	seedApps(t, r, 2)
	b := startBus(t)
	heads := b.heads(t)
	data := filepath.Join(t.TempDir(), "git")
	away := data + ".away"
	var once sync.Once
	c, err := New(Config{
		Repos:   []Repo{{Name: "gitops", URL: r.URL, Branch: "main"}},
		DataDir: data,
		Editor:  testEditor(),
		Retry:   Retry{Attempts: 3, Base: time.Millisecond, Max: time.Millisecond, NakDelay: time.Hour},
		Failpoint: func(point string) {
			if point != "push-accepted" {
				return
			}
			once.Do(func() {
				if err := os.Rename(data, away); err != nil {
					t.Error(err)
				}
				if err := os.WriteFile(data, []byte("not a folder\n"), 0o644); err != nil {
					t.Error(err)
				}
			})
		},
	}, b.js, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runCommitter(t, c)

	b.publish(t, appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-0"))
	h := waitHead(t, heads)
	if h.Commit != r.Head(t, "main") || len(h.EventIDs) != 1 || h.EventIDs[0] != "ev-0" {
		t.Fatalf("announced %+v, remote head %s", h, r.Head(t, "main"))
	}
	b.waitSettled(t, "gitops", "main", time.Minute)

	if err := os.Remove(data); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(away, data); err != nil {
		t.Fatal(err)
	}
	b.publish(t, appRewrite("gitops", 1, "1.0.0", "1.1.0", "ev-1"))
	h = waitHead(t, heads)
	if h.Commit != r.Head(t, "main") || !strings.Contains(r.Show(t, "main", appFile(1)), "app1:1.1.0") {
		t.Fatalf("announced %+v, remote head %s", h, r.Head(t, "main"))
	}
	b.waitSettled(t, "gitops", "main", time.Minute)
	if got := len(r.Log(t, "main").Commits); got != 3 {
		t.Fatalf("%d commits, want the seed and two", got)
	}
	r.Fsck(t)
}
