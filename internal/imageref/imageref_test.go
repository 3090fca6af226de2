package imageref

import (
	"regexp"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	d64 := "sha256:" + strings.Repeat("a", 64)
	tests := []struct {
		in   string
		want Reference
		err  bool
	}{
		// path grammar
		{in: "nginx", want: Reference{Path: "nginx"}},
		{in: "library/nginx", want: Reference{Path: "library/nginx"}},
		{in: "a/b/c/d", want: Reference{Path: "a/b/c/d"}},
		{in: "my-org/my_app.v2", want: Reference{Path: "my-org/my_app.v2"}},
		{in: "a__b/c---d", want: Reference{Path: "a__b/c---d"}},
		{in: "a_-b", err: true},
		{in: "a___b", err: true},
		{in: "a..b", err: true},
		{in: "-a", err: true},
		{in: "a-", err: true},
		{in: "a/", err: true},
		{in: "/a", err: true},
		{in: "a//b", err: true},
		{in: "Nginx", err: true},
		{in: "repo/Image", err: true},
		// tag grammar
		{in: "nginx:1.25", want: Reference{Path: "nginx", Tag: "1.25"}},
		{in: "nginx:v1.2.3-rc.1_build", want: Reference{Path: "nginx", Tag: "v1.2.3-rc.1_build"}},
		{in: "nginx:_x", want: Reference{Path: "nginx", Tag: "_x"}},
		{in: "nginx:LATEST", want: Reference{Path: "nginx", Tag: "LATEST"}},
		{in: "nginx:" + strings.Repeat("a", 128), want: Reference{Path: "nginx", Tag: strings.Repeat("a", 128)}},
		{in: "nginx:" + strings.Repeat("a", 129), err: true},
		{in: "nginx:", err: true},
		{in: "nginx:.x", err: true},
		{in: "nginx:-x", err: true},
		{in: "nginx:a b", err: true},
		{in: "nginx:a#b", err: true},
		{in: "nginx:a\nb", err: true},
		{in: "nginx:1.0\n", err: true},
		{in: "nginx:a:b", err: true},
		{in: "nginx:a'b", err: true},
		// hosts
		{in: "docker.io/library/nginx", want: Reference{Host: "docker.io", Path: "library/nginx"}},
		{in: "registry.example.com:5000/team/app:v1", want: Reference{Host: "registry.example.com:5000", Path: "team/app", Tag: "v1"}},
		{in: "localhost/app", want: Reference{Host: "localhost", Path: "app"}},
		{in: "localhost:5000/app:1", want: Reference{Host: "localhost:5000", Path: "app", Tag: "1"}},
		{in: "127.0.0.1:5000/app", want: Reference{Host: "127.0.0.1:5000", Path: "app"}},
		{in: "[::1]:5000/app:v1", want: Reference{Host: "[::1]:5000", Path: "app", Tag: "v1"}},
		{in: "[2001:db8::1]/app", want: Reference{Host: "[2001:db8::1]", Path: "app"}},
		{in: "myhost:5000/app", want: Reference{Host: "myhost:5000", Path: "app"}},
		// a first component without '.', ':' or upper case is a path, not a host
		{in: "myhost/app", want: Reference{Path: "myhost/app"}},
		// upper case in the first component makes it a host (Docker's rule)
		{in: "MyRegistry/app", want: Reference{Host: "MyRegistry", Path: "app"}},
		{in: "Registry.Example.COM/app", want: Reference{Host: "Registry.Example.COM", Path: "app"}},
		{in: "MyRegistry/App", err: true},
		{in: "host:port/app", err: true},
		{in: "-bad.com/app", err: true},
		{in: "bad-.com/app", err: true},
		{in: "bad_host.com/app", err: true},
		{in: "localhost:5000", want: Reference{Path: "localhost", Tag: "5000"}},
		// digests
		{in: "nginx@" + d64, want: Reference{Path: "nginx", Digest: d64}},
		{in: "nginx:1.25@" + d64, want: Reference{Path: "nginx", Tag: "1.25", Digest: d64}},
		{in: "ghcr.io/o/a:v1@" + d64, want: Reference{Host: "ghcr.io", Path: "o/a", Tag: "v1", Digest: d64}},
		{in: "nginx@sha512:" + strings.Repeat("b", 128), want: Reference{Path: "nginx", Digest: "sha512:" + strings.Repeat("b", 128)}},
		{in: "nginx@sha256:" + strings.Repeat("a", 63), err: true},
		{in: "nginx@sha256:" + strings.Repeat("A", 64), err: true},
		{in: "nginx@sha256:" + strings.Repeat("g", 64), err: true},
		{in: "nginx@", err: true},
		{in: "nginx@" + d64 + "@" + d64, err: true},
		{in: "nginx@" + d64 + ":v1", err: true},
		// whole string
		{in: "", err: true},
		{in: " nginx", err: true},
		{in: "nginx ", err: true},
		{in: "a/" + strings.Repeat("b", 254), err: true},
		{in: strings.Repeat("b", 255), want: Reference{Path: strings.Repeat("b", 255)}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if tt.err {
			if err == nil {
				t.Errorf("Parse(%q) = %+v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("Parse(%q).String() = %q", tt.in, got.String())
		}
	}
}

func TestCanonical(t *testing.T) {
	groups := [][]string{
		{"nginx", "library/nginx", "docker.io/nginx", "docker.io/library/nginx", "index.docker.io/library/nginx",
			"index.docker.io/nginx", "registry-1.docker.io/library/nginx", "Docker.IO/library/nginx", "nginx:1.25"},
		{"bitnami/mongodb", "docker.io/bitnami/mongodb", "index.docker.io/bitnami/mongodb:4.0.3"},
		{"ghcr.io/org/app", "GHCR.io/org/app", "ghcr.IO/org/app:v1"},
		{"localhost:5000/app", "LOCALHOST:5000/app"},
	}
	wants := []string{"docker.io/library/nginx", "docker.io/bitnami/mongodb", "ghcr.io/org/app", "localhost:5000/app"}
	for i, g := range groups {
		for _, in := range g {
			r, err := Parse(in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", in, err)
			}
			if got := r.Canonical(); got != wants[i] {
				t.Errorf("Canonical(%q) = %q, want %q", in, got, wants[i])
			}
		}
	}
	// Different repositories stay different.
	distinct := []string{"nginx", "ghcr.io/nginx", "docker.io/org/nginx", "quay.io/library/nginx", "localhost/nginx"}
	seen := map[string]string{}
	for _, in := range distinct {
		r, _ := Parse(in)
		if prev, ok := seen[r.Canonical()]; ok {
			t.Errorf("%q and %q share canonical name %q", prev, in, r.Canonical())
		}
		seen[r.Canonical()] = in
	}
}

func TestWrittenSpellingKept(t *testing.T) {
	for _, in := range []string{"index.docker.io/library/nginx:1", "Registry.Example.COM:5000/a:b", "nginx", "docker.io/nginx:1"} {
		r, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		r.Tag = "2"
		want := in
		if i := strings.LastIndexByte(in, ':'); i > strings.LastIndexByte(in, '/') {
			want = in[:i]
		}
		if got := r.String(); got != want+":2" {
			t.Errorf("retagged %q reads %q, want %q", in, got, want+":2")
		}
	}
}

func TestValidateRepository(t *testing.T) {
	for _, ok := range []string{"nginx", "ghcr.io/a/b", "localhost:5000/x"} {
		if err := ValidateRepository(ok); err != nil {
			t.Errorf("ValidateRepository(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Nginx", "ghcr.io/", "a:b/c", "nginx:1.0"} {
		if err := ValidateRepository(bad); err == nil {
			t.Errorf("ValidateRepository(%q) accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"nginx", "nginx:1.25", "docker.io/library/nginx:1.25", "index.docker.io/nginx",
		"localhost:5000/app:v1", "[::1]:5000/a/b:c", "MyRegistry/app", "127.0.0.1/x",
		"ghcr.io/o/a:v1@sha256:" + strings.Repeat("a", 64), "a@sha512:" + strings.Repeat("0", 128),
		"nginx:", "a//b", "a:b:c", "a@b", " x", "Docker.IO/Library/Nginx",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		if got := r.String(); got != s {
			t.Fatalf("Parse(%q).String() = %q", s, got)
		}
		r2, err := Parse(r.String())
		if err != nil || r2 != r {
			t.Fatalf("Parse(String()) of %q: %+v, %v", s, r2, err)
		}
		if r.Tag != "" {
			if err := ValidateTag(r.Tag); err != nil {
				t.Fatalf("%q accepted with tag %q: %v", s, r.Tag, err)
			}
		}
		if r.Digest != "" {
			if err := ValidateDigest(r.Digest); err != nil {
				t.Fatalf("%q accepted with digest %q: %v", s, r.Digest, err)
			}
		}
		if err := ValidatePath(r.Path); err != nil {
			t.Fatalf("%q accepted with path %q: %v", s, r.Path, err)
		}
		if r.Host != "" {
			if err := ValidateHost(r.Host); err != nil {
				t.Fatalf("%q accepted with host %q: %v", s, r.Host, err)
			}
			if h, _ := SplitHost(r.Name()); h != r.Host {
				t.Fatalf("%q: host %q does not read back as a host (%q)", s, r.Host, h)
			}
		}
		if strings.ContainsAny(s, " \t\r\n#'\"") {
			t.Fatalf("%q accepted with characters that could inject YAML", s)
		}
		c := r.Canonical()
		if c != strings.TrimSpace(c) || !strings.Contains(c, "/") {
			t.Fatalf("%q: odd canonical name %q", s, c)
		}
		if err := ValidateRepository(r.Name()); err != nil {
			t.Fatalf("%q: name %q does not validate: %v", s, r.Name(), err)
		}
	})
}

// The distribution reference grammar as regular expressions: the
// reference the hand-written validators are fuzzed against.
var (
	tagRE       = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	componentRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$`)
	hostRE      = regexp.MustCompile(`^(?:(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])(?:\.(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]))*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$`)
	digestRE    = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$`)
	sha256RE    = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
)

// checkGrammar compares each validator with its regular expression on s.
func checkGrammar(t *testing.T, s string) {
	if got, want := ValidateTag(s) == nil, tagRE.MatchString(s); got != want {
		t.Errorf("ValidateTag(%q) = %v, grammar says %v", s, got, want)
	}
	if got, want := validComponent(s), componentRE.MatchString(s); got != want {
		t.Errorf("validComponent(%q) = %v, grammar says %v", s, got, want)
	}
	if got, want := ValidateHost(s) == nil, hostRE.MatchString(s); got != want {
		t.Errorf("ValidateHost(%q) = %v, grammar says %v", s, got, want)
	}
	want := digestRE.MatchString(s) && (!strings.HasPrefix(s, "sha256:") || sha256RE.MatchString(s))
	if got := ValidateDigest(s) == nil; got != want {
		t.Errorf("ValidateDigest(%q) = %v, grammar says %v", s, got, want)
	}
}

func TestValidatorsMatchGrammar(t *testing.T) {
	for _, s := range []string{"", "a", "A", "_", ".", "-", "a.b", "a..b", "a__b", "a___b", "a--b", "a-", "-a", "a_-b",
		"a.-b", "host:5000", "host:", ":5000", "host:50a0", "[::1]", "[::1]:80", "[]", "[::1", "[:g]", "a.b.c", "a.b.",
		".a", "a-b.c-d", "a.-b", "A-1.B", "sha256:" + strings.Repeat("a", 64), "sha256:" + strings.Repeat("A", 64),
		"sha256:" + strings.Repeat("a", 63), "sha512:" + strings.Repeat("a", 32), "a+b:" + strings.Repeat("Z", 32),
		"a++b:" + strings.Repeat("a", 32), "+a:" + strings.Repeat("a", 32), "a:" + strings.Repeat("=", 32), "a:b:c",
		strings.Repeat("a", 128), strings.Repeat("a", 129), "v1.2.3-rc.1", "1.0", "sha256:" + strings.Repeat("a", 64) + ":x"} {
		checkGrammar(t, s)
	}
}

func FuzzValidators(f *testing.F) {
	for _, s := range []string{"a", "a__b", "host:5000", "[::1]:80", "sha256:" + strings.Repeat("a", 64), "v1.2", "a-b.c"} {
		f.Add(s)
	}
	f.Fuzz(checkGrammar)
}
