package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testenv"
)

// TestHoldsRebuiltFromGitHistory: hoist writes 1.2.4, a person rolls the
// site back to 1.2.3 through the git server, and the site is held. The
// holds bucket is then lost — deleted while hoist runs (NATS re-creates it
// empty), and again while hoist is stopped — and each time the hold is
// rebuilt from the branch's git history: hoist hold list shows it, a
// re-push of 1.2.4 commits nothing, and at the end a push of the strictly
// newer 1.2.5 commits.
func TestHoldsRebuiltFromGitHistory(t *testing.T) {
	g := newGateSetup(t, `{match: "**", verify: none}`)
	b, repo, seed, cfgFile := g.bus, g.repo, g.seed, g.cfgFile
	all := stages{ingest: true, match: true, commit: true}
	hoist := startGateStage(t, cfgFile, all)
	ctx := context.Background()
	holds, err := bus.OpenHolds(ctx, b.JS)
	if err != nil {
		t.Fatal(err)
	}
	site := bus.Site{Repo: "gitops", Branch: "main", File: "apps/app.yaml", Resource: "apps:helmrelease/app", Container: "chart-image"}
	record := func() bus.SiteRecord {
		rec, _, err := holds.Get(ctx, site)
		if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) && !errors.Is(err, jetstream.ErrBucketNotFound) {
			t.Fatal(err)
		}
		return rec
	}
	const image = "127.0.0.1:5000/team/app"
	hoist.pushDecided(t, image+":1.2.4")
	testenv.Eventually(t, "hoist's commit of 1.2.4", func() bool { return repo.Head(t, "main") != seed })
	testenv.Eventually(t, "the tag written recorded", func() bool { return record().Written == "1.2.4" })
	rolled := rollBack(t, repo, "1.2.3")
	testenv.Eventually(t, "the matcher to hold the rolled-back site", func() bool { return record().Held })

	// heldAgain checks that the hold came back from history, and that a
	// re-push of the tag rolled back from (another digest: a new push)
	// commits nothing.
	heldAgain := func(digest string) {
		t.Helper()
		testenv.Eventually(t, "the hold rebuilt from git history", func() bool { return record().Held })
		if rec := record(); rec.Written != "1.2.4" || rec.RolledBackTo != "1.2.3" || rec.HeldCommit != rolled || rec.Image != image {
			t.Errorf("rebuilt record %+v, want written 1.2.4, rolled back to 1.2.3 by %s", rec, rolled)
		}
		var out, errOut bytes.Buffer
		if code := run([]string{"hold", "list", "--config", cfgFile, "--output", "json"}, &out, &errOut); code != 0 {
			t.Fatalf("hoist hold list: %d %s", code, errOut.String())
		}
		var listed []bus.SiteRecord
		if err := json.Unmarshal(out.Bytes(), &listed); err != nil || len(listed) != 1 || listed[0].Site != site || !listed[0].Held {
			t.Fatalf("hoist hold list after the rebuild: %v %s", err, out.String())
		}
		if line := hoist.pushDecided(t, image+":1.2.4@sha256:"+strings.Repeat(digest, 64)); !strings.Contains(line, `"rewrites":0`) {
			t.Fatalf("the matcher approved the tag rolled back from after the holds were lost: %s", line)
		}
		if head := repo.Head(t, "main"); head != rolled {
			t.Fatalf("the re-push of the tag rolled back from was committed over the person's rollback")
		}
	}

	// Lost while hoist runs: NATS re-creates the bucket empty (/readyz
	// asks for the repair at once).
	if err := b.JS.DeleteKeyValue(ctx, bus.HoldsBucket); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the holds bucket re-created", func() bool {
		_, err := b.JS.KeyValue(ctx, bus.HoldsBucket)
		if err != nil {
			httpGet(hoist.base + "/readyz")
		}
		return err == nil
	})
	heldAgain("a")

	// Lost while hoist is stopped: it starts with an empty bucket.
	if err := hoist.stop(); err != nil {
		t.Fatal(err)
	}
	if err := b.JS.DeleteKeyValue(ctx, bus.HoldsBucket); err != nil {
		t.Fatal(err)
	}
	hoist = startGateStage(t, cfgFile, all)
	heldAgain("b")

	if line := hoist.pushDecided(t, image+":1.2.5"); !strings.Contains(line, `"rewrites":1`) {
		t.Fatalf("the strictly newer tag was not approved: %s", line)
	}
	testenv.Eventually(t, "the commit of 1.2.5", func() bool { return repo.Head(t, "main") != rolled })
	if got := repo.Show(t, "main", "apps/app.yaml"); !strings.Contains(got, "tag: 1.2.5\n") {
		t.Fatalf("apps/app.yaml:\n%s", got)
	}
	testenv.Eventually(t, "the hold ended", func() bool { rec := record(); return rec.Written == "1.2.5" && !rec.Held })
}
