package bus_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/bus/bustest"
)

// Item "distributed": a scan is claimed with a compare-and-set on the
// repository's record, so of two replicas claiming at once one wins.
func TestScanClaimOneWinner(t *testing.T) {
	ctx := context.Background()
	c := bustest.Start(t).Conn
	a, err := bus.OpenScanStore(ctx, c.JS)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bus.OpenScanStore(ctx, c.JS)
	if err != nil {
		t.Fatal(err)
	}
	const repo = "ghcr.io/org/app"
	rec, rev, err := a.Record(ctx, repo)
	if err != nil || rev != 0 {
		t.Fatalf("empty record: %+v %d %v", rec, rev, err)
	}
	until := time.Now().Add(time.Minute)
	revA, errA := a.SetRecord(ctx, repo, bus.ScanRecord{Owner: "a", ClaimedUntil: until}, 0)
	_, errB := b.SetRecord(ctx, repo, bus.ScanRecord{Owner: "b", ClaimedUntil: until}, 0)
	if errA != nil || !errors.Is(errB, bus.ErrClaimLost) {
		t.Fatalf("first claims: a %v, b %v", errA, errB)
	}
	got, rev, err := b.Record(ctx, repo)
	if err != nil || got.Owner != "a" || rev != revA {
		t.Fatalf("record after the claims: %+v rev %d (want %d) %v", got, rev, revA, err)
	}
	if _, err := a.SetRecord(ctx, repo, bus.ScanRecord{LastScan: time.Now()}, revA); err != nil {
		t.Fatalf("a's update at its revision: %v", err)
	}
	if _, err := b.SetRecord(ctx, repo, bus.ScanRecord{Owner: "b"}, revA); !errors.Is(err, bus.ErrClaimLost) {
		t.Fatalf("b's update at a stale revision: %v", err)
	}
}

// KnownTags streams the tags with a first-seen time of one repository,
// and no other's.
func TestKnownTags(t *testing.T) {
	ctx := context.Background()
	c := bustest.Start(t).Conn
	tt, err := bus.OpenTagTimes(ctx, c.JS)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := tt.KnownTags(ctx, "docker.io/library/redis", func(tag string) { got = append(got, tag) }); err != nil || len(got) != 0 {
		t.Fatalf("empty bucket: %v %v", got, err)
	}
	for _, it := range []struct{ repo, tag string }{
		{"docker.io/library/redis", "7.2"}, {"docker.io/library/redis", "7.4"}, {"docker.io/library/redis-x", "1"},
		{"docker.io/library/redi", "2"},
	} {
		if _, err := tt.Record(ctx, it.repo, it.tag, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := tt.KnownTags(ctx, "docker.io/library/redis", func(tag string) { got = append(got, tag) }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"7.2", "7.4"}) {
		t.Errorf("known tags: %v", got)
	}
}
