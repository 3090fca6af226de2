package forge

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// gitlabMRJSON is a merge request as GitLab's documentation ("List project
// merge requests", "Get single MR") shows it, abridged.
func gitlabMRJSON(iid, state, source string, sourceProject int) string {
	return `{"id": 1, "iid": ` + iid + `, "project_id": 3, "title": "Update registry.example/team/api to 1.2.4",
  "description": "changes", "state": "` + state + `", "merged_by": null, "merged_at": null, "closed_at": null,
  "created_at": "2017-04-29T08:46:00Z", "updated_at": "2017-04-29T08:46:00Z",
  "target_branch": "main", "source_branch": "` + source + `", "upvotes": 0, "downvotes": 0,
  "author": {"id": 1, "name": "Administrator", "username": "admin", "state": "active"},
  "source_project_id": ` + itoa(sourceProject) + `, "target_project_id": 3, "labels": ["hoist"], "draft": false,
  "work_in_progress": false, "merge_when_pipeline_succeeds": false, "merge_status": "can_be_merged",
  "sha": "8888888888888888888888888888888888888888", "merge_commit_sha": null, "squash_commit_sha": null,
  "web_url": "http://gitlab.example.com/group/sub/gitops/-/merge_requests/` + iid + `"}`
}

func TestGitLabDriverRecordedExchanges(t *testing.T) {
	const branch = "hoist/registry.example-team-api"
	r := newReplay(t, gitlabToken("glpat-secret"),
		exchange{method: "GET", path: "/api/v4/projects/group/sub/gitops/merge_requests",
			query:  map[string]string{"state": "all", "source_branch": branch, "target_branch": "main"},
			status: 200, response: "[" + gitlabMRJSON("7", "merged", branch, 3) + "," + gitlabMRJSON("9", "opened", branch, 3) + "," + gitlabMRJSON("8", "opened", branch, 44) + "]"},
		exchange{method: "POST", path: "/api/v4/projects/group/sub/gitops/merge_requests",
			body:   map[string]any{"title": "t", "description": "b", "source_branch": branch, "target_branch": "main", "labels": "hoist,deps"},
			status: 201, response: gitlabMRJSON("10", "opened", branch, 3)},
		exchange{method: "PUT", path: "/api/v4/projects/group/sub/gitops/merge_requests/10", body: map[string]any{"title": "t2", "description": "b2"},
			status: 200, response: gitlabMRJSON("10", "opened", branch, 3)},
		exchange{method: "POST", path: "/api/v4/projects/group/sub/gitops/merge_requests/10/notes", body: map[string]any{"body": "bye"},
			status: 201, response: `{"id": 302, "body": "bye", "author": {"id": 1, "username": "admin"}, "system": false, "noteable_id": 1, "noteable_type": "MergeRequest", "noteable_iid": 10}`},
		exchange{method: "PUT", path: "/api/v4/projects/group/sub/gitops/merge_requests/10", body: map[string]any{"state_event": "close"},
			status: 200, response: gitlabMRJSON("10", "closed", branch, 3)},
		exchange{method: "PUT", path: "/api/v4/projects/group/sub/gitops/merge_requests/11/merge", body: map[string]any{"auto_merge": true},
			status: 200, response: gitlabMRJSON("11", "opened", branch, 3)},
	)
	c := mustNew(t, Config{Provider: GitLab, APIURL: r.url("/api/v4"), Token: "glpat-secret", RepoURL: "https://gitlab.example.com/group/sub/gitops.git"})
	ctx := context.Background()
	prs, err := c.Find(ctx, branch, "main")
	if err != nil {
		t.Fatal(err)
	}
	// !8 comes from a fork (another source project): not hoist's.
	if len(prs) != 2 || prs[0].Number != 9 || prs[0].State != Open || prs[1].State != Merged ||
		prs[0].URL != "http://gitlab.example.com/group/sub/gitops/-/merge_requests/9" {
		t.Fatalf("found %+v, want the open !9 then the merged !7", prs)
	}
	proposal{
		create: NewPR{Head: branch, Base: "main", Title: "t", Body: "b", Labels: []string{"hoist", "deps"}},
		number: 10, title: "t2", body: "b2", comment: "bye", automerge: 11,
	}.drive(t, c)
}

func TestGitLabDriverErrors(t *testing.T) {
	r := newReplay(t, gitlabToken("glpat-secret"),
		exchange{method: "POST", path: "/api/v4/projects/team/gitops/merge_requests", status: 409,
			response: `{"message": ["Another open merge request already exists for this source branch: !9"]}`},
		exchange{method: "GET", path: "/api/v4/projects/team/gitops/merge_requests", status: 401, response: `{"message": "401 Unauthorized"}`},
	)
	c := mustNew(t, Config{Provider: GitLab, APIURL: r.url("/api/v4"), Token: "glpat-secret", RepoURL: "git@gitlab.example.com:team/gitops.git"})
	ctx := context.Background()
	_, err := c.Create(ctx, NewPR{Head: "hoist/x", Base: "main", Title: "t", Body: "b"})
	var fe *Error
	if !errors.As(err, &fe) || fe.Status != 409 || fe.Permanent() {
		t.Fatalf("create: %v, want a 409 forge error", err)
	}
	_, err = c.Find(ctx, "hoist/x", "main")
	if !errors.As(err, &fe) || fe.Status != 401 || !fe.Permanent() {
		t.Fatalf("find: %v, want a permanent 401", err)
	}
	noToken(t, err, "glpat-secret")
}

func TestDefaultAPIURLAndRepoPath(t *testing.T) {
	for _, tc := range []struct{ provider, api, repo, want, wantErr string }{
		{GitHub, "", "https://github.com/team/gitops.git", "https://api.github.com/", ""},
		{GitHub, "", "git@github.com:team/gitops.git", "https://api.github.com/", ""},
		{GitLab, "", "https://gitlab.com/group/sub/gitops.git", "https://gitlab.com/api/v4", ""},
		{GitLab, "", "https://gitlab.example.com/group/gitops.git", "", "apiURL is required"},
		{Gitea, "", "https://gitea.com/team/gitops.git", "", "apiURL is required for gitea"},
		{Gitea, "https://git.example.com/api/v1", "https://git.example.com/team/gitops.git", "https://git.example.com/api/v1", ""},
		{Gitea, "ftp://git.example.com", "https://git.example.com/team/gitops.git", "", "not an http(s) URL"},
		{"bitbucket", "", "https://bitbucket.org/team/gitops.git", "", "unknown provider"},
	} {
		got, err := DefaultAPIURL(tc.provider, tc.api, tc.repo)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s %s: %q, %v; want error %q", tc.provider, tc.repo, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s %s: %q, %v; want %q", tc.provider, tc.repo, got, err, tc.want)
		}
	}
	for repo, want := range map[string]string{
		"https://git.example.com/team/gitops.git":     "team/gitops",
		"https://git.example.com/git/team/gitops":     "git/team/gitops",
		"git@gitlab.example.com:group/sub/gitops.git": "group/sub/gitops",
		"ssh://git@git.example.com:2222/team/gitops":  "team/gitops",
	} {
		if got, err := RepoPath(repo); err != nil || got != want {
			t.Errorf("RepoPath(%s) = %q, %v; want %q", repo, got, err, want)
		}
	}
	if _, err := RepoPath("https://git.example.com/gitops"); err == nil {
		t.Error("a URL without an owner was accepted")
	}
}
