package matcher

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/policy"
)

func exampleIndex(t testing.TB) *Index {
	t.Helper()
	x, err := BuildIndex(os.DirFS("../examples/gitops"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// outcomeLines renders outcomes as "file container code new" for comparison.
func outcomeLines(out []Outcome) []string {
	var lines []string
	for _, o := range out {
		l := o.Site.File + " " + o.Site.Container + " " + string(o.Decision.Code)
		if o.Decision.Update {
			l += " " + o.Decision.New.String()
		}
		lines = append(lines, l)
	}
	return lines
}

func TestMatchExamples(t *testing.T) {
	x := exampleIndex(t)
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	teamApp := []string{
		"apps/frozen.yaml chart-image locked",
		"apps/podinfo.yaml chart-image update 127.0.0.1:5000/team/app:1.2.4",
		"apps/shop.yaml worker update 127.0.0.1:5000/team/app:1.2.4",
		"workloads/api.yaml api update 127.0.0.1:5000/team/app:1.2.4",
	}
	tests := []struct {
		name string
		ev   bus.PushEvent
		want []string
	}{
		{"the demo push", bus.PushEvent{Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "1.2.4"}, teamApp},
		{"host alias from the receiver", bus.PushEvent{Registry: "localhost:5000", Repository: "team/app", Tag: "1.2.4",
			HostAliases: []string{"127.0.0.1:5000", "127.0.0.1:5000", "LOCALHOST:5000"}}, teamApp},
		{"no alias, other host", bus.PushEvent{Registry: "localhost:5000", Repository: "team/app", Tag: "1.2.4"}, nil},
		{"older version", bus.PushEvent{Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "1.2.2"}, []string{
			"apps/frozen.yaml chart-image locked",
			"apps/podinfo.yaml chart-image not-newer",
			"apps/shop.yaml worker not-newer",
			"workloads/api.yaml api not-newer",
		}},
		{"outside ~1.2 but inside ^1.2", bus.PushEvent{Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "1.3.0"}, []string{
			"apps/frozen.yaml chart-image locked",
			"apps/podinfo.yaml chart-image filter-mismatch",
			"apps/shop.yaml worker filter-mismatch",
			"workloads/api.yaml api update 127.0.0.1:5000/team/app:1.3.0",
		}},
		{"Docker Hub, host omitted in the event", bus.PushEvent{Repository: "bitnami/mongodb", Tag: "4.0.4"},
			[]string{"monitoring/mongodb.yaml chart-image update bitnami/mongodb:4.0.4"}},
		{"Docker Hub, index.docker.io", bus.PushEvent{Registry: "index.docker.io", Repository: "bitnami/mongodb", Tag: "4.1.0"},
			[]string{"monitoring/mongodb.yaml chart-image filter-mismatch"}},
		{"Docker Hub official image", bus.PushEvent{Registry: "docker.io", Repository: "library/nats-streaming", Tag: "0.6.1"},
			[]string{"monitoring/prometheus.yaml nats update nats-streaming:0.6.1"}},
		{"glob filter of the seed", bus.PushEvent{Registry: "docker.io", Repository: "prom/alertmanager", Tag: "v0.16.0"},
			[]string{"monitoring/prometheus.yaml alertmanager filter-mismatch"}},
		{"digest-pinned site, push with a digest", bus.PushEvent{Registry: "127.0.0.1:5000", Repository: "team/migrate", Tag: "1.1.0",
			Digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111"}, []string{
			"apps/shop.yaml migrations update 127.0.0.1:5000/team/migrate:1.1.0@sha256:1111111111111111111111111111111111111111111111111111111111111111",
			"workloads/api.yaml migrate update 127.0.0.1:5000/team/migrate:1.1.0",
		}},
		{"digest-pinned site, push without a digest", bus.PushEvent{Registry: "127.0.0.1:5000", Repository: "team/migrate", Tag: "1.1.0"}, []string{
			"apps/shop.yaml migrations no-digest",
			"workloads/api.yaml migrate update 127.0.0.1:5000/team/migrate:1.1.0",
		}},
		{"not automated", bus.PushEvent{Registry: "registry.example.com", Repository: "legacy/submarine", Tag: "3.2.0"},
			[]string{"legacy/submarine.yaml submarine not-automated"}},
		{"latest", bus.PushEvent{Registry: "127.0.0.1:5000", Repository: "team/shop", Tag: "latest"},
			[]string{"apps/shop.yaml chart-image excluded-tag"}},
		{"unknown repository", bus.PushEvent{Registry: "127.0.0.1:5000", Repository: "team/nothing", Tag: "1.0.0"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.ev.PushedAt = now
			got := outcomeLines(Match(context.Background(), x, tt.ev, nil))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Match:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// history is push history held in memory, for one repository.
type history map[string]time.Time

func (h history) FirstSeen(_ context.Context, _, tag string) (time.Time, bool) {
	t, ok := h[tag]
	return t, ok
}

func TestMatchUsesPushHistory(t *testing.T) {
	x := exampleIndex(t)
	t0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	ev := bus.PushEvent{Registry: "127.0.0.1:5000", Repository: "team/shop", Tag: "main-0000001", PushedAt: t0}
	// Without history a delayed old push counts as the newest ...
	if got := Match(context.Background(), x, ev, nil); len(got) != 1 || got[0].Decision.Code != policy.CodeUpdate {
		t.Fatalf("no history: %v", outcomeLines(got))
	}
	// ... with history it is older than the tag in git, and skipped.
	h := history{"main-1a2b3c4": t0.Add(time.Minute), "main-0000001": t0}
	if got := Match(context.Background(), x, ev, h); len(got) != 1 || got[0].Decision.Code != policy.CodeNotNewer {
		t.Fatalf("with history: %v", outcomeLines(got))
	}
}
