package committer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/rs/zerolog"
)

// pushBranchDepth is how much of the tracked branch's history is fetched
// when a pushBranch is configured, to see whether the pushBranch was merged
// (its head is an ancestor of the tracked head) and can follow the branch.
const pushBranchDepth = 64

// Result is what a batch came to.
type Result struct {
	// Commit is the pushed commit; zero when nothing changed.
	Commit plumbing.Hash
	// Branch is the branch pushed to.
	Branch string
	// Applied and Dropped are the rewrites' outcomes at the head the commit was made on.
	Applied []bus.Rewrite
	Dropped []Dropped
	// Attempts counts commit-and-push attempts (1 without races).
	Attempts int
	// Timings of the last attempt.
	Timings Timings
	// PRs are the pull requests the batch opened, updated or closed (pull-request mode).
	PRs []PRResult
}

// Timings splits the last attempt of a batch into its steps.
type Timings struct {
	// Refs is listing the remote's refs; Fetch bringing new heads into the
	// clone (zero when the clone had them); Build the re-check, edits and
	// new objects; Push sending them and the remote accepting the update.
	Refs, Fetch, Build, Push time.Duration
}

// writer commits batches to one repository branch: fetch when needed,
// re-check and edit at the head, commit, push with compare-and-swap, retry.
type writer struct {
	repo      Repo
	rem       *remote
	clone     *localClone
	edit      Editor
	params    commitParams
	retry     Retry
	failpoint func(string)
	log       zerolog.Logger
	m         *metrics
	// loaded is set once the clone holds the branch head (readiness).
	loaded atomic.Bool
	// memo holds the edits of the batch being held (only runBranch's
	// goroutine touches it).
	memo *editMemo
	// unsure is the batch's last attempt whose push got no clear answer
	// (a broken connection, a timeout): the remote may have applied it.
	unsure Result
	// pr is set in pull-request mode; prm counts its pull requests.
	pr  *prMode
	prm *prMetrics
}

// newWriter prepares the writer of a repository branch with cfg's data
// folder ("" keeps the clone in memory), editor, retry bounds, git timeout
// and failpoint.
func newWriter(repo Repo, cfg Config, m *metrics, log zerolog.Logger) (*writer, error) {
	if err := repo.Validate(); err != nil {
		return nil, err
	}
	rem, err := newRemote(repo.URL, repo.Auth, cmp.Or(repo.GitTimeout, cfg.GitTimeout))
	if err != nil {
		return nil, fmt.Errorf("repository %s: %w", repo.Name, err)
	}
	tmpl, err := parseMessageTemplate(repo.Commit.MessageTemplate)
	if err != nil {
		return nil, fmt.Errorf("repository %s: messageTemplate: %w", repo.Name, err)
	}
	signer, err := loadSigner(repo.Commit.SigningKeyFile, repo.Commit.SigningKeyPassphrase)
	if err != nil {
		return nil, fmt.Errorf("repository %s: %w", repo.Name, err)
	}
	log = log.With().Str("repo", repo.Name).Str("branch", repo.target()).Logger()
	dir := ""
	if cfg.DataDir != "" {
		dir = filepath.Join(cfg.DataDir, cloneDirName(repo))
		legacy := filepath.Join(cfg.DataDir, legacyCloneDirName(repo))
		if _, err := os.Stat(legacy); err == nil {
			// Keyed by name only, it may hold another repository's objects.
			if err := os.RemoveAll(legacy); err != nil {
				log.Warn().Err(err).Str("dir", legacy).Msg("removing the clone of an earlier version failed")
			}
		}
	}
	clone, err := openClone(dir)
	if err != nil {
		return nil, fmt.Errorf("repository %s: %w", repo.Name, err)
	}
	var pr *prMode
	if repo.PullRequest != nil {
		if pr, err = newPRMode(repo); err != nil {
			return nil, fmt.Errorf("repository %s: %w", repo.Name, err)
		}
	}
	author, committer := repo.Commit.identities()
	return &writer{
		pr:   pr,
		repo: repo, rem: rem, clone: clone, edit: cfg.Editor, retry: cfg.Retry.withDefaults(), m: m,
		failpoint: cfg.Failpoint, log: log,
		params: commitParams{
			Repo: repo.Name, Branch: repo.target(), Template: tmpl,
			Author: author, Committer: committer, Signer: signer,
		},
	}, nil
}

