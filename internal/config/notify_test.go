package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const notifyBase = `repositories:
  - name: gitops
    url: https://git.example.com/gitops.git
`

// Item (gates and people): notify entries are read with their secrets, by
// the stages that send notifications only.
func TestNotifyEntriesAreRead(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hook-secret"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := notifyBase + `notify:
  - url: https://hooks.example/hoist
    events: [commit, failure]
    secretFile: hook-secret
  - url: ${HOIST_SLACK_URL}
    events: [rejected, hold]
  - url: logger://
`
	path := filepath.Join(dir, "hoist.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOIST_SLACK_URL", "slack://hook:T0-B0-X@webhook")
	c, ps := Check(path, AllStages)
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	if len(c.Notify) != 3 || c.Notify[0].Secret != "from-file" || c.Notify[1].URL != "slack://hook:T0-B0-X@webhook" ||
		strings.Join(c.Notify[0].Events, ",") != "commit,failure" || len(c.Notify[2].Events) != 0 {
		t.Fatalf("notify = %+v", c.Notify)
	}
	// The ingest stage sends nothing: it neither resolves nor checks notify.
	os.Unsetenv("HOIST_SLACK_URL")
	if _, ps := Check(path, StageIngest); len(ps) > 0 {
		t.Errorf("ingest: %v", ps)
	}
	for _, st := range []Stages{StageMatch, StageCommit} {
		if _, ps := Check(path, st); len(ps) != 1 || !strings.Contains(ps[0].Message, "HOIST_SLACK_URL is not set") {
			t.Errorf("%s: %v", st, ps)
		}
	}
}

func TestNotifyMistakes(t *testing.T) {
	t.Setenv("HOIST_EMPTY", "")
	cases := []struct{ name, entry, want string }{
		{"no url", "  - events: [commit]\n", "hoist.yaml:5: notify[0]: url is missing"},
		{"unknown event", "  - url: logger://\n    events: [commit, rejeted]\n", `hoist.yaml:6: notify[0].events: unknown event "rejeted" (did you mean "rejected"?) (one of commit, hold, failure, rejected)`},
		{"empty secret", "  - url: https://h.example/x\n    secret: \"\"\n", "hoist.yaml:6: notify[0].secret is empty; an unsigned webhook is written without secret"},
		{"empty secret from env", "  - url: https://h.example/x\n    secret: ${HOIST_EMPTY}\n", "hoist.yaml:6: notify[0].secret: ${HOIST_EMPTY} is empty"},
		{"secret and file", "  - url: https://h.example/x\n    secret: a\n    secretFile: b\n", "notify[0]: set secret or secretFile, not both"},
		{"unknown key", "  - url: https://h.example/x\n    token: a\n", `unknown key "token" in notify[0]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ps := Parse("hoist.yaml", []byte(notifyBase+"notify:\n"+tc.entry), AllStages)
			if len(ps) != 1 || !strings.Contains(ps[0].String(), tc.want) {
				t.Errorf("problems %v, want %q", ps, tc.want)
			}
		})
	}
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	_, ps := Parse(filepath.Join(dir, "hoist.yaml"), []byte(notifyBase+"notify:\n  - url: https://h.example/x\n    secretFile: empty\n"), AllStages)
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "notify[0].secretFile: "+empty+" is empty") {
		t.Errorf("empty secret file: %v", ps)
	}
}
