package committer

import (
	"context"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/manifest"
	"github.com/hoist-gitops/hoist/internal/policy"
)

// SiteHolds keeps, per site, the tag hoist last wrote there and whether a
// person's rollback holds it (bus.Holds).
type SiteHolds interface {
	Get(ctx context.Context, s bus.Site) (bus.SiteRecord, bool, error)
	Written(ctx context.Context, rec bus.SiteRecord) error
}

// holdsTimeout bounds the hold lookups of one file, and the records of one commit.
const holdsTimeout = 10 * time.Second

// holdEditor is the re-check at the branch head with holds honoured: a
// rewrite of a site that reads an older tag than hoist last wrote there (a
// person rolled it back, maybe a moment ago, before any matcher saw it) is
// dropped unless its tag is strictly newer than the one rolled back from.
// The other rewrites go to inner. A hold that cannot be read drops the
// rewrite: overriding a person's rollback is worse than waiting for the
// next push.
func holdEditor(inner Editor, holds SiteHolds, times policy.TagTimes) Editor {
	return func(file string, data []byte, rws []bus.Rewrite) ([]byte, []Outcome, error) {
		ctx, cancel := context.WithTimeout(context.Background(), holdsTimeout)
		defer cancel()
		var sites []manifest.Site
		parsed := false
		dropped := map[int]string{}
		var keep []bus.Rewrite
		for i, rw := range rws {
			rec, ok, err := holds.Get(ctx, rw.Site())
			if err != nil {
				dropped[i] = "cannot read the site's hold, so it is not written: " + err.Error()
				continue
			}
			if ok {
				if !parsed {
					sites, _ = manifest.Parse(file, data)
					parsed = true
				}
				if why := heldBack(ctx, sites, rw, rec, times); why != "" {
					dropped[i] = why
					continue
				}
			}
			keep = append(keep, rw)
		}
		if len(dropped) == 0 {
			return inner(file, data, rws)
		}
		out, kept := data, []Outcome(nil)
		if len(keep) > 0 {
			var err error
			if out, kept, err = inner(file, data, keep); err != nil {
				return nil, nil, err
			}
		}
		outcomes := make([]Outcome, 0, len(rws))
		for i, rw := range rws {
			if why, ok := dropped[i]; ok {
				outcomes = append(outcomes, Outcome{Rewrite: rw, Reason: why})
				continue
			}
			outcomes = append(outcomes, kept[0])
			kept = kept[1:]
		}
		return out, outcomes, nil
	}
}

// heldBack says why rw may not be applied to its site, which a person set
// back from rec.Written, or "" when it may.
func heldBack(ctx context.Context, sites []manifest.Site, rw bus.Rewrite, rec bus.SiteRecord, times policy.TagTimes) string {
	written := rec.Written
	for _, s := range sites {
		if s.Resource.String() != rw.Resource || s.Container != rw.Container {
			continue
		}
		if !rec.For(s.Ref.Canonical()) || !policy.RolledBack(ctx, s, s.Ref, written, times) {
			return ""
		}
		if ok, why := policy.PassesHold(ctx, s, policy.Candidate{Tag: rw.Tag, Digest: rw.Digest, PushedAt: rw.PushedAt}, written, times); !ok {
			return "re-check at the head: " + why
		}
		return ""
	}
	return "" // the inner re-check says the site is gone
}

// recordWritten records, for each site a commit pushed to the tracked
// branch changed, the tag hoist wrote there, which ends any hold on it. A
// commit to another branch (pushBranch) writes nothing the tracked branch
// reads yet. A failure is logged: the hold check then compares with the
// tag written before.
func (c *Committer) recordWritten(w *writer, res Result) {
	if c.holds == nil || res.Commit.IsZero() || res.Branch != w.repo.Branch {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), holdsTimeout)
	defer cancel()
	now := time.Now().UTC()
	for _, rw := range res.Applied {
		rec := bus.SiteRecord{Site: rw.Site(), Image: rw.Image, Written: rw.Tag, WrittenAt: now, Commit: res.Commit.String()}
		if err := c.holds.Written(ctx, rec); err != nil {
			w.log.Warn().Err(err).Str("file", rw.File).Str("resource", rw.Resource).Str("container", rw.Container).
				Msg("cannot record the tag written; a rollback of it is not held")
		}
	}
}
