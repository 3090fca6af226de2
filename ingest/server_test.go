package ingest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/bus/bustest"
	"github.com/hoist-gitops/hoist/internal/testenv"
)

const testSecret = "s3cret"

// hmacHex is the hex HMAC-SHA256 of body keyed with key.
func hmacHex(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// hdr builds a header from pairs.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// oneReceiverPerKind configures a receiver named after each kind, with testSecret.
func oneReceiverPerKind() Config {
	var cfg Config
	for _, k := range Kinds() {
		r := Receiver{Name: k, Kind: Kind(k), Secret: testSecret, SecretSet: true}
		if r.Kind == KindNexus {
			r.Host = "container.example.com"
		}
		cfg.Receivers = append(cfg.Receivers, r)
	}
	return cfg
}

func TestAuthentication(t *testing.T) {
	ts := newTestServer(t, oneReceiverPerKind())
	dist := readFixture(t, "webhooks/distribution-captured-tag-push.json")
	harbor := readFixture(t, "webhooks/harbor-v2-push-artifact-kobold.json")
	jfrog := readFixture(t, "webhooks/jfrog-docker-pushed-multiarch-keel.json")
	gh := readFixture(t, "webhooks/ghcr-package-published-multiarch-homelab.json")
	gitea := readFixture(t, "synthetic/gitea-package-created-container.json")
	hub := readFixture(t, "webhooks/dockerhub-push-docs-kobold.json")
	quay := readFixture(t, "webhooks/quay-repo-push-fluxrecv.json")
	gcr := readFixture(t, "webhooks/gcr-pubsub-push-envelope-fluxrecv.json")
	ecr := readFixture(t, "webhooks/ecr-eventbridge-push-docs.json")
	acr := readFixture(t, "webhooks/acr-push-docs.json")
	ce := readFixture(t, "synthetic/cloudevents-structured-oci.json")
	gen := readFixture(t, "synthetic/generic-image-tag-digest.json")
	basic := "Basic " + "aG9pc3Q6czNjcmV0" // hoist:s3cret
	json := "application/json"
	distCT := "application/vnd.docker.distribution.events.v1+json"
	cases := []struct {
		name   string
		path   string
		body   []byte
		header http.Header
		want   int
	}{
		{"distribution bearer", "/hooks/distribution", dist, hdr("Content-Type", distCT, "Authorization", "Bearer s3cret"), 202},
		{"distribution bare", "/hooks/distribution", dist, hdr("Content-Type", distCT, "Authorization", "s3cret"), 202},
		{"distribution basic", "/hooks/distribution", dist, hdr("Content-Type", distCT, "Authorization", basic), 202},
		{"distribution wrong", "/hooks/distribution", dist, hdr("Content-Type", distCT, "Authorization", "Bearer s3cre"), 401},
		{"distribution missing", "/hooks/distribution", dist, hdr("Content-Type", distCT), 401},
		{"distribution path secret is not a route", "/hooks/distribution/s3cret", dist, hdr("Content-Type", distCT), 404},
		{"acr", "/hooks/acr", acr, hdr("Content-Type", json, "Authorization", "s3cret"), 202},
		{"ecr basic", "/hooks/ecr", ecr, hdr("Content-Type", json, "Authorization", basic), 202},
		{"ecr wrong basic", "/hooks/ecr", ecr, hdr("Content-Type", json, "Authorization", "Basic aG9pc3Q6eA=="), 401},
		{"cloudevents", "/hooks/cloudevents", ce, hdr("Content-Type", "application/cloudevents+json", "Authorization", "Bearer s3cret"), 202},
		{"harbor whole value", "/hooks/harbor", harbor, hdr("Content-Type", json, "Authorization", "s3cret"), 202},
		{"harbor bearer is not the value", "/hooks/harbor", harbor, hdr("Content-Type", json, "Authorization", "Bearer s3cret"), 401},
		{"jfrog secret", "/hooks/jfrog", jfrog, hdr("Content-Type", json, "X-JFrog-Event-Auth", "s3cret"), 202},
		{"jfrog signature", "/hooks/jfrog", jfrog, hdr("Content-Type", json, "X-JFrog-Event-Auth", hmacHex(testSecret, jfrog)), 202},
		{"jfrog wrong", "/hooks/jfrog", jfrog, hdr("Content-Type", json, "X-JFrog-Event-Auth", "nope"), 401},
		{"github signature", "/hooks/github", gh, hdr("Content-Type", json, "X-GitHub-Event", "package", "X-Hub-Signature-256", "sha256="+hmacHex(testSecret, gh)), 202},
		{"github signature of other body", "/hooks/github", gh, hdr("Content-Type", json, "X-GitHub-Event", "package", "X-Hub-Signature-256", "sha256="+hmacHex(testSecret, hub)), 401},
		{"github no prefix", "/hooks/github", gh, hdr("Content-Type", json, "X-GitHub-Event", "package", "X-Hub-Signature-256", hmacHex(testSecret, gh)), 401},
		{"github secret as header", "/hooks/github", gh, hdr("Content-Type", json, "X-GitHub-Event", "package", "Authorization", "s3cret"), 401},
		{"gitea signature", "/hooks/gitea", gitea, hdr("Content-Type", json, "X-Gitea-Event", "package", "X-Gitea-Signature", hmacHex(testSecret, gitea)), 202},
		{"forgejo signature", "/hooks/gitea", gitea, hdr("Content-Type", json, "X-Forgejo-Event", "package", "X-Forgejo-Signature", hmacHex(testSecret, gitea)), 202},
		{"gitea wrong key", "/hooks/gitea", gitea, hdr("Content-Type", json, "X-Gitea-Event", "package", "X-Gitea-Signature", hmacHex("other", gitea)), 401},
		{"dockerhub path", "/hooks/dockerhub/s3cret", hub, hdr("Content-Type", json), 202},
		{"dockerhub no path secret", "/hooks/dockerhub", hub, hdr("Content-Type", json, "Authorization", "s3cret"), 401},
		{"dockerhub wrong path secret", "/hooks/dockerhub/s3cre", hub, hdr("Content-Type", json), 401},
		{"quay path", "/hooks/quay/s3cret", quay, hdr("Content-Type", json), 202},
		{"gcr path", "/hooks/gcr/s3cret", gcr, hdr("Content-Type", json), 202},
		{"gcr header", "/hooks/gcr", gcr, hdr("Content-Type", json, "Authorization", "Bearer s3cret"), 202},
		{"gcr wrong", "/hooks/gcr/x", gcr, hdr("Content-Type", json, "Authorization", "Bearer s3cret"), 401},
		{"generic header", "/hooks/generic", gen, hdr("Content-Type", json, "Authorization", "Bearer s3cret"), 202},
		{"generic signature", "/hooks/generic", gen, hdr("Content-Type", json, "X-Hub-Signature-256", "sha256="+hmacHex(testSecret, gen)), 202},
		{"generic bad signature beats good header", "/hooks/generic", gen, hdr("Content-Type", json, "Authorization", "s3cret", "X-Hub-Signature-256", "sha256=00"), 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, r := ts.post(t, c.path, c.body, c.header)
			if status != c.want {
				t.Fatalf("status %d (%+v), want %d", status, r, c.want)
			}
			if status == 401 && (r.Outcome != outcomeUnauthorized || r.Events != 0) {
				t.Errorf("401 answer %+v", r)
			}
		})
	}
}

