package matcher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imageref"
	"github.com/hoist-gitops/hoist/internal/manifest"
	"github.com/hoist-gitops/hoist/internal/policy"
)

// handleTimeout bounds the handling of one push (KV, publishes); beyond it
// the push is handed back for redelivery.
const handleTimeout = 20 * time.Second

// Retry delays of a push handed back (its handling failed, or it waits for
// a repository that is not indexed yet): retryFirst after the first
// delivery, doubling with each delivery up to retryLast. The push consumer
// has no BackOff list, so the delay given to NakWithDelay is the delay
// JetStream keeps.
const (
	retryFirst = 2 * time.Second
	retryLast  = 5 * time.Minute
)

// retryDelay is how soon a push delivered n times is redelivered.
func retryDelay(n uint64) time.Duration {
	d := retryFirst
	for i := uint64(1); i < n && d < retryLast; i++ {
		d *= 2
	}
	return min(d, retryLast)
}

// maxClockSkew is how far past its receipt a push's time may lie (a
// registry's clock running fast) before it is distrusted.
const maxClockSkew = time.Minute

// handle turns one push message into rewrites and acknowledges it once
// they are stored. A redelivered push publishes the same message ids, so
// JetStream stores each rewrite once. A push that waits for a repository
// not indexed yet is decided for the others at once and handed back; its
// redeliveries decide only the repositories that were waited for.
func (s *Service) handle(m jetstream.Msg) {
	start := time.Now()
	defer func() { s.m.pushDuration.Observe(time.Since(start).Seconds()) }()
	var ev bus.PushEvent
	if err := json.Unmarshal(m.Data(), &ev); err != nil {
		s.log.Error().Err(err).Str("subject", m.Subject()).Msg("push event does not decode; terminated")
		s.m.pushes.WithLabelValues("invalid").Inc()
		_ = m.Term()
		return
	}
	log := s.log.With().Str("event_id", ev.ID).Logger()
	if orig := ev.PushedAt; clampTimes(&ev, start) {
		log.Warn().Time("pushed_at", orig).Time("received_at", ev.ReceivedAt).
			Msg("push time lies in the future; the receipt time is used instead")
	}
	var seq, delivered uint64 = 0, 1
	if meta, err := m.Metadata(); err == nil {
		seq, delivered = meta.Sequence.Stream, meta.NumDelivered
	}
	ctx, cancel := context.WithTimeout(context.Background(), handleTimeout)
	defer cancel()
	if err := s.recordTag(ctx, ev); err != nil {
		s.handBack(m, delivered, "failed", log.Warn().Err(err), "cannot record the tag's first-seen time; push handed back")
		return
	}
	s.signatureArrived(ctx, ev, log)
	if s.seenBefore(ctx, m, ev, delivered, log) { // scan_decide.go: a scan and a webhook are decided once
		return
	}
	done := s.done.get(seq)
	ev, verdict, err := s.verify(ctx, ev, done, log)
	if err != nil {
		s.handBackUnverified(m, ev, delivered, verdict, err, log)
		return
	}
	if verdict != verdictNotFound {
		sv, err := s.checkSignature(ctx, ev, done, start, log)
		switch {
		case sv == verdictUnsignedWait:
			s.handBackUnsigned(m, ev, seq, delivered, err, log)
			return
		case err != nil:
			s.handBackUnverified(m, ev, delivered, sv, err, log)
			return
		case sv == verdictUnsigned || sv == verdictBadSignature:
			verdict = sv
		}
	}
	var d decision
	if verdict != verdictNotFound && verdict != verdictUnsigned && verdict != verdictBadSignature { // never written
		d = s.rewrites(ctx, ev, done, log)
	}
	if err := s.publish(ctx, ev, d.rewrites); err != nil {
		s.handBack(m, delivered, "failed", log.Warn().Err(err), "cannot publish rewrites; push handed back")
		return
	}
	if len(d.waiting) == 0 && d.gate.Retry {
		s.handBackHeld(m, delivered, d, log)
		return
	}
	if len(d.waiting) > 0 {
		s.done.add(seq, d.decided)
		s.handBack(m, delivered, "waiting", log.Info().Strs("waiting_for", d.waiting).Int("sites", d.sites).Int("rewrites", len(d.rewrites)),
			"push decided for the indexed repositories; handed back until the others are indexed")
		return
	}
	s.markDecided(ctx, ev, log)
	if err := m.Ack(); err != nil {
		log.Warn().Err(err).Msg("ack push (a redelivery publishes the same rewrites, stored once)")
	}
	s.done.forget(seq)
	s.sigWait.take(sigKey(ev))
	outcome := "rewrites"
	switch {
	case verdict == verdictNotFound:
		outcome = "not_in_registry"
	case verdict == verdictUnsigned || verdict == verdictBadSignature:
		outcome = string(verdict)
	case d.sites == 0:
		outcome = "no_sites"
	case len(d.rewrites) == 0:
		outcome = "unchanged"
	}
	s.m.pushes.WithLabelValues(outcome).Inc()
	lvl := log.Info() // one line per push; each rewrite is at debug
	if d.sites == 0 {
		lvl = log.Debug() // most pushes concern no site: at info they drown the rest
	}
	lvl.Str("image", imageref.Canonical(ev.Registry, ev.Repository)).Str("tag", ev.Tag).
		Str("digest", ev.Digest).Int("sites", d.sites).Int("rewrites", len(d.rewrites)).
		Int64("duration_ms", time.Since(start).Milliseconds()).Msg("push matched")
}

