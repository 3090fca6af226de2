package matcher

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imageref"
	"github.com/hoist-gitops/hoist/internal/manifest"
	"github.com/hoist-gitops/hoist/internal/policy"
	"github.com/hoist-gitops/hoist/internal/wire"
)

// scanResult counts what one scan of a repository saw and did.
type scanResult struct {
	pages, tags, newTags, events int
}

// listRepo lists repo's tags and turns what it finds into push events on
// the push stream, decided like webhooks'. The tags hoist already knows
// (those with a first-seen time) are read once from NATS; the registry's
// pages are compared with them as they arrive, never all held at once.
//
// After the first complete scan (baselined), each tag seen for the first
// time becomes an event, published before its first-seen time is recorded
// (a failure in between lists it again next time; the event's message id
// makes the second copy a duplicate). The first scan records every new
// tag's first-seen time without an event, since the push order of tags
// that predate hoist is unknown, and publishes, for each semver: site, the
// highest tag its filter would move it to, as an event only semver: sites
// act on.
func (s *Service) listRepo(ctx context.Context, repo string, baselined bool) (scanResult, error) {
	var res scanResult
	known := map[string]struct{}{}
	if err := s.times.KnownTags(ctx, repo, func(tag string) { known[tag] = struct{}{} }); err != nil {
		return res, err
	}
	var best []*semverBest
	if !baselined {
		best = s.semverSites(repo)
	}
	host, path := imageref.SplitHost(repo)
	now := time.Now().UTC()
	var fresh []string // a first scan's new tags of the page, recorded together
	err := s.cfg.Scan.Lister.Tags(ctx, repo, func(page []string) error {
		res.pages++
		res.tags += len(page)
		s.sm.request(host, "200")
		for _, tag := range page {
			if imageref.ValidateTag(tag) != nil {
				continue // never written to a file; a webhook would be refused too
			}
			_, seen := known[tag]
			if !seen {
				res.newTags++
			}
			if !baselined {
				for _, b := range best {
					b.offer(ctx, tag)
				}
				if !seen {
					fresh = append(fresh, tag)
				}
				continue
			}
			if seen {
				continue
			}
			if err := s.publishScanEvent(ctx, scanEvent(host, path, tag, now, false)); err != nil {
				return err
			}
			res.events++
			if _, err := s.times.Record(ctx, repo, tag, now); err != nil {
				return err
			}
		}
		err := s.recordAll(ctx, repo, fresh, now)
		fresh = fresh[:0]
		return err
	})
	if err != nil {
		s.sm.failedRequest(host, err)
		return res, fmt.Errorf("list %s: %w", repo, err)
	}
	done := map[string]bool{}
	for _, b := range best {
		if b.tag == "" || done[b.tag] {
			continue
		}
		done[b.tag] = true
		at, err := s.times.Record(ctx, repo, b.tag, now)
		if err != nil {
			return res, err
		}
		if err := s.publishScanEvent(ctx, scanEvent(host, path, b.tag, at, true)); err != nil {
			return res, err
		}
		res.events++
	}
	return res, nil
}

// recordConcurrency bounds the first-seen times a first scan records at
// once: each is a NATS round trip, and a page holds up to a thousand.
const recordConcurrency = 32

// recordAll records now as the first-seen time of each tag, several at a time.
func (s *Service) recordAll(ctx context.Context, repo string, tags []string, now time.Time) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	slots := make(chan struct{}, recordConcurrency)
	for _, tag := range tags {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if _, err := s.times.Record(ctx, repo, tag, now); err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

// scanEvent is the push event of a tag a scan found, pushed (first seen) at.
// It carries no digest (a tag list names none; verification asks the
// registry for it), so its message id is the one ingest gives a webhook
// without a digest for the same tag.
func scanEvent(host, path, tag string, at time.Time, semverOnly bool) bus.PushEvent {
	ev := bus.PushEvent{
		Registry: host, Repository: path, Tag: tag,
		PushedAt: at, ReceivedAt: time.Now().UTC(),
		Source: wire.SourceScan, SemverOnly: semverOnly,
	}
	ev.ID = "scan-" + ev.DedupeID()[len("push-"):]
	return ev
}

// publishScanEvent stores ev on the push stream with ingest's message id
// rule, and waits for JetStream to store it.
func (s *Service) publishScanEvent(ctx context.Context, ev bus.PushEvent) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode scan event: %w", err)
	}
	if _, err := s.js.Publish(ctx, bus.PushSubject(ev.Registry, ev.Repository), b, jetstream.WithMsgID(ev.DedupeID())); err != nil {
		return fmt.Errorf("publish scan event %s:%s: %w", ev.Repository, ev.Tag, err)
	}
	s.log.Info().Str("event_id", ev.ID).Str("image", imageref.Canonical(ev.Registry, ev.Repository)).
		Str("tag", ev.Tag).Bool("semver_only", ev.SemverOnly).Msg("scan found a new tag")
	return nil
}

// semverBest is a semver: site of a first scan and the highest listed tag
// its filter would move it to so far ("" when none).
type semverBest struct {
	site manifest.Site
	tag  string
}

// offer keeps tag when the site would move to it from the best so far.
// The site's digest is left out: the event is verified (which gives the
// digest) before any digest-pinned site is written.
func (b *semverBest) offer(ctx context.Context, tag string) {
	cur := b.site
	cur.Ref.Digest = ""
	if b.tag != "" {
		cur.Ref.Tag = b.tag
	}
	if policy.Decide(ctx, cur, policy.Candidate{Tag: tag}, nil).Update {
		b.tag = tag
	}
}

// semverSites are the automated semver: sites of repo in every indexed repository.
func (s *Service) semverSites(repo string) []*semverBest {
	var out []*semverBest
	for _, r := range s.repos {
		if !r.indexed.Load() {
			continue
		}
		for _, st := range r.idx.Load().Lookup(repo) {
			if !st.Policy.Automated || st.Policy.Locked || st.Policy.Ignored {
				continue
			}
			if f, err := policy.CachedFilter(st.Policy.Filter); err == nil && f.Kind == policy.Semver {
				out = append(out, &semverBest{site: *st})
			}
		}
	}
	return out
}

// semverOnly drops the outcomes of sites without a semver: filter when the
// event asks for it (a first scan's event).
func semverOnly(ev bus.PushEvent, outs []Outcome) []Outcome {
	if !ev.SemverOnly {
		return outs
	}
	kept := outs[:0:0]
	for _, o := range outs {
		if f, err := policy.CachedFilter(o.Site.Policy.Filter); err == nil && f.Kind == policy.Semver {
			kept = append(kept, o)
		}
	}
	return kept
}
