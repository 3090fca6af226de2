package committer

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/bus/bustest"
	"github.com/hoist-gitops/hoist/internal/testenv"
)

var holdsRelease = testenv.HelmRelease("app", "registry.example/team/IMAGE:1.2.3", "semver:*")

// TestRecheckHonoursHolds: at the head, a site that reads an older tag than
// hoist wrote there takes no tag up to the one written, a newer one is
// applied, and a site switched to another image is not held by the tags
// written for the old one.
func TestRecheckHonoursHolds(t *testing.T) {
	b := bustest.Start(t)
	holds, err := bus.OpenHolds(context.Background(), b.JS)
	if err != nil {
		t.Fatal(err)
	}
	site := bus.Site{Repo: "gitops", Branch: "main", File: "app.yaml", Resource: "apps:helmrelease/app", Container: "chart-image"}
	if err := holds.Written(context.Background(), bus.SiteRecord{Site: site, Image: "registry.example/team/app", Written: "1.2.4", WrittenAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	edit := holdEditor(policyEditor(nil), holds, nil)
	rw := func(image, tag string) bus.Rewrite {
		return bus.Rewrite{Repo: "gitops", Branch: "main", File: "app.yaml", Resource: site.Resource, Container: site.Container,
			Image: "registry.example/team/" + image, Old: "registry.example/team/" + image + ":1.2.3",
			New: "registry.example/team/" + image + ":" + tag, Tag: tag}
	}
	for _, tc := range []struct {
		name, image, tag string
		applied          bool
	}{
		{"the tag rolled back from", "app", "1.2.4", false},
		{"an older one", "app", "1.2.3-fix", false},
		{"a newer one", "app", "1.2.5", true},
		{"another image", "other", "1.2.4", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(strings.Replace(holdsRelease, "IMAGE", tc.image, 1))
			out, outcomes, err := edit("app.yaml", data, []bus.Rewrite{rw(tc.image, tc.tag)})
			if err != nil || len(outcomes) != 1 {
				t.Fatalf("edit: %v %+v", err, outcomes)
			}
			if outcomes[0].Applied != tc.applied || strings.Contains(string(out), "tag: "+tc.tag+"\n") != tc.applied {
				t.Errorf("applied %v (%s), want %v", outcomes[0].Applied, outcomes[0].Reason, tc.applied)
			}
			if !tc.applied && !strings.Contains(outcomes[0].Reason, "rolled back from 1.2.4") {
				t.Errorf("reason %q does not say why", outcomes[0].Reason)
			}
		})
	}
}