// The Nexus fixture's signature was made with the test key of flux-recv, so
// the real bytes prove the HMAC-SHA1 check.
func TestNexusRealSignature(t *testing.T) {
	cfg := Config{Receivers: []Receiver{{Name: "nexus", Kind: KindNexus, Secret: "gk0qp4u98xy0vntojv81i8zcjr4zw7xd6c4ugzad", SecretSet: true, Host: "container.example.com"}}}
	ts := newTestServer(t, cfg)
	body := readFixture(t, "webhooks/nexus-component-created-docker-fluxrecv.json")
	h := hdr("Content-Type", "application/json", "X-Nexus-Webhook-Id", "rm:repository:component",
		"X-Nexus-Webhook-Delivery", "bd9e6aef-0e27-4570-980d-f639c49ab5ed",
		"X-Nexus-Webhook-Signature", "d06eea380d4631e8c1180b689d10d9ba83ab68f6")
	tampered := bytes.Replace(body, []byte(`"3.4"`), []byte(`"3.5"`), 1)
	if status, r := ts.post(t, "/hooks/nexus", tampered, h); status != 401 {
		t.Fatalf("tampered body: %d %+v, want 401", status, r)
	}
	status, r := ts.post(t, "/hooks/nexus", body, h)
	if status != 202 || r.Events != 1 {
		t.Fatalf("signed fixture: %d %+v, want 202 with 1 event", status, r)
	}
	evs, _ := storedEvents(t, ts.js)
	if len(evs) != 1 || evs[0].Registry != "container.example.com" || evs[0].Repository != "app1/alpine" || evs[0].Tag != "3.4" ||
		evs[0].DeliveryID != "bd9e6aef-0e27-4570-980d-f639c49ab5ed" {
		t.Fatalf("stored %+v", evs)
	}
}

