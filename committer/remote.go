package committer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"

	"github.com/hoist-gitops/hoist/internal/gitauth"
)

// remote is the git server of one repository: its endpoint, transport and
// credentials.
type remote struct {
	url    string
	ep     *transport.Endpoint
	client transport.Transport
	auth   transport.AuthMethod
}

func newRemote(url string, a Auth) (*remote, error) {
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
		return nil, fmt.Errorf("repository url %s: %w", redact(url), err)
	}
	return &remote{url: url, ep: ep, client: c, auth: auth}, nil
}

// redact hides a password written into a URL.
func redact(url string) string {
	if i := strings.Index(url, "://"); i >= 0 {
		if j := strings.Index(url[i+3:], "@"); j >= 0 {
			if k := strings.Index(url[i+3:i+3+j], ":"); k >= 0 {
				return url[:i+3+k] + ":***" + url[i+3+j:]
			}
		}
	}
	return url
}

// receivePack opens a push session and reads the remote's refs.
func (r *remote) receivePack(ctx context.Context) (transport.ReceivePackSession, *packp.AdvRefs, error) {
	s, err := r.client.NewReceivePackSession(r.ep, r.auth)
	if err != nil {
		return nil, nil, fmt.Errorf("connect %s: %w", redact(r.url), err)
	}
	ar, err := s.AdvertisedReferencesContext(ctx)
	if err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("list refs of %s: %w", redact(r.url), err)
	}
	return s, ar, nil
}

// RejectedError is a push the remote refused for the ref: someone else
// moved the branch first (or a hook refused it).
type RejectedError struct {
	Ref    string
	Status string
}

// Error implements error.
func (e *RejectedError) Error() string { return "push to " + e.Ref + " rejected: " + e.Status }

// push sends one compare-and-swap update of ref from old (zero: create) to
// new with the pack of new objects. The remote applies it only if ref still
// points at old; never a forced update.
func push(ctx context.Context, s transport.ReceivePackSession, ar *packp.AdvRefs, ref plumbing.ReferenceName, old, new plumbing.Hash, pack []byte) error {
	req := packp.NewReferenceUpdateRequestFromCapabilities(ar.Capabilities)
	req.Commands = []*packp.Command{{Name: ref, Old: old, New: new}}
	req.Packfile = io.NopCloser(bytes.NewReader(pack))
	rs, err := s.ReceivePack(ctx, req)
	if rs != nil {
		for _, c := range rs.CommandStatuses {
			if c.Status != "ok" {
				return &RejectedError{Ref: c.ReferenceName.String(), Status: c.Status}
			}
		}
		if rs.UnpackStatus != "" && rs.UnpackStatus != "ok" {
			return fmt.Errorf("push to %s: remote could not unpack: %s", ref, rs.UnpackStatus)
		}
	}
	if err != nil {
		return fmt.Errorf("push to %s: %w", ref, err)
	}
	return nil
}

// isAuthError tells errors that retrying will not cure.
func isAuthError(err error) bool {
	return errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed)
}
