package committer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// Signer signs the encoded commit (without its signature header) and
// returns the armored signature git stores in the commit's gpgsig header.
// It has the shape of go-git's Signer.
type Signer interface {
	Sign(message io.Reader) ([]byte, error)
}

// loadSigner reads a signing key file: an armored OpenPGP private key
// ("-----BEGIN PGP PRIVATE KEY BLOCK-----") or an SSH private key (OpenSSH
// or PEM), unlocked with passphrase when it is encrypted. An empty path
// means no signing (nil, nil).
func loadSigner(path, passphrase string) (Signer, error) {
	if path == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	s, err := parseSigner(raw, passphrase)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return s, nil
}

// parseSigner makes a Signer from the bytes of a key file (see loadSigner).
func parseSigner(raw []byte, passphrase string) (Signer, error) {
	if bytes.Contains(raw, []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----")) {
		return parseOpenPGPSigner(raw, passphrase)
	}
	var key ssh.Signer
	var err error
	if passphrase != "" {
		key, err = ssh.ParsePrivateKeyWithPassphrase(raw, []byte(passphrase))
	} else {
		key, err = ssh.ParsePrivateKey(raw)
	}
	if err != nil {
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, errors.New("the SSH key is encrypted and no passphrase is configured")
		}
		return nil, fmt.Errorf("neither an armored OpenPGP private key nor a usable SSH private key: %w", err)
	}
	return sshSigner{key: key}, nil
}

// openPGPSigner makes detached armored OpenPGP signatures, as `git commit -S`
// with gpg does.
type openPGPSigner struct {
	entity *openpgp.Entity
}

func parseOpenPGPSigner(raw []byte, passphrase string) (Signer, error) {
	ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("read OpenPGP key: %w", err)
	}
	for _, e := range ring {
		if e.PrivateKey == nil {
			continue
		}
		if e.PrivateKey.Encrypted {
			if passphrase == "" {
				return nil, errors.New("the OpenPGP key is encrypted and no passphrase is configured")
			}
			if err := e.DecryptPrivateKeys([]byte(passphrase)); err != nil {
				return nil, fmt.Errorf("unlock OpenPGP key: %w", err)
			}
		}
		return openPGPSigner{entity: e}, nil
	}
	return nil, errors.New("no OpenPGP private key in the file")
}

// Sign implements Signer.
func (s openPGPSigner) Sign(message io.Reader) ([]byte, error) {
	var b bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&b, s.entity, message, nil); err != nil {
		return nil, fmt.Errorf("openpgp sign: %w", err)
	}
	return b.Bytes(), nil
}

// sshSigner makes SSH signatures (the sshsig format, namespace "git"), as
// `git commit -S` with gpg.format=ssh does.
type sshSigner struct {
	key ssh.Signer
}

// Sign implements Signer.
func (s sshSigner) Sign(message io.Reader) ([]byte, error) {
	sig, err := sshsig.Sign(message, s.key, sshsig.HashSHA512, "git")
	if err != nil {
		return nil, fmt.Errorf("ssh sign: %w", err)
	}
	return sshsig.Armor(sig), nil
}
