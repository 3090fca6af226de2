package registry

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits of the 429 handling.
const (
	// defaultRetryAfter is the wait after a 429 that names none.
	defaultRetryAfter = time.Second
	// maxRetryAfter caps what a registry may ask for: a wrong clock or a
	// huge value must not stop hoist for days.
	maxRetryAfter = 15 * time.Minute
	// max429Retries is how often one call is sent again after a 429 it
	// could wait out within its deadline.
	max429Retries = 3
)

// gate holds one registry host's traffic to its rate limit, and stops it
// until the time a 429's Retry-After names.
type gate struct {
	limiter *rate.Limiter
	mu      sync.Mutex
	until   time.Time // no request before this
}

func newGate(perSecond float64) *gate {
	burst := int(math.Ceil(perSecond))
	if burst < 1 {
		burst = 1
	}
	return &gate{limiter: rate.NewLimiter(rate.Limit(perSecond), burst)}
}

// wait blocks until a request may go: after the host's Retry-After, then
// within its rate. A wait that would outlast ctx's deadline fails at once
// with a busyError saying how long the host asked for.
func (g *gate) wait(ctx context.Context) error {
	if d := g.blocked(); d > 0 {
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
			return &busyError{wait: d, err: fmt.Errorf("the registry asked to wait %s (429), longer than this call may take", d.Round(time.Second))}
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	if err := g.limiter.Wait(ctx); err != nil {
		return &busyError{err: fmt.Errorf("rate limit: %w", err)}
	}
	return nil
}

// blocked is how long the host still asks hoist to wait.
func (g *gate) blocked() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return time.Until(g.until)
}

// backOff records a 429's Retry-After (seconds or an HTTP date) and returns
// the wait it asks for.
func (g *gate) backOff(retryAfter string) time.Duration {
	d := parseRetryAfter(retryAfter, time.Now())
	g.mu.Lock()
	defer g.mu.Unlock()
	if until := time.Now().Add(d); until.After(g.until) {
		g.until = until
	}
	return time.Until(g.until)
}

func parseRetryAfter(v string, now time.Time) time.Duration {
	d := defaultRetryAfter
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// gatedTransport sends every request of one host through its gate, and
// sends a request that got a 429 again once the wait is over, when the
// call's deadline leaves room for it.
type gatedTransport struct {
	gate  *gate
	inner http.RoundTripper
}

func (t *gatedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		if err := t.gate.wait(req.Context()); err != nil {
			return nil, err
		}
		resp, err := t.inner.RoundTrip(req)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests {
			return resp, err
		}
		wait := t.gate.backOff(resp.Header.Get("Retry-After"))
		deadline, ok := req.Context().Deadline()
		if attempt >= max429Retries || ok && time.Until(deadline) < wait || req.Body != nil && req.GetBody == nil {
			return resp, nil // the caller sees the 429: a temporary failure
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
	}
}
