// Package registry asks container registries what a webhook claims: whether
// a tag exists and which digest it points to, and which tags a repository
// has. It wraps go-containerregistry with what hoist needs around every
// call: per-host credentials (or the docker config keychain), a per-host
// rate limit that honours 429 Retry-After, a deadline, and errors sorted
// into NotFound, Unauthorized and Temporary for the caller to act on.
package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hoist-gitops/hoist/internal/imageref"
)

// Defaults of a Client.
const (
	// DefaultTimeout bounds each call (a digest lookup, a whole tag listing page).
	DefaultTimeout = 30 * time.Second
	// DefaultRateLimit is the requests per second to a host that sets none.
	DefaultRateLimit = 10
	// DefaultPageSize is how many tags one listing page asks for.
	DefaultPageSize = 1000
	// DefaultCacheSize is how many verification results are kept.
	DefaultCacheSize = 10000
	// DefaultCacheTTL is how long a verification result is kept.
	DefaultCacheTTL = 10 * time.Minute
)

// Host is how hoist reaches one registry host.
type Host struct {
	// Host is the registry host[:port] as image references name it (docker.io for Docker Hub).
	Host string
	// Insecure allows plain HTTP and certificates that do not verify.
	Insecure bool
	// Username with Password or PasswordFile logs in; PasswordFile is read at each use.
	Username, Password, PasswordFile string
	// DockerConfigFile is a docker config.json (a Kubernetes dockerconfigjson
	// pull secret) holding this host's login; read at each use.
	DockerConfigFile string
	// RateLimit is the requests per second to this host; 0: DefaultRateLimit.
	RateLimit float64
}

// String describes the host without its credentials.
func (h Host) String() string {
	auth := "keychain"
	switch {
	case h.DockerConfigFile != "":
		auth = "dockerConfigFile " + h.DockerConfigFile
	case h.Username != "":
		auth = "user " + h.Username
	}
	return fmt.Sprintf("%s (insecure %t, auth %s, %g/s)", h.Host, h.Insecure, auth, h.RateLimit)
}

// Option changes a Client's defaults.
type Option func(*Client)

// WithTimeout bounds every call; 0 keeps DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithPageSize sets how many tags one listing page asks for.
func WithPageSize(n int) Option {
	return func(c *Client) {
		if n > 0 {
			c.pageSize = n
		}
	}
}

// WithKeychain sets where credentials for hosts without auth come from
// (default: authn.DefaultKeychain, i.e. ~/.docker/config.json or $DOCKER_CONFIG).
func WithKeychain(k authn.Keychain) Option { return func(c *Client) { c.keychain = k } }

// WithCache bounds the verification cache: at most size results, each kept ttl.
func WithCache(size int, ttl time.Duration) Option {
	return func(c *Client) { c.cache = newCache(size, ttl) }
}

// Client talks to registries. It is safe for concurrent use.
type Client struct {
	timeout  time.Duration
	pageSize int
	keychain authn.Keychain
	cache    *cache

	mu    sync.Mutex
	hosts map[string]*host // by canonical host
}

// host is one registry host's settings and connection state.
type host struct {
	cfg      Host
	puller   *remote.Puller
	gate     *gate
	nameOpts []name.Option
}

// New returns a Client for the configured hosts; any other host is reached
// with DefaultRateLimit and credentials from the keychain. A host listed
// twice is an error.
func New(hosts []Host, opts ...Option) (*Client, error) {
	c := &Client{
		timeout:  DefaultTimeout,
		pageSize: DefaultPageSize,
		keychain: authn.DefaultKeychain,
		cache:    newCache(DefaultCacheSize, DefaultCacheTTL),
		hosts:    map[string]*host{},
	}
	for _, o := range opts {
		o(c)
	}
	for _, h := range hosts {
		if err := imageref.ValidateHost(h.Host); err != nil {
			return nil, fmt.Errorf("registry host %q: %w", h.Host, err)
		}
		key := imageref.CanonicalHost(h.Host)
		if _, dup := c.hosts[key]; dup {
			return nil, fmt.Errorf("registry host %s is listed twice", h.Host)
		}
		hs, err := c.newHost(h)
		if err != nil {
			return nil, err
		}
		c.hosts[key] = hs
	}
	return c, nil
}

