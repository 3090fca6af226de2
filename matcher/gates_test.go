package matcher

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/bus/bustest"
	"github.com/hoist-gitops/hoist/internal/imagerules"
	"github.com/hoist-gitops/hoist/internal/policy"
	"github.com/hoist-gitops/hoist/internal/testenv"
)

// memTimes are first-seen times held in memory.
type memTimes map[string]time.Time

func (m memTimes) FirstSeen(_ context.Context, repo, tag string) (time.Time, bool) {
	t, ok := m[repo+":"+tag]
	return t, ok
}

func gateRelease(annotation string) string {
	return testenv.HelmRelease("app", "registry.example/team/app:1.0.0", "semver:*", annotation)
}

// TestMinimumAgeGate: the images[] rule's minimum age holds a young tag
// until first seen + age; the annotation wins over the rule (0 turns it
// off); an annotation that does not parse and an unknown first-seen time
// hold (fail closed).
func TestMinimumAgeGate(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rules, err := imagerules.Compile([]imagerules.Rule{{Match: "registry.example/**", MinAge: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	times := memTimes{"registry.example/team/app:1.1.0": now.Add(-10 * time.Minute)}
	ev := bus.PushEvent{Registry: "registry.example", Repository: "team/app", Tag: "1.1.0", PushedAt: now.Add(-10 * time.Minute)}
	for _, tc := range []struct {
		name, annotation string
		times            memTimes
		code             policy.Code
		until            time.Time
		retry            bool
	}{
		{"rule", "", times, policy.CodeTooYoung, now.Add(50 * time.Minute), true},
		{"annotation wins", "hoist.dev/min-age.chart-image: 5m", times, policy.CodeUpdate, time.Time{}, false},
		{"annotation 0", "hoist.dev/min-age.chart-image: \"0\"", times, policy.CodeUpdate, time.Time{}, false},
		{"annotation longer", "hoist.dev/min-age.chart-image: 2h", times, policy.CodeTooYoung, now.Add(110 * time.Minute), true},
		{"bad annotation", "hoist.dev/min-age.chart-image: soon", times, policy.CodeTooYoung, time.Time{}, false},
		{"unknown first-seen", "", memTimes{}, policy.CodeTooYoung, time.Time{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idx := NewIndex()
			idx.SetFile("app.yaml", []byte(gateRelease(tc.annotation)))
			outs := Match(context.Background(), idx, ev, nil)
			g := Gates{Rules: rules, Times: tc.times, Now: func() time.Time { return now }}
			res := g.Apply(context.Background(), "gitops", "main", ev, outs)
			if len(outs) != 1 {
				t.Fatalf("outcomes %+v", outs)
			}
			o := outs[0]
			if o.Decision.Code != tc.code || !o.HeldUntil.Equal(tc.until) || res.Retry != tc.retry || !res.Until.Equal(tc.until) {
				t.Errorf("outcome %+v (until %s), result %+v; want %s until %s, retry %v", o.Decision, o.HeldUntil, res, tc.code, tc.until, tc.retry)
			}
			if tc.code == policy.CodeTooYoung && (o.Decision.Update || !strings.Contains(o.Decision.Reason, "minimum age")) {
				t.Errorf("held outcome %+v", o.Decision)
			}
		})
	}
}

// TestNewerHeldTagReplacesOlder: while 1.1.0 waits for its minimum age, a
// push of 1.2.0 arrives and waits too; when 1.1.0 comes of age it is not
// written (1.2.0 replaces it), and 1.2.0 is when its own age is reached.
func TestNewerHeldTagReplacesOlder(t *testing.T) {
	b := bustest.Start(t)
	holds, err := bus.OpenHolds(context.Background(), b.JS)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	times := memTimes{"registry.example/team/app:1.1.0": t0, "registry.example/team/app:1.2.0": t0.Add(5 * time.Minute),
		"registry.example/team/app:1.0.5": t0.Add(6 * time.Minute)}
	idx := NewIndex()
	idx.SetFile("app.yaml", []byte(gateRelease("hoist.dev/min-age.chart-image: 1h")))
	decide := func(tag string, at time.Time) Outcome {
		t.Helper()
		ev := bus.PushEvent{Registry: "registry.example", Repository: "team/app", Tag: tag, PushedAt: times["registry.example/team/app:"+tag]}
		outs := Match(context.Background(), idx, ev, times)
		g := Gates{Times: times, Holds: holds, Now: func() time.Time { return at }}
		g.Apply(context.Background(), "gitops", "main", ev, outs)
		if len(outs) != 1 {
			t.Fatalf("outcomes %+v", outs)
		}
		return outs[0]
	}
	if o := decide("1.1.0", t0.Add(time.Minute)); o.Decision.Code != policy.CodeTooYoung {
		t.Fatalf("1.1.0 at first: %+v", o.Decision)
	}
	if o := decide("1.2.0", t0.Add(5*time.Minute)); o.Decision.Code != policy.CodeTooYoung {
		t.Fatalf("1.2.0 at first: %+v", o.Decision)
	}
	if o := decide("1.0.5", t0.Add(6*time.Minute)); o.Decision.Code != policy.CodeTooYoung {
		t.Fatalf("1.0.5 at first: %+v", o.Decision) // an older tag pushed later does not replace 1.2.0
	}
	if o := decide("1.1.0", t0.Add(61*time.Minute)); o.Decision.Code != policy.CodeSuperseded || !strings.Contains(o.Decision.Reason, "superseded by 1.2.0") {
		t.Fatalf("1.1.0 of age: %+v, want superseded by 1.2.0", o.Decision)
	}
	if o := decide("1.2.0", t0.Add(66*time.Minute)); !o.Decision.Update {
		t.Fatalf("1.2.0 of age: %+v, want an update", o.Decision)
	}
	if _, _, ok, err := holds.Pending(context.Background(), bus.Site{Repo: "gitops", Branch: "main", File: "app.yaml", Resource: "apps:helmrelease/app", Container: "chart-image"}); ok || err != nil {
		t.Errorf("the pending tag is still recorded once written (%v)", err)
	}
}
