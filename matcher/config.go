package matcher

import (
	"errors"
	"fmt"
	"time"

	"github.com/hoist-gitops/hoist/internal/gitauth"
	"github.com/hoist-gitops/hoist/internal/imagerules"
)

// Config is everything a matcher service needs besides its connections;
// the caller maps hoist.yaml onto it.
type Config struct {
	// Repos are the repositories whose image sites are matched.
	Repos []Repo
	// Notifier, when set, is told of rejected pushes, of registries that
	// cannot be asked and of held updates (see notify.go).
	Notifier Notifier
	// Workers is how many push events are handled at once (0: DefaultWorkers).
	Workers int
	// CompactEvery is how many fetches that changed a repository's head are
	// taken before its in-memory clone is rebuilt from a fresh shallow clone,
	// dropping the objects of old heads (0: DefaultCompactEvery).
	CompactEvery int
	// FetchGap is the least time between two fetches of one repository
	// (0: DefaultFetchGap): a busy branch announces a head per commit, and one
	// fetch per gap covers them all without competing with the committer
	// for the git server. Announcements during the gap are not lost.
	FetchGap time.Duration
	// Verifier checks pushed tags against their registry before any
	// rewrite (verify.go); nil trusts every webhook.
	Verifier TagVerifier
	// Signatures checks cosign signatures for images whose rule requires
	// one; nil: such images are never used (fail closed).
	Signatures SignatureVerifier
	// ImageRules say per image repository whether its tags are verified; nil: all are.
	ImageRules *imagerules.Rules
	// ProgressEvery is how many files a full index reads between two
	// progress lines in the log (0: DefaultProgressEvery; a line is also
	// written every progressInterval).
	ProgressEvery int
	// Scan lists image repositories' tags periodically (scan.go); zero: off.
	Scan ScanConfig
}

// Repo is one repository branch whose manifests the matcher indexes.
type Repo struct {
	// Name is the configured name; rewrites carry it.
	Name string
	// URL is http(s)://, ssh://, user@host:path, file:// or a local path.
	URL string
	// Branch is the tracked branch, read at its head.
	Branch string
	// Paths are the folders searched for manifests ("." is the whole repository).
	Paths []string
	// Exclude are globs on repository-relative paths whose files are not
	// indexed: "*" matches within one folder name, "**" any number of
	// folders ("charts/**", "**/templates/**"); a pattern that matches a
	// folder excludes everything under it.
	Exclude []string
	// FetchInterval is how often the branch is fetched to notice commits
	// made by people; 0 disables the periodic fetch (announced heads still
	// trigger one).
	FetchInterval time.Duration
	// GitTimeout bounds each clone or fetch of the repository, so a git
	// server that accepts a connection and never answers cannot hold the
	// repository's index up (0: DefaultGitTimeout).
	GitTimeout time.Duration
	// Auth holds the credentials for URL.
	Auth Auth
	// MergedWrites is set when hoist's commits reach Branch only through a
	// person's merge (pull-request mode, or a push branch other than
	// Branch): the committer records no tag written there, so none is
	// rebuilt from the branch's history either, and nothing is held.
	MergedWrites bool
}

// gitTimeout is the repository's bound on one clone or fetch.
func (r Repo) gitTimeout() time.Duration {
	if r.GitTimeout > 0 {
		return r.GitTimeout
	}
	return DefaultGitTimeout
}

// Auth is how the matcher authenticates to a remote (read access is enough).
type Auth = gitauth.Credentials

// Defaults of the service's Config fields left zero.
const (
	DefaultWorkers      = 8
	DefaultCompactEvery = 64
	DefaultFetchGap     = time.Second
)

// DefaultFetchInterval is how often the matcher fetches a branch to notice
// commits made by people.
const DefaultFetchInterval = 30 * time.Second

// DefaultGitTimeout bounds one clone or fetch: long enough for a large
// repository's first shallow clone, short enough that a hung server is
// noticed and retried.
const DefaultGitTimeout = 2 * time.Minute

func (c Config) validate() error {
	if len(c.Repos) == 0 {
		return errors.New("no repositories configured")
	}
	seen := map[string]bool{}
	for _, r := range c.Repos {
		switch {
		case r.Name == "":
			return errors.New("repository without a name")
		case seen[r.Name]:
			return fmt.Errorf("repository %s configured twice", r.Name)
		case r.URL == "":
			return fmt.Errorf("repository %s: url is empty", r.Name)
		case r.Branch == "":
			return fmt.Errorf("repository %s: branch is empty", r.Name)
		case r.FetchInterval < 0:
			return fmt.Errorf("repository %s: negative fetch interval", r.Name)
		case r.GitTimeout < 0:
			return fmt.Errorf("repository %s: negative git timeout", r.Name)
		}
		for _, g := range r.Exclude {
			if err := checkGlob(g); err != nil {
				return fmt.Errorf("repository %s: exclude %q: %w", r.Name, g, err)
			}
		}
		seen[r.Name] = true
	}
	return nil
}
