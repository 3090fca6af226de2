package committer

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/template"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/hoist-gitops/hoist/committer/forge"
	"github.com/hoist-gitops/hoist/internal/bus"
)

// maxBranchSuffix bounds the "-2", "-3"... branches tried when a branch
// name is taken by a closed pull request that holds a person's commits.
const maxBranchSuffix = 20

// PR actions, as results, metrics and log lines name them.
const (
	PROpened    = "opened"
	PRUpdated   = "updated"
	PRClosed    = "closed"
	PRUnchanged = "unchanged"
)

// PRResult is what a batch did to one pull request.
type PRResult struct {
	// Branch is the pull request's branch; Commit the commit pushed to it
	// (zero when the branch already had the changes).
	Branch string
	Commit plumbing.Hash
	// PR is the pull request as hoist left it.
	PR forge.PR
	// Action is PROpened, PRUpdated, PRClosed or PRUnchanged.
	Action string
	// Applied are the batch's rewrites the pull request carries.
	Applied []bus.Rewrite
	// dropped are rewrites the pull request branch's head refused.
	dropped []Dropped
}

// prMode is a writer's pull-request settings, templates parsed.
type prMode struct {
	cfg    PullRequest
	forge  forge.Client
	branch *template.Template
	title  *template.Template
}

func newPRMode(r Repo) (*prMode, error) {
	p := r.PullRequest
	bt, err := parseBranchTemplate(p.BranchTemplate)
	if err != nil {
		return nil, fmt.Errorf("pullRequest.branchTemplate: %w", err)
	}
	tt, err := parseTitleTemplate(p.TitleTemplate)
	if err != nil {
		return nil, fmt.Errorf("pullRequest.title: %w", err)
	}
	fc := p.Client
	if fc == nil {
		fc, err = forge.New(forge.Config{Provider: p.Provider, APIURL: p.APIURL, Token: p.Token, RepoURL: r.URL})
		if err != nil {
			return nil, err
		}
	}
	return &prMode{cfg: *p, forge: fc, branch: bt, title: tt}, nil
}

// ours reports whether hoist made the commit: hoist's committer identity
// and its event-id trailer. A commit a person made, amended or rebased is
// not hoist's.
func (w *writer) ours(c *object.Commit) bool {
	return c.Committer.Name == w.params.Committer[0] && c.Committer.Email == w.params.Committer[1] &&
		strings.Contains(c.Message, "\n"+EventIDsTrailer+": ")
}

// attemptPR makes one attempt of a batch in pull-request mode: re-check at
// the tracked head, then per pull-request branch re-check at its head,
// commit, push (compare-and-swap), and find-or-create the pull request.
// Every step is idempotent, so a retried or redelivered batch converges on
// one branch state and one open pull request.
func (w *writer) attemptPR(ctx context.Context, rws []bus.Rewrite) (Result, error) {
	if w.clone.stale || w.clone.updates >= maxCloneUpdates {
		if err := w.clone.reset(); err != nil {
			return Result{}, err
		}
	}
	sess, ar, err := w.rem.receivePack(ctx)
	if err != nil {
		return Result{}, err
	}
	sess.Close()
	tracked, ok := ar.References[plumbing.NewBranchReferenceName(w.repo.Branch).String()]
	if !ok {
		return Result{}, fmt.Errorf("branch %s not found on the remote", w.repo.Branch)
	}
	if !w.clone.has(tracked) {
		heads, err := w.clone.fetch(ctx, w.rem, []string{w.repo.Branch}, pushBranchDepth)
		if err != nil {
			return Result{}, err
		}
		tracked = heads[w.repo.Branch]
	}

	// The tracked branch first: a rewrite it refuses (the site is gone,
	// locked, or already at this value or newer) is never proposed.
	ov := newOverlay(w.clone.st)
	sn, err := snapshotAt(ov, tracked)
	if err != nil {
		return Result{}, err
	}
	atTracked, err := editBatch(sn, rws, w.edit, w.memo)
	if err != nil {
		return Result{}, err
	}
	res := Result{Branch: w.repo.Branch, Dropped: atTracked.Dropped}

	groups, order, err := w.groupByBranch(rws)
	if err != nil {
		return Result{}, err
	}
	survivors := map[siteValue]bool{}
	for _, rw := range atTracked.Applied {
		survivors[siteValue{rw.Site(), rw.New}] = true
	}
	for _, name := range order {
		var apply []bus.Rewrite
		for _, rw := range groups[name] {
			if survivors[siteValue{rw.Site(), rw.New}] {
				apply = append(apply, rw)
			}
		}
		pr, err := w.proposeBranch(ctx, ov, tracked, name, groups[name], apply)
		if err != nil {
			return Result{}, fmt.Errorf("pull request branch %s: %w", name, err)
		}
		res.Dropped = append(res.Dropped, pr.dropped...)
		if pr.Action != "" {
			res.PRs = append(res.PRs, pr)
			res.Applied = append(res.Applied, pr.Applied...)
		}
	}
	return res, nil
}

