package committer

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testgit"
	"golang.org/x/crypto/ssh"
)

// needTool finds a program the signature checks need: missing, the test
// fails under CI and is skipped elsewhere.
func needTool(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed (Debian package %s)", name, pkg)
		}
		t.Skipf("%s not installed (Debian package %s)", name, pkg)
	}
}

// openPGPKey makes an OpenPGP key pair; the private key armored (encrypted
// with passphrase unless empty), the public key armored.
func openPGPKey(t *testing.T, passphrase string) (private, public []byte, fingerprint string) {
	t.Helper()
	e, err := openpgp.NewEntity("Hoist Signer", "", "hoist@localhost", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var pub bytes.Buffer
	w, _ := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var priv bytes.Buffer
	w, _ = armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	if err := e.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if passphrase != "" {
		if err := e.EncryptPrivateKeys([]byte(passphrase), nil); err != nil {
			t.Fatal(err)
		}
		priv.Reset()
		w, _ = armor.Encode(&priv, openpgp.PrivateKeyType, nil)
		if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	return priv.Bytes(), pub.Bytes(), fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)
}

// sshKey makes an ed25519 key: the OpenSSH private key (encrypted with
// passphrase unless empty) and the authorized_keys line of its public key.
func sshKey(t *testing.T, passphrase string) (private []byte, public string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "hoist")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "hoist", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp)))
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseSignerPassphrases(t *testing.T) {
	pgp, _, _ := openPGPKey(t, "open sesame")
	key, _ := sshKey(t, "open sesame")
	for name, raw := range map[string][]byte{"openpgp": pgp, "ssh": key} {
		if _, err := parseSigner(raw, ""); err == nil || !strings.Contains(err.Error(), "passphrase") {
			t.Errorf("%s: encrypted key without passphrase: %v, want a passphrase error", name, err)
		}
		if _, err := parseSigner(raw, "wrong"); err == nil {
			t.Errorf("%s: wrong passphrase accepted", name)
		}
		s, err := parseSigner(raw, "open sesame")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if sig, err := s.Sign(strings.NewReader("tree 0\n")); err != nil || !bytes.Contains(sig, []byte("-----BEGIN")) {
			t.Errorf("%s: signature %q, %v", name, sig, err)
		}
	}
	if _, err := parseSigner([]byte("not a key"), ""); err == nil {
		t.Error("garbage accepted as a key")
	}
}

// signedCommit lands one signed commit with the key file and returns the
// repository and the commit.
func signedCommit(t *testing.T, keyFile, passphrase string) (*testgit.Repo, string) {
	t.Helper()
	r := testgit.NewLocalRepo(t)
	seedApps(t, r, 1)
	w := newTestWriter(t, Repo{URL: r.URL, Commit: Commit{SigningKeyFile: keyFile, SigningKeyPassphrase: passphrase}})
	res, err := w.commit(context.Background(), []bus.Rewrite{appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-1")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Fsck(t)
	return r, res.Commit.String()
}

func TestSignedCommitsVerifyWithGit(t *testing.T) {
	t.Run("openpgp", func(t *testing.T) {
		needTool(t, "gpg", "gnupg")
		priv, pub, fpr := openPGPKey(t, "s3cret")
		r, commit := signedCommit(t, writeFile(t, "key.asc", priv), "s3cret")

		home, err := os.MkdirTemp("", "gpg") // short: gpg's sockets live here
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(home) })
		gpg := func(stdin []byte, args ...string) {
			cmd := exec.Command("gpg", append([]string{"--batch", "--quiet"}, args...)...)
			cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
			cmd.Stdin = bytes.NewReader(stdin)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("gpg %v: %v\n%s", args, err, out)
			}
		}
		gpg(pub, "--import")
		gpg([]byte(fpr+":6:\n"), "--import-ownertrust")
		verify := testgit.Command(r.Dir, "verify-commit", "--verbose", commit)
		verify.Env = append(verify.Env, "GNUPGHOME="+home)
		out, err := verify.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Good signature") {
			t.Fatalf("git verify-commit: %v\n%s", err, out)
		}
		t.Cleanup(func() { exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run() })
	})
	t.Run("ssh", func(t *testing.T) {
		needTool(t, "ssh-keygen", "openssh-client")
		priv, pub := sshKey(t, "")
		r, commit := signedCommit(t, writeFile(t, "id_ed25519", priv), "")
		allowed := writeFile(t, "allowed_signers", []byte(`hoist@localhost namespaces="git" `+pub+"\n"))
		verify := testgit.Command(r.Dir, "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile="+allowed, "verify-commit", "--verbose", commit)
		out, err := verify.CombinedOutput()
		if err != nil || !strings.Contains(string(out), `Good "git" signature for hoist@localhost`) {
			t.Fatalf("git verify-commit: %v\n%s", err, out)
		}
		// Another key in the allowed signers: the signature must not verify.
		_, otherPub := sshKey(t, "")
		other := writeFile(t, "other_signers", []byte(`hoist@localhost namespaces="git" `+otherPub+"\n"))
		bad := testgit.Command(r.Dir, "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile="+other, "verify-commit", commit)
		if out, err := bad.CombinedOutput(); err == nil {
			t.Fatalf("verify-commit accepted the signature against another key:\n%s", out)
		}
	})
}
