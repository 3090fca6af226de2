package ingest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	fastjson "github.com/goccy/go-json"

	"github.com/hoist-gitops/hoist/internal/imageref"
)

// eventHeaders are the headers a kind reads besides the body; the fuzzer varies their value.
var eventHeaders = map[Kind]string{
	KindGitHub:      "X-GitHub-Event",
	KindGitea:       "X-Gitea-Event",
	KindCloudEvents: "Ce-Type",
}

// fuzzKind fuzzes one kind's parser, seeded with its fixtures: it must not
// panic, and nothing it accepts may carry a host, repository, tag or digest
// outside the reference grammar.
func fuzzKind(f *testing.F, k Kind) {
	for _, c := range fixtureCases {
		if c.kind == k {
			f.Add(readFixture(f, c.file), c.header[eventHeaders[k]], c.host)
		}
	}
	f.Add([]byte(`{}`), "", "")
	f.Fuzz(func(t *testing.T, body []byte, event, host string) {
		h := http.Header{}
		if name := eventHeaders[k]; name != "" && event != "" {
			h.Set(name, event)
		}
		in := Input{Body: body, Header: h, Host: host}
		if _, err := parsers[k](in); err != nil {
			return
		}
		evs, err := Events(k, in)
		if err != nil {
			return
		}
		for _, ev := range evs {
			if imageref.ValidateHost(ev.Registry) != nil || imageref.ValidatePath(ev.Repository) != nil {
				t.Fatalf("accepted invalid name %q/%q", ev.Registry, ev.Repository)
			}
			if ev.Tag != "" && (imageref.ValidateTag(ev.Tag) != nil || strings.ContainsAny(ev.Tag, "\n\r \"'#:")) {
				t.Fatalf("accepted invalid tag %q", ev.Tag)
			}
			if ev.Digest != "" && imageref.ValidateDigest(ev.Digest) != nil {
				t.Fatalf("accepted invalid digest %q", ev.Digest)
			}
		}
	})
}

func FuzzDistribution(f *testing.F) { fuzzKind(f, KindDistribution) }
func FuzzDockerHub(f *testing.F)    { fuzzKind(f, KindDockerHub) }
func FuzzHarbor(f *testing.F)       { fuzzKind(f, KindHarbor) }
func FuzzQuay(f *testing.F)         { fuzzKind(f, KindQuay) }
func FuzzGitHub(f *testing.F)       { fuzzKind(f, KindGitHub) }
func FuzzACR(f *testing.F)          { fuzzKind(f, KindACR) }
func FuzzGCR(f *testing.F)          { fuzzKind(f, KindGCR) }
func FuzzECR(f *testing.F)          { fuzzKind(f, KindECR) }
func FuzzJFrog(f *testing.F)        { fuzzKind(f, KindJFrog) }
func FuzzNexus(f *testing.F)        { fuzzKind(f, KindNexus) }
func FuzzGitea(f *testing.F)        { fuzzKind(f, KindGitea) }
func FuzzCloudEvents(f *testing.F)  { fuzzKind(f, KindCloudEvents) }
func FuzzGeneric(f *testing.F)      { fuzzKind(f, KindGeneric) }

// FuzzAuthenticate checks that no scheme panics or accepts an empty secret.
func FuzzAuthenticate(f *testing.F) {
	f.Add(0, "Bearer x", "", []byte("{}"))
	f.Add(6, "", "x", []byte("{}"))
	f.Fuzz(func(t *testing.T, scheme int, value, pathSecret string, body []byte) {
		s := authScheme(uint(scheme) % uint(authSignatureOrStatic+1))
		h := http.Header{}
		for _, k := range []string{"Authorization", "X-JFrog-Event-Auth", "X-Hub-Signature-256", "X-Gitea-Signature", "X-Nexus-Webhook-Signature"} {
			h.Set(k, value)
		}
		if s.authenticate(newSecret(""), "", credentials{header: h, body: body, pathSecret: pathSecret}) {
			t.Fatalf("scheme %d accepted an empty secret", s)
		}
		s.authenticate(newSecret("k"), "", credentials{header: h, body: body, pathSecret: pathSecret})
	})
}

// FuzzFastJSONAgrees checks that goccy/go-json, which decodes first, reads
// every payload of every kind as encoding/json does.
func FuzzFastJSONAgrees(f *testing.F) {
	kinds := Kinds()
	for _, c := range fixtureCases {
		for i, k := range kinds {
			if Kind(k) == c.kind {
				f.Add(readFixture(f, c.file), uint8(i), c.header[eventHeaders[c.kind]])
			}
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, kind uint8, event string) {
		k := Kind(kinds[int(kind)%len(kinds)])
		h := http.Header{}
		if name := eventHeaders[k]; name != "" && event != "" {
			h.Set(name, event)
		}
		in := Input{Body: body, Header: h, Host: "registry.example.com"}
		fast, fastErr := Events(k, in)
		fastJSON = false
		std, stdErr := Events(k, in)
		fastJSON = true
		if (fastErr == nil) != (stdErr == nil) {
			t.Fatalf("%s: goccy error %v, encoding/json error %v", k, fastErr, stdErr)
		}
		if !reflect.DeepEqual(fast, std) {
			t.Fatalf("%s: goccy %+v, encoding/json %+v", k, fast, std)
		}
	})
}

// The stored message is what encoding/json would write, so every stage can
// read it with the standard library.
func TestEventEncodingMatchesStandardLibrary(t *testing.T) {
	for _, c := range fixtureCases {
		evs, err := Events(c.kind, Input{Body: readFixture(t, c.file), Header: fixtureHeader(c), Host: c.host})
		if err != nil {
			continue
		}
		for _, ev := range evs {
			ev.ID, ev.Receiver, ev.HostAliases = newEventID(ev.PushedAt), "r", []string{"a.example"}
			fast, err1 := fastjson.Marshal(ev)
			std, err2 := json.Marshal(ev)
			if err1 != nil || err2 != nil || !bytes.Equal(fast, std) {
				t.Errorf("%s: goccy %s (%v), encoding/json %s (%v)", c.file, fast, err1, std, err2)
			}
		}
	}
}

// FuzzFlexTime: the shortcut for quoted times without escapes reads every
// input as the JSON decoder would.
func FuzzFlexTime(f *testing.F) {
	for _, s := range []string{`"2018-10-11T13:53:21.859222576Z"`, `"2020-04-05T21:49:44.219+0000"`, `"1417566161"`, `"x\"`, `"a\u0030"`, `""`, `"`, `1.5e9`, "\"2020-04-05T21:49:44Z\n\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got flexTime
		if err := got.UnmarshalJSON(b); err != nil {
			t.Fatalf("UnmarshalJSON(%q) failed: %v", b, err)
		}
		var want time.Time
		if trimmed := bytes.TrimSpace(b); len(trimmed) > 0 && trimmed[0] == '"' {
			var s string
			if json.Unmarshal(trimmed, &s) == nil {
				want = parseTime(s)
			}
		} else if len(trimmed) > 0 && !bytes.Equal(trimmed, []byte("null")) {
			want = unixTime(string(trimmed))
		}
		if !got.Equal(want) {
			t.Errorf("UnmarshalJSON(%q) = %v, the JSON decoder's reading gives %v", b, got.Time, want)
		}
	})
}