// newHost builds the puller of one host: its transport goes through the
// host's gate, and go-containerregistry's own retries are off (a failed
// call is retried by the caller, with its back-off, not inside a call).
func (c *Client) newHost(h Host) (*host, error) {
	if h.RateLimit <= 0 {
		h.RateLimit = DefaultRateLimit
	}
	base := remote.DefaultTransport.(*http.Transport).Clone()
	var nameOpts []name.Option
	if h.Insecure {
		base.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it: insecure: true
		nameOpts = append(nameOpts, name.Insecure)
	}
	g := newGate(h.RateLimit)
	opts := []remote.Option{
		remote.WithTransport(&gatedTransport{gate: g, inner: base}),
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryStatusCodes(),
		remote.WithPageSize(c.pageSize),
		remote.WithUserAgent("hoist"),
	}
	switch {
	case h.DockerConfigFile != "":
		opts = append(opts, remote.WithAuth(&dockerConfigAuth{file: h.DockerConfigFile, host: h.Host}))
	case h.Username != "" || h.Password != "" || h.PasswordFile != "":
		opts = append(opts, remote.WithAuth(&passwordAuth{username: h.Username, password: h.Password, passwordFile: h.PasswordFile}))
	default:
		opts = append(opts, remote.WithAuthFromKeychain(c.keychain))
	}
	p, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, fmt.Errorf("registry host %s: %w", h.Host, err)
	}
	return &host{cfg: h, puller: p, gate: g, nameOpts: nameOpts}, nil
}

// hostOf returns the state of a repository's host, creating it with the
// defaults for a host the configuration does not list.
func (c *Client) hostOf(repo string) (*host, error) {
	hostName, _ := imageref.SplitHost(repo)
	key := imageref.CanonicalHost(hostName)
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.hosts[key]; ok {
		return h, nil
	}
	h, err := c.newHost(Host{Host: key})
	if err != nil {
		return nil, err
	}
	c.hosts[key] = h
	return h, nil
}

// Digest returns the digest repo:tag points to now: a manifest HEAD, or a
// GET when the HEAD answer carries no digest. repo is a canonical repository
// (host/path).
func (c *Client) Digest(ctx context.Context, repo, tag string) (string, error) {
	h, err := c.hostOf(repo)
	if err != nil {
		return "", &Error{Op: "digest", Ref: repo + ":" + tag, Err: err}
	}
	ref, err := name.NewTag(repo+":"+tag, h.nameOpts...)
	if err != nil {
		return "", &Error{Op: "digest", Ref: repo + ":" + tag, Host: h.cfg.Host, Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	desc, err := h.puller.Head(ctx, ref)
	if err == nil {
		return desc.Digest.String(), nil
	}
	if class, _ := classify(err); class == nil && ctx.Err() == nil {
		// An answer without Docker-Content-Digest (some registries and
		// proxies drop it from HEAD): the GET computes it from the body.
		d, gerr := h.puller.Get(ctx, ref)
		if gerr == nil {
			return d.Digest.String(), nil
		}
		err = gerr
	}
	return "", c.wrap("digest", repo+":"+tag, h, err)
}

// Tags calls fn with each page of repo's tags, in the registry's order, as
// the registry's paging (n and Link) hands them out; an error from fn stops
// the listing and is returned as is. The deadline applies to each page.
func (c *Client) Tags(ctx context.Context, repo string, fn func(page []string) error) error {
	h, err := c.hostOf(repo)
	if err != nil {
		return &Error{Op: "tags", Ref: repo, Err: err}
	}
	r, err := name.NewRepository(repo, h.nameOpts...)
	if err != nil {
		return &Error{Op: "tags", Ref: repo, Host: h.cfg.Host, Err: err}
	}
	pageCtx, cancel := context.WithTimeout(ctx, c.timeout)
	lister, err := h.puller.Lister(pageCtx, r)
	cancel()
	if err != nil {
		return c.wrap("tags", repo, h, err)
	}
	for lister.HasNext() {
		pageCtx, cancel := context.WithTimeout(ctx, c.timeout)
		page, err := lister.Next(pageCtx)
		cancel()
		if err != nil {
			return c.wrap("tags", repo, h, err)
		}
		if err := fn(page.Tags); err != nil {
			return err
		}
	}
	return nil
}

// wrap classifies err into an *Error.
func (c *Client) wrap(op, ref string, h *host, err error) error {
	class, status := classify(err)
	e := &Error{Op: op, Ref: ref, Host: h.cfg.Host, Class: class, Status: status, Err: err}
	if class == ErrTemporary {
		e.RetryAfter = h.gate.blocked()
		var be *busyError
		if errors.As(err, &be) && be.wait > e.RetryAfter {
			e.RetryAfter = be.wait
		}
		if e.RetryAfter < 0 {
			e.RetryAfter = 0
		}
	}
	if class == nil && strings.Contains(err.Error(), "x509") {
		e.Err = &hintError{err: err, hint: "set insecure: true for this host in registries[] to accept it"}
	}
	return e
}

// hintError adds what to do to an error.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return strings.TrimSpace(e.err.Error()) + " (" + e.hint + ")" }
func (e *hintError) Unwrap() error { return e.err }