func TestStatusCodes(t *testing.T) {
	cfg := Config{BodyLimit: 4096, Receivers: []Receiver{
		{Name: "reg", Kind: KindDistribution, Secret: testSecret, SecretSet: true},
		{Name: "slow", Kind: KindGeneric, Secret: testSecret, SecretSet: true, RateLimit: 0.001, RateBurst: 1},
	}}
	ts := newTestServer(t, cfg)
	auth := "Bearer " + testSecret
	ct := "application/vnd.docker.distribution.events.v2+json"
	push := readFixture(t, "webhooks/distribution-captured-tag-push.json")
	big := append(bytes.Repeat([]byte(" "), 5000), push...)
	gen := readFixture(t, "synthetic/generic-image-tag-digest.json")
	cases := []struct {
		name    string
		method  string
		path    string
		body    []byte
		header  http.Header
		chunked bool
		want    int
		outcome outcome
	}{
		{"unknown receiver", "POST", "/hooks/nope", push, hdr("Content-Type", ct, "Authorization", auth), false, 404, outcomeUnknownReceiver},
		{"GET", "GET", "/hooks/reg", nil, hdr("Authorization", auth), false, 405, outcomeMethod},
		{"text/plain", "POST", "/hooks/reg", push, hdr("Content-Type", "text/plain", "Authorization", auth), false, 415, outcomeMediaType},
		{"no content type", "POST", "/hooks/reg", push, hdr("Authorization", auth), false, 415, outcomeMediaType},
		{"form", "POST", "/hooks/reg", push, hdr("Content-Type", "application/x-www-form-urlencoded", "Authorization", auth), false, 415, outcomeMediaType},
		{"too large", "POST", "/hooks/reg", big, hdr("Content-Type", ct, "Authorization", auth), false, 413, outcomeTooLarge},
		{"too large chunked", "POST", "/hooks/reg", big, hdr("Content-Type", ct, "Authorization", auth), true, 413, outcomeTooLarge},
		{"unauthenticated before parsing", "POST", "/hooks/reg", []byte("{not json"), hdr("Content-Type", ct), false, 401, outcomeUnauthorized},
		{"invalid JSON", "POST", "/hooks/reg", []byte("{not json"), hdr("Content-Type", ct, "Authorization", auth), false, 400, outcomeMalformed},
		{"tag injection", "POST", "/hooks/reg", readFixture(t, "synthetic/distribution-tag-injection.json"), hdr("Content-Type", ct, "Authorization", auth), false, 400, outcomeMalformed},
		{"delete", "POST", "/hooks/reg", readFixture(t, "webhooks/distribution-captured-delete-tag.json"), hdr("Content-Type", ct, "Authorization", auth), false, 200, outcomeIgnored},
		{"untagged child", "POST", "/hooks/reg", readFixture(t, "webhooks/distribution-captured-multiarch-child-amd64-untagged.json"), hdr("Content-Type", ct, "Authorization", auth), false, 200, outcomeIgnored},
		{"push", "POST", "/hooks/reg", push, hdr("Content-Type", ct, "Authorization", auth), false, 202, outcomeStored},
		{"retried push", "POST", "/hooks/reg", push, hdr("Content-Type", ct, "Authorization", auth), false, 202, outcomeStored},
		{"within burst", "POST", "/hooks/slow", gen, hdr("Content-Type", "application/json", "Authorization", auth), false, 202, outcomeStored},
		{"over rate", "POST", "/hooks/slow", gen, hdr("Content-Type", "application/json", "Authorization", auth), false, 429, outcomeRateLimited},
		{"over rate but unauthenticated", "POST", "/hooks/slow", gen, hdr("Content-Type", "application/json"), false, 401, outcomeUnauthorized},
	}
	for _, c := range cases {
		var body io.Reader = bytes.NewReader(c.body)
		if c.chunked {
			body = io.MultiReader(body) // unknown length: sent chunked
		}
		req, err := http.NewRequest(c.method, ts.http.URL+c.path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = c.header
		resp, err := ts.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var r response
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: answer not JSON: %v", c.name, err)
		}
		if resp.StatusCode != c.want || r.Outcome != c.outcome {
			t.Errorf("%s: %d %+v, want %d %s", c.name, resp.StatusCode, r, c.want, c.outcome)
		}
		if c.want == 429 && resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After", c.name)
		}
		if c.name == "retried push" && r.Duplicates != 1 {
			t.Errorf("retried push: duplicates = %d, want 1", r.Duplicates)
		}
	}
	evs, _ := storedEvents(t, ts.js)
	if len(evs) != 2 {
		t.Fatalf("stored %d events, want 2 (the push once, the generic one): %+v", len(evs), evs)
	}
	for _, ev := range evs {
		if strings.ContainsAny(ev.Tag, "\n \"#:") {
			t.Errorf("stored tag %q", ev.Tag)
		}
	}
	if got := counterValue(t, ts.reg, "hoist_ingest_deliveries_total", unknownReceiverLabel, "unknown_receiver"); got != 1 {
		t.Errorf("unknown receiver deliveries = %v, want 1", got)
	}
	if got := counterValue(t, ts.reg, "hoist_ingest_events_total", "reg", "duplicate"); got != 1 {
		t.Errorf("duplicate events = %v, want 1", got)
	}
	if got := counterValue(t, ts.reg, "hoist_ingest_events_total", "reg", "untagged"); got != 1 {
		t.Errorf("untagged events = %v, want 1", got)
	}
}

