package imagerules

import (
	"strings"
	"testing"
)

// The first rule whose glob matches the canonical repository applies: *
// stays within a path component, ** crosses them; no match gives Default.
func TestImageRulesFirstMatchWins(t *testing.T) {
	rs, err := Compile([]Rule{
		{Match: "registry.example.com/team/*", Verify: VerifyNone},
		{Match: "registry.example.com/**/app", PinDigest: true},
		{Match: "registry.example.com/**", Scan: true},
		{Match: "docker.io/library/*", MinAge: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	for repo, want := range map[string]int{
		"registry.example.com/team/web":     0,
		"registry.example.com/team/app":     0, // the first match wins over the second
		"registry.example.com/team/sub/app": 1, // * does not cross a '/'
		"registry.example.com/app":          1, // "**/" also matches no component
		"registry.example.com/x/y/z":        2,
		"docker.io/library/nginx":           3,
		"docker.io/bitnami/nginx":           -1,
		"registry.example.com.evil/team/x":  -1,
		"ghcr.io/team/web":                  -1,
	} {
		got := rs.For(repo)
		if want < 0 {
			if got != Default {
				t.Errorf("%s: %+v, want Default", repo, got)
			}
			continue
		}
		if got.Match != rs.rules[want].Match {
			t.Errorf("%s: rule %q, want %q", repo, got.Match, rs.rules[want].Match)
		}
	}
	if rs.For("registry.example.com/team/web").Verify != VerifyNone || rs.For("registry.example.com/x/y").Verify != VerifyTag {
		t.Errorf("verify: the rule's, or tag when the rule leaves it out")
	}
	var none *Rules
	if none.For("ghcr.io/a/b") != Default {
		t.Errorf("no rules: not Default")
	}
}

// A glob that cannot compile, or can never match a canonical name, is an error that says why.
func TestImageRulesBadGlob(t *testing.T) {
	for pattern, want := range map[string]string{
		"":                            "empty glob",
		"ghcr.io/{a,b":                "unclosed",
		"ghcr.io/[a":                  "ghcr.io/[a",
		"nginx":                       "does not start with a registry host",
		"team/app":                    "does not start with a registry host",
		"GHCR.io/team/app":            "lower case",
		"docker.io/nginx":             "docker.io/library/nginx",
		"index.docker.io/library/ngx": "written docker.io",
		" ghcr.io/a":                  "spaces",
	} {
		_, err := CompileGlob(pattern)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error containing %q", pattern, err, want)
		}
	}
	for _, ok := range []string{"**", "*/team/**", "localhost:5000/app", "127.0.0.1:5000/**", "docker.io/library/*", "docker.io/bitnami/*"} {
		if _, err := CompileGlob(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

// Any glob either compiles or is an error; a compiled one matches any name without panicking.
func FuzzCompileGlob(f *testing.F) {
	for _, s := range []string{"**", "ghcr.io/team/*", "docker.io/library/{a,b}", "[a-", "x/**/y", "\\"} {
		f.Add(s, "ghcr.io/team/app")
	}
	f.Fuzz(func(t *testing.T, pattern, repo string) {
		rs, err := Compile([]Rule{{Match: pattern}})
		if err != nil {
			if !strings.Contains(err.Error(), "images[0].match") {
				t.Fatalf("error does not name the key: %v", err)
			}
			return
		}
		_ = rs.For(repo)
	})
}
