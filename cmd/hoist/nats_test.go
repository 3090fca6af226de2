package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/bus/bustest"
	"github.com/hoist-gitops/hoist/internal/config"
	"github.com/hoist-gitops/hoist/internal/testenv"
)

// oneReceiver gives a test's hoist.yaml something to do: a file with no
// receivers and no repositories is refused.
const oneReceiver = "receivers: [{name: ci, kind: generic, secret: s3cret}]\n"

// parseConfig parses a test's hoist.yaml and fails on any problem.
func parseConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, problems := config.Parse("hoist.yaml", []byte(yaml), config.AllStages)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	return cfg
}

// Item "NATS authentication": every method an external NATS may require,
// configured the way a deployment does, each secret from a file.
func TestNATSAuthenticationFromConfig(t *testing.T) {
	pki := bustest.NewPKI(t)
	nkeyWith, seedFile := bustest.NkeyUser(t)
	jwtWith, credsFile := bustest.OperatorMode(t)
	for _, tc := range []struct {
		name string
		with func(*server.Options)
		nats string // the nats section's keys besides url
	}{
		{"user and passwordFile", func(o *server.Options) {
			o.Users = []*server.User{{Username: "hoist", Password: "pa55-word"}}
		}, fmt.Sprintf("user: hoist\n  passwordFile: %s", bustest.WriteFile(t, "password", []byte("pa55-word\n")))},
		{"tokenFile", func(o *server.Options) { o.Authorization = "t0ken-value" },
			fmt.Sprintf("tokenFile: %s", bustest.WriteFile(t, "token", []byte("t0ken-value\n")))},
		{"nkeySeedFile", nkeyWith, "nkeySeedFile: " + seedFile},
		{"credsFile", jwtWith, "credsFile: " + credsFile},
		{"mutual TLS", pki.RequireMutualTLS,
			fmt.Sprintf("tls: {caFile: %s, certFile: %s, keyFile: %s}", pki.CAFile, pki.CertFile, pki.KeyFile)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := bustest.StartWith(t, tc.with)
			cfg := parseConfig(t, fmt.Sprintf("nats:\n  url: %s\n  %s\n%s", s.ClientURL(), tc.nats, oneReceiver))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var lastErr error
			conn, _, err := connectBus(ctx, "ingest", stages{ingest: true}, cfg, zerolog.Nop(),
				func(err error, _ time.Duration) { lastErr = err; cancel() })
			if err != nil {
				t.Fatalf("%v (attempt: %v)", err, lastErr)
			}
			defer conn.Close()
			if err := conn.Ready(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Item "stages exit when NATS is not there yet": a stage started before
// NATS stays up, says on /readyz that it waits for NATS, answers webhooks
// 503 (registries retry) and becomes ready once NATS is there.
func TestStagesWaitForNATS(t *testing.T) {
	natsAddr := testenv.FreeAddr(t)
	_, port, _ := net.SplitHostPort(natsAddr)
	h := startServe(t, serveOpts{nats: fmt.Sprintf(`{url: "nats://hoist:s3cret@%s"}`, natsAddr), name: "ingest",
		stages: &stages{ingest: true}, notReady: true})
	base := h.base
	testenv.Eventually(t, "/readyz saying it waits for NATS", func() bool {
		code, body := httpGet(base + "/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "nats: connecting since ") &&
			strings.Contains(body, "last attempt")
	})
	if code, _ := httpGet(base + "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz = %d while waiting for NATS", code)
	}
	resp, err := http.Post(base+"/hooks/ci", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a webhook while waiting for NATS: %d, want 503", resp.StatusCode)
	}
	p, _ := strconv.Atoi(port)
	bustest.StartWith(t, func(o *server.Options) {
		o.Port = p
		o.Users = []*server.User{{Username: "hoist", Password: "s3cret"}}
	})
	testenv.Eventually(t, "/readyz", func() bool { code, _ := httpGet(base + "/readyz"); return code == http.StatusOK })
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.logs.String(), "cannot connect to NATS yet") {
		t.Errorf("no log line for a failed attempt:\n%s", h.logs.String())
	}
	if strings.Contains(h.logs.String(), "s3cret@") {
		t.Errorf("the NATS password is in the log:\n%s", h.logs.String())
	}
}

// Item "NATS that lost its data is never recovered from": hoist serve
// keeps carrying pushes to commits after its streams, bucket and consumers
// are deleted under it.
func TestRecoverWhenNATSLostItsData(t *testing.T) {
	dir := t.TempDir()
	natsAddr := testenv.FreeAddr(t) // the embedded NATS server must be given an address
	h := startServe(t, serveOpts{files: map[string]string{"apps/app.yaml": serveRelease},
		nats: fmt.Sprintf(`{dataDir: %s/nats, listen: "%s"}`, dir, natsAddr)})
	h.mustPush(t, "127.0.0.1:5000/team/app:1.2.4")
	first := h.waitCommit(t, h.seed)

	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
	defer dcancel()
	for _, s := range []string{bus.PushStream, bus.RewriteStream, "KV_" + bus.TagTimesBucket} {
		if err := js.DeleteStream(dctx, s); err != nil {
			t.Fatalf("delete %s: %v", s, err)
		}
	}
	// The registry retries until hoist stores the push again.
	testenv.Eventually(t, "the webhook accepted again", func() bool { return h.push("127.0.0.1:5000/team/app:1.2.5") == http.StatusAccepted })
	h.waitCommit(t, first)
	if got := h.repo.Show(t, "main", "apps/app.yaml"); !strings.Contains(got, "tag: 1.2.5\n") {
		t.Fatalf("apps/app.yaml after the second commit:\n%s", got)
	}
	testenv.Eventually(t, "/readyz", func() bool { code, _ := h.get("/readyz"); return code == 200 })
}

// Item "NATS authentication": the permissions docs/operations.md lists for
// hoist's NATS user are enough for a push to travel from webhook to commit.
func TestNATSDocumentedPermissionsSuffice(t *testing.T) {
	s := bustest.StartWith(t, func(o *server.Options) {
		o.Users = []*server.User{{Username: "hoist", Password: "pa55-word", Permissions: &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: []string{"hoist.>", "$JS.API.>", "$JS.ACK.>", "$KV.hoist_tag_times.>", "$KV.hoist_holds.>", "$KV.hoist_scan.>"}},
			Subscribe: &server.SubjectPermission{Allow: []string{"hoist.head.>", "_INBOX.>"}},
		}}}
	})
	h := startServe(t, serveOpts{files: map[string]string{"apps/app.yaml": serveRelease},
		nats: fmt.Sprintf(`{url: "%s", user: hoist, password: pa55-word}`, s.ClientURL()), stages: &stages{ingest: true, match: true, commit: true}})
	h.mustPush(t, "127.0.0.1:5000/team/app:1.2.4")
	h.waitCommit(t, h.seed)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(h.logs.String()), "permissions violation") {
		t.Errorf("permissions violation in the log:\n%s", h.logs.String())
	}
}

// Item "secrets in URLs": `hoist config check` names the NATS servers
// without the password or token a URL carries.
func TestNATSURLSecretsRedacted(t *testing.T) {
	p := t.TempDir() + "/hoist.yaml"
	writeFile(t, p, "nats: {url: \"nats://hoist:pa55-word@nats-a:4222,nats://s3cret-t0ken@nats-b:4222\"}\n"+oneReceiver)
	code, out, errOut := runHoist(t, "config", "check", "--config", p)
	if code != 0 {
		t.Fatalf("config check: exit %d, %s%s", code, out, errOut)
	}
	for _, secret := range []string{"pa55-word", "s3cret-t0ken"} {
		if strings.Contains(out+errOut, secret) {
			t.Errorf("config check prints %s: %s%s", secret, out, errOut)
		}
	}
	if !strings.Contains(out, "nats-a:4222") || !strings.Contains(out, "nats-b:4222") {
		t.Errorf("config check does not name the servers: %s", out)
	}
}
