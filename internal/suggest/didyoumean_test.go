package suggest

import "testing"

func TestDidYouMean(t *testing.T) {
	list := []string{"dataDir", "listen", "nats", "distribution", "dockerhub"}
	for s, want := range map[string]string{
		"datadir":     ` (did you mean "dataDir"?)`,
		"distrbution": ` (did you mean "distribution"?)`,
		"lsten":       ` (did you mean "listen"?)`,
		"registries":  "",
		"":            "",
	} {
		if got := DidYouMean(s, list); got != want {
			t.Errorf("DidYouMean(%q) = %q, want %q", s, got, want)
		}
	}
}
