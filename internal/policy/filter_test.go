package policy

import (
	"strings"
	"testing"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		pattern string
		want    string // String() of the parsed filter; "" when an error is expected
		errHas  string
		match   []string
		noMatch []string
	}{
		{pattern: "", want: "glob:*", match: []string{"1.0", "latest", "v2", "master-abc"}},
		{pattern: "*", want: "glob:*", match: []string{"1.0", "x"}},
		{pattern: "glob:*", want: "glob:*", match: []string{"anything"}},
		// The seed document's own example; whitespace after the prefix is trimmed.
		{pattern: "glob: *", want: "glob:*", match: []string{"version", "1.2.3"}},
		{pattern: "  glob:master-*  ", want: "glob:master-*", match: []string{"master-1", "master-"}, noMatch: []string{"main-1", "xmaster-1"}},
		{pattern: "glob:v0.15.*", want: "glob:v0.15.*", match: []string{"v0.15.0", "v0.15.12"}, noMatch: []string{"v0.16.0", "v0x15.1"}},
		{pattern: "master-*", want: "glob:master-*", match: []string{"master-abc"}, noMatch: []string{"dev-abc"}},
		{pattern: "*-rc*", want: "glob:*-rc*", match: []string{"1.0-rc1", "-rc"}, noMatch: []string{"1.0"}},
		{pattern: "latest", want: "glob:latest", match: []string{"latest"}, noMatch: []string{"Latest", "latest2"}},
		{pattern: "a**b", want: "glob:a**b", match: []string{"ab", "a.x.b"}},
		// Only '*' is special: glob metacharacters other than '*' are literal,
		// and since tags cannot hold them such a glob can never match.
		{pattern: "glob:v1.?", errHas: "can never match"},
		{pattern: "glob:v1.[0-9]", errHas: "can never match"},
		{pattern: "{a,b}", errHas: "can never match"},
		{pattern: "Semver:~1.2", errHas: "misspelt prefix"},
		{pattern: "semvar:~1.2", errHas: "misspelt prefix"},
		{pattern: "glob:", errHas: "empty glob pattern"},

		{pattern: "semver:~4.0", want: "semver:~4.0", match: []string{"4.0.3", "4.0.10", "v4.0.4", "4.0"}, noMatch: []string{"4.1.0", "3.9.9", "latest", "4.0.5-rc1"}},
		{pattern: "semver: ~2.3", want: "semver:~2.3", match: []string{"v2.3.1", "2.3.9"}, noMatch: []string{"v2.4.0"}},
		{pattern: "semver:>=1.0", want: "semver:>=1.0", match: []string{"1.0.0", "2", "v10.1.1"}, noMatch: []string{"1.1.0-rc1", "0.9", "x1.2"}},
		// A pre-release matches only a constraint that names one (Masterminds v3).
		{pattern: "semver:>=1.0.0-0", want: "semver:>=1.0.0-0", match: []string{"1.1.0-rc1", "1.1.0"}},
		{pattern: "semver:^1.2 || ^2.0", want: "semver:^1.2 || ^2.0", match: []string{"1.9.0", "2.1.0"}, noMatch: []string{"3.0.0"}},
		{pattern: "semver:not-a-constraint", errHas: "invalid semver constraint"},
		{pattern: "semver:", errHas: "empty semver pattern"},
		{pattern: "semver:~1.2.x.y", errHas: "invalid semver constraint"},

		{pattern: "regex:^0.6.*", want: "regexp:^0.6.*", match: []string{"0.6.0", "0.6.12"}, noMatch: []string{"0.7.0", "10.6.0"}},
		{pattern: "regexp:beta", want: "regexp:beta", match: []string{"1.0-beta1", "beta"}, noMatch: []string{"1.0"}},
		{pattern: "regexp:^beta$", want: "regexp:^beta$", match: []string{"beta"}, noMatch: []string{"1.0-beta1"}},
		{pattern: "regexp: ^v[0-9]+$", want: "regexp:^v[0-9]+$", match: []string{"v12"}, noMatch: []string{"v12a"}},
		{pattern: "regexp:[", errHas: "invalid regexp"},
		{pattern: "regex:(?<", errHas: "invalid regexp"},
		{pattern: "regexp:", errHas: "empty regexp pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			f, err := ParseFilter(tt.pattern)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("ParseFilter(%q) error = %v, want one containing %q", tt.pattern, err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFilter(%q): %v", tt.pattern, err)
			}
			if got := f.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if f.Raw != tt.pattern {
				t.Errorf("Raw = %q, want %q", f.Raw, tt.pattern)
			}
			for _, tag := range tt.match {
				if !f.Match(tag) {
					t.Errorf("%s does not match %q, want match", f, tag)
				}
			}
			for _, tag := range tt.noMatch {
				if f.Match(tag) {
					t.Errorf("%s matches %q, want no match", f, tag)
				}
			}
		})
	}
}

func TestAllowsLatest(t *testing.T) {
	for pattern, want := range map[string]bool{
		"latest": true, "glob:latest": true, "glob: latest": true,
		"": false, "*": false, "lat*": false, "regexp:^latest$": false, "Latest": false,
	} {
		f, err := ParseFilter(pattern)
		if err != nil {
			t.Fatalf("ParseFilter(%q): %v", pattern, err)
		}
		if got := f.AllowsLatest(); got != want {
			t.Errorf("ParseFilter(%q).AllowsLatest() = %v, want %v", pattern, got, want)
		}
	}
}

func TestCachedFilterMatchesParseFilter(t *testing.T) {
	for _, p := range []string{"semver:~1.2", "regexp:[", "glob:v*"} {
		want, wantErr := ParseFilter(p)
		for range 2 { // miss, then hit
			got, err := CachedFilter(p)
			if (err == nil) != (wantErr == nil) || got.String() != want.String() {
				t.Fatalf("CachedFilter(%q) = %v, %v; want %v, %v", p, got, err, want, wantErr)
			}
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "glob: *", "semver:~4.0", "regex:^0.6.*", "regexp:[", "v0.15.*", "semver:>=1.0.0-0 || ^2"} {
		f.Add(s, "1.2.3")
	}
	f.Fuzz(func(t *testing.T, pattern, tag string) {
		flt, err := ParseFilter(pattern)
		if err != nil {
			return
		}
		flt.Match(tag) // must not panic
		again, err := ParseFilter(flt.String())
		if err != nil {
			t.Fatalf("String() %q of %q does not parse again: %v", flt.String(), pattern, err)
		}
		if again.Match(tag) != flt.Match(tag) {
			t.Fatalf("%q and its String() %q disagree on %q", pattern, flt.String(), tag)
		}
	})
}
