package forge

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v93/github"
)

// githubClient speaks GitHub's (and GitHub Enterprise's) REST API through
// go-github; automerge goes through GraphQL, which REST lacks.
type githubClient struct {
	c           *github.Client
	owner, name string
	graphql     string
}

func newGitHub(api, token, path string, hc *http.Client) (Client, error) {
	base := strings.TrimSuffix(api, "/") + "/"
	c, err := github.NewClient(github.WithHTTPClient(hc), github.WithAuthToken(token), github.WithURLs(&base, &base))
	if err != nil {
		return nil, fmt.Errorf("pullRequest: apiURL: %w", err)
	}
	owner, name := ownerName(path)
	// api.github.com/graphql; GitHub Enterprise: /api/v3/ → /api/graphql.
	gql := base + "graphql"
	if strings.HasSuffix(base, "/api/v3/") {
		gql = strings.TrimSuffix(base, "v3/") + "graphql"
	}
	return &githubClient{c: c, owner: owner, name: name, graphql: gql}, nil
}

func githubStatus(r *github.Response) int {
	if r == nil || r.Response == nil {
		return 0
	}
	return r.StatusCode
}

func githubPR(p *github.PullRequest) PR {
	out := PR{
		Number: int64(p.GetNumber()), URL: p.GetHTMLURL(), Title: p.GetTitle(), Body: p.GetBody(),
		Head: p.GetHead().GetRef(), Base: p.GetBase().GetRef(), State: Open,
	}
	switch {
	case p.GetMerged() || p.MergedAt != nil:
		out.State = Merged
	case p.GetState() == "closed":
		out.State = Closed
	}
	return out
}

func (g *githubClient) Find(ctx context.Context, head, base string) ([]PR, error) {
	var out []PR
	opt := &github.PullRequestListOptions{State: "all", Head: g.owner + ":" + head, Base: base, ListOptions: github.ListOptions{PerPage: 100}}
	for page := 1; page <= maxPages; page++ {
		opt.Page = page
		prs, resp, err := g.c.PullRequests.List(ctx, g.owner, g.name, opt)
		if err != nil {
			return nil, wrap("list pull requests", githubStatus(resp), err)
		}
		for _, p := range prs {
			if pr := githubPR(p); pr.Head == head {
				out = append(out, pr)
			}
		}
		if resp.NextPage == 0 {
			break
		}
	}
	sortNewest(out)
	return out, nil
}

func (g *githubClient) Create(ctx context.Context, pr NewPR) (PR, error) {
	p, resp, err := g.c.PullRequests.Create(ctx, g.owner, g.name, github.CreatePullRequest{
		Title: &pr.Title, Head: pr.Head, Base: pr.Base, Body: &pr.Body,
	})
	if err != nil {
		return PR{}, wrap("open pull request", githubStatus(resp), err)
	}
	out := githubPR(p)
	if len(pr.Labels) > 0 {
		// Labels are an issue's; a pull request is one.
		if _, resp, err := g.c.Issues.AddLabelsToIssue(ctx, g.owner, g.name, p.GetNumber(), pr.Labels); err != nil {
			return out, wrap(fmt.Sprintf("label pull request %d", out.Number), githubStatus(resp), err)
		}
	}
	return out, nil
}

func (g *githubClient) Update(ctx context.Context, number int64, title, body string) error {
	_, resp, err := g.c.PullRequests.Edit(ctx, g.owner, g.name, int(number), &github.PullRequest{Title: &title, Body: &body})
	return wrap(fmt.Sprintf("update pull request %d", number), githubStatus(resp), err)
}

func (g *githubClient) Close(ctx context.Context, number int64, comment string) error {
	if _, resp, err := g.c.Issues.CreateComment(ctx, g.owner, g.name, int(number), github.IssueCommentRequest{Body: comment}); err != nil {
		return wrap(fmt.Sprintf("comment on pull request %d", number), githubStatus(resp), err)
	}
	closed := "closed"
	_, resp, err := g.c.PullRequests.Edit(ctx, g.owner, g.name, int(number), &github.PullRequest{State: &closed})
	return wrap(fmt.Sprintf("close pull request %d", number), githubStatus(resp), err)
}

// enableAutoMerge is GitHub's GraphQL mutation that merges a pull request
// once its required checks pass (the repository must allow auto-merge).
const enableAutoMerge = `mutation($id: ID!) { enablePullRequestAutoMerge(input: {pullRequestId: $id}) { clientMutationId } }`

func (g *githubClient) Automerge(ctx context.Context, number int64) error {
	p, resp, err := g.c.PullRequests.Get(ctx, g.owner, g.name, int(number))
	if err != nil {
		return wrap(fmt.Sprintf("read pull request %d", number), githubStatus(resp), err)
	}
	req, err := g.c.NewRequest(ctx, http.MethodPost, g.graphql, map[string]any{
		"query": enableAutoMerge, "variables": map[string]any{"id": p.GetNodeID()},
	})
	if err != nil {
		return wrap("enable auto-merge", 0, err)
	}
	var out struct {
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	resp, err = g.c.Do(req, &out)
	if err != nil {
		return wrap(fmt.Sprintf("enable auto-merge of pull request %d", number), githubStatus(resp), err)
	}
	if len(out.Errors) > 0 {
		return wrap(fmt.Sprintf("enable auto-merge of pull request %d", number), 0,
			fmt.Errorf("%w: %s", errAutomergeUnsupported, out.Errors[0].Message))
	}
	return nil
}
