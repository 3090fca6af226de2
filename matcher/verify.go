package matcher

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imageref"
	"github.com/hoist-gitops/hoist/internal/imagerules"
	"github.com/hoist-gitops/hoist/internal/policy"
	"github.com/hoist-gitops/hoist/internal/registry"
)

// TagVerifier asks a registry which digest a pushed tag points to now
// (internal/registry's Client). It answers an error of class
// registry.ErrNotFound when the tag does not exist, registry.ErrTemporary
// or registry.ErrUnauthorized when it cannot tell now.
type TagVerifier interface {
	VerifyTag(ctx context.Context, repo, tag, claimed string) (string, error)
}

// verifyTimeout bounds one registry lookup, leaving the rest of
// handleTimeout to publishing the rewrites.
const verifyTimeout = 10 * time.Second

// notFoundBackOff is how long the matcher waits before asking again for a
// tag the registry does not have; after the last wait the tag is taken as
// not in the registry. A registry can announce a push before the tag can
// be read: the CNCF registry sends its notification when the manifest is
// stored and links the tag right after. The waits happen within the
// handling of the push (a few seconds in all), not by redelivery, which
// starts at seconds and grows.
var notFoundBackOff = []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second}

// verdict is what the registry said about a push.
type verdict string

// The verdicts; they are also the values of the result label of
// hoist_matcher_registry_checks_total.
const (
	verdictSkipped     verdict = ""                // not asked: verify: none, or no verifier
	verdictVerified    verdict = "verified"        // the tag points to the webhook's digest
	verdictMoved       verdict = "digest_replaced" // the registry's digest differs (or the webhook had none)
	verdictNotFound    verdict = "not_in_registry" // no such tag, however often asked: no rewrite
	verdictUnavailable verdict = "unavailable"     // unreachable, 5xx, 429: handed back
	verdictRefused     verdict = "unauthorized"    // 401/403 or unreadable credentials: handed back
	verdictFailed      verdict = "failed"          // any other error: handed back
)

// verdicts are the results of a registry check, made at zero at start.
var verdicts = []verdict{verdictVerified, verdictMoved, verdictNotFound, verdictUnavailable, verdictRefused, verdictFailed,
	verdictSigned, verdictUnsignedWait, verdictUnsigned, verdictBadSignature}

// newVerifyMetric is hoist_matcher_registry_checks_total.
func newVerifyMetric() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hoist", Subsystem: "matcher", Name: "registry_checks_total",
		Help: "Pushed tags checked against their registry before any rewrite, by result: verified, digest_replaced (the registry's digest is used), not_in_registry (no rewrite), unavailable, unauthorized, failed (the push is handed back); and signature checks: signed, signature_pending (no signature yet: handed back), unsigned and bad_signature (no rewrite).",
	}, []string{"result"})
}

// wouldRewrite reports whether the push would change a file, or would if it
// carried a digest, in the repositories rewrites would decide it for (those
// indexed and not in done): only such a push is worth a registry call.
func (s *Service) wouldRewrite(ctx context.Context, ev bus.PushEvent, done map[string]bool) bool {
	for _, r := range s.repos {
		if done[r.Name] || !r.indexed.Load() {
			continue
		}
		for _, o := range MatchRules(ctx, r.idx.Load(), ev, s.times, s.cfg.ImageRules) {
			if o.Decision.Update || o.Decision.Code == policy.CodeNoDigest {
				return true
			}
		}
	}
	return false
}

// verify checks a push against its registry when the image's rule asks for
// it and the push would change a file in a repository not in done. It
// returns the event to match — with the registry's digest when it differs
// from the webhook's — and the verdict; an error means the push must be
// handed back and tried again.
func (s *Service) verify(ctx context.Context, ev bus.PushEvent, done map[string]bool, log zerolog.Logger) (bus.PushEvent, verdict, error) {
	repo := imageref.Canonical(ev.Registry, ev.Repository)
	if s.cfg.Verifier == nil || ev.Tag == "" || s.cfg.ImageRules.For(repo).Verify == imagerules.VerifyNone || !s.wouldRewrite(ctx, ev, done) {
		return ev, verdictSkipped, nil
	}
	ctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	digest, err := s.cfg.Verifier.VerifyTag(ctx, repo, ev.Tag, ev.Digest)
	for i := 0; i < len(notFoundBackOff) && errors.Is(err, registry.ErrNotFound); i++ {
		if werr := wait(ctx, notFoundBackOff[i]); werr != nil {
			err = fmt.Errorf("asking again for %s:%s: %w", repo, ev.Tag, werr)
			break
		}
		digest, err = s.cfg.Verifier.VerifyTag(ctx, repo, ev.Tag, ev.Digest)
	}
	v := verdictVerified
	switch {
	case err == nil && digest != ev.Digest:
		v = verdictMoved
		log.Info().Str("image", repo).Str("tag", ev.Tag).Str("webhook_digest", ev.Digest).
			Str("registry_digest", digest).Msg("the registry's digest differs from the webhook's; using the registry's")
		ev.Digest = digest
	case errors.Is(err, registry.ErrNotFound):
		v = verdictNotFound
		log.Info().Str("image", repo).Str("tag", ev.Tag).Str("reason", "not in registry").
			Msg("the pushed tag is not in the registry; no rewrite")
		s.notifyRejected(ev, "the tag is not in the registry")
		err = nil
	case errors.Is(err, registry.ErrTemporary):
		v = verdictUnavailable
	case errors.Is(err, registry.ErrUnauthorized):
		v = verdictRefused
	case err != nil:
		v = verdictFailed
	}
	s.m.registryChecks.WithLabelValues(string(v)).Inc()
	return ev, v, err
}

// handBackUnverified hands back a push whose tag could not be verified: it
// comes back after the push retry delay, or later if the registry asked
// for a longer wait (429 Retry-After). A refusal is logged as an error: it
// needs a person (credentials, or verify: none for the image).
func (s *Service) handBackUnverified(m jetstream.Msg, ev bus.PushEvent, delivered uint64, v verdict, err error, log zerolog.Logger) {
	delay := max(retryDelay(delivered), registry.RetryAfter(err))
	lvl := zerolog.WarnLevel
	if v == verdictRefused {
		lvl = zerolog.ErrorLevel
	}
	s.m.pushes.WithLabelValues("failed").Inc()
	log.WithLevel(lvl).Err(err).Uint64("attempt", delivered).Dur("retry_in", delay).
		Msg("cannot verify the tag in the registry; push handed back")
	s.notifyRegistryFailure(ev, err, delay)
	_ = m.NakWithDelay(delay)
}

// wait sleeps for d, or until ctx ends.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
