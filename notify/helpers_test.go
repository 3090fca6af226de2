package notify

import (
	"os"
	"testing"

	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// testLogger writes JSON logs into the test log when -v is set.
func testLogger(t testing.TB) zerolog.Logger {
	if testing.Verbose() {
		return zerolog.New(zerolog.NewTestWriter(t)).With().Timestamp().Logger()
	}
	return zerolog.New(os.Stderr).Level(zerolog.ErrorLevel)
}

// count is the value of hoist_notifications_total for the labels.
func count(t *testing.T, reg *prometheus.Registry, notifier string, k Kind, outcome string) float64 {
	t.Helper()
	v, ok := testenv.MetricValue(t, reg, "hoist_notifications_total", map[string]string{"notifier": notifier, "event": string(k), "outcome": outcome})
	if !ok {
		return -1 // not present
	}
	return v
}

// commitEvent is a commit of two changes.
func commitEvent() Event {
	return Event{
		Kind: KindCommit, Repo: "gitops", Branch: "main",
		Commit: &Commit{
			SHA: "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
			URL: "https://github.com/acme/gitops/commit/4b825dc642cb6eb9a060e54bf8d69288fbee4904",
			Changes: []Change{
				{File: "apps/api.yaml", Resource: "apps:deployment/api", Container: "api", Image: "registry.example/team/api",
					Old: "registry.example/team/api:1.2.3", New: "registry.example/team/api:1.2.4", EventIDs: []string{"ev-1"}},
				{File: "apps/web.yaml", Resource: "apps:helmrelease/web", Container: "chart-image", Image: "registry.example/team/web",
					Old: "registry.example/team/web:2.0.0", New: "registry.example/team/web:2.1.0", EventIDs: []string{"ev-2"}},
			},
			EventIDs: []string{"ev-1", "ev-2"},
		},
	}
}
