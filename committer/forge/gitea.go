package forge

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"code.gitea.io/sdk/gitea"
)

// giteaClient speaks Gitea's (and Forgejo's) API through code.gitea.io/sdk/gitea.
type giteaClient struct {
	base, token, owner, name string
	hc                       *http.Client
}

func newGitea(api, token, path string, hc *http.Client) (Client, error) {
	// The SDK wants the server's root; the API root is what people copy.
	base := strings.TrimSuffix(strings.TrimSuffix(api, "/"), "/api/v1")
	owner, name := ownerName(path)
	return &giteaClient{base: base, token: token, owner: owner, name: name, hc: hc}, nil
}

// client is an SDK client for one call: the SDK keeps the context per
// client. The server version is not asked for (no call before the first use).
func (g *giteaClient) client(ctx context.Context) (*gitea.Client, error) {
	return gitea.NewClient(g.base, gitea.SetToken(g.token), gitea.SetHTTPClient(g.hc),
		gitea.SetContext(ctx), gitea.SetGiteaVersion(""))
}

func giteaStatus(r *gitea.Response) int {
	if r == nil || r.Response == nil {
		return 0
	}
	return r.StatusCode
}

func giteaPR(p *gitea.PullRequest) PR {
	out := PR{Number: p.Index, URL: p.HTMLURL, Title: p.Title, Body: p.Body, State: Open}
	switch {
	case p.HasMerged:
		out.State = Merged
	case p.State == gitea.StateClosed:
		out.State = Closed
	}
	if p.Head != nil {
		out.Head = p.Head.Ref
	}
	if p.Base != nil {
		out.Base = p.Base.Ref
	}
	return out
}

// maxPages bounds the pages a listing reads (50 per page on Gitea, 100 on GitHub and GitLab).
const maxPages = 50

// Find reads the open pull requests (few) for the one from head; only when
// there is none does it ask whether any closed or merged one exists, with
// Gitea's lookup by base and head, which answers one of them. Listing every
// closed pull request instead would grow with the repository's history.
func (g *giteaClient) Find(ctx context.Context, head, base string) ([]PR, error) {
	c, err := g.client(ctx)
	if err != nil {
		return nil, wrap("list pull requests", 0, err)
	}
	var out []PR
	for page := 1; page <= maxPages; page++ {
		prs, resp, err := c.ListRepoPullRequests(g.owner, g.name, gitea.ListPullRequestsOptions{
			ListOptions: gitea.ListOptions{Page: page, PageSize: 50}, State: gitea.StateOpen,
		})
		if err != nil {
			return nil, wrap("list pull requests", giteaStatus(resp), err)
		}
		for _, p := range prs {
			pr := giteaPR(p)
			if pr.Head == head && pr.Base == base && sameRepo(p) {
				out = append(out, pr)
			}
		}
		if len(prs) < 50 {
			break
		}
	}
	if len(out) > 0 {
		sortNewest(out)
		return out, nil
	}
	p, resp, err := c.GetPullRequestByBaseHead(g.owner, g.name, base, head)
	if giteaStatus(resp) == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("look up pull requests of "+head, giteaStatus(resp), err)
	}
	return []PR{giteaPR(p)}, nil
}

// sameRepo is true for a pull request whose head branch is in the base
// repository (not a fork's branch of the same name).
func sameRepo(p *gitea.PullRequest) bool {
	if p.Head == nil || p.Base == nil || p.Head.RepoID == 0 || p.Base.RepoID == 0 {
		return true
	}
	return p.Head.RepoID == p.Base.RepoID
}

func (g *giteaClient) Create(ctx context.Context, pr NewPR) (PR, error) {
	c, err := g.client(ctx)
	if err != nil {
		return PR{}, wrap("open pull request", 0, err)
	}
	ids, err := g.labelIDs(c, pr.Labels)
	if err != nil {
		return PR{}, err
	}
	p, resp, err := c.CreatePullRequest(g.owner, g.name, gitea.CreatePullRequestOption{
		Head: pr.Head, Base: pr.Base, Title: pr.Title, Body: pr.Body, Labels: ids,
	})
	if err != nil {
		return PR{}, wrap("open pull request", giteaStatus(resp), err)
	}
	return giteaPR(p), nil
}

