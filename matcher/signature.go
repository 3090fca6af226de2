package matcher

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imageref"
	"github.com/hoist-gitops/hoist/internal/imagerules"
	"github.com/hoist-gitops/hoist/internal/registry"
)

// SignatureVerifier checks that an image digest carries a cosign
// signature valid under a rule (internal/registry's Client). It answers
// nil, registry.ErrUnsigned, registry.ErrBadSignature, or a registry error
// class (registry.ErrTemporary, ...) when it cannot tell now.
type SignatureVerifier interface {
	VerifySignature(ctx context.Context, repo, digest string, rule registry.SignatureRule) error
}

// DefaultSignatureWait is how long a push whose digest has no signature yet
// is retried before it is dropped as unsigned: CI pipelines push first and
// sign seconds or minutes later.
const DefaultSignatureWait = time.Hour

// signatureRetryLast caps the retry delay of a push waiting for its
// signature, so a signature that arrives is acted on within a minute
// however long the push has waited.
const signatureRetryLast = time.Minute

// The verdicts of a signature check (result label of
// hoist_matcher_registry_checks_total).
const (
	verdictSigned       verdict = "signed"            // a signature verifies
	verdictUnsignedWait verdict = "signature_pending" // no signature yet: handed back
	verdictUnsigned     verdict = "unsigned"          // still none after signature.waitFor: no rewrite
	verdictBadSignature verdict = "bad_signature"     // signatures exist, none verifies: no rewrite
)

// signatureRule is the registry form of an images[] signature rule.
func signatureRule(s imagerules.Signature) registry.SignatureRule {
	return registry.SignatureRule{Key: s.Key, Issuer: s.Keyless.Issuer, Identity: s.Keyless.Identity, TrustedRootFile: s.Keyless.TrustedRootFile}
}

// checkSignature checks the signature of the pushed digest when the
// image's rule requires one and the push would change a file. It returns
// the verdict (verdictSkipped when nothing was asked); an error means the
// push is handed back: the registry cannot be asked now, or no signature
// is there yet and the wait is not over (verdictUnsignedWait).
func (s *Service) checkSignature(ctx context.Context, ev bus.PushEvent, done map[string]bool, now time.Time, log zerolog.Logger) (verdict, error) {
	repo := imageref.Canonical(ev.Registry, ev.Repository)
	rule := s.cfg.ImageRules.For(repo)
	if !rule.Signature.Set() || ev.Tag == "" || !s.wouldRewrite(ctx, ev, done) {
		return verdictSkipped, nil
	}
	var err error
	switch {
	case ev.Digest == "":
		err = errors.New("the push carries no digest and it was not verified in the registry (verify: tag gives it)")
	case s.cfg.Signatures == nil:
		err = errors.New("no signature verifier is configured")
	default:
		err = s.sigs.check(ctx, s.cfg.Signatures, repo, ev.Digest, signatureRule(rule.Signature))
	}
	v := verdictSigned
	switch {
	case err == nil:
	case errors.Is(err, registry.ErrUnsigned):
		wait := rule.Signature.WaitFor
		if wait == 0 {
			wait = DefaultSignatureWait
		}
		since := ev.ReceivedAt
		if since.IsZero() {
			since = now
		}
		if now.Sub(since) < wait {
			v = verdictUnsignedWait
			break
		}
		v = verdictUnsigned
		log.Warn().Str("image", repo).Str("tag", ev.Tag).Str("digest", ev.Digest).Str("reason", "unsigned").
			Dur("waited", now.Sub(since)).Msg("the pushed image has no signature; no rewrite")
		s.notifyRejected(ev, "the image has no signature (waited "+now.Sub(since).Round(time.Second).String()+")")
		err = nil
	case errors.Is(err, registry.ErrBadSignature):
		v = verdictBadSignature
		log.Error().Err(err).Str("image", repo).Str("tag", ev.Tag).Str("digest", ev.Digest).Str("reason", "bad signature").
			Msg("the pushed image's signature does not verify; no rewrite")
		s.notifyRejected(ev, "the image's signature does not verify")
		err = nil
	case errors.Is(err, registry.ErrTemporary):
		v = verdictUnavailable
	case errors.Is(err, registry.ErrUnauthorized):
		v = verdictRefused
	default:
		v = verdictFailed
	}
	s.m.registryChecks.WithLabelValues(string(v)).Inc()
	return v, err
}

// signatureRetry is how soon a push waiting for its signature and
// delivered n times is asked again: the push retry delay, at most
// signatureRetryLast. A variable so tests can leave the retry out.
var signatureRetry = func(n uint64) time.Duration { return min(retryDelay(n), signatureRetryLast) }

