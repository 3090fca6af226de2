package committer

import (
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"text/template"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
)

func TestDueAt(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	s := time.Second
	for _, tc := range []struct {
		name            string
		first, last     time.Duration // after t0
		window, maxWait time.Duration
		want            time.Duration
	}{
		{"quiet window after the last", 0, 1 * s, 2 * s, 10 * s, 3 * s},
		{"capped by maxWait", 0, 9 * s, 2 * s, 10 * s, 10 * s},
		{"single rewrite", 0, 0, 2 * s, 10 * s, 2 * s},
		{"zero window: at once", 0, 5 * s, 0, 10 * s, 5 * s},
		{"zero maxWait: at once", 0, 5 * s, 2 * s, 0, 0},
		{"both zero", 3 * s, 3 * s, 0, 0, 3 * s},
		{"maxWait shorter than window", 0, 0, 5 * s, 1 * s, 1 * s},
	} {
		got := dueAt(t0.Add(tc.first), t0.Add(tc.last), tc.window, tc.maxWait)
		if want := t0.Add(tc.want); !got.Equal(want) {
			t.Errorf("%s: due %v, want %v", tc.name, got.Sub(t0), tc.want)
		}
	}
}

// TestBatchWindowOnAFakeClock runs the batch timer as runBranch does (each
// rewrite added, the batch committed when the timer fires) on synctest's
// fake clock, so the window and the max wait are checked to the nanosecond:
// a commit comes neither before the batch is due nor after.
func TestBatchWindowOnAFakeClock(t *testing.T) {
	s, ms := time.Second, time.Millisecond
	for _, tc := range []struct {
		name            string
		window, maxWait time.Duration
		arrivals        []time.Duration // since the start
		want            []committed
	}{
		{"arrivals within the window are committed together at last + window", 2 * s, 10 * s,
			[]time.Duration{0, 500 * ms, 1500 * ms}, []committed{{3500 * ms, 3}}},
		{"a steady stream is cut at first + max wait", 2 * s, 10 * s,
			[]time.Duration{0, 1500 * ms, 3 * s, 4500 * ms, 6 * s, 7500 * ms, 9 * s, 10500 * ms, 12 * s, 13500 * ms, 15 * s, 16500 * ms, 18 * s},
			[]committed{{10 * s, 7}, {20 * s, 6}}},
		{"a pause longer than the window starts a new batch", 2 * s, 10 * s,
			[]time.Duration{0, 1 * s, 4 * s}, []committed{{3 * s, 2}, {6 * s, 1}}},
		{"zero window: each rewrite at once", 0, 0,
			[]time.Duration{0, 1 * s}, []committed{{0, 1}, {1 * s, 1}}},
		{"max wait shorter than the window", 5 * s, 1 * s,
			[]time.Duration{0}, []committed{{1 * s, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				got := runBatchTimer(tc.window, tc.maxWait, tc.arrivals)
				if !slices.Equal(got, tc.want) {
					t.Errorf("commits %v, want %v", got, tc.want)
				}
			})
		})
	}
}

// committed is one commit of runBatchTimer: when (since the start) and of
// how many rewrites.
type committed struct {
	At time.Duration
	N  int
}

// runBatchTimer adds a rewrite at each of arrivals (since the start, in
// order) to a batch timer driven like runBranch's, and returns the commits
// made until an hour after the last arrival. It runs inside a synctest
// bubble, whose clock only moves when everything waits.
func runBatchTimer(window, maxWait time.Duration, arrivals []time.Duration) []committed {
	start := time.Now()
	arrive := make(chan struct{})
	done := make(chan struct{})
	var got []committed
	go func() {
		defer close(done)
		batch := newBatchTimer(window, maxWait)
		n := 0
		for {
			select {
			case _, ok := <-arrive:
				if !ok {
					return
				}
				n++
				batch.add()
			case <-batch.due():
				batch.reset()
				got = append(got, committed{time.Since(start), n})
				n = 0
			}
		}
	}()
	for _, a := range arrivals {
		time.Sleep(a - time.Since(start))
		arrive <- struct{}{}
	}
	time.Sleep(time.Hour)
	close(arrive)
	<-done
	return got
}

func TestRepoValidate(t *testing.T) {
	good := Repo{Name: "gitops", URL: "https://example.test/gitops.git", Branch: "main"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Repo)
	}{
		{"no name", func(r *Repo) { r.Name = "" }},
		{"no url", func(r *Repo) { r.URL = "" }},
		{"no branch", func(r *Repo) { r.Branch = "" }},
		{"bad branch", func(r *Repo) { r.Branch = "main..x" }},
		{"bad push branch", func(r *Repo) { r.PushBranch = "hoist updates" }},
		{"push branch is branch", func(r *Repo) { r.PushBranch = "main" }},
		{"negative window", func(r *Repo) { r.Commit.Window = -time.Second }},
		{"bad template", func(r *Repo) { r.Commit.MessageTemplate = "{{.Changes" }},
	} {
		r := good
		tc.edit(&r)
		if err := r.Validate(); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	for _, b := range []string{"main", "release/1.2", "hoist/updates", "feature-x_y"} {
		if !validBranch(b) {
			t.Errorf("branch %q refused", b)
		}
	}
	for _, b := range []string{"", "-x", "a/", "/a", "a//b", "a.lock", "a..b", "a b", "a:b", "a~1", "a^", "a?", "a*", "a[", "a\\b", "@", "a@{1}", ".hidden", "a/.b", "x."} {
		if validBranch(b) {
			t.Errorf("branch %q accepted", b)
		}
	}
}

func TestRenderMessage(t *testing.T) {
	rws := []bus.Rewrite{
		{EventIDs: []string{"ev-2"}, File: "b.yaml", Resource: "ns:deployment/b", Container: "app", Old: "r/b:1", New: "r/b:2"},
		{EventIDs: []string{"ev-1", "ev-2"}, File: "a.yaml", Resource: "ns:helmrelease/a", Container: "chart-image", Old: "r/a:1", New: "r/a:2"},
	}
	d := newMessageData("gitops", "main", rws)
	for _, tc := range []struct {
		tmpl, want string
	}{
		{DefaultMessageTemplate, "Update images\n\n" +
			"- a.yaml: ns:helmrelease/a chart-image: r/a:1 → r/a:2\n" +
			"- b.yaml: ns:deployment/b app: r/b:1 → r/b:2\n" +
			"\nHoist-Event-Ids: ev-1, ev-2\n"},
		{"Bump {{len .Changes}} images on {{.Branch}}\n\n{{range .Changes}}* {{.Container}} {{.New}}\n{{end}}",
			"Bump 2 images on main\n\n* chart-image r/a:2\n* app r/b:2\n\nHoist-Event-Ids: ev-1, ev-2\n"},
	} {
		got, err := renderMessage(template.Must(template.New("m").Parse(tc.tmpl)), d)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("template %q:\n%s\nwant:\n%s", tc.tmpl, got, tc.want)
		}
	}
	empty, err := renderMessage(template.Must(template.New("m").Parse("{{/* nothing */}}")), d)
	if err != nil || !strings.HasPrefix(empty, "Update images\n\nHoist-Event-Ids: ") {
		t.Errorf("empty template gave %q, %v", empty, err)
	}
	if _, err := renderMessage(template.Must(template.New("m").Parse("{{.Missing}}")), d); err == nil {
		t.Error("a template naming a missing field rendered")
	}
}
