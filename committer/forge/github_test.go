package forge

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// githubPullJSON is a pull request as GitHub's REST documentation shows it
// ("Get a pull request", abridged to the fields a client reads).
func githubPullJSON(number, state, mergedAt, head string) string {
	merged := "null"
	if mergedAt != "" {
		merged = `"` + mergedAt + `"`
	}
	return `{
  "url": "https://api.github.com/repos/octocat/Hello-World/pulls/` + number + `",
  "id": 1,
  "node_id": "MDExOlB1bGxSZXF1ZXN0MQ==",
  "html_url": "https://github.com/octocat/Hello-World/pull/` + number + `",
  "number": ` + number + `,
  "state": "` + state + `",
  "locked": false,
  "title": "Update registry.example/team/api to 1.2.4",
  "user": {"login": "octocat", "id": 1},
  "body": "Please pull these awesome changes in!",
  "labels": [],
  "created_at": "2011-01-26T19:01:12Z",
  "updated_at": "2011-01-26T19:01:12Z",
  "closed_at": null,
  "merged_at": ` + merged + `,
  "head": {"label": "octocat:` + head + `", "ref": "` + head + `", "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
           "repo": {"id": 1296269, "full_name": "octocat/Hello-World"}},
  "base": {"label": "octocat:main", "ref": "main", "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
           "repo": {"id": 1296269, "full_name": "octocat/Hello-World"}},
  "draft": false
}`
}

func newGitHubForTest(t *testing.T, r *replay) Client {
	t.Helper()
	return mustNew(t, Config{Provider: GitHub, APIURL: r.url("/"), Token: "ghp_secret", RepoURL: "https://github.com/octocat/Hello-World.git"})
}

func TestGitHubDriverRecordedExchanges(t *testing.T) {
	const branch = "hoist/registry.example-team-api"
	r := newReplay(t, bearer("ghp_secret"),
		exchange{method: "GET", path: "/repos/octocat/Hello-World/pulls",
			query:  map[string]string{"state": "all", "head": "octocat:" + branch, "base": "main"},
			status: 200, response: "[" + githubPullJSON("1346", "closed", "2011-01-26T19:01:12Z", branch) + "," + githubPullJSON("1347", "open", "", branch) + "]"},
		exchange{method: "POST", path: "/repos/octocat/Hello-World/pulls",
			body:   map[string]any{"title": "Update registry.example/team/api to 1.2.4", "head": branch, "base": "main", "body": "changes"},
			status: 201, response: githubPullJSON("1348", "open", "", branch)},
		exchange{method: "POST", path: "/repos/octocat/Hello-World/issues/1348/labels",
			whole:  []any{"hoist"},
			status: 200, response: `[{"id": 208045946, "node_id": "MDU6TGFiZWwyMDgwNDU5NDY=", "name": "hoist", "color": "f29513", "default": true}]`},
		exchange{method: "PATCH", path: "/repos/octocat/Hello-World/pulls/1348",
			body:   map[string]any{"title": "Update registry.example/team/api to 1.2.5", "body": "more changes"},
			status: 200, response: githubPullJSON("1348", "open", "", branch)},
		exchange{method: "POST", path: "/repos/octocat/Hello-World/issues/1348/comments",
			body:   map[string]any{"body": "Closed by hoist."},
			status: 201, response: `{"id": 1, "node_id": "MDEyOklzc3VlQ29tbWVudDE=", "body": "Closed by hoist.", "html_url": "https://github.com/octocat/Hello-World/issues/1348#issuecomment-1"}`},
		exchange{method: "PATCH", path: "/repos/octocat/Hello-World/pulls/1348",
			body:   map[string]any{"state": "closed"},
			status: 200, response: githubPullJSON("1348", "closed", "", branch)},
		exchange{method: "GET", path: "/repos/octocat/Hello-World/pulls/1349",
			status: 200, response: githubPullJSON("1349", "open", "", branch)},
		exchange{method: "POST", path: "/graphql",
			body:   map[string]any{"variables": map[string]any{"id": "MDExOlB1bGxSZXF1ZXN0MQ=="}},
			status: 200, response: `{"data": {"enablePullRequestAutoMerge": {"clientMutationId": null}}}`},
	)
	c := newGitHubForTest(t, r)
	ctx := context.Background()
	prs, err := c.Find(ctx, branch, "main")
	if err != nil {
		t.Fatal(err)
	}
	if len(prs) != 2 || prs[0].Number != 1347 || prs[0].State != Open || prs[1].State != Merged ||
		prs[0].URL != "https://github.com/octocat/Hello-World/pull/1347" || prs[0].Head != branch {
		t.Fatalf("found %+v, want the open 1347 first, then the merged 1346", prs)
	}
	proposal{
		create: NewPR{Head: branch, Base: "main", Title: "Update registry.example/team/api to 1.2.4", Body: "changes", Labels: []string{"hoist"}},
		number: 1348, created: func(pr PR) bool { return pr.State == Open },
		title: "Update registry.example/team/api to 1.2.5", body: "more changes", comment: "Closed by hoist.", automerge: 1349,
	}.drive(t, c)
}

func TestGitHubDriverErrors(t *testing.T) {
	r := newReplay(t, bearer("ghp_secret"),
		exchange{method: "POST", path: "/repos/octocat/Hello-World/pulls", status: 422,
			response: `{"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for octocat:hoist/x."}], "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"}`},
		exchange{method: "GET", path: "/repos/octocat/Hello-World/pulls", status: 401,
			response: `{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}`},
		exchange{method: "GET", path: "/repos/octocat/Hello-World/pulls/7", status: 200, response: githubPullJSON("7", "open", "", "hoist/x")},
		exchange{method: "POST", path: "/graphql", status: 200,
			response: `{"data": {"enablePullRequestAutoMerge": null}, "errors": [{"type": "UNPROCESSABLE", "message": "Pull request Auto merge is not allowed for this repository"}]}`},
	)
	c := newGitHubForTest(t, r)
	ctx := context.Background()
	_, err := c.Create(ctx, NewPR{Head: "hoist/x", Base: "main", Title: "t", Body: "b"})
	var fe *Error
	if !errors.As(err, &fe) || fe.Status != 422 || fe.Permanent() {
		t.Fatalf("create: %v, want a 422 forge error", err)
	}
	noToken(t, err, "ghp_secret")
	_, err = c.Find(ctx, "hoist/x", "main")
	if !errors.As(err, &fe) || fe.Status != http.StatusUnauthorized || !fe.Permanent() {
		t.Fatalf("find: %v, want a permanent 401", err)
	}
	noToken(t, err, "ghp_secret")
	if err := c.Automerge(ctx, 7); !errors.Is(err, errAutomergeUnsupported) {
		t.Fatalf("automerge: %v, want errAutomergeUnsupported", err)
	}
}

func TestGitHubEnterpriseGraphQLURL(t *testing.T) {
	c := mustNew(t, Config{Provider: GitHub, APIURL: "https://ghe.example.com/api/v3", Token: "t", RepoURL: "https://ghe.example.com/team/gitops.git"})
	if got := c.(*githubClient).graphql; got != "https://ghe.example.com/api/graphql" {
		t.Fatalf("GraphQL endpoint %s", got)
	}
}
