package committer

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/template"

	"github.com/hoist-gitops/hoist/committer/forge"
)

// PullRequest makes the committer propose updates as pull requests instead
// of committing to the tracked branch: each batch's changes go to the branch
// BranchTemplate names (one branch and one open pull request per image by
// default), and the pull request is opened or updated.
type PullRequest struct {
	// Provider is gitea (also Forgejo), github or gitlab.
	Provider string
	// APIURL is the forge's API root; empty: derived for github.com and gitlab.com.
	APIURL string
	// Token authenticates to the forge's API.
	Token string
	// BranchTemplate is a text/template over BranchData naming the branch of
	// a change; empty: DefaultBranchTemplate.
	BranchTemplate string
	// TitleTemplate is a text/template over TitleData; empty: DefaultTitleTemplate.
	TitleTemplate string
	// Labels are put on every pull request hoist opens.
	Labels []string
	// Automerge asks the forge to merge each pull request once its checks pass.
	Automerge bool
	// Client, when set, is used instead of a client built from Provider,
	// APIURL and Token (tests).
	Client forge.Client
}

// DefaultBranchTemplate names one branch per image repository.
const DefaultBranchTemplate = "hoist/{{ .Image }}"

// DefaultTitleTemplate is "Update <image> to <tag>" when the pull request
// changes one image to one tag, "Update images" otherwise.
const DefaultTitleTemplate = `{{ if .Image }}Update {{ .Image }} to {{ .Tag }}{{ else }}Update images{{ end }}`

// BranchData is what a branch template is executed on, for each change.
type BranchData struct {
	// Image is the canonical image repository of the change (host and path,
	// "registry.example/team/api"), made one safe branch-name component:
	// lower-case, every character but letters, digits, '.', '_' and '-'
	// (the path's '/', a port's ':') turned into '-', no "..", no leading or
	// trailing '.', no ".lock" ending: "registry.example-team-api".
	Image string
	// Repo is the configured repository name; Branch the tracked branch.
	Repo, Branch string
}

// TitleData is what a title template is executed on.
type TitleData struct {
	// Image and Tag are set when every change of the pull request is to the
	// same image and tag; empty otherwise.
	Image, Tag string
	// Repo is the configured repository name; Branch the tracked branch;
	// PRBranch the branch the pull request proposes.
	Repo, Branch, PRBranch string
	// Changes are every change the pull request carries.
	Changes []Change
}

var sampleBranchData = BranchData{Image: "registry.example/team/api", Repo: "gitops", Branch: "main"}

var sampleTitleData = TitleData{
	Image: "registry.example/team/api", Tag: "1.2.4", Repo: "gitops", Branch: "main", PRBranch: "hoist/registry.example-team-api",
	Changes: sampleMessageData.Changes[:1],
}

// CheckBranchTemplate parses a branch template and executes it on a sample
// change: a template that fails, or names an invalid branch, is an error.
func CheckBranchTemplate(text string) error {
	_, err := parseBranchTemplate(text)
	return err
}

func parseBranchTemplate(text string) (*template.Template, error) {
	if text == "" {
		text = DefaultBranchTemplate
	}
	t, err := template.New("branch").Parse(text)
	if err != nil {
		return nil, err
	}
	if _, err := renderBranch(t, sampleBranchData); err != nil {
		return nil, fmt.Errorf("on a sample change: %w", err)
	}
	return t, nil
}

// renderBranch executes a branch template and checks the name it gives.
func renderBranch(t *template.Template, d BranchData) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", err
	}
	name := strings.TrimSpace(b.String())
	if !validBranch(name) {
		return "", fmt.Errorf("%q is not a valid branch name", name)
	}
	return name, nil
}

// CheckTitleTemplate parses a title template and executes it on a sample
// pull request; an empty title is an error.
func CheckTitleTemplate(text string) error {
	_, err := parseTitleTemplate(text)
	return err
}

func parseTitleTemplate(text string) (*template.Template, error) {
	if text == "" {
		text = DefaultTitleTemplate
	}
	t, err := template.New("title").Parse(text)
	if err != nil {
		return nil, err
	}
	if err := t.Execute(io.Discard, sampleTitleData); err != nil {
		return nil, fmt.Errorf("on a sample pull request: %w", err)
	}
	if s, _ := renderTitle(t, sampleTitleData); s == "" {
		return nil, errors.New("gives an empty title on a sample pull request")
	}
	return t, nil
}

var defaultTitleTemplate = template.Must(template.New("title").Parse(DefaultTitleTemplate))

// renderTitle executes a title template: one line, at most 255 characters.
func renderTitle(t *template.Template, d TitleData) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", err
	}
	s := strings.Join(strings.Fields(b.String()), " ")
	if r := []rune(s); len(r) > 255 {
		s = string(r[:254]) + "…"
	}
	return s, nil
}

// branchSafe makes an image repository name one component of a branch
// name (see BranchData.Image). The path's slashes become '-' too: image
// repositories nest (team/api and team/api/worker), and git cannot hold a
// branch .../api beside a branch .../api/worker.
func branchSafe(image string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(image) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
			b.WriteRune(c)
		default:
			b.WriteByte('-')
		}
	}
	s := b.String()
	for strings.Contains(s, "..") {
		s = strings.ReplaceAll(s, "..", ".")
	}
	for strings.HasSuffix(s, ".lock") {
		s = strings.TrimSuffix(s, ".lock")
	}
	s = strings.Trim(s, ".")
	if s == "" {
		return "image"
	}
	return s
}

// validate reports the first mistake of a repository's pull-request settings.
func (p *PullRequest) validate(r Repo) error {
	if r.PushBranch != "" {
		return errors.New("pullRequest and pushBranch exclude each other: pull requests get their own branches")
	}
	bt, err := parseBranchTemplate(p.BranchTemplate)
	if err != nil {
		return fmt.Errorf("pullRequest.branchTemplate: %w", err)
	}
	if b, err := renderBranch(bt, BranchData{Image: sampleBranchData.Image, Repo: r.Name, Branch: r.Branch}); err == nil && b == r.Branch {
		return fmt.Errorf("pullRequest.branchTemplate: names the tracked branch %s; pull requests need a branch of their own", r.Branch)
	}
	if err := CheckTitleTemplate(p.TitleTemplate); err != nil {
		return fmt.Errorf("pullRequest.title: %w", err)
	}
	for _, l := range p.Labels {
		if strings.TrimSpace(l) == "" {
			return errors.New("pullRequest.labels: a label is empty")
		}
	}
	if p.Client != nil {
		return nil
	}
	if _, err := forge.DefaultAPIURL(p.Provider, p.APIURL, r.URL); err != nil {
		return err
	}
	if _, err := forge.RepoPath(r.URL); err != nil {
		return err
	}
	if p.Token == "" {
		return errors.New("pullRequest: token is empty (set token or tokenFile)")
	}
	return nil
}

// pullRequests reports whether a repository proposes pull requests (its
// series are registered only then).
func (c Config) pullRequests() bool {
	for _, r := range c.Repos {
		if r.PullRequest != nil {
			return true
		}
	}
	return false
}