// handBackUnsigned hands back a push whose digest has no signature yet; it
// is asked again after signatureRetry, or at once when the signature's own
// push arrives first (signatureArrived).
func (s *Service) handBackUnsigned(m jetstream.Msg, ev bus.PushEvent, seq, delivered uint64, err error, log zerolog.Logger) {
	delay := signatureRetry(delivered)
	s.sigWait.add(sigKey(ev), sigWaiter{ev: ev, seq: seq})
	s.m.pushes.WithLabelValues("waiting").Inc()
	log.Info().Err(err).Str("image", imageref.Canonical(ev.Registry, ev.Repository)).Str("tag", ev.Tag).
		Str("digest", ev.Digest).Uint64("attempt", delivered).Dur("retry_in", delay).
		Msg("no signature for the pushed image yet; push handed back")
	_ = m.NakWithDelay(delay)
}

// sigCacheTTL is how long a signature verdict (valid, or bad) is reused
// for a digest; a missing signature is never cached, since it may arrive.
const sigCacheTTL = 10 * time.Minute

// maxSigCache bounds the remembered verdicts; beyond it the memory is dropped.
const maxSigCache = 10000

// sigCache remembers signature verdicts per (repository, digest, rule), so
// a digest used by many sites, tags or redeliveries is verified once.
type sigCache struct {
	mu sync.Mutex
	m  map[string]sigEntry
}

type sigEntry struct {
	err error
	at  time.Time
}

// check answers from the cache, or asks v and remembers a final answer.
func (c *sigCache) check(ctx context.Context, v SignatureVerifier, repo, digest string, rule registry.SignatureRule) error {
	key := repo + "@" + digest + "\x00" + rule.String()
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && time.Since(e.at) < sigCacheTTL {
		return e.err
	}
	err := v.VerifySignature(ctx, repo, digest, rule)
	if err == nil || errors.Is(err, registry.ErrBadSignature) {
		c.mu.Lock()
		if c.m == nil || len(c.m) >= maxSigCache {
			c.m = map[string]sigEntry{}
		}
		c.m[key] = sigEntry{err: err, at: time.Now()}
		c.mu.Unlock()
	}
	return err
}

// sigKey is the key of a push waiting for its signature: repository@digest.
func sigKey(ev bus.PushEvent) string {
	return imageref.Canonical(ev.Registry, ev.Repository) + "@" + ev.Digest
}

// maxSigWaiters bounds the pushes remembered as waiting for a signature;
// beyond it the memory is dropped (their retries still decide them).
const maxSigWaiters = 10000

// sigWaiters remembers the pushes handed back for want of a signature, so
// the signature's own push can decide them at once. It lives in one
// process: a push waiting in another replica is decided at its retry.
type sigWaiters struct {
	mu sync.Mutex
	m  map[string]sigWaiter
}

// sigWaiter is a push waiting for its signature, as verified.
type sigWaiter struct {
	ev  bus.PushEvent
	seq uint64
}

func (w *sigWaiters) add(key string, v sigWaiter) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil || len(w.m) >= maxSigWaiters {
		w.m = map[string]sigWaiter{}
	}
	w.m[key] = v
}

// take removes and returns the push waiting under key.
func (w *sigWaiters) take(key string) (sigWaiter, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, ok := w.m[key]
	delete(w.m, key)
	return v, ok
}

// signatureArrived decides at once a push that waits for the signature
// that ev (a push of a cosign signature or referrers tag) stores. Its
// rewrites carry the message ids the push's own retry will publish, so
// JetStream stores them once; the retry then finds the signature too and
// acknowledges the push. A signature that does not verify (yet) leaves
// the push to its retry.
func (s *Service) signatureArrived(ctx context.Context, ev bus.PushEvent, log zerolog.Logger) {
	// The legacy signature tag sha256-<hex>.sig, or the referrers tag
	// sha256-<hex> under which registries without the referrers API list
	// Sigstore bundles.
	digest, kind, ok := imageref.CosignTag(ev.Tag)
	if !ok || kind != "sig" && kind != "" {
		return
	}
	held := ev
	held.Digest = digest
	w, ok := s.sigWait.take(sigKey(held))
	if !ok {
		return
	}
	done := s.done.get(w.seq)
	v, err := s.checkSignature(ctx, w.ev, done, time.Now(), log)
	if err != nil || v != verdictSigned {
		if v == verdictUnsignedWait {
			s.sigWait.add(sigKey(w.ev), w) // another scheme's tag, or not readable yet
		}
		return
	}
	d := s.rewrites(ctx, w.ev, done, log)
	if err := s.publish(ctx, w.ev, d.rewrites); err != nil {
		log.Warn().Err(err).Msg("cannot publish the rewrites of a push whose signature arrived; its retry will")
		return
	}
	log.Info().Str("held_event_id", w.ev.ID).Str("image", imageref.Canonical(w.ev.Registry, w.ev.Repository)).
		Str("tag", w.ev.Tag).Str("digest", w.ev.Digest).Int("rewrites", len(d.rewrites)).
		Msg("signature arrived; the push waiting for it is decided at once")
}