// Every fixture through HTTP to a receiver of its kind without
// authentication: the answer matches what the parser makes of it, and
// exactly the tagged events are stored.
func TestFixturesOverHTTP(t *testing.T) {
	cfg := Config{}
	for _, k := range Kinds() {
		r := Receiver{Name: k, Kind: Kind(k), InsecureNoAuth: true}
		if r.Kind == KindNexus {
			r.Host = "container.example.com"
		}
		cfg.Receivers = append(cfg.Receivers, r)
	}
	ts := newTestServer(t, cfg)
	wantStored := map[string]bool{}
	for _, c := range fixtureCases {
		if c.host != "" && c.kind != KindNexus {
			continue // needs a receiver host of its own; covered by TestFixtures
		}
		status, r := ts.post(t, "/hooks/"+string(c.kind), readFixture(t, c.file), fixtureHeader(c))
		tagged := 0
		for _, w := range c.want {
			if w.tag != "" {
				tagged++
				wantStored[w.host+"/"+w.repo+":"+w.tag+"@"+w.digest] = true
			}
		}
		switch {
		case c.wantErr != "":
			if status != 400 {
				t.Errorf("%s: %d %+v, want 400", c.file, status, r)
			}
		case tagged > 0:
			if status != 202 || r.Events != tagged || len(r.EventIDs) != tagged {
				t.Errorf("%s: %d %+v, want 202 with %d events", c.file, status, r, tagged)
			}
		default:
			if status != 200 || r.Events != 0 || r.Untagged != len(c.want) {
				t.Errorf("%s: %d %+v, want 200 with %d untagged", c.file, status, r, len(c.want))
			}
		}
	}
	evs, _ := storedEvents(t, ts.js)
	got := map[string]bool{}
	for _, ev := range evs {
		k := ev.Registry + "/" + ev.Repository + ":" + ev.Tag + "@" + ev.Digest
		if got[k] {
			t.Errorf("stored twice: %s", k)
		}
		got[k] = true
	}
	for k := range wantStored {
		if !got[k] {
			t.Errorf("not stored: %s", k)
		}
	}
	if len(got) != len(wantStored) {
		t.Errorf("stored %d distinct events, want %d", len(got), len(wantStored))
	}
}