// groupByBranch splits the batch by the branch its template names.
func (w *writer) groupByBranch(rws []bus.Rewrite) (map[string][]bus.Rewrite, []string, error) {
	groups := map[string][]bus.Rewrite{}
	var order []string
	for _, rw := range rws {
		name, err := renderBranch(w.pr.branch, BranchData{Image: branchSafe(rw.Image), Repo: w.repo.Name, Branch: w.repo.Branch})
		if err != nil {
			return nil, nil, fmt.Errorf("pullRequest.branchTemplate on %s: %w", rw.Image, err)
		}
		if name == w.repo.Branch {
			return nil, nil, fmt.Errorf("pullRequest.branchTemplate names the tracked branch %s for %s", name, rw.Image)
		}
		if _, ok := groups[name]; !ok {
			order = append(order, name)
		}
		groups[name] = append(groups[name], rw)
	}
	sort.Strings(order)
	return groups, order, nil
}

// prTarget is where a pull request branch's next commit goes.
type prTarget struct {
	name string
	// open is the branch's open pull request, when there is one.
	open *forge.PR
	// base is the commit to build on; old what the branch points at now
	// (zero: the branch does not exist). base != old resets the branch.
	base, old plumbing.Hash
}

// chooseBranch finds the branch to use for name: the one with hoist's open
// pull request, else a branch that can start afresh from the tracked head.
//
//   - An open pull request from the branch: add on top of its head, so a
//     person's commit on it is kept.
//   - No branch: create it from the tracked head.
//   - A branch with only hoist's commits, never proposed, already on the
//     tracked head (a crash between the push and opening the pull request):
//     keep it as it is.
//   - A branch with only hoist's commits otherwise (its pull request was
//     merged or closed, or the tracked branch moved): reset it to the
//     tracked head (a compare-and-swap update, never blind).
//   - A branch with a person's commits and no pull request: add on top.
//   - A branch with a person's commits whose pull request was closed or
//     merged: left alone; the next name, "<name>-2", "-3"..., is tried.
func (w *writer) chooseBranch(ctx context.Context, tracked plumbing.Hash, name string) (prTarget, error) {
	for n := 1; n <= maxBranchSuffix; n++ {
		cand := name
		if n > 1 {
			cand = fmt.Sprintf("%s-%d", name, n)
		}
		prs, err := w.pr.forge.Find(ctx, cand, w.repo.Branch)
		if err != nil {
			w.prm.forgeError(w.repo.Name)
			return prTarget{}, err
		}
		head, exists, err := w.remoteHead(ctx, cand)
		if err != nil {
			return prTarget{}, err
		}
		for i := range prs {
			if prs[i].State == forge.Open {
				t := prTarget{name: cand, open: &prs[i], base: head, old: head}
				if !exists {
					t.base = tracked // the branch was deleted under its open pull request
				}
				return t, nil
			}
		}
		if !exists {
			return prTarget{name: cand, base: tracked}, nil
		}
		fork, onlyOurs, found := w.fork(head, tracked)
		switch {
		case onlyOurs && found && len(prs) == 0 && fork == tracked:
			return prTarget{name: cand, base: head, old: head}, nil
		case onlyOurs && found:
			return prTarget{name: cand, base: tracked, old: head}, nil
		case len(prs) == 0:
			return prTarget{name: cand, base: head, old: head}, nil
		}
		w.log.Info().Str("pr_branch", cand).Msg("the branch holds a person's commits and its pull request is closed; trying the next name")
	}
	return prTarget{}, fmt.Errorf("branches %s to %s-%d are all taken by closed pull requests with people's commits", name, name, maxBranchSuffix)
}

// remoteHead is where branch points on the remote now, brought into the
// clone with its history.
func (w *writer) remoteHead(ctx context.Context, branch string) (plumbing.Hash, bool, error) {
	sess, ar, err := w.rem.receivePack(ctx)
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	sess.Close()
	head, ok := ar.References[plumbing.NewBranchReferenceName(branch).String()]
	if !ok {
		return plumbing.ZeroHash, false, nil
	}
	if !w.clone.has(head) {
		heads, err := w.clone.fetch(ctx, w.rem, []string{branch}, pushBranchDepth)
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		head = heads[branch]
	}
	return head, true, nil
}