// commit lands rws as one commit, retrying a rejected or failed push on
// the new head with bounded exponential backoff and full jitter.
// keepAlive is called before each retry (to extend the messages' ack
// deadline). The error after the last attempt means: hand the batch back.
func (w *writer) commit(ctx context.Context, rws []bus.Rewrite, keepAlive func()) (Result, error) {
	return w.commitUntil(ctx, ctx, rws, keepAlive)
}

// commitUntil is commit whose attempts run under ctx while retries stop
// as soon as retryCtx is done: at shutdown the push in flight finishes,
// and no new attempt starts.
func (w *writer) commitUntil(ctx, retryCtx context.Context, rws []bus.Rewrite, keepAlive func()) (Result, error) {
	w.unsure = Result{}
	defer func() { w.unsure = Result{} }()
	var last error
	for attempt := 1; attempt <= w.retry.Attempts; attempt++ {
		if attempt > 1 {
			if err := retryCtx.Err(); err != nil {
				return Result{}, fmt.Errorf("stopped before retrying: %w (last: %v)", err, last)
			}
			w.m.pushRetries.WithLabelValues(w.repo.Name).Inc()
			if keepAlive != nil {
				keepAlive()
			}
			if err := sleep(retryCtx, w.backoff(attempt-1)); err != nil {
				return Result{}, fmt.Errorf("stopped before retrying: %w (last: %v)", err, last)
			}
		}
		attemptFn := w.attempt
		if w.pr != nil {
			attemptFn = w.attemptPR
		}
		res, err := attemptFn(ctx, rws)
		res.Attempts = attempt
		if err == nil {
			w.loaded.Store(true)
			return res, nil
		}
		last = err
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		var rej *RejectedError
		ev := w.log.Warn().Err(err).Int("attempt", attempt)
		switch {
		case errors.As(err, &rej) && rej.raced():
			ev.Msg("push rejected: the branch moved; re-applying the batch on the new head")
		case errors.As(err, &rej):
			// Not a race: most likely the pack lacked objects the clone
			// has and the remote lost (re-created, or force-pushed and
			// pruned). The next attempt starts from a fresh clone.
			w.clone.stale = true
			ev.Msg("push rejected; rebuilding the local clone and retrying")
		case errors.Is(err, errObjectMissing):
			w.clone.stale = true
			ev.Msg("commit attempt failed; rebuilding the local clone")
		default:
			ev.Msg("commit attempt failed")
		}
		if isAuthError(err) {
			break
		}
	}
	return Result{}, fmt.Errorf("batch not landed after retries: %w", last)
}