// The stored message carries what the matcher needs, under the dedupe id,
// and the delivery's log line names it.
func TestStoredMessageAndLogLine(t *testing.T) {
	cfg := Config{Receivers: []Receiver{{Name: "hub", Kind: KindDistribution, Secret: testSecret, SecretSet: true, HostAliases: []string{"registry.example.com"}}}}
	ts := newTestServer(t, cfg)
	before := time.Now().UTC()
	status, r := ts.post(t, "/hooks/hub", readFixture(t, "webhooks/distribution-captured-tag-push-oci.json"),
		hdr("Content-Type", "application/vnd.docker.distribution.events.v2+json", "Authorization", "Bearer "+testSecret))
	if status != 202 || r.Events != 1 || len(r.EventIDs) != 1 {
		t.Fatalf("%d %+v", status, r)
	}
	evs, msgs := storedEvents(t, ts.js)
	if len(evs) != 1 {
		t.Fatalf("stored %d", len(evs))
	}
	ev := evs[0]
	if ev.ID != r.EventIDs[0] || ev.Receiver != "hub" || ev.DeliveryID != "01a209e9-e9a0-74f5-be23-7b14d1248d89" ||
		ev.Tag != "1.3.0" || ev.Digest != dig91d7 || len(ev.HostAliases) != 1 || ev.HostAliases[0] != "registry.example.com" {
		t.Errorf("stored event %+v", ev)
	}
	if !ev.PushedAt.Equal(time.Date(2026, 11, 23, 19, 37, 34, 368325327, time.UTC)) || ev.ReceivedAt.Before(before.Add(-time.Second)) {
		t.Errorf("times: pushed %v received %v", ev.PushedAt, ev.ReceivedAt)
	}
	if got := msgs[0].Header.Get("Nats-Msg-Id"); got != ev.DedupeID() {
		t.Errorf("Nats-Msg-Id = %q, want %q", got, ev.DedupeID())
	}
	if want := bus.PushSubject("127.0.0.1:5000", "team/app"); msgs[0].Subject != want {
		t.Errorf("subject %q, want %q", msgs[0].Subject, want)
	}
	var line map[string]any
	for _, l := range ts.logs.Lines(t, "") {
		if l["message"] == "webhook delivery" {
			line = l
		}
	}
	if line == nil {
		t.Fatal("no delivery log line")
	}
	for k, want := range map[string]any{"receiver": "hub", "kind": "distribution", "outcome": "stored", "status": 202.0,
		"events": 1.0, "delivery_id": ev.DeliveryID, "event_id": ev.ID, "level": "info"} {
		if line[k] != want {
			t.Errorf("log %s = %v, want %v", k, line[k], want)
		}
	}
	if ids, ok := line["event_ids"].([]any); !ok || len(ids) != 1 || ids[0] != ev.ID {
		t.Errorf("log event_ids = %v", line["event_ids"])
	}
	if _, ok := line["latency_ms"].(float64); !ok {
		t.Errorf("log latency_ms = %v", line["latency_ms"])
	}
}

// JetStream unable to store means 503 and not ready; once it can, the
// registry's retry is stored.
func TestUnavailableJetStream(t *testing.T) {
	ts := serverWithoutPushStream(t)
	ctx := context.Background()
	h := hdr("Content-Type", "application/vnd.docker.distribution.events.v2+json", "Authorization", "Bearer "+testSecret)
	push := readFixture(t, "webhooks/distribution-captured-tag-push.json")
	if status, r := ts.post(t, "/hooks/reg", push, h); status != 503 || r.Outcome != outcomeUnavailable ||
		len(r.NotStored) != 1 || len(r.EventIDs) != 1 || r.NotStored[0] != r.EventIDs[0] {
		t.Fatalf("without the stream: %d %+v, want 503 naming the event not stored", status, r)
	}
	if resp := get(t, ts.http.URL+"/readyz"); resp != 503 {
		t.Errorf("/readyz = %d without the stream, want 503", resp)
	}
	if _, err := ts.js.CreateStream(ctx, bus.PushStreamConfig()); err != nil {
		t.Fatal(err)
	}
	if resp := get(t, ts.http.URL+"/readyz"); resp != 200 {
		t.Errorf("/readyz = %d, want 200", resp)
	}
	if status, r := ts.post(t, "/hooks/reg", push, h); status != 202 || r.Duplicates != 0 {
		t.Fatalf("retry: %d %+v, want 202 stored", status, r)
	}
	if evs, _ := storedEvents(t, ts.js); len(evs) != 1 {
		t.Fatalf("stored %d, want 1", len(evs))
	}
	if resp := get(t, ts.http.URL+"/healthz"); resp != 200 {
		t.Errorf("/healthz = %d", resp)
	}
	if body := getBody(t, ts.http.URL+"/metrics"); !strings.Contains(body, `hoist_ingest_deliveries_total{outcome="unavailable",receiver="reg"} 1`) {
		t.Errorf("/metrics lacks the 503 delivery:\n%s", body)
	}
}

// serverWithoutPushStream is ingest with a distribution receiver "reg",
// whose push stream has been deleted.
func serverWithoutPushStream(t *testing.T) *testServer {
	t.Helper()
	cfg := Config{PublishTimeout: 2 * time.Second, Receivers: []Receiver{{Name: "reg", Kind: KindDistribution, Secret: testSecret, SecretSet: true}}}
	ts := newTestServer(t, cfg)
	if err := ts.js.DeleteStream(context.Background(), bus.PushStream); err != nil {
		t.Fatal(err)
	}
	return ts
}