// fork walks head's history back to the tracked branch's: the first commit
// the tracked branch has (found false when the clone's history ends
// first), and whether every commit on the way is hoist's.
func (w *writer) fork(head, tracked plumbing.Hash) (fork plumbing.Hash, onlyOurs, found bool) {
	onTracked := map[plumbing.Hash]bool{}
	queue := []plumbing.Hash{tracked}
	for len(queue) > 0 && len(onTracked) < 4*pushBranchDepth {
		h := queue[0]
		queue = queue[1:]
		if onTracked[h] {
			continue
		}
		onTracked[h] = true
		if c, err := object.GetCommit(w.clone.st, h); err == nil {
			queue = append(queue, c.ParentHashes...)
		}
	}
	seen := map[plumbing.Hash]bool{}
	queue = []plumbing.Hash{head}
	onlyOurs = true
	for len(queue) > 0 && len(seen) < 4*pushBranchDepth {
		h := queue[0]
		queue = queue[1:]
		if seen[h] {
			continue
		}
		seen[h] = true
		if onTracked[h] {
			if !found {
				fork, found = h, true
			}
			continue
		}
		c, err := object.GetCommit(w.clone.st, h)
		if err != nil {
			return fork, false, false // beyond the clone's history
		}
		if !w.ours(c) {
			onlyOurs = false
		}
		queue = append(queue, c.ParentHashes...)
	}
	return fork, onlyOurs, found
}

// proposeBranch brings the batch's changes for one pull request branch:
// all is the group's rewrites, apply those the tracked branch accepted.
func (w *writer) proposeBranch(ctx context.Context, ov *overlay, tracked plumbing.Hash, name string, all, apply []bus.Rewrite) (PRResult, error) {
	t, err := w.chooseBranch(ctx, tracked, name)
	if err != nil {
		return PRResult{}, err
	}
	out := PRResult{Branch: t.name}
	if len(apply) == 0 {
		// Nothing to propose. An open pull request of hoist's whose every
		// change the tracked branch already has is closed.
		if t.open == nil || !isHoistBody(t.open.Body) || t.old.IsZero() {
			return PRResult{}, nil
		}
		done, err := w.trackedHasAll(ov, tracked, t.old, all)
		if err != nil || !done {
			return PRResult{}, err
		}
		comment := fmt.Sprintf("Closed by hoist: `%s` already has every change of this pull request.", w.repo.Branch)
		if err := w.pr.forge.Close(ctx, t.open.Number, comment); err != nil {
			w.prm.forgeError(w.repo.Name)
			return PRResult{}, err
		}
		out.PR, out.Action = *t.open, PRClosed
		out.PR.State = forge.Closed
		return out, nil
	}

	p := w.params
	p.Branch = t.name
	b, err := buildCommit(ov, t.base, apply, w.edit, nil, p)
	if err != nil {
		return PRResult{}, err
	}
	// What the pull request carries: the rewrites the tracked branch
	// accepted that its branch has now (applied here, or already there).
	out.Applied = append(out.Applied, apply...)
	for _, d := range b.Dropped {
		// "already at" (the policy's answer for a site that has the value):
		// the branch carries it from an earlier batch or attempt.
		if !strings.HasPrefix(d.Reason, "already at ") {
			out.Applied = removeRewrite(out.Applied, d.Rewrite)
			out.dropped = append(out.dropped, d)
		}
	}
	head := t.old
	if !b.Commit.IsZero() || (t.base != t.old && !t.base.IsZero()) {
		commit := b.Commit
		if commit.IsZero() {
			commit = t.base // reset to the tracked head; the changes are there already
		}
		pack, err := encodePack(ov, b.Objects)
		if err != nil {
			return PRResult{}, err
		}
		if err := w.pushRef(ctx, t.name, t.old, commit, pack); err != nil {
			return PRResult{}, err
		}
		out.Commit, head = b.Commit, commit
		w.hit("pr-pushed")
	}
	if head.IsZero() || len(out.Applied) == 0 {
		return PRResult{dropped: out.dropped}, nil
	}

	var prev []prChange
	if t.open != nil {
		prev = bodyChanges(t.open.Body)
	}
	changes := mergeChanges(prev, out.Applied)
	title, err := renderTitle(w.pr.title, titleData(w.repo.Name, w.repo.Branch, t.name, changes))
	if err != nil || title == "" {
		w.log.Warn().AnErr("error", err).Msg("the title template failed on this pull request; using the default title")
		title, _ = renderTitle(defaultTitleTemplate, titleData(w.repo.Name, w.repo.Branch, t.name, changes))
	}
	body := renderBody(w.repo.Branch, t.name, changes)
	if t.open != nil {
		out.PR, out.Action = *t.open, PRUnchanged
		if t.open.Title != title || t.open.Body != body {
			if err := w.pr.forge.Update(ctx, t.open.Number, title, body); err != nil {
				w.prm.forgeError(w.repo.Name)
				return PRResult{}, err
			}
			out.Action = PRUpdated
		}
		out.PR.Title, out.PR.Body = title, body
		return out, nil
	}
	pr, err := w.pr.forge.Create(ctx, forge.NewPR{Head: t.name, Base: w.repo.Branch, Title: title, Body: body, Labels: w.pr.cfg.Labels})
	if err != nil {
		w.prm.forgeError(w.repo.Name)
		return PRResult{}, err
	}
	out.PR, out.Action = pr, PROpened
	w.hit("pr-opened")
	if w.pr.cfg.Automerge {
		if err := w.pr.forge.Automerge(ctx, pr.Number); err != nil {
			// The pull request is open: a person can still merge it.
			w.prm.forgeError(w.repo.Name)
			w.log.Warn().Err(err).Str("pr_url", pr.URL).Msg("asking the forge to merge the pull request once its checks pass failed")
		}
	}
	return out, nil
}

