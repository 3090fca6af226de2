package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoist-gitops/hoist/internal/config"
)

// Item 1: hoist config check parses and runs the pullRequest templates on
// sample data, and a branch template that names an invalid branch is an error
// at its line.
func TestConfigCheckPullRequest(t *testing.T) {
	for _, tc := range []struct{ line, key, want string }{
		{`      branchTemplate: "hoist/{{ .Image }}..x"`, "branchTemplate", "not a valid branch name"},
		{`      title: "Bump {{ .Nope }}"`, "title", "Nope"},
	} {
		p := writeConfig(t, `repositories:
  - name: gitops
    url: https://git.example.com/team/gitops.git
    pullRequest:
      provider: gitea
      apiURL: https://git.example.com/api/v1
      token: t0ken
`+tc.line+"\n")
		code, out, _ := runHoist(t, "config", "check", p)
		if code != 1 || !strings.Contains(out, p+":8: repositories[0].pullRequest."+tc.key) || !strings.Contains(out, tc.want) {
			t.Fatalf("exit %d, stdout %q; want %q at line 8 (%s)", code, out, tc.want, tc.key)
		}
	}

	p := writeConfig(t, `repositories:
  - name: gitops
    url: https://github.com/team/gitops.git
    pullRequest:
      provider: github
      tokenFile: token
      branchTemplate: "updates/{{ .Repo }}/{{ .Image }}"
      title: "chore: {{ if .Image }}{{ .Image }} {{ .Tag }}{{ else }}{{ len .Changes }} images{{ end }}"
      labels: [hoist]
      automerge: true
`)
	if err := os.WriteFile(filepath.Join(filepath.Dir(p), "token"), []byte("ghp_x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runHoist(t, "config", "check", p); code != 0 {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	c, ps := loadConfig(p, config.AllStages)
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	pr := committerRepo(c.Repositories[0]).PullRequest
	if pr == nil || pr.Provider != "github" || pr.Token != "ghp_x" || !pr.Automerge || pr.TitleTemplate == "" || len(pr.Labels) != 1 {
		t.Fatalf("mapped %+v", pr)
	}
}