// get returns the status of a GET.
func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// getBody returns the body of a GET.
func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestConfigValidation(t *testing.T) {
	js := startJetStream(t)
	cases := []struct {
		name string
		r    []Receiver
		want string
	}{
		{"no secret", []Receiver{{Name: "a", Kind: KindDistribution}}, "no secret"},
		{"unknown kind", []Receiver{{Name: "a", Kind: "gitlab", Secret: "k"}}, "unknown receiver kind"},
		{"bad name", []Receiver{{Name: "a/b", Kind: KindQuay, Secret: "k"}}, "receiver name"},
		{"nexus without host", []Receiver{{Name: "a", Kind: KindNexus, SecretSet: true, Secret: "k"}}, "needs host"},
		{"twice", []Receiver{{Name: "a", Kind: KindQuay, Secret: "k"}, {Name: "a", Kind: KindQuay, Secret: "k"}}, "twice"},
		{"negative rate", []Receiver{{Name: "a", Kind: KindQuay, Secret: "k", RateLimit: -1}}, "negative"},
	}
	for _, c := range cases {
		_, err := New(Config{Receivers: c.r}, js, nil, zeroLogger())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := New(Config{BodyLimit: 1 << 20, BodyMemory: 1 << 10}, js, nil, zeroLogger()); err == nil || !strings.Contains(err.Error(), "below the body limit") {
		t.Errorf("body memory below the body limit: error %v", err)
	}
}

// Only insecureNoAuth runs a receiver without authentication: an empty
// secret (written out or not) is an error, so is insecureNoAuth with a
// secret, and an insecure receiver is a warning at start that names it.
func TestEmptySecretSilentlyOpensAReceiver(t *testing.T) {
	js := startJetStream(t)
	for _, c := range []struct {
		name string
		r    Receiver
		want string
	}{
		{"secret written empty", Receiver{Name: "ci", Kind: KindGeneric, SecretSet: true}, "secret is empty"},
		{"no secret", Receiver{Name: "ci", Kind: KindGeneric}, "no secret"},
		{"insecure with a secret", Receiver{Name: "ci", Kind: KindGeneric, Secret: "k", SecretSet: true, InsecureNoAuth: true}, "insecureNoAuth and a secret"},
	} {
		if err := c.r.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate = %v, want %q", c.name, err, c.want)
		}
		if _, err := New(Config{Receivers: []Receiver{c.r}}, js, nil, zeroLogger()); err == nil {
			t.Errorf("%s: New accepted the receiver", c.name)
		}
	}
	logs := &testenv.LogBuffer{}
	cfg := Config{Receivers: []Receiver{
		{Name: "ci", Kind: KindGeneric, InsecureNoAuth: true},
		{Name: "reg", Kind: KindDistribution, Secret: testSecret},
	}}
	s, err := New(cfg, js, nil, zeroLoggerTo(logs))
	if err != nil {
		t.Fatal(err)
	}
	lines := logs.Lines(t, "")
	if len(lines) != 1 || lines[0]["level"] != "warn" || lines[0]["receiver"] != "ci" {
		t.Errorf("insecure receiver: log %v, want one warning naming it", lines)
	}
	h := httptest.NewServer(s.Handler())
	defer h.Close()
	ts := &testServer{Server: s, js: js, http: h}
	gen := []byte(`{"image":"127.0.0.1:5000/team/app:1.0.0"}`)
	if status, r := ts.post(t, "/hooks/ci", gen, hdr("Content-Type", "application/json")); status != 202 {
		t.Errorf("insecure receiver without credentials: %d %+v, want 202", status, r)
	}
	if status, r := ts.post(t, "/hooks/reg", readFixture(t, "webhooks/distribution-captured-tag-push.json"),
		hdr("Content-Type", "application/json", "Authorization", "Bearer ")); status != 401 {
		t.Errorf("receiver with a secret, empty bearer: %d %+v, want 401", status, r)
	}
}

