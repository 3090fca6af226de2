package forge

import (
	"context"
	"errors"
	"testing"
)

// giteaPullJSON is a pull request as Gitea's API (swagger PullRequest) gives it, abridged.
func giteaPullJSON(number, state string, merged bool, head string, headRepo int) string {
	m := "false"
	if merged {
		m = "true"
	}
	return `{"id": 9, "url": "http://git.example.com/team/gitops/pulls/` + number + `", "number": ` + number + `,
  "user": {"id": 1, "login": "hoist"}, "title": "Update registry.example/team/api to 1.2.4", "body": "changes",
  "labels": [], "state": "` + state + `", "is_locked": false, "comments": 0,
  "html_url": "http://git.example.com/team/gitops/pulls/` + number + `",
  "mergeable": true, "merged": ` + m + `, "merged_at": null, "merge_commit_sha": null,
  "base": {"label": "main", "ref": "main", "sha": "5fd3c9bd7bfa4d4bbbbdc1f4c0bd2c1d5e2a2a5c", "repo_id": 1},
  "head": {"label": "` + head + `", "ref": "` + head + `", "sha": "0b1f6aa2c13e8bbd6e6b3c4a5f2c4f0b6ad3e1a7", "repo_id": ` + itoa(headRepo) + `},
  "merge_base": "5fd3c9bd7bfa4d4bbbbdc1f4c0bd2c1d5e2a2a5c",
  "created_at": "2024-01-02T15:04:05Z", "updated_at": "2024-01-02T15:04:05Z", "closed_at": null}`
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}

func TestGiteaDriverRecordedExchanges(t *testing.T) {
	const branch = "hoist/registry.example-team-api"
	r := newReplay(t, giteaToken("gitea_secret"),
		// No open pull request from the branch (another branch's, and a
		// fork's of the same name)...
		exchange{method: "GET", path: "/api/v1/repos/team/gitops/pulls", query: map[string]string{"state": "open", "page": "1"},
			status: 200, response: "[" + giteaPullJSON("3", "open", false, "other", 1) + "," + giteaPullJSON("1", "open", false, branch, 7) + "]"},
		// ...so the lookup by base and head: a merged one.
		exchange{method: "GET", path: "/api/v1/repos/team/gitops/pulls/main/" + branch,
			status: 200, response: giteaPullJSON("2", "closed", true, branch, 1)},
		// Another branch: an open one, found in the list.
		exchange{method: "GET", path: "/api/v1/repos/team/gitops/pulls", query: map[string]string{"state": "open"},
			status: 200, response: "[" + giteaPullJSON("3", "open", false, "other", 1) + "]"},
		// A branch never proposed.
		exchange{method: "GET", path: "/api/v1/repos/team/gitops/pulls", query: map[string]string{"state": "open"}, status: 200, response: "[]"},
		exchange{method: "GET", path: "/api/v1/repos/team/gitops/pulls/main/fresh",
			status: 404, response: `{"message": "The target couldn't be found.", "url": "http://git.example.com/api/swagger"}`},
		exchange{method: "GET", path: "/api/v1/repos/team/gitops/labels",
			status: 200, response: `[{"id": 11, "name": "dependencies", "color": "00aabb"}]`},
		exchange{method: "POST", path: "/api/v1/repos/team/gitops/labels", body: map[string]any{"name": "hoist"},
			status: 201, response: `{"id": 12, "name": "hoist", "color": "1d76db"}`},
		exchange{method: "POST", path: "/api/v1/repos/team/gitops/pulls",
			body:   map[string]any{"head": branch, "base": "main", "title": "t", "body": "b", "labels": []any{12.0, 11.0}},
			status: 201, response: giteaPullJSON("4", "open", false, branch, 1)},
		exchange{method: "PATCH", path: "/api/v1/repos/team/gitops/pulls/4", body: map[string]any{"title": "t2", "body": "b2"},
			status: 201, response: giteaPullJSON("4", "open", false, branch, 1)},
		exchange{method: "POST", path: "/api/v1/repos/team/gitops/issues/4/comments", body: map[string]any{"body": "bye"},
			status: 201, response: `{"id": 5, "body": "bye", "html_url": "http://git.example.com/team/gitops/pulls/4#issuecomment-5"}`},
		exchange{method: "PATCH", path: "/api/v1/repos/team/gitops/pulls/4", body: map[string]any{"state": "closed"},
			status: 201, response: giteaPullJSON("4", "closed", false, branch, 1)},
		// Gitea refuses while it checks a new pull request's mergeability.
		exchange{method: "POST", path: "/api/v1/repos/team/gitops/pulls/5/merge", body: map[string]any{"Do": "merge", "merge_when_checks_succeed": true},
			status: 405, response: `{"message": "Please try again later", "url": "http://git.example.com/api/swagger"}`},
		exchange{method: "POST", path: "/api/v1/repos/team/gitops/pulls/5/merge", body: map[string]any{"Do": "merge", "merge_when_checks_succeed": true},
			status: 200, response: ``},
	)
	c := mustNew(t, Config{Provider: Gitea, APIURL: r.url("/api/v1"), Token: "gitea_secret", RepoURL: "https://git.example.com/team/gitops.git"})
	ctx := context.Background()
	prs, err := c.Find(ctx, branch, "main")
	if err != nil {
		t.Fatal(err)
	}
	// The fork's pull request (head repo 7) and another branch's are not hoist's.
	if len(prs) != 1 || prs[0].Number != 2 || prs[0].State != Merged {
		t.Fatalf("found %+v, want the merged 2 only", prs)
	}
	if prs, err := c.Find(ctx, "other", "main"); err != nil || len(prs) != 1 || prs[0].Number != 3 || prs[0].State != Open {
		t.Fatalf("found %+v, %v; want the open 3", prs, err)
	}
	if prs, err := c.Find(ctx, "fresh", "main"); err != nil || len(prs) != 0 {
		t.Fatalf("found %+v, %v; want none", prs, err)
	}
	proposal{
		create: NewPR{Head: branch, Base: "main", Title: "t", Body: "b", Labels: []string{"hoist", "dependencies"}},
		number: 4, created: func(pr PR) bool { return pr.URL == "http://git.example.com/team/gitops/pulls/4" },
		title: "t2", body: "b2", comment: "bye", automerge: 5,
	}.drive(t, c)
}

func TestGiteaDriverErrors(t *testing.T) {
	r := newReplay(t, giteaToken("gitea_secret"),
		exchange{method: "GET", path: "/api/v1/repos/team/gitops/pulls", status: 403,
			response: `{"message": "token does not have at least one of required scope(s): [read:repository]", "url": "http://git.example.com/api/swagger"}`},
	)
	c := mustNew(t, Config{Provider: Gitea, APIURL: r.url("/api/v1"), Token: "gitea_secret", RepoURL: "git@git.example.com:team/gitops.git"})
	_, err := c.Find(context.Background(), "hoist/x", "main")
	var fe *Error
	if !errors.As(err, &fe) || fe.Status != 403 || !fe.Permanent() {
		t.Fatalf("find: %v, want a permanent 403", err)
	}
	noToken(t, err, "gitea_secret")
}
