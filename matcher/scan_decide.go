package matcher

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imageref"
	"github.com/hoist-gitops/hoist/internal/wire"
)

// A scan event and a webhook for the same tag are decided once. The scan
// knows no digest, so its message id equals that of a webhook without a
// digest (Docker Hub, Quay, ...) and JetStream stores the two once; a
// webhook with a digest has another id, and the decision is made once
// instead, by the tag's first-seen time and a mark in the scan bucket:
//   - a scan event whose tag has a first-seen time other than its own was
//     seen first by a webhook (or an earlier scan): it is not decided;
//   - a webhook whose tag a scan recorded first, or a scan event, is
//     decided unless the tag carries a decided mark of another event with
//     the same digest (a webhook without a digest matches any), and marks
//     it once its rewrites are stored.
//
// Webhooks for tags they are the first to record (the usual case) touch
// no mark. Only a scan event and a webhook handled at the very same moment
// by two replicas are both decided; the committer then applies the change once.

// seenBefore reports whether the push was decided already through the
// other way (scan or webhook) and, when it was, acknowledges it. It also
// records when a webhook for the repository was last seen, for the
// webhook grace. A mark that cannot be read hands the push back.
func (s *Service) seenBefore(ctx context.Context, m jetstream.Msg, ev bus.PushEvent, delivered uint64, log zerolog.Logger) bool {
	if s.scan == nil || ev.Tag == "" {
		return false
	}
	if ev.Source != wire.SourceScan {
		s.noteWebhook(ev, log)
	}
	why, err := s.decidedElsewhere(ctx, ev)
	if err != nil {
		s.handBack(m, delivered, "failed", log.Warn().Err(err), "cannot read whether the tag was decided; push handed back")
		return true
	}
	if why == "" {
		return false
	}
	if err := m.Ack(); err != nil {
		log.Warn().Err(err).Msg("ack push")
	}
	s.m.pushes.WithLabelValues("decided_before").Inc()
	log.Info().Str("image", imageref.Canonical(ev.Registry, ev.Repository)).Str("tag", ev.Tag).
		Str("source", sourceName(ev)).Str("reason", why).Msg("push already decided; not decided again")
	return true
}

// decidedElsewhere says why the push needs no decision ("" when it does).
func (s *Service) decidedElsewhere(ctx context.Context, ev bus.PushEvent) (string, error) {
	if ev.SemverOnly {
		return "", nil // a first scan's choice for semver: sites, always decided
	}
	repo := imageref.Canonical(ev.Registry, ev.Repository)
	seen, ok := s.times.FirstSeen(ctx, repo, ev.Tag)
	own := !ok || seen.Equal(ev.PushedAt)
	if ev.Source == wire.SourceScan && !own {
		return "the tag was seen before the scan found it (a webhook)", nil
	}
	if ev.Source != wire.SourceScan && own {
		return "", nil // first seen by this webhook: no scan involved
	}
	d, ok, err := s.scan.store.Decided(ctx, repo, ev.Tag)
	if err != nil || !ok || d.Event == ev.ID {
		return "", err
	}
	if ev.Source == wire.SourceScan {
		return "a webhook for the tag was decided first", nil
	}
	if ev.Digest == "" || ev.Digest == d.Digest {
		return "a scan found the tag and it was decided then", nil
	}
	return "", nil // the same tag with another digest: a re-push
}

// markDecided records, for a push a scan was involved in, that it was
// decided (see seenBefore). A mark that cannot be written is logged: at
// worst the other copy is decided too, and the committer applies the
// change once.
func (s *Service) markDecided(ctx context.Context, ev bus.PushEvent, log zerolog.Logger) {
	if s.scan == nil || ev.Tag == "" || ev.SemverOnly {
		return
	}
	repo := imageref.Canonical(ev.Registry, ev.Repository)
	if ev.Source != wire.SourceScan {
		if seen, ok := s.times.FirstSeen(ctx, repo, ev.Tag); !ok || seen.Equal(ev.PushedAt) {
			return
		}
	}
	if err := s.scan.store.SetDecided(ctx, repo, ev.Tag, bus.Decided{Event: ev.ID, Digest: ev.Digest}); err != nil {
		log.Warn().Err(err).Msg("cannot mark the tag decided")
	}
}

// noteTimeout bounds the recording of a webhook's time, which runs beside
// the push's handling and never holds it up.
const noteTimeout = 5 * time.Second

// noteWebhook records that a webhook for the event's repository (under
// each name it goes by) arrived, at most every quarter interval per
// repository and replica: a repository with working webhooks is not
// listed. It writes in the background: a slow write delays no push.
func (s *Service) noteWebhook(ev bus.PushEvent, log zerolog.Logger) {
	if !s.cfg.Scan.WebhookGrace {
		return
	}
	now := time.Now()
	for _, repo := range canonicalNames(ev) {
		s.scan.mu.Lock()
		fresh := now.Sub(s.scan.noted[repo]) < s.cfg.Scan.Interval/4
		if !fresh {
			s.scan.noted[repo] = now
		}
		s.scan.mu.Unlock()
		if fresh {
			continue
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), noteTimeout)
			defer cancel()
			if err := s.scan.store.WebhookSeen(ctx, repo, now); err != nil {
				log.Warn().Err(err).Str("image", repo).Msg("cannot record the webhook's time; the repository may be listed needlessly")
				s.scan.mu.Lock()
				delete(s.scan.noted, repo)
				s.scan.mu.Unlock()
			}
		}()
	}
}

// sourceName names where a push came from, for logs.
func sourceName(ev bus.PushEvent) string {
	if ev.Source == "" {
		return "webhook"
	}
	return ev.Source
}
