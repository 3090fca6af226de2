package committer

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hoist-gitops/hoist/internal/gitauth"
)

// Config is everything a committer process needs besides its connections.
type Config struct {
	// Repos are the repository branches this committer writes to.
	Repos []Repo
	// DataDir holds one local bare clone per repository branch, in a folder
	// named after the repository, the branch and a hash of the URL (see
	// cloneDirName); empty keeps the clones in memory (re-cloned on every start).
	DataDir string
	// Retry bounds the push attempts of one batch; zero values take the defaults.
	Retry Retry
	// GitTimeout bounds every git call to a remote (listing its refs, a
	// fetch, a push); 0: DefaultGitTimeout.
	GitTimeout time.Duration
	// AckWait is how long a delivered rewrite may stay unacknowledged (and
	// not marked in progress) before JetStream gives it to another committer,
	// e.g. after a crash; 0: bus.RewriteAckWait.
	AckWait time.Duration
	// Editor re-checks and applies rewrites; nil uses policy.ApplyRewrites
	// with the tag first-seen times of the bus.
	Editor Editor
	// Notifier, when set, is told of each pushed commit and each batch
	// handed back after its retries (see notify.go).
	Notifier Notifier
	// Failpoint, when set, is called at the named points of a batch ("after-commit":
	// the commit object is written, not pushed; "after-push": the push is accepted,
	// nothing acknowledged yet; "pr-pushed": a pull request's branch is pushed,
	// the pull request not looked up yet; "pr-opened": a pull request was
	// opened, nothing acknowledged). For crash tests only.
	Failpoint func(point string)
}

// Repo is one repository branch the committer writes to (an entry of repositories[]).
type Repo struct {
	// Name is the configured name; rewrites carry it.
	Name string
	// URL is http(s)://, ssh://, user@host:path, file:// or a local path.
	URL string
	// Branch is the tracked branch the rewrites were read from.
	Branch string
	// PushBranch, when set, receives the commits instead of Branch.
	PushBranch string
	// Auth holds the credentials for URL.
	Auth Auth
	// Commit says how commits are batched, written and signed.
	Commit Commit
	// GitTimeout bounds every git call to this remote; 0: Config.GitTimeout.
	GitTimeout time.Duration
	// PullRequest, when set, proposes the updates as pull requests instead
	// of committing to Branch.
	PullRequest *PullRequest
}

// Auth is how the committer authenticates to the remote.
type Auth = gitauth.Credentials

// Commit configures batches and commit content.
type Commit struct {
	// AuthorName and AuthorEmail name the commit's author; empty: DefaultAuthorName and DefaultAuthorEmail.
	AuthorName, AuthorEmail string
	// CommitterName and CommitterEmail name its committer; empty: the author.
	CommitterName, CommitterEmail string
	// MessageTemplate is a text/template over MessageData; empty: DefaultMessageTemplate.
	MessageTemplate string
	// Window is the quiet time after the last rewrite before the batch is committed.
	Window time.Duration
	// MaxWait is the longest a rewrite waits for its commit after it arrived.
	MaxWait time.Duration
	// SigningKeyFile is an armored OpenPGP or SSH private key; empty: unsigned.
	// SigningKeyPassphrase unlocks it when it is encrypted.
	SigningKeyFile, SigningKeyPassphrase string
}

// Retry bounds how hard a batch is retried before its messages go back to
// JetStream; a zero field takes the value of DefaultRetry.
type Retry struct {
	// Attempts is the number of commit-and-push attempts.
	Attempts int
	// Base and Max bound the exponential backoff between attempts, with
	// full jitter.
	Base, Max time.Duration
	// NakDelay is how long JetStream waits before redelivering a batch
	// that ran out of attempts the first time; it doubles with each
	// further delivery of a message, up to NakDelayMax.
	NakDelay time.Duration
	// NakDelayMax caps the hand-back delay: once a remote is back, a
	// handed-back rewrite lands within about this long.
	NakDelayMax time.Duration
}

// DefaultRetry is the retry bound of a committer whose Config.Retry leaves
// fields zero.
func DefaultRetry() Retry {
	return Retry{Attempts: 8, Base: 50 * time.Millisecond, Max: 5 * time.Second, NakDelay: 30 * time.Second, NakDelayMax: 5 * time.Minute}
}

