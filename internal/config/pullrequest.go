package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"text/template"
)

// PullRequest makes the committer propose a repository's updates as pull
// requests (GitLab: merge requests) instead of committing to its branch.
type PullRequest struct {
	// Provider is gitea (also Forgejo), github or gitlab.
	Provider string `yaml:"provider"`
	// APIURL is the forge's API root; empty: derived for github.com
	// (https://api.github.com/) and gitlab.com (https://gitlab.com/api/v4);
	// required for gitea.
	APIURL string `yaml:"apiURL"`
	// Token (or TokenFile) authenticates to the forge's API.
	Token     string `yaml:"token"`
	TokenFile string `yaml:"tokenFile"`
	// BranchTemplate is a Go template naming each change's branch (data:
	// .Image, .Repo, .Branch); empty: committer.DefaultBranchTemplate.
	BranchTemplate string `yaml:"branchTemplate"`
	// Title is a Go template for the title (data: .Image, .Tag, .Repo,
	// .Branch, .PRBranch, .Changes); empty: committer.DefaultTitleTemplate.
	Title string `yaml:"title"`
	// Labels are put on every pull request hoist opens.
	Labels []string `yaml:"labels"`
	// Automerge asks the forge to merge each pull request once its checks pass.
	Automerge bool `yaml:"automerge"`
}

// pullRequestProviders are the providers pullRequest.provider accepts.
var pullRequestProviders = []string{"gitea", "github", "gitlab"}

// checkPullRequest checks a repository's pullRequest section, which only
// the committer uses. The templates are executed on sample data by the
// committer's own validation, which `hoist config check` runs too.
func (c *Config) checkPullRequest(d *decoder, p string, r Repository) {
	pr := r.PullRequest
	if pr == nil {
		return
	}
	p += ".pullRequest"
	switch {
	case pr.Provider == "":
		c.report(d, p, "%s: provider is missing (one of %s)", p, strings.Join(pullRequestProviders, ", "))
	case !slices.Contains(pullRequestProviders, pr.Provider):
		c.report(d, p+".provider", "%s.provider: unknown provider %q (one of %s)", p, pr.Provider, strings.Join(pullRequestProviders, ", "))
	}
	if pr.APIURL != "" {
		u, err := url.Parse(pr.APIURL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			c.report(d, p+".apiURL", "%s.apiURL: %q is not an http(s) URL", p, pr.APIURL)
		case u.User != nil:
			c.report(d, p+".apiURL", "%s.apiURL must not hold credentials; set token or tokenFile", p)
		}
	} else if pr.Provider == "gitea" {
		c.report(d, p, "%s: apiURL is required for gitea (e.g. https://git.example.com/api/v1)", p)
	}
	if pr.Token == "" && !d.problems.Under(p+".token") && !d.problems.Under(p+".tokenFile") {
		if pr.TokenFile != "" {
			c.report(d, p+".tokenFile", "%s.tokenFile: %s is empty", p, pr.TokenFile)
		} else {
			c.report(d, p, "%s: token is missing (set token or tokenFile)", p)
		}
	}
	if r.PushBranch != "" {
		c.report(d, p, "%s and pushBranch exclude each other: pull requests get their own branches", p)
	}
	for key, text := range map[string]string{"branchTemplate": pr.BranchTemplate, "title": pr.Title} {
		if text == "" {
			continue
		}
		if _, err := template.New(key).Parse(text); err != nil {
			c.report(d, p+"."+key, "%s.%s: %v", p, key, err)
		}
	}
	for i, l := range pr.Labels {
		if strings.TrimSpace(l) == "" {
			c.report(d, fmt.Sprintf("%s.labels[%d]", p, i), "%s.labels: a label is empty", p)
		}
	}
}

// readPullRequestToken fills a repository's forge token from tokenFile.
func (c *Config) readPullRequestToken(d *decoder, p string, r *Repository) {
	if r.PullRequest != nil {
		c.fromFile(d, p+".pullRequest.token", &r.PullRequest.Token, r.PullRequest.TokenFile)
	}
}

// pullRequestFiles are the file keys of a repository's pullRequest section.
func pullRequestFiles(r *Repository) []*string {
	if r.PullRequest == nil {
		return nil
	}
	return []*string{&r.PullRequest.TokenFile}
}