// With several connections, deliveries are published on each in turn, and
// every event is stored once whichever connection carried it (also a
// retry on another connection than the first delivery's).
func TestPublishOverSeveralConns(t *testing.T) {
	b := bustest.Start(t)
	tcp, err := nats.Connect(b.URL) // not the JetStream's own: it also reads duplicates' earlier copies
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tcp.Close)
	conns := []*nats.Conn{b.InProcess(t).NC, tcp, b.InProcess(t).NC}
	cfg := Config{Conns: conns, Receivers: []Receiver{{Name: "ci", Kind: KindGeneric, Secret: testSecret, SecretSet: true}}}
	ts := newTestServerOn(t, cfg, b.JS)
	before := make([]uint64, len(conns))
	for i, c := range conns {
		before[i] = c.Stats().OutMsgs
	}
	h := hdr("Content-Type", "application/json", "Authorization", "Bearer "+testSecret)
	for i := range 2 * len(conns) {
		body := []byte(fmt.Sprintf(`{"image":"127.0.0.1:5000/team/app:1.0.%d"}`, i/2)) // each sent twice
		if status, r := ts.post(t, "/hooks/ci", body, h); status != 202 || r.Duplicates != i%2 {
			t.Fatalf("delivery %d: %d %+v, want 202 with %d duplicates", i, status, r, i%2)
		}
	}
	for i, c := range conns {
		if sent := c.Stats().OutMsgs - before[i]; sent != 2 {
			t.Errorf("connection %d published %d events, want 2", i, sent)
		}
	}
	if evs, _ := storedEvents(t, ts.js); len(evs) != len(conns) {
		t.Errorf("stored %d events, want %d", len(evs), len(conns))
	}
}

// An event stored by another stream than hoist's (one that took hoist's
// subjects while the push stream was missing) is not reported as stored.
func TestForeignStreamIsUnavailable(t *testing.T) {
	ts := serverWithoutPushStream(t)
	ctx := context.Background()
	if _, err := ts.js.CreateStream(ctx, jetstream.StreamConfig{Name: "SOMEONE_ELSES", Subjects: []string{bus.PushSubjects}}); err != nil {
		t.Fatal(err)
	}
	h := hdr("Content-Type", "application/vnd.docker.distribution.events.v2+json", "Authorization", "Bearer "+testSecret)
	status, r := ts.post(t, "/hooks/reg", readFixture(t, "webhooks/distribution-captured-tag-push.json"), h)
	if status != 503 || r.Outcome != outcomeUnavailable || !strings.Contains(r.Error, "SOMEONE_ELSES") {
		t.Fatalf("stored by another stream: %d %+v, want 503 naming the stream", status, r)
	}
}

