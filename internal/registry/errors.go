package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// The classes of a failed registry call; test with errors.Is.
var (
	// ErrNotFound: the registry has no such repository or tag.
	ErrNotFound = errors.New("not in the registry")
	// ErrUnauthorized: the registry refused hoist's credentials (401/403),
	// or the configured credentials cannot be read.
	ErrUnauthorized = errors.New("no access to the registry")
	// ErrTemporary: the registry is unreachable, failing (5xx), asked hoist
	// to slow down (429), or did not answer in time; try again later.
	ErrTemporary = errors.New("the registry is unavailable")
)

// Error is a failed registry call with its class (one of the Err* values,
// or nil for anything else, e.g. a malformed answer).
type Error struct {
	// Op is what was asked: "digest" or "tags".
	Op string
	// Ref is the repository, with ":tag" when one was asked for.
	Ref string
	// Host is the registry host the call went to.
	Host string
	// Class is ErrNotFound, ErrUnauthorized, ErrTemporary or nil.
	Class error
	// Status is the HTTP status of the registry's answer; 0 when none came.
	Status int
	// RetryAfter is how long the registry asked hoist to wait (429), 0 if it did not say.
	RetryAfter time.Duration
	// Err is the underlying error.
	Err error
}

// Error names the call, the class, and for a refusal the configuration
// that fixes it. It never contains credentials: registry errors carry URLs
// and status lines, not request headers.
func (e *Error) Error() string {
	msg := fmt.Sprintf("%s %s", e.Op, e.Ref)
	switch e.Class {
	case ErrNotFound:
		return fmt.Sprintf("%s: %v", msg, ErrNotFound)
	case ErrUnauthorized:
		return fmt.Sprintf("%s: %v (%v); configure registries[].auth for host %s, or set verify: none for this image in images[]",
			msg, ErrUnauthorized, e.Err, e.Host)
	case ErrTemporary:
		if e.RetryAfter > 0 {
			return fmt.Sprintf("%s: %v, asked to wait %s: %v", msg, ErrTemporary, e.RetryAfter.Round(time.Second), e.Err)
		}
		return fmt.Sprintf("%s: %v: %v", msg, ErrTemporary, e.Err)
	}
	return fmt.Sprintf("%s: %v", msg, e.Err)
}

// Unwrap exposes both the class and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Class == nil {
		return []error{e.Err}
	}
	return []error{e.Class, e.Err}
}

// RetryAfter is how long a Temporary error asks the caller to wait before
// trying again; 0 when the registry did not say.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// authError is a configured credential that cannot be used (a file that
// cannot be read, a docker config without the host): a refusal to fix in
// the configuration, not a registry failure.
type authError struct{ err error }

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// busyError is a call not sent because the host asked hoist to wait (429
// Retry-After) longer than the call's deadline allows, or because the rate
// limit would not let it go before the deadline.
type busyError struct {
	wait time.Duration
	err  error
}

func (e *busyError) Error() string { return e.err.Error() }
func (e *busyError) Unwrap() error { return e.err }

// classify sorts an error from the registry library into a class and the
// HTTP status it came with.
//
//lint:ignore ST1008 class is a value describing err (a sentinel to match with errors.Is), not classify's own failure
func classify(err error) (class error, status int) {
	var te *transport.Error
	if errors.As(err, &te) {
		status = te.StatusCode
		for _, d := range te.Errors {
			switch d.Code {
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode:
				return ErrNotFound, status
			case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				return ErrUnauthorized, status
			case transport.TooManyRequestsErrorCode, transport.UnavailableErrorCode:
				return ErrTemporary, status
			}
		}
		switch {
		case status == http.StatusNotFound:
			return ErrNotFound, status
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			return ErrUnauthorized, status
		case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
			return ErrTemporary, status
		}
		return nil, status
	}
	var ae *authError
	var be *busyError
	var ne net.Error
	var ce *tls.CertificateVerificationError
	switch {
	case errors.As(err, &ae):
		return ErrUnauthorized, 0
	case errors.As(err, &be):
		return ErrTemporary, 0
	case errors.As(err, &ce): // a configuration matter (insecure: true), not a passing failure
		return nil, 0
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return ErrTemporary, 0
	case errors.As(err, &ne): // refused, reset, DNS, TLS handshake timeouts...
		return ErrTemporary, 0
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ErrTemporary, 0
	}
	return nil, 0
}
