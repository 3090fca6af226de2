package testforge

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/testgit"
)

// Repo is a repository on the test Gitea.
type Repo struct {
	g *Gitea
	// Name is the repository's name under User.
	Name string
	// URL is its git URL over HTTP, without credentials.
	URL string
}

// PR is a pull request as Gitea's API tells it.
type PR struct {
	Number int64  `json:"number"`
	Title  string `json:"title"`
	Body   string `json:"body"`
	State  string `json:"state"`
	Merged bool   `json:"merged"`
	URL    string `json:"html_url"`
	Head   struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	} `json:"head"`
	Base struct {
		Ref string `json:"ref"`
	} `json:"base"`
	Labels []struct {
		Name string `json:"name"`
	} `json:"labels"`
}

// NewRepo creates an empty repository and seeds branch main with files.
func (g *Gitea) NewRepo(t testing.TB, name string, files map[string]string) *Repo {
	t.Helper()
	g.API(t, "POST", "/user/repos", map[string]any{"name": name, "default_branch": "main", "auto_init": false}, nil, http.StatusCreated)
	r := &Repo{g: g, Name: name, URL: g.URL + User + "/" + name + ".git"}
	dir := t.TempDir()
	testgit.Git(t, dir, "init", "--quiet", "--initial-branch=main")
	testgit.WriteFiles(t, dir, files)
	testgit.Git(t, dir, "add", "-A")
	testgit.Git(t, dir, "commit", "--quiet", "-m", "Seed")
	testgit.Git(t, dir, "push", "--quiet", r.AuthURL(), "main")
	// Gitea notes that the repository is no longer empty (and so allows
	// pull requests) when its push hook has run.
	deadline := time.Now().Add(time.Minute)
	for {
		var info struct {
			Empty bool `json:"empty"`
		}
		g.API(t, "GET", "/repos/"+User+"/"+name, nil, &info, http.StatusOK)
		if !info.Empty {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("gitea still calls %s empty a minute after the push", name)
		}
		time.Sleep(20 * time.Millisecond) // polling an external server's state, with a deadline
	}
}

// AuthURL is the git URL with the admin's credentials in it (for the git binary).
func (r *Repo) AuthURL() string {
	u, _ := url.Parse(r.URL)
	u.User = url.UserPassword(User, Password)
	return u.String()
}

// Clone makes a working copy of branch, its origin carrying the credentials.
func (r *Repo) Clone(t testing.TB, branch string) string {
	t.Helper()
	dir := t.TempDir()
	testgit.Git(t, dir, "clone", "--quiet", "--branch", branch, r.AuthURL(), ".")
	return dir
}

// Head is the commit branch points at; "" when it does not exist.
func (r *Repo) Head(t testing.TB, branch string) string {
	t.Helper()
	out := testgit.Git(t, t.TempDir(), "ls-remote", r.AuthURL(), "refs/heads/"+branch)
	f := strings.Fields(out)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// Show is the content of path at rev (a branch or commit) of the remote.
func (r *Repo) Show(t testing.TB, branch, path string) string {
	t.Helper()
	dir := t.TempDir()
	testgit.Git(t, dir, "init", "--quiet")
	testgit.Git(t, dir, "fetch", "--quiet", r.AuthURL(), "refs/heads/"+branch)
	return testgit.Git(t, dir, "show", "FETCH_HEAD:"+path)
}

// PullRequests lists the repository's pull requests in every state, newest first.
func (r *Repo) PullRequests(t testing.TB) []PR {
	t.Helper()
	prs, err := r.ListPullRequests()
	if err != nil {
		t.Fatal(err)
	}
	return prs
}

// ListPullRequests is PullRequests returning the error (for polling).
func (r *Repo) ListPullRequests() ([]PR, error) {
	var prs []PR
	err := r.g.Call("GET", fmt.Sprintf("/repos/%s/%s/pulls?state=all&limit=50", User, r.Name), nil, &prs, http.StatusOK)
	return prs, err
}

// Merge merges a pull request with a merge commit, as a person would. Gitea
// checks a pull request's mergeability in the background after each push
// and refuses to merge until it has ("Please try again later"), so this
// waits for the check, with a deadline.
func (r *Repo) Merge(t testing.TB, number int64) {
	t.Helper()
	path := fmt.Sprintf("/repos/%s/%s/pulls/%d", User, r.Name, number)
	deadline := time.Now().Add(time.Minute)
	for {
		var pr struct {
			Mergeable bool `json:"mergeable"`
		}
		r.g.API(t, "GET", path, nil, &pr, http.StatusOK)
		if pr.Mergeable {
			err := r.g.Call("POST", path+"/merge", map[string]any{"Do": "merge"}, nil, http.StatusOK)
			if err == nil {
				return
			}
			if !strings.Contains(err.Error(), "try again later") || time.Now().After(deadline) {
				t.Fatal(err)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pull request %d not mergeable after a minute", number)
		}
		time.Sleep(50 * time.Millisecond) // polling the forge's background check, with a deadline
	}
}

// Close closes a pull request without merging it.
func (r *Repo) Close(t testing.TB, number int64) {
	t.Helper()
	r.g.API(t, "PATCH", fmt.Sprintf("/repos/%s/%s/pulls/%d", User, r.Name, number),
		map[string]any{"state": "closed"}, nil, http.StatusCreated)
}

// Comments are the bodies of a pull request's comments.
func (r *Repo) Comments(t testing.TB, number int64) []string {
	t.Helper()
	var cs []struct {
		Body string `json:"body"`
	}
	r.g.API(t, "GET", fmt.Sprintf("/repos/%s/%s/issues/%d/comments", User, r.Name, number), nil, &cs, http.StatusOK)
	var out []string
	for _, c := range cs {
		out = append(out, c.Body)
	}
	return out
}
