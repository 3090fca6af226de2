package committer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"

	"github.com/hoist-gitops/hoist/internal/gitauth"
	"github.com/hoist-gitops/hoist/internal/gitfetch"
	"github.com/hoist-gitops/hoist/internal/redact"
)

// remote is the git server of one repository: its endpoint, transport and
// credentials.
type remote struct {
	url    string
	ep     *transport.Endpoint
	client transport.Transport
	auth   transport.AuthMethod
	// timeout bounds each call to the remote.
	timeout time.Duration
}

// newRemote prepares the remote at url; each call to it is given at most
// timeout (0: DefaultGitTimeout).
func newRemote(url string, a Auth, timeout time.Duration) (*remote, error) {
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return nil, fmt.Errorf("repository url: %w", err)
	}
	auth, err := gitauth.Method(ep, a)
	if err != nil {
		return nil, err
	}
	c, err := client.NewClient(ep)
	if err != nil {
		return nil, fmt.Errorf("repository url %s: %w", redact.URL(url), err)
	}
	if timeout <= 0 {
		timeout = DefaultGitTimeout
	}
	return &remote{url: url, ep: ep, client: c, auth: auth, timeout: timeout}, nil
}

// within runs one call to the remote under a context that ends after the
// remote's timeout, and returns when the call does or the time is up,
// whichever comes first: some transports do not watch the context
// everywhere (an SSH handshake), and a server that accepts a connection
// and never answers must not hold a batch forever. A call given up on
// sees its context done, so it stops at its next step.
func (r *remote) within(ctx context.Context, what string, call func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	err := gitfetch.Run(ctx, call)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s: no answer from %s within %s: %w", what, redact.URL(r.url), r.timeout, context.DeadlineExceeded)
	}
	return err
}

// receivePack opens a push session and reads the remote's refs.
func (r *remote) receivePack(ctx context.Context) (transport.ReceivePackSession, *packp.AdvRefs, error) {
	var (
		mu        sync.Mutex
		sess      transport.ReceivePackSession
		ar        *packp.AdvRefs
		abandoned bool
	)
	err := r.within(ctx, "list refs", func(ctx context.Context) error {
		s, err := r.client.NewReceivePackSession(r.ep, r.auth)
		if err != nil {
			return fmt.Errorf("connect %s: %w", redact.URL(r.url), err)
		}
		a, err := s.AdvertisedReferencesContext(ctx)
		if err != nil {
			s.Close()
			return fmt.Errorf("list refs of %s: %w", redact.URL(r.url), err)
		}
		mu.Lock()
		defer mu.Unlock()
		if abandoned { // the time was up: nobody will use the session
			s.Close()
			return ctx.Err()
		}
		sess, ar = s, a
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		abandoned = true
		if sess != nil {
			sess.Close()
		}
		return nil, nil, err
	}
	return sess, ar, nil
}

// RejectedError is a push the remote refused for the ref: someone else
// moved the branch first, a hook refused it, or the pack lacked objects.
type RejectedError struct {
	Ref    string
	Status string
}

// Error implements error.
func (e *RejectedError) Error() string { return "push to " + e.Ref + " rejected: " + e.Status }

// raced reports whether the remote refused the update because the ref no
// longer pointed at the commit the push built on (someone pushed first).
// Any other rejection (missing objects, an unpacker error, a hook) may
// come from a stale local clone.
func (e *RejectedError) raced() bool {
	s := strings.ToLower(e.Status)
	for _, race := range []string{"non-fast-forward", "fetch first", "failed to update ref", "failed to lock", "cannot lock ref", "stale info", "but expected", "incorrect old value"} {
		if strings.Contains(s, race) {
			return true
		}
	}
	return false
}

// push sends one compare-and-swap update of ref from old (zero: create) to
// new with the pack of new objects, within the remote's timeout. The remote
// applies it only if ref still points at old; never a forced update.
func (r *remote) push(ctx context.Context, s transport.ReceivePackSession, ar *packp.AdvRefs, ref plumbing.ReferenceName, old, new plumbing.Hash, pack []byte) error {
	req := packp.NewReferenceUpdateRequestFromCapabilities(ar.Capabilities)
	req.Commands = []*packp.Command{{Name: ref, Old: old, New: new}}
	req.Packfile = io.NopCloser(bytes.NewReader(pack))
	reports := make(chan *packp.ReportStatus, 1)
	err := r.within(ctx, "push", func(ctx context.Context) error {
		rs, err := s.ReceivePack(ctx, req)
		reports <- rs
		return err
	})
	var rs *packp.ReportStatus
	select {
	case rs = <-reports: // the remote's report, when the call finished in time
	default:
	}
	if rs != nil {
		for _, c := range rs.CommandStatuses {
			if c.Status != "ok" {
				return &RejectedError{Ref: c.ReferenceName.String(), Status: c.Status}
			}
		}
		if rs.UnpackStatus != "" && rs.UnpackStatus != "ok" {
			return &RejectedError{Ref: ref.String(), Status: "unpack: " + rs.UnpackStatus}
		}
		if len(rs.CommandStatuses) > 0 {
			return nil // the remote reported the update applied: it landed, whatever came after
		}
	}
	if err != nil {
		return fmt.Errorf("push to %s: %w", ref, err)
	}
	return nil
}

// isAuthError tells errors that retrying will not cure.
func isAuthError(err error) bool {
	return errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed) ||
		isPermanentForgeError(err)
}