// siteValue is a site and the image a rewrite makes it read.
type siteValue struct {
	site bus.Site
	new  string
}

func removeRewrite(rws []bus.Rewrite, drop bus.Rewrite) []bus.Rewrite {
	out := rws[:0]
	for _, rw := range rws {
		if rw.Site() != drop.Site() || rw.New != drop.New {
			out = append(out, rw)
		}
	}
	return out
}

// trackedHasAll reports whether the tracked head already has what the
// pull request branch at head proposes, once the group's rewrites are
// applied to it: every file the branch changed since it left the tracked
// branch reads the same on both.
func (w *writer) trackedHasAll(ov *overlay, tracked, head plumbing.Hash, all []bus.Rewrite) (bool, error) {
	fork, onlyOurs, found := w.fork(head, tracked)
	if !found || !onlyOurs {
		return false, nil // a person's commit is on the branch: theirs to close
	}
	b, err := buildCommit(ov, head, all, w.edit, nil, w.params)
	if err != nil {
		return false, err
	}
	proposed := head
	if !b.Commit.IsZero() {
		proposed = b.Commit
	}
	from, err := treeOf(ov, fork)
	if err != nil {
		return false, err
	}
	to, err := treeOf(ov, proposed)
	if err != nil {
		return false, err
	}
	at, err := treeOf(ov, tracked)
	if err != nil {
		return false, err
	}
	changes, err := object.DiffTree(from, to)
	if err != nil {
		return false, fmt.Errorf("%w: diff %s..%s: %v", errObjectMissing, fork, proposed, err)
	}
	for _, ch := range changes {
		if ch.To.Name == "" {
			return false, nil // a file deleted: not something hoist proposes
		}
		want, err := to.FindEntry(ch.To.Name)
		if err != nil {
			return false, nil
		}
		have, err := at.FindEntry(ch.To.Name)
		if err != nil || have.Hash != want.Hash {
			return false, nil
		}
	}
	return true, nil
}

func treeOf(s storer.EncodedObjectStorer, commit plumbing.Hash) (*object.Tree, error) {
	c, err := object.GetCommit(s, commit)
	if err != nil {
		return nil, fmt.Errorf("%w: read commit %s: %v", errObjectMissing, commit, err)
	}
	t, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("%w: read tree of %s: %v", errObjectMissing, commit, err)
	}
	return t, nil
}

// pushRef updates branch from old (zero: create) to commit with a
// compare-and-swap push, and records it in the clone.
func (w *writer) pushRef(ctx context.Context, branch string, old, commit plumbing.Hash, pack []byte) error {
	sess, ar, err := w.rem.receivePack(ctx)
	if err != nil {
		return err
	}
	defer sess.Close()
	// A push without a clear answer needs no memory: the next attempt
	// reads the branch again and finds the commit there or pushes anew.
	if err := w.rem.push(ctx, sess, ar, plumbing.NewBranchReferenceName(branch), old, commit, pack); err != nil {
		return err
	}
	if err := w.clone.storePushed(branch, commit, pack); err != nil {
		w.clone.stale = true
		w.log.Warn().Err(err).Str("commit", commit.String()).
			Msg("the push landed but the local clone could not record it; rebuilding the clone before the next batch")
	}
	return nil
}

// isPermanentForgeError tells forge answers retrying will not cure: the
// token refused (401, 403) or the repository unknown (404).
func isPermanentForgeError(err error) bool {
	var fe *forge.Error
	return errors.As(err, &fe) && fe.Permanent()
}
