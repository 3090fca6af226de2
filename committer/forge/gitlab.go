package forge

import (
	"context"
	"fmt"
	"net/http"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// gitlabClient speaks GitLab's merge-request API through client-go. The
// client's own retries are off: the committer retries a batch as a whole.
type gitlabClient struct {
	c       *gitlab.Client
	project string
}

func newGitLab(api, token, path string, hc *http.Client) (Client, error) {
	c, err := gitlab.NewClient(token, gitlab.WithBaseURL(api), gitlab.WithHTTPClient(hc), gitlab.WithoutRetries())
	if err != nil {
		return nil, fmt.Errorf("pullRequest: apiURL: %w", err)
	}
	return &gitlabClient{c: c, project: path}, nil
}

func gitlabStatus(r *gitlab.Response) int {
	if r == nil || r.Response == nil {
		return 0
	}
	return r.StatusCode
}

func gitlabState(s string) State {
	switch s {
	case "merged":
		return Merged
	case "closed", "locked":
		return Closed
	}
	return Open
}

func (g *gitlabClient) Find(ctx context.Context, head, base string) ([]PR, error) {
	var out []PR
	opt := &gitlab.ListProjectMergeRequestsOptions{
		State: gitlab.Ptr("all"), SourceBranch: &head, TargetBranch: &base,
		ListOptions: gitlab.ListOptions{PerPage: 100},
	}
	for page := int64(1); page <= maxPages; page++ {
		opt.Page = page
		mrs, resp, err := g.c.MergeRequests.ListProjectMergeRequests(g.project, opt, gitlab.WithContext(ctx))
		if err != nil {
			return nil, wrap("list merge requests", gitlabStatus(resp), err)
		}
		for _, m := range mrs {
			if m.SourceBranch == head && m.TargetBranch == base && m.SourceProjectID == m.TargetProjectID {
				out = append(out, PR{Number: m.IID, URL: m.WebURL, State: gitlabState(m.State),
					Head: m.SourceBranch, Base: m.TargetBranch, Title: m.Title, Body: m.Description})
			}
		}
		if resp.NextPage == 0 {
			break
		}
	}
	sortNewest(out)
	return out, nil
}

func (g *gitlabClient) Create(ctx context.Context, pr NewPR) (PR, error) {
	opt := &gitlab.CreateMergeRequestOptions{
		Title: &pr.Title, Description: &pr.Body, SourceBranch: &pr.Head, TargetBranch: &pr.Base,
	}
	if len(pr.Labels) > 0 {
		l := gitlab.LabelOptions(pr.Labels)
		opt.Labels = &l
	}
	m, resp, err := g.c.MergeRequests.CreateMergeRequest(g.project, opt, gitlab.WithContext(ctx))
	if err != nil {
		return PR{}, wrap("open merge request", gitlabStatus(resp), err)
	}
	return PR{Number: m.IID, URL: m.WebURL, State: gitlabState(m.State), Head: m.SourceBranch,
		Base: m.TargetBranch, Title: m.Title, Body: m.Description}, nil
}

func (g *gitlabClient) Update(ctx context.Context, number int64, title, body string) error {
	_, resp, err := g.c.MergeRequests.UpdateMergeRequest(g.project, number,
		&gitlab.UpdateMergeRequestOptions{Title: &title, Description: &body}, gitlab.WithContext(ctx))
	return wrap(fmt.Sprintf("update merge request !%d", number), gitlabStatus(resp), err)
}

func (g *gitlabClient) Close(ctx context.Context, number int64, comment string) error {
	if _, resp, err := g.c.Notes.CreateMergeRequestNote(g.project, number,
		&gitlab.CreateMergeRequestNoteOptions{Body: &comment}, gitlab.WithContext(ctx)); err != nil {
		return wrap(fmt.Sprintf("comment on merge request !%d", number), gitlabStatus(resp), err)
	}
	_, resp, err := g.c.MergeRequests.UpdateMergeRequest(g.project, number,
		&gitlab.UpdateMergeRequestOptions{StateEvent: gitlab.Ptr("close")}, gitlab.WithContext(ctx))
	return wrap(fmt.Sprintf("close merge request !%d", number), gitlabStatus(resp), err)
}

func (g *gitlabClient) Automerge(ctx context.Context, number int64) error {
	_, resp, err := g.c.MergeRequests.AcceptMergeRequest(g.project, number,
		&gitlab.AcceptMergeRequestOptions{AutoMerge: gitlab.Ptr(true)}, gitlab.WithContext(ctx))
	return wrap(fmt.Sprintf("set merge request !%d to merge when its pipeline succeeds", number), gitlabStatus(resp), err)
}
