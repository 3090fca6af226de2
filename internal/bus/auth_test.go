package bus_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/bus/bustest"
	"github.com/hoist-gitops/hoist/internal/redact"
	"github.com/hoist-gitops/hoist/internal/testenv"
)

// connectWith connects hoist's way and checks that the streams are there
// and Ready holds.
func connectWith(t *testing.T, url string, auth bus.Auth) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := bus.Connect(ctx, bus.Options{URL: url, Name: t.Name(), Replicas: 1, Auth: auth,
		OnRetry: func(err error, _ time.Duration) { t.Errorf("attempt failed: %v", err); cancel() }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Ready(ctx); err != nil {
		t.Fatalf("not ready: %v", err)
	}
	if _, err := c.JS.Stream(ctx, bus.PushStream); err != nil {
		t.Fatalf("streams not ensured: %v", err)
	}
}

// refused checks that the server turns away a client with no credentials,
// so a passing connectWith proves the method works.
func refused(t *testing.T, url string, opts ...nats.Option) {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err == nil {
		nc.Close()
		t.Fatal("the server accepts a client without credentials")
	}
}

// Item "NATS authentication": each method an external NATS may require.
func TestNATSAuthentication(t *testing.T) {
	t.Run("user and password", func(t *testing.T) {
		s := bustest.StartWith(t, func(o *server.Options) {
			o.Users = []*server.User{{Username: "hoist", Password: "pa55-word"}}
		})
		refused(t, s.ClientURL())
		connectWith(t, s.ClientURL(), bus.Auth{User: "hoist", Password: "pa55-word"})
	})
	t.Run("token", func(t *testing.T) {
		s := bustest.StartWith(t, func(o *server.Options) { o.Authorization = "t0ken-value" })
		refused(t, s.ClientURL())
		connectWith(t, s.ClientURL(), bus.Auth{Token: "t0ken-value"})
	})
	t.Run("nkey seed file", func(t *testing.T) {
		with, seedFile := bustest.NkeyUser(t)
		s := bustest.StartWith(t, with)
		refused(t, s.ClientURL())
		connectWith(t, s.ClientURL(), bus.Auth{NkeySeedFile: seedFile})
	})
	t.Run("creds file", func(t *testing.T) {
		with, credsFile := bustest.OperatorMode(t)
		s := bustest.StartWith(t, with)
		refused(t, s.ClientURL())
		connectWith(t, s.ClientURL(), bus.Auth{CredsFile: credsFile})
	})
	t.Run("mutual TLS", func(t *testing.T) {
		pki := bustest.NewPKI(t)
		s := bustest.StartWith(t, pki.RequireMutualTLS)
		// Trusting the server is not enough: the server wants hoist's certificate.
		refused(t, s.ClientURL(), nats.RootCAs(pki.CAFile))
		connectWith(t, s.ClientURL(), bus.Auth{TLS: bus.TLS{CAFile: pki.CAFile, CertFile: pki.CertFile, KeyFile: pki.KeyFile}})
	})
}

// Item "NATS authentication": a wrong password is a clear error, in the
// log of each attempt and in what Connect returns, without the password.
func TestNATSWrongPasswordIsClear(t *testing.T) {
	s := bustest.StartWith(t, func(o *server.Options) {
		o.Users = []*server.User{{Username: "hoist", Password: "right-pa55"}}
	})
	logs := &testenv.LogBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := bus.Connect(ctx, bus.Options{URL: s.ClientURL(), Name: t.Name(), Auth: bus.Auth{User: "hoist", Password: "wr0ng-pa55"},
		Log: zerolog.New(logs), OnRetry: func(error, time.Duration) { cancel() }})
	if err == nil {
		t.Fatal("connected with a wrong password")
	}
	for what, text := range map[string]string{"error": err.Error(), "log": logs.String()} {
		if !strings.Contains(strings.ToLower(text), "authorization violation") {
			t.Errorf("%s does not say why: %s", what, text)
		}
		if strings.Contains(text, "wr0ng-pa55") {
			t.Errorf("%s holds the password: %s", what, text)
		}
	}
}

// Item "secrets in URLs": every URL of a server list is redacted in errors
// and logs, passwords and tokens alike.
func TestNATSURLSecretsRedacted(t *testing.T) {
	s := bustest.StartWith(t, func(o *server.Options) {
		o.Users = []*server.User{{Username: "hoist", Password: "right-pa55"}}
	})
	hostPort := "127.0.0.1:" + strconv.Itoa(s.Addr().(*net.TCPAddr).Port)
	url := "nats://hoist:wr0ng-pa55@" + hostPort + ", nats://s3cret-t0ken@" + hostPort
	logs := &testenv.LogBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := bus.Connect(ctx, bus.Options{URL: url, Name: t.Name(), Log: zerolog.New(logs),
		OnRetry: func(error, time.Duration) { cancel() }})
	if err == nil {
		t.Fatal("connected with a wrong password")
	}
	for what, text := range map[string]string{"error": err.Error(), "log": logs.String()} {
		for _, secret := range []string{"wr0ng-pa55", "s3cret-t0ken"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds %s: %s", what, secret, text)
			}
		}
		if !strings.Contains(text, hostPort) {
			t.Errorf("%s does not name the server: %s", what, text)
		}
	}
	for in, want := range map[string]string{
		"nats://a:b@h:4222,nats://h2:4222": "nats://a:xxxxx@h:4222,nats://h2:4222",
		"nats://tok@h:4222":                "nats://xxxxx@h:4222",
		"tls://h:4222":                     "tls://h:4222",
	} {
		if got := redact.URL(in); got != want {
			t.Errorf("redact.URL(%q) = %q, want %q", in, got, want)
		}
	}
}

// Item "NATS authentication": settings that cannot work are refused with
// what is wrong, before any connection attempt.
func TestNATSAuthOptionsRefuseMistakes(t *testing.T) {
	for _, tc := range []struct {
		auth bus.Auth
		want string
	}{
		{bus.Auth{User: "u", Password: "p", Token: "t"}, "only one of"},
		{bus.Auth{Token: "t", CredsFile: "x.creds"}, "only one of"},
		{bus.Auth{Password: "p"}, "needs a user"},
		{bus.Auth{TLS: bus.TLS{CertFile: "c.pem"}}, "go together"},
		{bus.Auth{NkeySeedFile: "/nonexistent/user.nk"}, "/nonexistent/user.nk"},
	} {
		_, err := tc.auth.NATSOptions()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error with %q", tc.auth, err, tc.want)
		}
	}
}