// A receiver's series are on /metrics at zero before its first delivery, so
// rate() and alert rules see them; deliveries to no receiver have only the
// one outcome they can have.
func TestSeriesExistBeforeTheFirstDelivery(t *testing.T) {
	ts := newTestServer(t, Config{Receivers: []Receiver{{Name: "reg", Kind: KindDistribution, Secret: testSecret, SecretSet: true}}})
	body := getBody(t, ts.http.URL+"/metrics")
	for _, want := range []string{
		`hoist_ingest_deliveries_total{outcome="stored",receiver="reg"} 0`,
		`hoist_ingest_deliveries_total{outcome="unavailable",receiver="reg"} 0`,
		`hoist_ingest_delivery_duration_seconds_count{outcome="unauthorized",receiver="reg"} 0`,
		`hoist_ingest_events_total{receiver="reg",result="duplicate"} 0`,
		`hoist_ingest_deliveries_total{outcome="unknown_receiver",receiver="_unknown"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, `outcome="stored",receiver="_unknown"`) || strings.Contains(body, `receiver="_unknown",result=`) {
		t.Error("/metrics has series for deliveries to no receiver that no such delivery can have")
	}
}

// With NATS down, a delivery is answered 503 at once (not after the publish
// timeout), naming the events not stored so that an operator can follow
// them; the publish timeout is shorter than a registry's own timeout (5 s
// in the CNCF registry's usual notification config), so a registry reads
// the 503 rather than giving up on a hung request.
func TestUnavailableAnswerNamesEventIDs(t *testing.T) {
	if DefaultPublishTimeout >= 5*time.Second {
		t.Errorf("DefaultPublishTimeout %v: a registry with a 5 s timeout never sees the 503", DefaultPublishTimeout)
	}
	b := bustest.Start(t)
	cfg := Config{PublishTimeout: time.Hour, Conns: []*nats.Conn{b.NC}, Receivers: []Receiver{{Name: "reg", Kind: KindDistribution, Secret: testSecret}}}
	ts := newTestServerOn(t, cfg, b.JS)
	down := b.NC.StatusChanged(nats.DISCONNECTED, nats.RECONNECTING)
	b.Server.Shutdown()
	b.Server.WaitForShutdown()
	select {
	case <-down:
	case <-time.After(30 * time.Second):
		t.Fatal("the connection did not notice its server stop")
	}
	h := hdr("Content-Type", "application/vnd.docker.distribution.events.v2+json", "Authorization", "Bearer "+testSecret)
	// The publish timeout is an hour: only failing fast answers.
	status, r := ts.post(t, "/hooks/reg", readFixture(t, "webhooks/distribution-captured-tag-push.json"), h)
	if status != 503 || r.Outcome != outcomeUnavailable || len(r.NotStored) != 1 || r.NotStored[0] != r.EventIDs[0] ||
		!strings.Contains(r.Error, "not connected") {
		t.Fatalf("NATS down: %d %+v, want 503 naming the event not stored and the connection", status, r)
	}
	var line map[string]any
	for _, l := range ts.logs.Lines(t, "") {
		if l["message"] == "webhook delivery" {
			line = l
		}
	}
	if ids, ok := line["not_stored"].([]any); !ok || len(ids) != 1 || ids[0] != r.NotStored[0] || line["level"] != "error" {
		t.Errorf("log line %v, want an error naming the event not stored", line)
	}
}

// The delivery's info line names the image of its event, and a registry's
// retry is answered with the id the event was first stored under, which is
// the id the matcher and committer log.
func TestLogsImageAndRetryNamesDuplicatedEvent(t *testing.T) {
	ts := newTestServer(t, Config{Receivers: []Receiver{{Name: "reg", Kind: KindDistribution, Secret: testSecret}}})
	h := hdr("Content-Type", "application/vnd.docker.distribution.events.v2+json", "Authorization", "Bearer "+testSecret)
	push := readFixture(t, "webhooks/distribution-captured-tag-push.json")
	_, first := ts.post(t, "/hooks/reg", push, h)
	status, retry := ts.post(t, "/hooks/reg", push, h)
	if status != 202 || retry.Duplicates != 1 || len(first.EventIDs) != 1 || len(retry.EventIDs) != 1 || retry.EventIDs[0] != first.EventIDs[0] {
		t.Fatalf("retry: %d %+v, want 202 naming the first delivery's event %v", status, retry, first.EventIDs)
	}
	evs, _ := storedEvents(t, ts.js)
	if len(evs) != 1 || evs[0].ID != first.EventIDs[0] {
		t.Fatalf("stored %+v", evs)
	}
	var lines []map[string]any
	for _, l := range ts.logs.Lines(t, "") {
		if l["message"] == "webhook delivery" {
			lines = append(lines, l)
		}
	}
	want := evs[0].Registry + "/" + evs[0].Repository + ":" + evs[0].Tag
	if len(lines) != 2 || lines[0]["level"] != "info" || lines[0]["image"] != want || lines[1]["image"] != want || lines[1]["event_id"] != first.EventIDs[0] {
		t.Errorf("delivery lines %v, want info lines naming %s, the retry's naming event %s", lines, want, first.EventIDs[0])
	}
}

// The bench's library side (jetstream's PublishMsg, no pools: what the
// paired A/B weighs the fast paths against) stores an event once, names a
// duplicate, and refuses another stream's ack, as the fast path does.
func TestLibraryPublishPath(t *testing.T) {
	fastPaths.replySlots, fastPaths.pools = false, false
	t.Cleanup(func() { fastPaths.replySlots, fastPaths.pools = true, true })
	ts := newTestServer(t, Config{Receivers: []Receiver{{Name: "ci", Kind: KindGeneric, Secret: testSecret, SecretSet: true}}})
	h := hdr("Content-Type", "application/json", "Authorization", "Bearer "+testSecret)
	body := []byte(`{"image":"127.0.0.1:5000/team/app:1.0.0"}`)
	for i := range 2 {
		if status, r := ts.post(t, "/hooks/ci", body, h); status != 202 || r.Duplicates != i {
			t.Fatalf("delivery %d: %d %+v, want 202 with %d duplicates", i, status, r, i)
		}
	}
	if evs, _ := storedEvents(t, ts.js); len(evs) != 1 {
		t.Errorf("stored %d events, want 1", len(evs))
	}

	foreign := serverWithoutPushStream(t)
	if _, err := foreign.js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "SOMEONE_ELSES", Subjects: []string{bus.PushSubjects}}); err != nil {
		t.Fatal(err)
	}
	h = hdr("Content-Type", "application/vnd.docker.distribution.events.v2+json", "Authorization", "Bearer "+testSecret)
	status, r := foreign.post(t, "/hooks/reg", readFixture(t, "webhooks/distribution-captured-tag-push.json"), h)
	if status != 503 || !strings.Contains(r.Error, "SOMEONE_ELSES") {
		t.Fatalf("stored by another stream: %d %+v, want 503 naming the stream", status, r)
	}
}
