package manifest

import (
	"strings"
	"testing"
	"time"
)

// TestMinAgeAnnotation: hoist.dev/min-age.<container> sets the container's
// minimum age; misspellings of the prefix, of the name and of the container
// are reported like the Flux annotations' are.
func TestMinAgeAnnotation(t *testing.T) {
	tests := []struct {
		name    string
		ann     string
		minAge  string // of container web
		problem string
	}{
		{"set", "hoist.dev/min-age.web: 24h\n", "24h", ""},
		{"days", "hoist.dev/min-age.web: 7d\n", "7d", ""},
		{"not set", "", "", ""},
		{"misspelt prefix", "hoist.dve/min-age.web: 24h\n", "", "did you mean hoist.dev/min-age.web?"},
		{"misspelt name", "hoist.dev/minage.web: 24h\n", "", "did you mean hoist.dev/min-age.web?"},
		{"unknown name", "hoist.dev/frobnicate: x\n", "", "hoist reads hoist.dev/min-age.<container> only"},
		{"missing container", "hoist.dev/min-age.wbe: 1h\n", "", `did you mean "web"?`},
		{"no container", "hoist.dev/min-age.: 1h\n", "", "names no container"},
		{"bad value", "hoist.dev/min-age.web: soon\n", "soon", "is not a minimum age"},
		{"negative", "hoist.dev/min-age.web: -1h\n", "-1h", "is not a minimum age"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sites, problems := Parse("f.yaml", []byte(hr(tt.ann, "web:\n  image: a:1\n")))
			if len(sites) != 1 || sites[0].Policy.MinAge != tt.minAge {
				t.Fatalf("sites %+v, want web with min age %q", sites, tt.minAge)
			}
			switch {
			case tt.problem == "" && len(problems) > 0:
				t.Errorf("problems %v, want none", problems)
			case tt.problem != "" && (len(problems) != 1 || !strings.Contains(problems[0].Message, tt.problem)):
				t.Errorf("problems %v, want one saying %q", problems, tt.problem)
			}
		})
	}
}

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "24h": 24 * time.Hour, "2d": 48 * time.Hour, "0": 0, " 1h30m ": 90 * time.Minute} {
		if got, err := ParseAge(in); err != nil || got != want {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1s", "1.5d", "-2d"} {
		if _, err := ParseAge(in); err == nil {
			t.Errorf("ParseAge(%q) accepted", in)
		}
	}
}
