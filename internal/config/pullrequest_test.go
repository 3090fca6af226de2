package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const prRepo = `repositories:
  - name: gitops
    url: https://git.example.com/team/gitops.git
    pullRequest:
`

// Item 1: repositories[].pullRequest is checked key by key, its token is
// the committer's alone, and tokenFile is read from the file's folder.
func TestPullRequestConfig(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"      provider: bitbucket\n      token: t\n", `:5: repositories[0].pullRequest.provider: unknown provider "bitbucket"`},
		{"      provider: gitea\n      token: t\n", `:4: repositories[0].pullRequest: apiURL is required for gitea`},
		{"      provider: github\n", `:4: repositories[0].pullRequest: token is missing (set token or tokenFile)`},
		{"      provider: github\n      token: t\n      apiURL: ftp://x\n", `:7: repositories[0].pullRequest.apiURL: "ftp://x" is not an http(s) URL`},
		{"      provider: github\n      token: t\n      title: \"{{ .Tag \"\n", `:7: repositories[0].pullRequest.title: template: title:1: unclosed action`},
		{"      provider: github\n      token: t\n      labels: [\" \"]\n", `:7: repositories[0].pullRequest.labels: a label is empty`},
		{"      provider: github\n      token: t\n      reviewers: [a]\n", `:7: unknown key "reviewers" in repositories[0].pullRequest`},
	} {
		_, ps := Parse("hoist.yaml", []byte(prRepo+tc.body), AllStages)
		if len(ps) != 1 || !strings.Contains(ps[0].String(), tc.want) {
			t.Errorf("%q: problems %v, want one with %q", tc.body, ps, tc.want)
		}
	}

	// The matcher does not need the forge token; the committer does.
	os.Unsetenv("HOIST_FORGE_TOKEN")
	body := prRepo + "      provider: github\n      token: ${HOIST_FORGE_TOKEN}\n"
	if _, ps := Parse("hoist.yaml", []byte(body), StageMatch); len(ps) != 0 {
		t.Errorf("match stage: %v", ps)
	}
	if _, ps := Parse("hoist.yaml", []byte(body), StageCommit); len(ps) == 0 || !strings.Contains(ps[0].Message, "HOIST_FORGE_TOKEN is not set") {
		t.Errorf("commit stage: %v, want the variable not set", ps)
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "forge-token"), []byte("glpat-x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, ps := Parse(filepath.Join(dir, "hoist.yaml"), []byte(prRepo+"      provider: gitlab\n      tokenFile: forge-token\n"), AllStages)
	if len(ps) != 0 || c.Repositories[0].PullRequest.Token != "glpat-x" {
		t.Fatalf("tokenFile: %v, token %q", ps, c.Repositories[0].PullRequest.Token)
	}
	_, ps = Parse("hoist.yaml", []byte(prRepo+"      provider: gitlab\n      token: a\n      tokenFile: forge-token\n"), AllStages)
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "set token or tokenFile, not both") {
		t.Errorf("token and tokenFile: %v", ps)
	}
	_, ps = Parse("hoist.yaml", []byte(strings.Replace(prRepo, "    pullRequest:", "    pushBranch: hoist/updates\n    pullRequest:", 1)+"      provider: github\n      token: t\n"), AllStages)
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "exclude each other") {
		t.Errorf("pushBranch with pullRequest: %v", ps)
	}
}
