package committer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

// An edit prepared while the batch was held is used at the flush only for
// the same blob and the same rewrites; a file the head changed, a file
// whose rewrites changed and a file never prepared are edited afresh.
func TestPreparedEditsAreUsedOnlyWhileTheyHold(t *testing.T) {
	srv := testgit.NewServer(t)
	r := srv.NewRepo(t, "gitops")
	seedApps(t, r, 4)
	w := newTestWriter(t, Repo{URL: r.URL})
	calls := map[string]int{}
	edit := testEditor()
	w.edit = func(file string, data []byte, rws []bus.Rewrite) ([]byte, []Outcome, error) {
		calls[file]++
		return edit(file, data, rws)
	}
	if _, err := w.clone.fetch(context.Background(), w.rem, []string{"main"}, 1); err != nil {
		t.Fatal(err)
	}
	w.loaded.Store(true)

	held := []bus.Rewrite{
		appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-0"),
		appRewrite("gitops", 1, "1.0.0", "1.1.0", "ev-1"),
		appRewrite("gitops", 1, "1.0.0", "1.2.0", "ev-2"),
		appRewrite("gitops", 2, "1.0.0", "1.1.0", "ev-3"),
	}
	for _, rw := range held {
		w.prepare(rw)
	}
	if calls[appFile(0)] != 1 || calls[appFile(1)] != 2 || calls[appFile(2)] != 1 {
		t.Fatalf("editor calls while held %v, want each file edited as its rewrites came", calls)
	}

	// A person changes app1's file before the flush: its blob at the head differs.
	person := r.Clone(t, "main")
	p := filepath.Join(person, filepath.FromSlash(appFile(1)))
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, append([]byte("# owned by team a\n"), data...), 0o644); err != nil {
		t.Fatal(err)
	}
	testgit.Git(t, person, "commit", "--quiet", "-am", "A person's change")
	testgit.Git(t, person, "push", "--quiet", "origin", "main")

	clear(calls)
	batch := []bus.Rewrite{
		held[0], held[1], held[2],
		appRewrite("gitops", 2, "1.0.0", "1.5.0", "ev-4"), // not what was prepared for app2
		appRewrite("gitops", 3, "1.0.0", "1.1.0", "ev-5"), // arrived with the flush
	}
	res, err := w.commit(context.Background(), batch, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.dropMemo()
	want := map[string]int{appFile(1): 1, appFile(2): 1, appFile(3): 1}
	if len(calls) != len(want) {
		t.Fatalf("editor calls at the flush %v, want %v (app0 from the prepared edit)", calls, want)
	}
	for f, n := range want {
		if calls[f] != n {
			t.Fatalf("editor calls at the flush %v, want %v", calls, want)
		}
	}
	if len(res.Applied) != 4 || len(res.Dropped) != 1 {
		t.Fatalf("applied %d dropped %d, want 4 and 1 (app1's 1.1.0)", len(res.Applied), len(res.Dropped))
	}
	for i, tag := range []string{"1.1.0", "1.2.0", "1.5.0", "1.1.0"} {
		got := r.Show(t, "main", appFile(i))
		if !strings.Contains(got, "image: registry.example/"+appName(i)+":"+tag+"\n") {
			t.Fatalf("%s at main:\n%s\nwant tag %s", appFile(i), got, tag)
		}
	}
	if !strings.HasPrefix(r.Show(t, "main", appFile(1)), "# owned by team a\n") {
		t.Fatal("the person's change to app1 is lost")
	}
	r.Fsck(t)
}

// A file that many held rewrites meet in is left to the flush instead of
// being edited again for each one.
func TestPrepareLeavesCrowdedFilesToTheFlush(t *testing.T) {
	r := testgit.NewLocalRepo(t)
	seedApps(t, r, 1)
	w := newTestWriter(t, Repo{URL: r.URL})
	calls := 0
	edit := testEditor()
	w.edit = func(file string, data []byte, rws []bus.Rewrite) ([]byte, []Outcome, error) {
		calls++
		return edit(file, data, rws)
	}
	if _, err := w.clone.fetch(context.Background(), w.rem, []string{"main"}, 1); err != nil {
		t.Fatal(err)
	}
	w.loaded.Store(true)
	var batch []bus.Rewrite
	for i := range maxPreparedRewrites + 4 {
		batch = append(batch, appRewrite("gitops", 0, "1.0.0", "1.0."+itoa(i+1), "ev-"+itoa(i)))
		w.prepare(batch[i])
	}
	if calls != maxPreparedRewrites {
		t.Fatalf("%d edits while held, want %d", calls, maxPreparedRewrites)
	}
	res, err := w.commit(context.Background(), batch, nil)
	if err != nil {
		t.Fatal(err)
	}
	if calls != maxPreparedRewrites+1 || len(res.Applied) != 1 || res.Applied[0].Tag != "1.0.12" {
		t.Fatalf("%d edits, applied %+v: want one edit at the flush and 1.0.12 to win", calls, res.Applied)
	}
}
