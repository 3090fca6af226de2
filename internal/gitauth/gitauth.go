// Package gitauth turns a repository's configured credentials into go-git
// auth for its URL, the same way for every stage that talks to the remote.
package gitauth

import (
	"fmt"
	"net"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// Credentials are how hoist authenticates to a git remote.
type Credentials struct {
	// Username and Password are HTTP basic credentials; a token goes in
	// Password (the username is then anything the host accepts, e.g. "git").
	// For SSH, Username overrides the URL's user.
	Username, Password string
	// SSHKeyFile is a private key for ssh:// and user@host:path URLs;
	// SSHKeyPassphrase unlocks it when it is encrypted.
	SSHKeyFile, SSHKeyPassphrase string
	// KnownHostsFile lists the accepted SSH host keys; empty uses
	// $SSH_KNOWN_HOSTS or ~/.ssh/known_hosts. Host keys are always checked.
	KnownHostsFile string
}

// Method picks the auth for the endpoint's protocol: basic auth (or a token
// as password) over HTTP(S), a private key or the SSH agent with known_hosts
// checking over SSH, nothing for file:// and local paths.
func Method(ep *transport.Endpoint, c Credentials) (transport.AuthMethod, error) {
	switch ep.Protocol {
	case "http", "https":
		if c.Username == "" && c.Password == "" {
			return nil, nil
		}
		user := c.Username
		if user == "" {
			user = "git" // hosts that take a token as password ignore the user name
		}
		return &githttp.BasicAuth{Username: user, Password: c.Password}, nil
	case "ssh":
		return sshMethod(ep, c)
	case "file":
		return nil, nil
	default:
		return nil, fmt.Errorf("unsupported protocol %q (use http(s)://, ssh://, user@host:path, file:// or a local path)", ep.Protocol)
	}
}

func sshMethod(ep *transport.Endpoint, c Credentials) (transport.AuthMethod, error) {
	user := ep.User
	if c.Username != "" {
		user = c.Username
	}
	if user == "" {
		user = "git"
	}
	var files []string
	if c.KnownHostsFile != "" {
		files = []string{c.KnownHostsFile}
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
	if c.SSHKeyFile == "" {
		agent, err := gitssh.NewSSHAgentAuth(user)
		if err != nil {
			return nil, fmt.Errorf("ssh: no sshKeyFile configured and no SSH agent: %w", err)
		}
		agent.HostKeyCallbackHelper = helper
		return agent, nil
	}
	keys, err := gitssh.NewPublicKeysFromFile(user, c.SSHKeyFile, c.SSHKeyPassphrase)
	if err != nil {
		return nil, fmt.Errorf("ssh key %s: %w", c.SSHKeyFile, err)
	}
	keys.HostKeyCallbackHelper = helper
	return keys, nil
}
