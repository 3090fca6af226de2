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
	// Workers is how many push events are handled at once (default 8).
	Workers int
	// CompactEvery is how many fetches that changed a repository's head are
	// taken before its in-memory clone is rebuilt from a fresh shallow clone,
	// dropping the objects of old heads (default 64).
	CompactEvery int
	// FetchGap is the least time between two fetches of one repository
	// (default 1 s): a busy branch announces a head per commit, and one
	// fetch per gap covers them all without competing with the committer
	// for the git server. Announcements during the gap are not lost.
	FetchGap time.Duration
	// Verifier checks pushed tags against their registry before any
	// rewrite (verify.go); nil trusts every webhook.
	Verifier TagVerifier
	// ImageRules say per image repository whether its tags are verified; nil: all are.
	ImageRules *imagerules.Rules
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
	// FetchInterval is how often the branch is fetched to notice commits
	// made by people; 0 disables the periodic fetch (announced heads still
	// trigger one).
	FetchInterval time.Duration
	// Auth holds the credentials for URL.
	Auth Auth
}

// Auth is how the matcher authenticates to a remote (read access is enough).
type Auth = gitauth.Credentials

// DefaultFetchInterval is the periodic fetch of SPEC §8's matcher.
const DefaultFetchInterval = 30 * time.Second

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
		}
		seen[r.Name] = true
	}
	return nil
}
