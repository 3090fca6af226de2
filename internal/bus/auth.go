package bus

import (
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
)

// Auth is how hoist proves who it is to an external NATS server. At most
// one of user/password, token, creds file and nkey seed file is used; TLS
// combines with any of them (or alone, as mutual TLS). Secrets read from
// files are expected to be read by the caller into Password and Token.
type Auth struct {
	// User and Password authenticate with a user name and password.
	User, Password string
	// Token authenticates with a bearer token.
	Token string
	// CredsFile is a NATS .creds file: a user JWT and its nkey seed.
	CredsFile string
	// NkeySeedFile holds a user nkey seed (SU...), signing the server's nonce.
	NkeySeedFile string
	// TLS verifies the server and, with a certificate, authenticates hoist.
	TLS TLS
}

// TLS names the files of a TLS connection to NATS.
type TLS struct {
	// CAFile holds the CA certificates the server's certificate must chain to.
	CAFile string
	// CertFile and KeyFile are hoist's client certificate and key (mutual TLS).
	CertFile, KeyFile string
}

// NATSOptions turns a into nats.go connect options. Files are read now, so
// a missing or malformed file is reported at start, with its path and
// never its content.
func (a Auth) NATSOptions() ([]nats.Option, error) {
	n := 0
	for _, set := range []bool{a.User != "" || a.Password != "", a.Token != "", a.CredsFile != "", a.NkeySeedFile != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, errors.New("nats auth: use only one of user/password, token, credsFile and nkeySeedFile")
	}
	var opts []nats.Option
	switch {
	case a.User != "" || a.Password != "":
		if a.User == "" {
			return nil, errors.New("nats auth: a password needs a user")
		}
		opts = append(opts, nats.UserInfo(a.User, a.Password))
	case a.Token != "":
		opts = append(opts, nats.Token(a.Token))
	case a.CredsFile != "":
		opts = append(opts, nats.UserCredentials(a.CredsFile))
	case a.NkeySeedFile != "":
		o, err := nats.NkeyOptionFromSeed(a.NkeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("nats nkey seed file %s: %w", a.NkeySeedFile, err)
		}
		opts = append(opts, o)
	}
	t := a.TLS
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("nats tls: certFile and keyFile go together")
	}
	if t.CAFile != "" {
		opts = append(opts, nats.RootCAs(t.CAFile))
	}
	if t.CertFile != "" {
		opts = append(opts, nats.ClientCert(t.CertFile, t.KeyFile))
	}
	return opts, nil
}