// Defaults of the commit configuration and of the git calls.
const (
	// DefaultAuthorName and DefaultAuthorEmail name the commits' author.
	DefaultAuthorName  = "hoist"
	DefaultAuthorEmail = "hoist@localhost"
	// DefaultWindow is the quiet time after which a batch is committed.
	DefaultWindow = 2 * time.Second
	// DefaultMaxWait is the longest a rewrite waits for its commit.
	DefaultMaxWait = 10 * time.Second
	// DefaultGitTimeout bounds one git call to a remote.
	DefaultGitTimeout = time.Minute
)

// DefaultCommit is the default commit configuration, for callers that
// fill absent keys.
func DefaultCommit() Commit {
	return Commit{
		AuthorName:  DefaultAuthorName,
		AuthorEmail: DefaultAuthorEmail,
		Window:      DefaultWindow,
		MaxWait:     DefaultMaxWait,
	}
}

func (r Retry) withDefaults() Retry {
	d := DefaultRetry()
	if r.Attempts <= 0 {
		r.Attempts = d.Attempts
	}
	if r.Base <= 0 {
		r.Base = d.Base
	}
	if r.Max <= 0 {
		r.Max = d.Max
	}
	if r.NakDelay <= 0 {
		r.NakDelay = d.NakDelay
	}
	if r.NakDelayMax <= 0 {
		r.NakDelayMax = d.NakDelayMax
	}
	r.NakDelayMax = max(r.NakDelayMax, r.NakDelay)
	return r
}

// nakDelay is how long a message handed back for the delivered-th time
// waits before JetStream delivers it again: NakDelay, doubled for each
// earlier delivery, capped at NakDelayMax. Retry must have its defaults.
func (r Retry) nakDelay(delivered uint64) time.Duration {
	d := r.NakDelay
	for i := uint64(1); i < delivered && d < r.NakDelayMax; i++ {
		d *= 2
	}
	return min(d, r.NakDelayMax)
}

// target is the branch commits are pushed to.
func (r Repo) target() string {
	if r.PushBranch != "" {
		return r.PushBranch
	}
	return r.Branch
}

// Validate reports the first configuration mistake of the repository.
func (r Repo) Validate() error {
	switch {
	case r.Name == "":
		return errors.New("repository without a name")
	case r.URL == "":
		return fmt.Errorf("repository %s: url is empty", r.Name)
	case r.Branch == "":
		return fmt.Errorf("repository %s: branch is empty", r.Name)
	case r.Commit.Window < 0 || r.Commit.MaxWait < 0:
		return fmt.Errorf("repository %s: window and maxWait must not be negative", r.Name)
	case r.Commit.MaxWait > 0 && r.Commit.MaxWait < r.Commit.Window:
		// The batch would be committed at maxWait anyway: the window never closes.
		return fmt.Errorf("repository %s: maxWait (%s) is shorter than window (%s)", r.Name, r.Commit.MaxWait, r.Commit.Window)
	}
	for _, b := range []string{r.Branch, r.PushBranch} {
		if b != "" && !validBranch(b) {
			return fmt.Errorf("repository %s: %q is not a valid branch name", r.Name, b)
		}
	}
	if r.PushBranch == r.Branch {
		return fmt.Errorf("repository %s: pushBranch equals branch; leave it empty to push to the branch", r.Name)
	}
	if err := CheckMessageTemplate(r.Commit.MessageTemplate); err != nil {
		return fmt.Errorf("repository %s: messageTemplate: %w", r.Name, err)
	}
	if r.PullRequest != nil {
		if err := r.PullRequest.validate(r); err != nil {
			return fmt.Errorf("repository %s: %w", r.Name, err)
		}
	}
	return nil
}

// validBranch reports whether b is a branch name git accepts: go-git's
// implementation of git check-ref-format, the check config uses too.
func validBranch(b string) bool {
	return b != "" && plumbing.NewBranchReferenceName(b).Validate() == nil
}

// identities are the author's and committer's names and e-mails, defaults filled.
func (c Commit) identities() (author, committer [2]string) {
	author = [2]string{c.AuthorName, c.AuthorEmail}
	if author[0] == "" {
		author[0] = DefaultAuthorName
	}
	if author[1] == "" {
		author[1] = DefaultAuthorEmail
	}
	committer = [2]string{c.CommitterName, c.CommitterEmail}
	if committer[0] == "" {
		committer[0] = author[0]
	}
	if committer[1] == "" {
		committer[1] = author[1]
	}
	return author, committer
}