// handBack asks JetStream to redeliver m after the retry delay of its
// delivery count, counting the push under outcome and logging ev with msg.
func (s *Service) handBack(m jetstream.Msg, delivered uint64, outcome string, ev *zerolog.Event, msg string) {
	delay := retryDelay(delivered)
	s.m.pushes.WithLabelValues(outcome).Inc()
	ev.Uint64("attempt", delivered).Dur("retry_in", delay).Msg(msg)
	_ = m.NakWithDelay(delay)
}

// clampTimes keeps the event's times from lying past its receipt: a
// ReceivedAt later than now (plus maxClockSkew) becomes now, and a
// PushedAt later than the receipt (plus maxClockSkew) becomes the receipt
// time. The first-seen time stored for a tag is never replaced, so a
// forged future push time would otherwise make that tag look newer than
// every later push for ever. It reports whether a time was changed.
func clampTimes(ev *bus.PushEvent, now time.Time) bool {
	clamped := false
	if ev.ReceivedAt.After(now.Add(maxClockSkew)) {
		ev.ReceivedAt, clamped = now, true
	}
	receipt := now
	if !ev.ReceivedAt.IsZero() {
		receipt = ev.ReceivedAt
	}
	if ev.PushedAt.After(receipt.Add(maxClockSkew)) {
		ev.PushedAt, clamped = receipt, true
	}
	return clamped
}

// recordTag stores the push time as the tag's first-seen time under every
// name the event's repository goes by (host aliases included), so sites
// spelt with an alias order their tags by push time too. The event's times
// have been bounded by clampTimes.
func (s *Service) recordTag(ctx context.Context, ev bus.PushEvent) error {
	if ev.Tag == "" {
		return nil
	}
	at := ev.PushedAt
	if at.IsZero() {
		at = ev.ReceivedAt
	}
	if at.IsZero() {
		at = time.Now()
	}
	for _, name := range canonicalNames(ev) {
		if _, err := s.times.Record(ctx, name, ev.Tag, at); err != nil {
			return err
		}
	}
	return nil
}

// canonicalNames are the canonical repository names of the event: its
// registry's and each host alias's, once each.
func canonicalNames(ev bus.PushEvent) []string {
	names := []string{imageref.Canonical(ev.Registry, ev.Repository)}
	for _, h := range ev.HostAliases {
		n := imageref.Canonical(h, ev.Repository)
		dup := false
		for _, x := range names {
			dup = dup || x == n
		}
		if !dup {
			names = append(names, n)
		}
	}
	return names
}

// decision is what one push means for the repositories it was matched against.
type decision struct {
	rewrites []bus.Rewrite // one per approved site
	sites    int           // sites the push concerned
	decided  []string      // repositories whose index the push was matched against
	waiting  []string      // repositories not indexed yet
	gate     GateResult    // outcomes held for their minimum age, to decide again
	held     []HoldEvent   // those outcomes, for notifications
}

// rewrites matches the event against the index of every repository not in
// done; a repository not indexed yet is waited for instead.
func (s *Service) rewrites(ctx context.Context, ev bus.PushEvent, done map[string]bool, log zerolog.Logger) decision {
	var d decision
	for _, r := range s.repos {
		switch {
		case done[r.Name]:
			continue
		case !r.indexed.Load() || !r.holdsKnown.Load():
			d.waiting = append(d.waiting, r.Name)
			continue
		}
		outs := semverOnly(ev, MatchRules(ctx, r.idx.Load(), ev, s.times, s.cfg.ImageRules))
		if approves(outs) && !s.holdsRecorded(ctx, r) {
			d.waiting = append(d.waiting, r.Name) // decided once its records are rebuilt
			continue
		}
		if g := s.gates.Apply(ctx, r.Name, r.Branch, ev, outs); g.Retry {
			d.gate = d.gate.merge(g) // decided again later: not done
		} else {
			d.decided = append(d.decided, r.Name)
		}
		d.sites += len(outs)
		d.held = append(d.held, ageHolds(r.Repo, ev, outs)...)
		for _, o := range outs {
			s.m.decided(r.Name, o.Decision.Code)
			if !o.Decision.Update {
				log.Debug().Str("repo", r.Name).Str("file", o.Site.File).Str("resource", o.Site.Resource.String()).
					Str("container", o.Site.Container).Str("decision", string(o.Decision.Code)).
					Str("reason", o.Decision.Reason).Msg("site skipped")
				continue
			}
			d.rewrites = append(d.rewrites, NewRewrite(r.Name, r.Branch, ev, o))
		}
	}
	return d
}

