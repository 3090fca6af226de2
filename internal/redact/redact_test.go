package redact

import (
	"strings"
	"testing"
)

// TestURL: passwords, and user names that stand for tokens, are replaced in
// every URL of a list; ssh's user name and scp-like addresses stay readable.
func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://hoist:pa55word@git.example.com/a.git": "https://hoist:xxxxx@git.example.com/a.git",
		"https://pa55word@github.com/a.git":            "https://xxxxx@github.com/a.git",
		"ssh://git@github.com/a.git":                   "ssh://git@github.com/a.git",
		"git@github.com:a.git":                         "git@github.com:a.git",
		"nats://u:pa55word@a:4222,nats://pa55word@b":   "nats://u:xxxxx@a:4222,nats://xxxxx@b",
		"nats://a:b@h:4222,nats://h2:4222":             "nats://a:xxxxx@h:4222,nats://h2:4222",
		"nats://a:4222":                                "nats://a:4222",
		"tls://h:4222":                                 "tls://h:4222",
		"/srv/git/gitops.git":                          "/srv/git/gitops.git",
		"https://u:pa55%zz@h/x":                        "https://xxxxx@h/x", // url.Parse refuses it
	} {
		if got := URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestText: every URL quoted in a message loses its credentials.
func TestText(t *testing.T) {
	got := Text(`connect nats nats://u:pa55word@a:4222: refused; clone "https://pa55word@h/x": no; ssh://git@h/x`)
	if strings.Contains(got, "pa55word") || !strings.Contains(got, "ssh://git@h/x") {
		t.Errorf("Text = %q", got)
	}
}
