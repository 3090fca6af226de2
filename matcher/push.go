package matcher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imageref"
	"github.com/hoist-gitops/hoist/internal/policy"
)

// handleTimeout bounds the handling of one push (KV, publishes); beyond it
// the push is handed back for redelivery.
const handleTimeout = 30 * time.Second

// retryDelay is how soon a push whose handling failed is redelivered.
const retryDelay = 2 * time.Second

// handle turns one push message into rewrites and acknowledges it once
// they are stored. A redelivered push publishes the same message ids, so
// JetStream stores each rewrite once.
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
	ctx, cancel := context.WithTimeout(context.Background(), handleTimeout)
	defer cancel()
	if err := s.recordTag(ctx, ev); err != nil {
		log.Warn().Err(err).Msg("cannot record the tag's first-seen time; push handed back")
		s.m.pushes.WithLabelValues("failed").Inc()
		_ = m.NakWithDelay(retryDelay)
		return
	}
	ev, verdict, delay, err := s.verify(ctx, ev, deliveries(m), log)
	if err != nil {
		lvl := zerolog.WarnLevel
		if verdict == verdictRefused { // needs a person: credentials or verify: none
			lvl = zerolog.ErrorLevel
		}
		log.WithLevel(lvl).Err(err).Dur("retry_in", delay).Msg("cannot verify the tag in the registry; push handed back")
		s.m.pushes.WithLabelValues("failed").Inc()
		_ = m.NakWithDelay(delay)
		return
	}
	var rws []bus.Rewrite
	sites := 0
	if verdict != verdictNotFound { // a tag the registry does not have is never written
		rws, sites = s.rewrites(ev, log)
	}
	if err := s.publish(ctx, ev, rws); err != nil {
		log.Warn().Err(err).Msg("cannot publish rewrites; push handed back")
		s.m.pushes.WithLabelValues("failed").Inc()
		_ = m.NakWithDelay(retryDelay)
		return
	}
	if err := m.Ack(); err != nil {
		log.Warn().Err(err).Msg("ack push (a redelivery publishes the same rewrites, stored once)")
	}
	outcome := "rewrites"
	switch {
	case verdict == verdictNotFound:
		outcome = "not_in_registry"
	case sites == 0:
		outcome = "no_sites"
	case len(rws) == 0:
		outcome = "unchanged"
	}
	s.m.pushes.WithLabelValues(outcome).Inc()
	log.Info().Str("image", imageref.Canonical(ev.Registry, ev.Repository)).Str("tag", ev.Tag).
		Str("digest", ev.Digest).Int("sites", sites).Int("rewrites", len(rws)).
		Int64("duration_ms", time.Since(start).Milliseconds()).Msg("push matched")
}

// recordTag stores the push time as the tag's first-seen time under every
// name the event's repository goes by (host aliases included), so sites
// spelt with an alias order their tags by push time too.
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

// rewrites matches the event against every repository's index and returns
// one rewrite per approved site, and how many sites the push concerned.
func (s *Service) rewrites(ev bus.PushEvent, log zerolog.Logger) ([]bus.Rewrite, int) {
	var out []bus.Rewrite
	sites := 0
	for _, r := range s.repos {
		outs := Match(r.idx.Load(), ev, s.times)
		sites += len(outs)
		for _, o := range outs {
			s.m.decisions.WithLabelValues(r.Name, string(o.Decision.Code)).Inc()
			if !o.Decision.Update {
				log.Debug().Str("repo", r.Name).Str("file", o.Site.File).Str("resource", o.Site.Resource.String()).
					Str("container", o.Site.Container).Str("decision", string(o.Decision.Code)).
					Str("reason", o.Decision.Reason).Msg("site skipped")
				continue
			}
			out = append(out, NewRewrite(r.Name, r.Branch, ev, o))
		}
	}
	return out, sites
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
		PushedAt:   ev.PushedAt,
		ReceivedAt: ev.ReceivedAt,
	}
}

// RewriteMsgID is the JetStream message id of a rewrite: derived from the
// push event and the site, so the rewrites of a redelivered push are
// stored once.
func RewriteMsgID(ev bus.PushEvent, rw bus.Rewrite) string {
	id := ev.ID
	if id == "" {
		id = ev.DedupeID()
	}
	h := sha256.Sum256([]byte(id + "\x00" + rw.SiteKey() + "\x00" + rw.New))
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
			s.log.Info().Str("event_id", ev.ID).Str("repo", rw.Repo).Str("file", rw.File).
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
