// Package forge talks to the pull-request API of a git forge (Gitea and
// Forgejo, GitHub, GitLab) through each forge's own Go client: find the pull
// requests of a branch, open one, change its title and body, close it with a
// comment, and ask for it to be merged once its checks pass. The committer
// decides when; this package only speaks the forges' languages.
package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// State is where a pull request stands.
type State string

// The states hoist tells apart; a draft counts as open.
const (
	Open   State = "open"
	Closed State = "closed"
	Merged State = "merged"
)

// PR is a pull request (GitLab: merge request) as hoist sees it.
type PR struct {
	// Number is the number people see (GitLab: the iid).
	Number int64
	// URL is the pull request's web page.
	URL string
	// State is open, closed or merged.
	State State
	// Head is the branch proposed; Base the branch it would be merged into.
	Head, Base string
	// Title and Body as the forge holds them now.
	Title, Body string
}

// NewPR is a pull request to open.
type NewPR struct {
	Head, Base, Title, Body string
	// Labels are label names; a Gitea label that does not exist yet is created.
	Labels []string
}

// Client is one repository's pull requests on its forge.
type Client interface {
	// Find lists the pull requests from head into base: every open one,
	// newest first, and, when none is open, at least one closed or merged
	// one if any exists (GitHub and GitLab list them all).
	Find(ctx context.Context, head, base string) ([]PR, error)
	// Create opens a pull request and returns it.
	Create(ctx context.Context, pr NewPR) (PR, error)
	// Update sets the title and body of an open pull request.
	Update(ctx context.Context, number int64, title, body string) error
	// Close comments on a pull request and closes it without merging.
	Close(ctx context.Context, number int64, comment string) error
	// Automerge asks the forge to merge the pull request once its checks
	// pass; errAutomergeUnsupported when the forge cannot.
	Automerge(ctx context.Context, number int64) error
}

// errAutomergeUnsupported is Automerge on a forge or setup that cannot merge
// on its own.
var errAutomergeUnsupported = errors.New("the forge cannot merge a pull request once its checks pass")

// The providers.
const (
	Gitea  = "gitea"
	GitHub = "github"
	GitLab = "gitlab"
)

// providers lists the provider names Config accepts (Forgejo speaks Gitea's API).
func providers() []string { return []string{Gitea, GitHub, GitLab} }

// Config says how to reach one repository's forge.
type Config struct {
	// Provider is gitea (also Forgejo), github or gitlab.
	Provider string
	// APIURL is the forge's API root; empty derives it from RepoURL for
	// github.com and gitlab.com (DefaultAPIURL).
	APIURL string
	// Token authenticates every call; it never appears in errors or logs.
	Token string
	// RepoURL is the repository's git URL; the owner and name (GitLab: the
	// project path) come from its path.
	RepoURL string
	// HTTPClient makes the calls; nil: a client with Timeout.
	HTTPClient *http.Client
	// Timeout bounds one API call when HTTPClient is nil (0: DefaultTimeout).
	Timeout time.Duration
}

// DefaultTimeout bounds one API call.
const DefaultTimeout = 30 * time.Second

// New returns the client of cfg's forge, or why cfg cannot work. Nothing
// is sent to the forge.
func New(cfg Config) (Client, error) {
	api, err := DefaultAPIURL(cfg.Provider, cfg.APIURL, cfg.RepoURL)
	if err != nil {
		return nil, err
	}
	if cfg.Token == "" {
		return nil, errors.New("pullRequest: the token is empty")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: cmpDuration(cfg.Timeout, DefaultTimeout)}
	}
	path, err := RepoPath(cfg.RepoURL)
	if err != nil {
		return nil, err
	}
	switch cfg.Provider {
	case Gitea:
		return newGitea(api, cfg.Token, path, hc)
	case GitHub:
		return newGitHub(api, cfg.Token, path, hc)
	case GitLab:
		return newGitLab(api, cfg.Token, path, hc)
	}
	return nil, fmt.Errorf("pullRequest: unknown provider %q (one of %s)", cfg.Provider, strings.Join(providers(), ", "))
}

func cmpDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// DefaultAPIURL is apiURL when set (checked to be an http(s) URL), else the
// API of github.com or gitlab.com when the repository lives there; Gitea
// has no default.
func DefaultAPIURL(provider, apiURL, repoURL string) (string, error) {
	switch provider {
	case Gitea, GitHub, GitLab:
	case "":
		return "", fmt.Errorf("pullRequest: provider is missing (one of %s)", strings.Join(providers(), ", "))
	default:
		return "", fmt.Errorf("pullRequest: unknown provider %q (one of %s)", provider, strings.Join(providers(), ", "))
	}
	if apiURL != "" {
		u, err := url.Parse(apiURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("pullRequest: apiURL %q is not an http(s) URL", apiURL)
		}
		if u.User != nil {
			return "", errors.New("pullRequest: apiURL must not hold credentials; set token or tokenFile")
		}
		return apiURL, nil
	}
	host := repoHost(repoURL)
	switch {
	case provider == GitHub && host == "github.com":
		return "https://api.github.com/", nil
	case provider == GitLab && host == "gitlab.com":
		return "https://gitlab.com/api/v4", nil
	case provider == Gitea:
		return "", errors.New("pullRequest: apiURL is required for gitea (e.g. https://git.example.com/api/v1)")
	}
	return "", fmt.Errorf("pullRequest: apiURL is required: the repository is not on %s", map[string]string{GitHub: "github.com", GitLab: "gitlab.com"}[provider])
}

// repoHost is the host of a git URL (http(s)://, ssh://, user@host:path), lower-case.
func repoHost(repoURL string) string {
	if u, err := url.Parse(repoURL); err == nil && u.Host != "" {
		return strings.ToLower(u.Hostname())
	}
	if at := strings.Index(repoURL, "@"); at >= 0 {
		if colon := strings.Index(repoURL[at:], ":"); colon > 0 {
			return strings.ToLower(repoURL[at+1 : at+colon])
		}
	}
	return ""
}

// RepoPath is the repository's path on its forge from its git URL
// ("https://git.example.com/team/gitops.git" → "team/gitops"; GitLab
// subgroups are kept: "group/sub/project").
func RepoPath(repoURL string) (string, error) {
	p := ""
	if u, err := url.Parse(repoURL); err == nil && u.Host != "" {
		p = u.Path
	} else if at := strings.Index(repoURL, "@"); at >= 0 && strings.Contains(repoURL[at:], ":") {
		p = repoURL[at+strings.Index(repoURL[at:], ":")+1:]
	}
	p = strings.TrimSuffix(strings.Trim(p, "/"), ".git")
	if strings.Count(p, "/") < 1 {
		return "", fmt.Errorf("pullRequest: cannot tell the forge repository (owner/name) from the url")
	}
	return p, nil
}

// ownerName splits the last two segments of a repository path: forges
// served below a path prefix (https://host/git/owner/name) keep it in the URL.
func ownerName(path string) (string, string) {
	parts := strings.Split(path, "/")
	return parts[len(parts)-2], parts[len(parts)-1]
}

// Error is a failed call to a forge: the operation, the HTTP status when the
// forge answered, and the client's error (no token, no credentials).
type Error struct {
	Op     string
	Status int
	Err    error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("forge: %s: HTTP %d: %v", e.Op, e.Status, e.Err)
	}
	return fmt.Sprintf("forge: %s: %v", e.Op, e.Err)
}

// Unwrap returns the client's error.
func (e *Error) Unwrap() error { return e.Err }

// Permanent reports whether retrying cannot help: the token is refused
// (401, 403) or the repository is not found (404).
func (e *Error) Permanent() bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden || e.Status == http.StatusNotFound
}

func wrap(op string, status int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Op: op, Status: status, Err: err}
}
