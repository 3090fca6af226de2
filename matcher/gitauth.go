package matcher

import (
	"fmt"
	"net"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// newAuth picks the credentials for a URL's protocol, the same way the
// committer does: basic auth (or a token as password) over HTTP(S), a
// private key with known_hosts checking over SSH, nothing for local paths.
func newAuth(url string, a Auth) (transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return nil, fmt.Errorf("repository url: %w", err)
	}
	switch ep.Protocol {
	case "http", "https":
		if a.Username == "" && a.Password == "" {
			return nil, nil
		}
		user := a.Username
		if user == "" {
			user = "git"
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
		return nil, fmt.Errorf("unsupported protocol %q", ep.Protocol)
	}
}
