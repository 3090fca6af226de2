package testgit

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHServer serves the bare repositories under Root over SSH on 127.0.0.1:
// it accepts one client key and runs git-upload-pack / git-receive-pack for
// "exec" requests, like a git hosting service's SSH endpoint.
type SSHServer struct {
	// Addr is "127.0.0.1:<port>".
	Addr string
	// Root holds the bare repositories, one "<name>.git" folder each.
	Root string
	// ClientKeyFile is an OpenSSH private key the server accepts.
	ClientKeyFile string
	// KnownHostsFile lists the server's host key for Addr.
	KnownHostsFile string
	// HostKey is the server's public host key.
	HostKey ssh.PublicKey

	wg sync.WaitGroup
}

// NewSSHServer starts an SSH git server over the repositories in root for
// the duration of the test.
func NewSSHServer(t testing.TB, root string) *SSHServer {
	t.Helper()
	skipShort(t)
	dir := t.TempDir()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	clientPub, clientPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	authorized, err := ssh.NewPublicKey(clientPub)
	if err != nil {
		t.Fatal(err)
	}
	s := &SSHServer{Root: root, HostKey: hostSigner.PublicKey()}
	s.ClientKeyFile = filepath.Join(dir, "id_ed25519")
	block, err := ssh.MarshalPrivateKey(clientPriv, "hoist test client")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.ClientKeyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) == string(authorized.Marshal()) {
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("unknown public key")
		},
	}
	cfg.AddHostKey(hostSigner)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	s.KnownHostsFile = filepath.Join(dir, "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, s.HostKey) + "\n"
	if err := os.WriteFile(s.KnownHostsFile, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serveConn(c, cfg)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// URL is the ssh:// URL of repository name on this server.
func (s *SSHServer) URL(name string) string {
	return "ssh://git@" + s.Addr + "/" + name + ".git"
}

func (s *SSHServer) serveConn(c net.Conn, cfg *ssh.ServerConfig) {
	defer c.Close()
	conn, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveSession(ch, chReqs)
		}()
	}
	wg.Wait()
}

// serveSession runs the one git command an "exec" request names.
func (s *SSHServer) serveSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			req.Reply(req.Type == "env", nil)
			continue
		}
		var payload struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
			req.Reply(false, nil)
			return
		}
		cmd, err := s.gitCommand(payload.Command)
		if err != nil {
			req.Reply(false, nil)
			fmt.Fprintln(ch.Stderr(), err)
			return
		}
		req.Reply(true, nil)
		go ssh.DiscardRequests(reqs)
		cmd.Stdout = ch
		cmd.Stderr = ch.Stderr()
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return
		}
		status := uint32(0)
		err = cmd.Start()
		if err == nil {
			// The client may keep its side open after the command is done,
			// so the copy is not waited for: it ends when the channel closes.
			go func() {
				io.Copy(stdin, ch)
				stdin.Close()
			}()
			err = cmd.Wait()
		}
		if err != nil {
			status = 1
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				status = uint32(ee.ExitCode())
			}
		}
		ch.CloseWrite()
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], status)
		ch.SendRequest("exit-status", false, b[:])
		return
	}
}

// gitCommand maps "git-upload-pack '/name.git'" to the git binary run on a
// repository under Root.
func (s *SSHServer) gitCommand(line string) (*exec.Cmd, error) {
	service, arg, ok := strings.Cut(line, " ")
	if !ok || (service != "git-upload-pack" && service != "git-receive-pack") {
		return nil, fmt.Errorf("unsupported command %q", line)
	}
	p := strings.TrimPrefix(strings.Trim(arg, "'"), "/")
	clean := filepath.Clean(filepath.FromSlash(p))
	if p == "" || clean == "." || strings.HasPrefix(clean, "..") || filepath.IsAbs(clean) {
		return nil, fmt.Errorf("bad repository path %q", arg)
	}
	return Command(s.Root, strings.TrimPrefix(service, "git-"), filepath.Join(s.Root, clean)), nil
}
