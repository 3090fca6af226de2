package committer

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
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

// TestLandedPushWhoseAnswerWasLostCountsAsLanded puts a proxy in front of
// the git server that lets the first push through to the end and then
// answers 502: the remote applied it, hoist saw an error. The next attempt
// finds its commit at the head and reports the batch as landed, with its
// changes (so it is announced), instead of re-applying the batch on its own
// commit, dropping every rewrite as "already at" and announcing nothing.
func TestLandedPushWhoseAnswerWasLostCountsAsLanded(t *testing.T) {
	srv := testgit.NewServer(t)
	r := srv.NewRepo(t, "gitops")
	seedApps(t, r, 2)
	backend, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var lost atomic.Bool
	proxy := httputil.NewSingleHostReverseProxy(backend)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasSuffix(resp.Request.URL.Path, "/git-receive-pack") || !lost.CompareAndSwap(false, true) {
			return nil
		}
		io.Copy(io.Discard, resp.Body) // the push runs to its end on the server
		resp.Body.Close()
		return errors.New("answer lost")
	}
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: proxy}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	w := newTestWriter(t, Repo{URL: "http://" + ln.Addr().String() + "/gitops.git"})
	res, err := w.commit(context.Background(), []bus.Rewrite{appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-0")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !lost.Load() {
		t.Fatal("the proxy never lost an answer")
	}
	if res.Commit.String() != r.Head(t, "main") || len(res.Applied) != 1 || res.Applied[0].EventIDs[0] != "ev-0" || res.Attempts != 2 {
		t.Fatalf("result %+v, remote head %s; want the first attempt's commit, applied, found by the second", res, r.Head(t, "main"))
	}
	if got := len(r.Log(t, "main").Commits); got != 2 {
		t.Fatalf("%d commits, want the seed and one", got)
	}
	// The clone catches up with the commit it did not record.
	res, err = w.commit(context.Background(), []bus.Rewrite{appRewrite("gitops", 1, "1.0.0", "1.1.0", "ev-1")}, nil)
	if err != nil || res.Commit.String() != r.Head(t, "main") {
		t.Fatalf("next batch: %v, %+v", err, res)
	}
	r.Fsck(t)
}
