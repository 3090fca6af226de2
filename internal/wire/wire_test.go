package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// The message id is what makes a registry's retry a duplicate, also across
// an upgrade of ingest within the dedupe window: it must stay the hash of
// the lower-cased host, repository, tag and digest, spelt as below.
func TestDedupeIDIsStable(t *testing.T) {
	for _, ev := range []PushEvent{
		{Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "1.2.3", Digest: "sha256:0864a15508ae6618993f5a8aba0d17b860671c8184071eb5cf79b2d23f2fcd11"},
		{Registry: "Registry.Example.COM", Repository: "a/b", Tag: "v1"},
		{Registry: "ÄBC.example", Repository: "x", Tag: "t"},
		{Registry: "docker.io", Repository: strings.Repeat("long/", 120) + "end", Tag: strings.Repeat("t", 128)},
		{},
	} {
		h := sha256.Sum256([]byte(strings.ToLower(ev.Registry) + "\x00" + ev.Repository + "\x00" + ev.Tag + "\x00" + ev.Digest))
		if want, got := "push-"+hex.EncodeToString(h[:16]), ev.DedupeID(); got != want {
			t.Errorf("DedupeID(%+v) = %s, want %s", ev, got, want)
		}
	}
	a := PushEvent{Registry: "r", Repository: "a", Tag: "bc"}
	b := PushEvent{Registry: "r", Repository: "ab", Tag: "c"}
	if a.DedupeID() == b.DedupeID() {
		t.Error("fields run together: a/bc and ab/c share an id")
	}
}
