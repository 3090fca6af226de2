package committer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
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
	auth, err := newAuth(ep, a)
	if err != nil {
		return nil, err
	}
	c, err := client.NewClient(ep)
	if err != nil {
		return nil, fmt.Errorf("repository url %s: %w", redact(url), err)
	}
	return &remote{url: url, ep: ep, client: c, auth: auth}, nil
}

// newAuth picks the credentials for the endpoint's protocol: basic auth
// (or a token as password) over HTTP(S), a private key with known_hosts
// checking over SSH, nothing for file:// and local paths.
func newAuth(ep *transport.Endpoint, a Auth) (transport.AuthMethod, error) {
	switch ep.Protocol {
	case "http", "https":
		if a.Username == "" && a.Password == "" {
			return nil, nil
		}
		user := a.Username
		if user == "" {
			user = "git" // hosts that take a token as password ignore the user name
		}
		return &githttp.BasicAuth{Username: user, Password: a.Password}, nil
	case "ssh":
		user := ep.User
		if a.Username != "" {
			user = a.Username
		}
		if user == "" {
			user = "git"
		}
		var files []string
		if a.KnownHostsFile != "" {
			files = []string{a.KnownHostsFile}
		}
		db, err := gitssh.NewKnownHostsDb(files...)
		if err != nil {
			return nil, fmt.Errorf("known_hosts: %w", err)
		}
		port := ep.Port
		if port == 0 {
			port = 22
		}
		helper := gitssh.HostKeyCallbackHelper{
			HostKeyCallback:   db.HostKeyCallback(),
			HostKeyAlgorithms: db.HostKeyAlgorithms(net.JoinHostPort(ep.Host, strconv.Itoa(port))),
		}
		if a.SSHKeyFile == "" {
			agent, err := gitssh.NewSSHAgentAuth(user)
			if err != nil {
				return nil, fmt.Errorf("ssh: no sshKeyFile configured and no SSH agent: %w", err)
			}
			agent.HostKeyCallbackHelper = helper
			return agent, nil
		}
		keys, err := gitssh.NewPublicKeysFromFile(user, a.SSHKeyFile, a.SSHKeyPassphrase)
		if err != nil {
			return nil, fmt.Errorf("ssh key %s: %w", a.SSHKeyFile, err)
		}
		keys.HostKeyCallbackHelper = helper
		return keys, nil
	case "file":
		return nil, nil
	default:
		return nil, fmt.Errorf("unsupported protocol %q (use http(s)://, ssh://, user@host:path, file:// or a local path)", ep.Protocol)
	}
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