// labelIDs maps label names to the repository's label ids, creating the
// labels it lacks.
func (g *giteaClient) labelIDs(c *gitea.Client, names []string) ([]int64, error) {
	if len(names) == 0 {
		return nil, nil
	}
	have := map[string]int64{}
	for page := 1; page <= maxPages; page++ {
		ls, resp, err := c.ListRepoLabels(g.owner, g.name, gitea.ListLabelsOptions{ListOptions: gitea.ListOptions{Page: page, PageSize: 50}})
		if err != nil {
			return nil, wrap("list labels", giteaStatus(resp), err)
		}
		for _, l := range ls {
			have[l.Name] = l.ID
		}
		if len(ls) < 50 {
			break
		}
	}
	var ids []int64
	for _, n := range names {
		id, ok := have[n]
		if !ok {
			l, resp, err := c.CreateLabel(g.owner, g.name, gitea.CreateLabelOption{Name: n, Color: "#1d76db"})
			if err != nil {
				return nil, wrap(fmt.Sprintf("create label %q", n), giteaStatus(resp), err)
			}
			id = l.ID
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func (g *giteaClient) Update(ctx context.Context, number int64, title, body string) error {
	c, err := g.client(ctx)
	if err != nil {
		return wrap("update pull request", 0, err)
	}
	_, resp, err := c.EditPullRequest(g.owner, g.name, number, gitea.EditPullRequestOption{Title: title, Body: &body})
	return wrap(fmt.Sprintf("update pull request %d", number), giteaStatus(resp), err)
}

func (g *giteaClient) Close(ctx context.Context, number int64, comment string) error {
	c, err := g.client(ctx)
	if err != nil {
		return wrap("close pull request", 0, err)
	}
	if _, resp, err := c.CreateIssueComment(g.owner, g.name, number, gitea.CreateIssueCommentOption{Body: comment}); err != nil {
		return wrap(fmt.Sprintf("comment on pull request %d", number), giteaStatus(resp), err)
	}
	closed := gitea.StateClosed
	_, resp, err := c.EditPullRequest(g.owner, g.name, number, gitea.EditPullRequestOption{State: &closed})
	return wrap(fmt.Sprintf("close pull request %d", number), giteaStatus(resp), err)
}

// giteaMergeWait bounds how long Automerge waits for Gitea to finish
// checking a new pull request's mergeability, polling every giteaMergePoll.
const (
	giteaMergeWait = 30 * time.Second
	giteaMergePoll = 250 * time.Millisecond
)

// Automerge schedules the merge for when the checks succeed (Gitea merges at
// once when there are none). Gitea checks a pull request's mergeability in
// the background after each push and answers 405 "Please try again later"
// until it has: that answer is retried for up to giteaMergeWait.
func (g *giteaClient) Automerge(ctx context.Context, number int64) error {
	c, err := g.client(ctx)
	if err != nil {
		return wrap("schedule merge", 0, err)
	}
	deadline := time.Now().Add(giteaMergeWait)
	for {
		ok, resp, err := c.MergePullRequest(g.owner, g.name, number, gitea.MergePullRequestOption{
			Style: gitea.MergeStyleMerge, MergeWhenChecksSucceed: true,
		})
		status := giteaStatus(resp)
		if err == nil && !ok {
			err = fmt.Errorf("the forge refused to schedule the merge")
		}
		if err == nil || status != http.StatusMethodNotAllowed || time.Now().After(deadline) {
			return wrap(fmt.Sprintf("schedule merge of pull request %d", number), status, err)
		}
		select {
		case <-ctx.Done():
			return wrap(fmt.Sprintf("schedule merge of pull request %d", number), status, ctx.Err())
		case <-time.After(giteaMergePoll):
		}
	}
}
