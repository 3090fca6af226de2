package matcher

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/policy"
	"github.com/hoist-gitops/hoist/notify"
)

// heldMargin is added to a minimum age's end before a held push comes
// back, so it does not come back a moment too early and wait once more.
const heldMargin = 100 * time.Millisecond

// openGates binds the gates to the tag times and the holds bucket.
func (s *Service) openGates(ctx context.Context) error {
	h, err := bus.OpenHolds(ctx, s.js)
	if err != nil {
		return err
	}
	s.gates = Gates{Rules: s.cfg.ImageRules, Times: s.times, Holds: h, OnHold: s.onHold}
	return nil
}

// onHold logs a hold a person's rollback put on a site, found for the
// first time, and tells the HoldNotifier.
func (s *Service) onHold(rec bus.SiteRecord) {
	s.log.Warn().Str("repo", rec.Repo).Str("branch", rec.Branch).Str("file", rec.File).
		Str("resource", rec.Resource).Str("container", rec.Container).Str("written", rec.Written).
		Str("rolled_back_to", rec.RolledBackTo).Msg("site held: a person rolled it back from what hoist wrote; only a newer tag is applied")
	s.notifyHeld(HoldEvent{
		Repo: rec.Repo, Branch: rec.Branch, File: rec.File, Resource: rec.Resource, Container: rec.Container,
		Image: rec.Image, Tag: rec.Written,
		Reason: "rolled back from " + rec.Written + " to " + rec.RolledBackTo + " by a person; tags up to " + rec.Written + " are not applied again until a newer one is (or hoist hold release)",
	})
}

// HoldEvent is an update held back at one site: by a minimum age (Until
// set when known) or by a person's rollback (Until zero: a newer tag or a
// person lifts it).
type HoldEvent struct {
	Repo, Branch, File, Resource, Container string
	// Image is the canonical repository; Tag the tag held back.
	Image, Tag string
	Reason     string
	Until      time.Time
	EventIDs   []string
}

// notifyHeld sends a hold notification: the first delivery of a push a
// minimum age holds at a site, and each new hold after a rollback.
func (s *Service) notifyHeld(ev HoldEvent) {
	s.notifyHold(Repo{Name: ev.Repo, Branch: ev.Branch}, notify.Hold{
		File: ev.File, Resource: ev.Resource, Container: ev.Container,
		Image: ev.Image, Tag: ev.Tag, Reason: ev.Reason, Until: ev.Until, EventIDs: ev.EventIDs,
	})
}

// handBackHeld hands a push some of whose sites wait for their minimum
// age back to JetStream until the earliest of them is old enough (or, when
// that time is unknown, after the push retry delay); it is then decided
// again against the repository as it is then. No goroutine or timer waits
// for it: the stream keeps it, across restarts of the matcher.
func (s *Service) handBackHeld(m jetstream.Msg, delivered uint64, d decision, log zerolog.Logger) {
	delay := retryDelay(delivered)
	if !d.gate.Until.IsZero() {
		delay = max(time.Until(d.gate.Until)+heldMargin, heldMargin)
	}
	s.m.pushes.WithLabelValues("held").Inc()
	ev := log.Info().Int("sites", d.sites).Int("rewrites", len(d.rewrites)).Dur("retry_in", delay)
	if !d.gate.Until.IsZero() {
		ev = ev.Time("held_until", d.gate.Until)
	}
	ev.Msg("push held for its minimum age; decided again when it is old enough")
	if delivered <= 1 {
		for _, h := range d.held {
			s.notifyHeld(h)
		}
	}
	_ = m.NakWithDelay(delay)
}

