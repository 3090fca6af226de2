package testforge

import (
	"net/http"
	"strings"
	"testing"
)

func TestGiteaServesRepositoriesAndTokens(t *testing.T) {
	g := StartGitea(t)
	r := g.NewRepo(t, "gitops", map[string]string{"apps/api.yaml": "kind: Deployment\n"})
	if got := r.Show(t, "main", "apps/api.yaml"); got != "kind: Deployment\n" {
		t.Fatalf("seeded file reads %q", got)
	}
	if prs := r.PullRequests(t); len(prs) != 0 {
		t.Fatalf("a new repository has pull requests: %+v", prs)
	}
	// The token works on the API, and for git over HTTP.
	req, _ := http.NewRequest("GET", g.APIURL+"/repos/"+User+"/gitops", nil)
	req.Header.Set("Authorization", "token "+g.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the token reads the repository: HTTP %d", resp.StatusCode)
	}
	if !strings.HasPrefix(r.URL, "http://127.0.0.1:") {
		t.Fatalf("repository URL %s", r.URL)
	}
}
