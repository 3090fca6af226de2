package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imagerules"
	"github.com/hoist-gitops/hoist/internal/policy"
	"github.com/hoist-gitops/hoist/matcher"
)

// deployment is what hoist explain and hoist images read from a running
// deployment when given --config: the images[] rules, the first-seen times
// of tags and the holds, for one repository branch of the configuration.
type deployment struct {
	repo, branch string
	rules        *imagerules.Rules
	times        *bus.TagTimes
	holds        *bus.Holds
	close        func()
}

// openDeployment reads the configuration at path and connects to its NATS
// server; repo names the repository the files belong to ("" is the only
// one configured).
func openDeployment(ctx context.Context, path, repo string) (*deployment, error) {
	cfg, holds, closeBus, conn, err := openBusFromConfig(ctx, path)
	if err != nil {
		return nil, err
	}
	d := &deployment{holds: holds, close: closeBus}
	if d.rules, err = imagerules.Compile(cfg.ImageRules()); err != nil {
		d.close()
		return nil, err
	}
	switch {
	case repo == "" && len(cfg.Repositories) == 1:
		d.repo, d.branch = cfg.Repositories[0].Name, cfg.Repositories[0].Branch
	case repo == "":
		d.close()
		return nil, fmt.Errorf("%s configures %d repositories: name the one these files belong to with --repo", path, len(cfg.Repositories))
	default:
		for _, r := range cfg.Repositories {
			if r.Name == repo {
				d.repo, d.branch = r.Name, r.Branch
			}
		}
		if d.repo == "" {
			d.close()
			return nil, fmt.Errorf("%s configures no repository %q", path, repo)
		}
	}
	if d.times, err = bus.OpenTagTimes(ctx, conn); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

// readOnlyHolds reads holds and never marks one (explain changes nothing).
type readOnlyHolds struct{ h *bus.Holds }

func (r readOnlyHolds) Get(ctx context.Context, s bus.Site) (bus.SiteRecord, bool, error) {
	return r.h.Get(ctx, s)
}

func (readOnlyHolds) Hold(context.Context, bus.Site, string, string, string, time.Time) (bool, error) {
	return false, nil
}

func (r readOnlyHolds) Pending(ctx context.Context, s bus.Site) (bus.Pending, uint64, bool, error) {
	return r.h.Pending(ctx, s)
}

func (readOnlyHolds) SetPending(context.Context, bus.Pending, uint64) (bool, error) {
	return false, nil
}

func (readOnlyHolds) ClearPending(context.Context, bus.Site, uint64) error { return nil }

// pushedNow counts a tag hoist has not seen as first seen at now: what a
// push made now would record for it.
type pushedNow struct {
	times policy.TagTimes
	now   time.Time
}

func (p pushedNow) FirstSeen(ctx context.Context, repo, tag string) (time.Time, bool) {
	if at, ok := p.times.FirstSeen(ctx, repo, tag); ok {
		return at, true
	}
	return p.now, true
}

// explainGates runs the gates on explain's outcomes: with a deployment,
// the images[] minimum ages, first-seen times and holds; without one, only
// the annotations' minimum ages, whose times are unknown. ctx bounds the
// lookups.
func explainGates(ctx context.Context, d *deployment, ev bus.PushEvent, outs []matcher.Outcome) {
	g := matcher.Gates{Now: func() time.Time { return ev.PushedAt }}
	repo, branch := "", ""
	if d != nil {
		g.Rules, g.Holds = d.rules, readOnlyHolds{d.holds}
		g.Times = pushedNow{times: d.times, now: ev.PushedAt}
		repo, branch = d.repo, d.branch
	}
	g.Apply(ctx, repo, branch, ev, outs)
	if d != nil {
		return
	}
	for i := range outs {
		if o := &outs[i]; o.Decision.Code == policy.CodeTooYoung && o.HeldUntil.IsZero() {
			o.Decision.Reason += " (first-seen times are kept in NATS: hoist explain --config hoist.yaml reads them and says until when)"
		}
	}
}

// decisionWord is explain's DECISION column: update, held or skip.
func decisionWord(o matcher.Outcome) string {
	switch {
	case o.Decision.Update:
		return "update"
	case o.Decision.Code == policy.CodeTooYoung || o.Decision.Code == policy.CodeHeld:
		return "held"
	}
	return "skip"
}

// addHolds fills each row's Hold and Waiting from the deployment at
// cfgPath: the sites a person rolled back from what hoist wrote, and the
// tags waiting for their minimum age.
func addHolds(cfgPath, repo string, rows []imageRow) error {
	ctx, cancel := context.WithTimeout(context.Background(), holdTimeout)
	defer cancel()
	d, err := openDeployment(ctx, cfgPath, repo)
	if err != nil {
		return err
	}
	defer d.close()
	for i := range rows {
		r := &rows[i]
		site := bus.Site{Repo: d.repo, Branch: d.branch, File: r.File, Resource: r.Resource, Container: r.Container}
		rec, ok, err := d.holds.Get(ctx, site)
		if err != nil {
			return err
		}
		p, _, pending, err := d.holds.Pending(ctx, site)
		if err != nil {
			return err
		}
		if pending && !strings.HasSuffix(r.Image, ":"+p.Tag) && !strings.Contains(r.Image, ":"+p.Tag+"@") {
			r.Waiting = p.Tag + " held for its minimum age"
			if !p.Until.IsZero() {
				r.Waiting += " until " + p.Until.UTC().Format(time.RFC3339)
			}
		}
		if ok && rec.Held {
			r.Hold = fmt.Sprintf("held since %s: rolled back from %s to %s by a person; tags up to %s are not applied again until a newer one is pushed (hoist hold release %s %s %s lifts it)",
				rec.HeldSince.UTC().Format(time.RFC3339), rec.Written, rec.RolledBackTo, rec.Written, rec.Repo, rec.Resource, rec.Container)
		}
	}
	return nil
}