// checkHolds finds the sites of changed files that read an older tag than
// the one hoist last wrote there — a person rolled them back — and marks
// them held (for hoist hold list); a site that reads the tag written, or a
// newer one, again loses its hold. The files looked at are those that
// differ between the old and the new head and those that any commit in
// between not made by hoist touched (a rollback right after hoist's
// commit leaves the file as the old head had it). A full read of the tree
// (the first index, a rebuilt copy) checks nothing, so a start is not
// slowed by one lookup per site. Decisions do not wait for this: the gates
// and the committer's re-check compare a site with its record themselves.
func (s *Service) checkHolds(ctx context.Context, r *repoState, old, head plumbing.Hash, files []file) {
	h, ok := s.gates.Holds.(*bus.Holds)
	if !ok {
		return
	}
	changed := map[string]bool{}
	for _, f := range files {
		changed[f.Path] = true
	}
	if !old.IsZero() {
		touched, err := r.src.personTouched(ctx, old, head)
		if err != nil {
			s.log.Debug().Err(err).Str("repo", r.Name).Msg("cannot read the commits between two heads; holds checked on the files that differ")
		}
		for f := range touched {
			changed[f] = true
		}
	}
	if len(changed) == 0 {
		return
	}
	idx := r.idx.Load()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, site := range idx.Sites() {
		if !changed[site.File] || !site.Policy.Automated {
			continue
		}
		bs := SiteOf(r.Name, r.Branch, &site)
		rec, ok, err := h.Get(ctx, bs)
		if err != nil {
			s.log.Warn().Err(err).Str("repo", r.Name).Msg("cannot read the holds of changed sites; they are checked again at the next push")
			return
		}
		if !ok {
			continue
		}
		if !rec.For(site.Ref.Canonical()) || !policy.RolledBack(ctx, site, site.Ref, rec.Written, s.times) {
			if rec.Held {
				if err := h.Unhold(ctx, bs); err == nil {
					s.log.Info().Str("repo", r.Name).Str("file", site.File).Str("resource", bs.Resource).
						Str("container", site.Container).Str("reads", site.Ref.Tag).Msg("hold ended: the site no longer reads an older tag than hoist wrote")
				}
			}
			continue
		}
		if changed, err := h.Hold(ctx, bs, rec.Written, site.Ref.Tag, head.String(), time.Now()); err == nil && changed {
			rec.Held, rec.RolledBackTo, rec.HeldCommit = true, site.Ref.Tag, head.String()
			s.onHold(rec)
		}
	}
}

// ageHolds are the outcomes a minimum age holds back, as hold events.
func ageHolds(r Repo, ev bus.PushEvent, outs []Outcome) []HoldEvent {
	var out []HoldEvent
	for _, o := range outs {
		if o.Decision.Code != policy.CodeTooYoung {
			continue
		}
		out = append(out, HoldEvent{
			Repo: r.Name, Branch: r.Branch, File: o.Site.File, Resource: o.Site.Resource.String(), Container: o.Site.Container,
			Image: o.Site.Ref.Canonical(), Tag: ev.Tag, Reason: o.Decision.Reason, Until: o.HeldUntil, EventIDs: []string{ev.ID},
		})
	}
	return out
}

// maxWalk bounds the commits read between two heads to find those a person made.
const maxWalk = 500

// hoistTrailer marks the commits hoist makes (committer.EventIDsTrailer).
const hoistTrailer = "\nHoist-Event-Ids: "

// personTouched lists the files changed by the commits reachable from head
// but not from old that hoist did not make (their message has no
// Hoist-Event-Ids trailer), each compared with its first parent.
func (src *source) personTouched(ctx context.Context, old, head plumbing.Hash) (map[string]bool, error) {
	out := map[string]bool{}
	seen := map[plumbing.Hash]bool{old: true}
	queue := []plumbing.Hash{head}
	for n := 0; len(queue) > 0; n++ {
		if n >= maxWalk {
			return out, fmt.Errorf("more than %d commits between %s and %s", maxWalk, old, head)
		}
		h := queue[0]
		queue = queue[1:]
		if seen[h] {
			continue
		}
		seen[h] = true
		c, err := object.GetCommit(src.st, h)
		if err != nil {
			return out, fmt.Errorf("commit %s: %w", h, err) // a shallow copy's boundary
		}
		queue = append(queue, c.ParentHashes...)
		if strings.Contains(c.Message, hoistTrailer) || len(c.ParentHashes) == 0 {
			continue
		}
		parent, err := object.GetCommit(src.st, c.ParentHashes[0])
		if err != nil {
			return out, fmt.Errorf("parent of %s: %w", h, err)
		}
		from, err := parent.Tree()
		if err != nil {
			return out, err
		}
		to, err := c.Tree()
		if err != nil {
			return out, err
		}
		chs, err := object.DiffTreeWithOptions(ctx, from, to, &object.DiffTreeOptions{})
		if err != nil {
			return out, fmt.Errorf("diff %s: %w", h, err)
		}
		for _, ch := range chs {
			if ch.To.Name != "" {
				out[ch.To.Name] = true
			}
		}
	}
	return out, nil
}
