package ingest

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultBodyLimit is the largest webhook body accepted when Config.BodyLimit is 0 (1 MiB).
const DefaultBodyLimit = 1 << 20

// DefaultPublishTimeout bounds how long a delivery waits for JetStream to
// store its events. It is shorter than the registries' own delivery timeouts
// (5 s in the CNCF registry's and GitLab's usual notification config, 10 s at
// GitHub and Quay), so that during a NATS outage the registry reads hoist's
// 503 and retries, rather than giving up on a hung request.
const DefaultPublishTimeout = 4 * time.Second

// DefaultReadTimeout bounds reading a delivery's body, from the start of its
// handling: a registry sends a webhook of a few KiB at once, so only a stalled
// or trickling sender takes longer, and its connection is then closed.
const DefaultReadTimeout = 20 * time.Second

// DefaultBodyMemory is the default bound on the body bytes ingest holds at
// once, over every delivery being read (see Config.BodyMemory).
const DefaultBodyMemory = 16 << 20

// Config is everything a Server needs; the caller maps hoist.yaml onto it.
type Config struct {
	// Receivers are the webhook endpoints, served at /hooks/<Name>.
	Receivers []Receiver
	// BodyLimit is the largest body accepted (413 beyond); 0 means DefaultBodyLimit.
	BodyLimit int64
	// PublishTimeout bounds the wait for JetStream acks (503 beyond); 0 means DefaultPublishTimeout.
	PublishTimeout time.Duration
	// ReadTimeout bounds reading a body, from the start of its delivery's
	// handling (408 and the connection closed beyond); 0 means DefaultReadTimeout.
	ReadTimeout time.Duration
	// BodyMemory bounds the bytes of body buffers grown beyond each
	// delivery's small pooled one, over all deliveries at once; a delivery
	// that cannot grow its buffer within bodyMemoryWait is answered 503.
	// 0 means the larger of DefaultBodyMemory and 2*BodyLimit; otherwise it
	// must be at least BodyLimit.
	BodyMemory int64
	// Gatherer, when set, is served on /metrics; otherwise the caller mounts /metrics.
	Gatherer prometheus.Gatherer
	// Conns are the NATS connections events are published on, taken in
	// turn; empty means the JetStream's own. Over TCP one connection
	// serialises its publishers on its lock while it writes
	// (bus.Conn.Publishers opens as many as suit its transport).
	Conns []*nats.Conn
}

// Receiver is one webhook endpoint: a name in the URL, a kind, and the
// credentials that kind's registry sends.
type Receiver struct {
	// Name is the URL path segment: POST /hooks/<Name>.
	Name string
	// Kind is the registry's webhook dialect (see Kinds).
	Kind Kind
	// Secret is the shared secret; what it means depends on the kind (a
	// header value, an HMAC key or a URL path segment). It must not be empty
	// unless InsecureNoAuth is set.
	Secret string
	// SecretSet says the config named a secret (perhaps empty); it only
	// chooses the error message of a receiver without one.
	SecretSet bool
	// InsecureNoAuth runs the receiver without authentication: anyone who
	// can reach it can announce pushes. It is the only way to do so (an
	// empty Secret is an error), it excludes a Secret, and it is logged as a
	// warning at start.
	InsecureNoAuth bool
	// AuthHeader is the header static-header kinds read the secret from;
	// "" means Authorization (where "Bearer <secret>" and Basic with the
	// secret as password are also accepted).
	AuthHeader string
	// Host is the registry host for payloads that do not name the host
	// manifests pull from: required for nexus; for gitea it replaces the web
	// host; for jfrog it selects the subdomain/port access method; for
	// cloudevents, gcr and generic it is the host of a host-less name.
	Host string
	// HostAliases are other names of the registry in manifests, carried on
	// every event for the matcher.
	HostAliases []string
	// RateLimit is the sustained deliveries per second accepted (429
	// beyond); 0 means unlimited.
	RateLimit float64
	// RateBurst is how many deliveries may arrive at once; 0 means
	// max(1, RateLimit).
	RateBurst int
}

// receiverNameRE keeps receiver names usable as one URL path segment and metric label.
var receiverNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// Validate reports what is wrong with a receiver's configuration.
func (r Receiver) Validate() error {
	if !receiverNameRE.MatchString(r.Name) {
		return fmt.Errorf("receiver name %q: want letters, digits, '.', '_' or '-'", r.Name)
	}
	if _, err := ParserFor(r.Kind); err != nil {
		return fmt.Errorf("receiver %s: %w", r.Name, err)
	}
	switch {
	case r.InsecureNoAuth && r.Secret != "":
		return fmt.Errorf("receiver %s: insecureNoAuth and a secret: keep one of them", r.Name)
	case r.InsecureNoAuth:
	case r.SecretSet && r.Secret == "":
		return fmt.Errorf("receiver %s: the secret is empty; set one, or set insecureNoAuth: true to run it without authentication", r.Name)
	case r.Secret == "":
		return fmt.Errorf("receiver %s: no secret; set one, or set insecureNoAuth: true to run it without authentication", r.Name)
	}
	if r.Kind == KindNexus && r.Host == "" {
		return fmt.Errorf("receiver %s: kind nexus needs host (Nexus webhooks do not name the registry host)", r.Name)
	}
	if r.RateLimit < 0 || r.RateBurst < 0 {
		return fmt.Errorf("receiver %s: negative rate limit", r.Name)
	}
	return nil
}

// Open reports whether the receiver accepts deliveries without credentials.
func (r Receiver) Open() bool { return r.InsecureNoAuth }

// validate checks the whole configuration.
func (c Config) validate() error {
	seen := map[string]bool{}
	for _, r := range c.Receivers {
		if err := r.Validate(); err != nil {
			return err
		}
		if seen[r.Name] {
			return fmt.Errorf("receiver %s: configured twice", r.Name)
		}
		seen[r.Name] = true
	}
	if c.BodyLimit < 0 || c.PublishTimeout < 0 || c.ReadTimeout < 0 || c.BodyMemory < 0 {
		return errors.New("negative body limit, publish timeout, read timeout or body memory")
	}
	limit := c.BodyLimit
	if limit == 0 {
		limit = DefaultBodyLimit
	}
	if c.BodyMemory > 0 && c.BodyMemory < limit {
		return fmt.Errorf("body memory %d is below the body limit: one delivery could never be read", c.BodyMemory)
	}
	return nil
}