// approves reports whether any outcome is an update.
func approves(outs []Outcome) bool {
	for _, o := range outs {
		if o.Decision.Update {
			return true
		}
	}
	return false
}

// NewRewrite is the rewrite message for an approved outcome of push ev in
// the named repository branch.
func NewRewrite(repo, branch string, ev bus.PushEvent, o Outcome) bus.Rewrite {
	return bus.Rewrite{
		EventIDs:   []string{ev.ID},
		Repo:       repo,
		Branch:     branch,
		File:       o.Site.File,
		Resource:   o.Site.Resource.String(),
		Container:  o.Site.Container,
		Image:      o.Site.Ref.Canonical(),
		Old:        o.Decision.Current.String(),
		New:        o.Decision.New.String(),
		Tag:        ev.Tag,
		Digest:     ev.Digest,
		PinDigest:  o.PinDigest,
		PushedAt:   ev.PushedAt,
		ReceivedAt: ev.ReceivedAt,
		Policy:     policy.MarkerPolicyJSON(o.Site),
	}
}

// SiteOf is the site a manifest's image site is in a repository branch.
func SiteOf(repo, branch string, s *manifest.Site) bus.Site {
	return bus.Site{Repo: repo, Branch: branch, File: s.File, Resource: s.Resource.String(), Container: s.Container}
}

// RewriteMsgID is the JetStream message id of a rewrite: derived from the
// push event and the site, so the rewrites of a redelivered push are
// stored once.
func RewriteMsgID(ev bus.PushEvent, rw bus.Rewrite) string {
	id := ev.ID
	if id == "" {
		id = ev.DedupeID()
	}
	h := sha256.Sum256([]byte(id + "\x00" + rw.Site().Key() + "\x00" + rw.New))
	return "rw-" + hex.EncodeToString(h[:16])
}

// publish stores every rewrite, all in flight at once, and waits for each
// to be acknowledged by JetStream.
func (s *Service) publish(ctx context.Context, ev bus.PushEvent, rws []bus.Rewrite) error {
	if len(rws) == 0 {
		return nil
	}
	futures := make([]jetstream.PubAckFuture, 0, len(rws))
	for _, rw := range rws {
		b, err := json.Marshal(rw)
		if err != nil {
			return fmt.Errorf("encode rewrite: %w", err)
		}
		f, err := s.js.PublishAsync(bus.RewriteSubject(rw.Repo, rw.Branch), b, jetstream.WithMsgID(RewriteMsgID(ev, rw)))
		if err != nil {
			return fmt.Errorf("publish rewrite: %w", err)
		}
		futures = append(futures, f)
	}
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			rw := rws[i]
			msg := "rewrite published"
			if ack.Duplicate {
				msg = "rewrite already published (push redelivered)"
			} else {
				s.m.rewrites.WithLabelValues(rw.Repo).Inc()
			}
			s.log.Debug().Str("event_id", ev.ID).Str("repo", rw.Repo).Str("file", rw.File).
				Str("resource", rw.Resource).Str("container", rw.Container).
				Str("old", rw.Old).Str("new", rw.New).Msg(msg)
		case err := <-f.Err():
			return fmt.Errorf("store rewrite: %w", err)
		case <-ctx.Done():
			return fmt.Errorf("store rewrite: %w", ctx.Err())
		}
	}
	return nil
}

var _ policy.TagTimes = (*bus.TagTimes)(nil)

// maxDone bounds the pushes remembered as partly decided; beyond it the
// memory is dropped, and a redelivery decides every repository again
// (its rewrites carry the same message ids, and deciding is monotonic:
// a site already moved past the pushed tag is not moved back).
const maxDone = 10000

// doneSet remembers, by stream sequence, the repositories each handed-back
// push was already decided for. It lives in one process: a push
// redelivered to another replica is decided again there, harmlessly.
type doneSet struct {
	mu sync.Mutex
	m  map[uint64]map[string]bool
}

func (d *doneSet) get(seq uint64) map[string]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.m[seq])
}

func (d *doneSet) add(seq uint64, repos []string) {
	if seq == 0 || len(repos) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil || len(d.m) >= maxDone {
		d.m = map[uint64]map[string]bool{}
	}
	if d.m[seq] == nil {
		d.m[seq] = map[string]bool{}
	}
	for _, r := range repos {
		d.m[seq][r] = true
	}
}

func (d *doneSet) forget(seq uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.m, seq)
}