// backoff is the wait before retry n (1-based): full jitter over an
// exponentially growing, capped interval.
func (w *writer) backoff(n int) time.Duration {
	d := w.retry.Base << min(n-1, 20)
	if d <= 0 || d > w.retry.Max {
		d = w.retry.Max
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// attempt makes one commit of rws on the remote's current head and pushes it.
func (w *writer) attempt(ctx context.Context, rws []bus.Rewrite) (Result, error) {
	if w.clone.stale || w.clone.updates >= maxCloneUpdates {
		if err := w.clone.reset(); err != nil {
			return Result{}, err
		}
	}
	var tm Timings
	lap := time.Now()
	step := func(d *time.Duration) {
		now := time.Now()
		*d, lap = now.Sub(lap), now
	}
	sess, ar, err := w.rem.receivePack(ctx)
	if err != nil {
		return Result{}, err
	}
	defer sess.Close()
	step(&tm.Refs)

	tracked, ok := ar.References[plumbing.NewBranchReferenceName(w.repo.Branch).String()]
	if !ok {
		return Result{}, fmt.Errorf("branch %s not found on the remote", w.repo.Branch)
	}
	target, targetExists := tracked, true
	if w.repo.PushBranch != "" {
		target, targetExists = ar.References[plumbing.NewBranchReferenceName(w.repo.PushBranch).String()]
	}
	if u := w.unsure; !u.Commit.IsZero() {
		w.unsure = Result{}
		if targetExists && target == u.Commit {
			// The previous attempt's push landed though its answer was
			// lost; the clone fetches the commit with the next batch.
			w.log.Info().Str("commit", u.Commit.String()).Msg("the push whose answer was lost landed")
			u.Timings = tm
			return u, nil
		}
	}

	// Bring missing heads into the clone; a fetch may see newer heads than
	// the push session advertised, and those are the ones to build on.
	depth := 1
	if w.repo.PushBranch != "" {
		depth = pushBranchDepth
	}
	var fetch []string
	if !w.clone.has(tracked) {
		fetch = append(fetch, w.repo.Branch)
	}
	if w.repo.PushBranch != "" && targetExists && !w.clone.has(target) {
		fetch = append(fetch, w.repo.PushBranch)
	}
	if len(fetch) > 0 {
		heads, err := w.clone.fetch(ctx, w.rem, fetch, depth)
		if err != nil {
			return Result{}, err
		}
		step(&tm.Fetch)
		if h, ok := heads[w.repo.Branch]; ok {
			tracked = h
			if w.repo.PushBranch == "" {
				target = h
			}
		}
		if h, ok := heads[w.repo.PushBranch]; ok && w.repo.PushBranch != "" {
			target = h
		}
	}

	base, old := tracked, target
	if w.repo.PushBranch != "" {
		switch {
		case !targetExists:
			old = plumbing.ZeroHash // create the push branch from the tracked head
		case w.clone.isAncestor(target, tracked, pushBranchDepth):
			// merged (or never diverged): follow the tracked branch, a fast-forward
		default:
			base = target // unmerged hoist commits: keep adding to them
		}
	}

	ov := newOverlay(w.clone.st)
	b, err := buildCommit(ov, base, rws, w.edit, w.memo, w.params)
	if err != nil {
		return Result{}, err
	}
	if b.MessageErr != nil {
		w.log.Warn().Err(b.MessageErr).Strs("event_ids", eventIDs(b.Applied)).
			Msg("the message template failed on this batch; committing with the default message")
	}
	step(&tm.Build)
	res := Result{Branch: w.repo.target(), Applied: b.Applied, Dropped: b.Dropped, Timings: tm}
	if b.Commit.IsZero() {
		return res, nil // no effective change: no commit
	}
	w.hit("after-commit")
	pack, err := encodePack(ov, b.Objects)
	if err != nil {
		return Result{}, err
	}
	res.Commit = b.Commit
	if err := w.rem.push(ctx, sess, ar, plumbing.NewBranchReferenceName(w.repo.target()), old, b.Commit, pack); err != nil {
		var rej *RejectedError
		if !errors.As(err, &rej) {
			w.unsure = res // no answer: the next attempt looks whether it landed
		}
		return Result{}, err
	}
	step(&res.Timings.Push)
	// The push landed: from here on nothing may turn the batch into a
	// failure. A clone that cannot keep the commit is rebuilt (and fetches
	// it) before its next use.
	w.hit("push-accepted")
	if err := w.clone.storePushed(w.repo.target(), b.Commit, pack); err != nil {
		w.clone.stale = true
		w.log.Warn().Err(err).Str("commit", b.Commit.String()).
			Msg("the push landed but the local clone could not record it; rebuilding the clone before the next batch")
	}
	return res, nil
}

func (w *writer) hit(point string) {
	if w.failpoint != nil {
		w.failpoint(point)
	}
}
