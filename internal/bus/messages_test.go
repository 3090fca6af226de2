package bus

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// A push subject is the prefix and one token each for host and repository,
// whatever characters they hold: none of them can add a token or a wildcard.
func TestPushSubject(t *testing.T) {
	cases := []struct{ host, repo, want string }{
		{"127.0.0.1:5000", "team/app", "hoist.push.127_0_0_1:5000.team/app"},
		{"docker.io", "library/nginx", "hoist.push.docker_io.library/nginx"},
		{"", "", "hoist.push._._"},
		{"a*b>c", "x y\tz\r\n", "hoist.push.a_b_c.x_y_z__"},
		{"räksmörgås.example", "åäö/x.y", "hoist.push.räksmörgås_example.åäö/x_y"},
		{"bad\xffutf8.x", "r", "hoist.push.bad\uFFFDutf8_x.r"},
	}
	for _, c := range cases {
		if got := PushSubject(c.host, c.repo); got != c.want {
			t.Errorf("PushSubject(%q, %q) = %q, want %q", c.host, c.repo, got, c.want)
		}
		if got := "hoist.push." + subjectToken(c.host) + "." + subjectToken(c.repo); got != c.want {
			t.Errorf("tokens of %q, %q = %q, want %q", c.host, c.repo, got, c.want)
		}
	}
}

// FuzzPushSubjectAndDedupeID: whatever a host or repository holds, the
// subject is the prefix and their two tokens, and the message id the hash
// of the fields as first defined.
func FuzzPushSubjectAndDedupeID(f *testing.F) {
	f.Add("127.0.0.1:5000", "team/app", "1.2.3", "sha256:0864")
	f.Add("ÄBC.example", "a b.c*d>", "", "")
	f.Add("bad\xffutf8", "\xc3", "t", "d")
	f.Fuzz(func(t *testing.T, host, repo, tag, digest string) {
		if got, want := PushSubject(host, repo), "hoist.push."+subjectToken(host)+"."+subjectToken(repo); got != want {
			t.Errorf("PushSubject(%q, %q) = %q, want %q", host, repo, got, want)
		}
		ev := PushEvent{Registry: host, Repository: repo, Tag: tag, Digest: digest}
		h := sha256.Sum256([]byte(strings.ToLower(host) + "\x00" + repo + "\x00" + tag + "\x00" + digest))
		if got, want := ev.DedupeID(), "push-"+hex.EncodeToString(h[:16]); got != want {
			t.Errorf("DedupeID(%+v) = %s, want %s", ev, got, want)
		}
	})
}
