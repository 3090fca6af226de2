package ingest

import (
	"bytes"
	"testing"
	"time"
)

// A push time in the future is impossible but for a registry clock a
// little ahead of hoist's: one further ahead than maxClockSkew (a forged
// 9999-01-01 would make every later tag of the repository "not newer") is
// replaced with the receipt time; a past one is kept.
func TestForgedPushTimeFreezesSites(t *testing.T) {
	ts := newTestServer(t, Config{Receivers: []Receiver{
		{Name: "ci", Kind: KindGeneric, Secret: testSecret},
		{Name: "reg", Kind: KindDistribution, Secret: testSecret},
	}})
	auth := "Bearer " + testSecret
	genFixture := readFixture(t, "synthetic/generic-image-tag-digest.json")
	distFixture := readFixture(t, "webhooks/distribution-captured-tag-push.json")
	forgedGen := bytes.Replace(genFixture, []byte("2026-01-02T03:04:05Z"), []byte("9999-01-01T00:00:00Z"), 1)
	forgedDist := bytes.Replace(distFixture, []byte("2026-11-23T19:37:20.243096083Z"), []byte("9999-01-01T00:00:00Z"), 1)
	if bytes.Equal(forgedGen, genFixture) || bytes.Equal(forgedDist, distFixture) {
		t.Fatal("fixture times not found")
	}
	for _, c := range []struct {
		name, path string
		body       []byte
		ct         string
	}{
		{"generic", "/hooks/ci", forgedGen, "application/json"},
		{"distribution", "/hooks/reg", forgedDist, "application/vnd.docker.distribution.events.v2+json"},
	} {
		status, r := ts.post(t, c.path, c.body, hdr("Content-Type", c.ct, "Authorization", auth))
		if status != 202 || len(r.EventIDs) != 1 {
			t.Fatalf("%s: %d %+v", c.name, status, r)
		}
	}
	// The same image once more with a time in the past: kept as sent.
	past := bytes.Replace(genFixture, []byte("team/app:1.4.0"), []byte("team/app:1.3.0"), 1)
	if status, r := ts.post(t, "/hooks/ci", past, hdr("Content-Type", "application/json", "Authorization", auth)); status != 202 {
		t.Fatalf("past time: %d %+v", status, r)
	}
	evs, _ := storedEvents(t, ts.js)
	if len(evs) != 3 {
		t.Fatalf("stored %d events, want 3", len(evs))
	}
	for _, ev := range evs[:2] {
		if !ev.PushedAt.Equal(ev.ReceivedAt) {
			t.Errorf("%s/%s:%s: pushed at %v, received at %v: a push time from the future is kept", ev.Registry, ev.Repository, ev.Tag, ev.PushedAt, ev.ReceivedAt)
		}
	}
	if want := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC); !evs[2].PushedAt.Equal(want) {
		t.Errorf("past push time %v, want %v kept", evs[2].PushedAt, want)
	}
	clamped := 0
	for _, l := range ts.logs.Lines(t, "") {
		if l["message"] == "webhook delivery" && l["pushed_at_clamped"] == 1.0 {
			clamped++
		}
	}
	if clamped != 2 {
		t.Errorf("%d delivery lines say a push time was clamped, want 2", clamped)
	}
}
