package committer

import (
	"context"
	"strings"
	"testing"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

// TestBadMessageTemplateIsCaughtAtStartup: a template naming an unknown
// field or function, or misusing the data, is refused by the configuration
// check (Repo.Validate, CheckMessageTemplate) and by New, not found out by
// every batch failing.
func TestBadMessageTemplateIsCaughtAtStartup(t *testing.T) {
	b := startBus(t)
	for _, bad := range []string{
		"{{ .Nope }}",
		"{{ range .Changes }}{{ .Nope }}{{ end }}",
		"{{ .Changes.File }}",
		"{{ nope .Repo }}",
		"{{ range .EventIDs }}{{ .Repo }}{{ end }}",
		"{{ index .Changes 2 }}",
		"{{ .Changes",
	} {
		if err := CheckMessageTemplate(bad); err == nil {
			t.Errorf("CheckMessageTemplate(%q) passed", bad)
		}
		repo := Repo{Name: "gitops", URL: "https://example.test/gitops.git", Branch: "main", Commit: Commit{MessageTemplate: bad}}
		if err := repo.Validate(); err == nil || !strings.Contains(err.Error(), "messageTemplate") {
			t.Errorf("Validate with %q: %v", bad, err)
		}
		if _, err := New(Config{Repos: []Repo{repo}}, b.js, nil, testLogger(t)); err == nil {
			t.Errorf("New with %q succeeded", bad)
		}
	}
	for _, good := range []string{
		"",
		DefaultMessageTemplate,
		"Bump {{ len .Changes }} images on {{ .Branch }} of {{ .Repo }}\n{{ range .Changes }}\n* {{ .File }} {{ .Resource }} {{ .Container }} {{ .Image }} {{ .Old }} → {{ .New }} {{ .Tag }} {{ .Digest }} {{ .EventIDs }}{{ end }}",
		"{{ (index .Changes 0).File }}{{ range .EventIDs }} {{ . }}{{ end }}",
	} {
		if err := CheckMessageTemplate(good); err != nil {
			t.Errorf("CheckMessageTemplate(%q): %v", good, err)
		}
	}
}

// TestMessageTemplateFailingOnABatchFallsBackToTheDefault: a template that
// passes the check can still fail on a real batch (here: it names the
// second change, and the batch has one). The commit lands with the default
// message instead of the batch failing on every delivery.
func TestMessageTemplateFailingOnABatchFallsBackToTheDefault(t *testing.T) {
	srv := testgit.NewServer(t)
	r := srv.NewRepo(t, "gitops")
	seedApps(t, r, 3)
	tmpl := "Bump {{ (index .Changes 0).File }} and {{ (index .Changes 1).File }}"
	if err := CheckMessageTemplate(tmpl); err != nil {
		t.Fatal(err)
	}
	w := newTestWriter(t, Repo{URL: r.URL, Commit: Commit{MessageTemplate: tmpl}})
	ctx := context.Background()

	res, err := w.commit(ctx, []bus.Rewrite{appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-0")}, nil)
	if err != nil {
		t.Fatalf("a batch the template fails on: %v", err)
	}
	if res.Attempts != 1 || r.Head(t, "main") != res.Commit.String() {
		t.Fatalf("landed %s in %d attempts; remote head %s", res.Commit, res.Attempts, r.Head(t, "main"))
	}
	msg := testgit.Git(t, r.Dir, "log", "-1", "--format=%B", "main")
	if !strings.HasPrefix(msg, "Update images\n\n- apps/app0.yaml: ") || !strings.Contains(msg, "Hoist-Event-Ids: ev-0") {
		t.Fatalf("message %q, want the default one", msg)
	}

	// A batch the template works on gets the configured message.
	if _, err := w.commit(ctx, []bus.Rewrite{
		appRewrite("gitops", 1, "1.0.0", "1.1.0", "ev-1"), appRewrite("gitops", 2, "1.0.0", "1.1.0", "ev-2"),
	}, nil); err != nil {
		t.Fatal(err)
	}
	if got := r.Log(t, "main").Subjects[r.Head(t, "main")]; got != "Bump apps/app1.yaml and apps/app2.yaml" {
		t.Fatalf("subject %q, want the configured template's", got)
	}
}
