package policy

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestMinimumAge: a tag younger than the minimum age is held until it is
// old enough; one without a first-seen time is held (fail closed); the
// annotation wins over the images[] rule, and 0 there turns it off.
func TestMinimumAge(t *testing.T) {
	s := site(t, "registry.example.com/team/app:1.0.0", "semver:*")
	if got, err := MinAge(s, time.Hour); err != nil || got != time.Hour {
		t.Errorf("rule age: %v, %v", got, err)
	}
	s.Policy.MinAge = "0"
	if got, err := MinAge(s, time.Hour); err != nil || got != 0 {
		t.Errorf("annotation 0: %v, %v", got, err)
	}
	s.Policy.MinAge = "soon"
	if _, err := MinAge(s, time.Hour); err == nil {
		t.Error("an annotation that does not parse is accepted")
	}

	g := CheckAge("1.0.1", time.Hour, at(0), true, at(30))
	if !g.Held || !g.Until.Equal(at(60)) || !strings.Contains(g.Reason, "held until") {
		t.Errorf("young tag: %+v", g)
	}
	if g := CheckAge("1.0.1", time.Hour, at(0), true, at(60)); g.Held {
		t.Errorf("old enough: %+v", g)
	}
	if g := CheckAge("1.0.1", time.Hour, time.Time{}, false, at(60)); !g.Held || !g.Until.IsZero() {
		t.Errorf("unknown first-seen: %+v", g)
	}
	if g := CheckAge("1.0.1", 0, time.Time{}, false, at(0)); g.Held {
		t.Errorf("no minimum: %+v", g)
	}
}

// TestHoldAfterRollback: a site rolled back from 1.3.0 takes no tag up to
// 1.3.0, and a strictly newer one passes; for glob filters the order is
// the push order.
func TestHoldAfterRollback(t *testing.T) {
	s := site(t, "registry.example.com/team/app:1.2.0", "semver:*")
	if !RolledBack(context.Background(), s, s.Ref, "1.3.0", nil) || RolledBack(context.Background(), s, s.Ref, "1.2.0", nil) || RolledBack(context.Background(), s, s.Ref, "1.1.0", nil) {
		t.Error("semver rollback detection")
	}
	for tag, want := range map[string]bool{"1.3.0": false, "1.2.5": false, "1.3.1": true} {
		if ok, why := PassesHold(context.Background(), s, Candidate{Tag: tag}, "1.3.0", nil); ok != want {
			t.Errorf("%s passes the hold: %v (%s), want %v", tag, ok, why, want)
		}
	}
	repo := "registry.example.com/team/app"
	times := pushTimes{repo: repo, at: map[string]time.Time{"main-a": at(0), "main-b": at(10), "main-c": at(20)}}
	g := site(t, repo+":main-a", "glob:main-*")
	if !RolledBack(context.Background(), g, g.Ref, "main-b", times) {
		t.Error("glob: main-a after main-b is a rollback")
	}
	if ok, _ := PassesHold(context.Background(), g, Candidate{Tag: "main-b", PushedAt: at(30)}, "main-b", times); ok {
		t.Error("a re-push of the tag rolled back from passes")
	}
	if ok, _ := PassesHold(context.Background(), g, Candidate{Tag: "main-c", PushedAt: at(20)}, "main-b", times); !ok {
		t.Error("a tag pushed after the one rolled back from is held")
	}
}
