package matcher

import (
	"context"
	"sort"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/manifest"
	"github.com/hoist-gitops/hoist/internal/policy"
)

// The holds bucket keeps, per site, the tag hoist last wrote there; without
// it a person's rollback is forgotten and the tag rolled back from is
// written again at its next push. When the bucket has lost a branch's
// records (NATS lost its storage, the bucket was deleted and re-created,
// hoist meets an existing repository with a new NATS), they are read back
// from the branch's git history: hoist's commits say what it wrote where,
// and the head says which sites a person set back since. This file is the
// pure part: from commits' site values to records.

// siteID names a site within a repository branch: its bus.Site with the
// repository and branch left empty.
type siteID = bus.Site

// idOf is the siteID of site.
func idOf(site *manifest.Site) siteID { return SiteOf("", "", site) }

// siteTag is the tag one commit set at one site (the site read another
// tag, or did not exist, in the commit's first parent). Image is the
// canonical repository it named, "" when the file names none (a Flux
// setter marker on the tag alone).
type siteTag struct {
	Site       siteID
	Image, Tag string
}

// histCommit is one commit of the branch's first-parent history.
type histCommit struct {
	Hash string
	When time.Time
	// Hoist is set on the commits hoist made (Hoist-Event-Ids trailer).
	Hoist bool
	// Set are the sites whose tag the commit changed.
	Set []siteTag
}

// histWrite is the last tag hoist wrote to a site, and the newest commit
// not made by hoist that set the site after it (Person "" when none).
type histWrite struct {
	Image, Tag, Commit string
	When               time.Time
	Person             string
	PersonAt           time.Time
}

// lastWrites finds, in commits ordered newest first, the last tag hoist
// wrote to each site, with the newest commit of someone else that set the
// site since: that commit put the site where it is now.
func lastWrites(commits []histCommit) map[siteID]histWrite {
	out := map[siteID]histWrite{}
	person := map[siteID]histCommit{}
	for _, c := range commits {
		for _, st := range c.Set {
			if _, found := out[st.Site]; found {
				continue
			}
			if !c.Hoist {
				if _, seen := person[st.Site]; !seen {
					person[st.Site] = c
				}
				continue
			}
			w := histWrite{Image: st.Image, Tag: st.Tag, Commit: c.Hash, When: c.When}
			if p, ok := person[st.Site]; ok {
				w.Person, w.PersonAt = p.Hash, p.When
			}
			out[st.Site] = w
		}
	}
	return out
}

// rebuiltRecords are the records of the automated sites at head that
// hoist wrote: the tag written, and a hold where the site reads an older
// tag than that by its filter's order — set by the person's commit that
// changed it last, or (not found) first seen at head at now. A site that
// names another image than the one written gets a record of that image,
// which holds nothing. Sorted by key. ctx bounds the first-seen lookups
// of filters that order tags by push time.
func rebuiltRecords(ctx context.Context, repo, branch string, writes map[siteID]histWrite, sites []manifest.Site, head string, times policy.TagTimes, now time.Time) []bus.SiteRecord {
	var out []bus.SiteRecord
	for _, site := range sites {
		w, ok := writes[idOf(&site)]
		if !ok || !site.Policy.Automated {
			continue
		}
		image := site.Ref.Canonical()
		rec := bus.SiteRecord{
			Site:  SiteOf(repo, branch, &site),
			Image: image, Written: w.Tag, WrittenAt: w.When.UTC(), Commit: w.Commit,
		}
		if w.Image != "" && w.Image != image {
			rec.Image = w.Image
		} else if policy.RolledBack(ctx, site, site.Ref, w.Tag, times) {
			rec.Held, rec.RolledBackTo, rec.HeldCommit, rec.HeldSince = true, site.Ref.Tag, w.Person, w.PersonAt.UTC()
			if w.Person == "" {
				rec.HeldCommit, rec.HeldSince = head, now.UTC()
			}
		}
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// tagsSet compares the sites of one file before and after a commit
// (before nil: the file is new) and returns the sites whose tag changed.
func tagsSet(before, after []manifest.Site) []siteTag {
	old := map[siteID]string{}
	for _, s := range before {
		old[idOf(&s)] = s.Ref.Tag
	}
	var out []siteTag
	for _, s := range after {
		id := idOf(&s)
		if tag, ok := old[id]; ok && tag == s.Ref.Tag {
			continue
		}
		image := ""
		if s.Ref.Path != "" {
			image = s.Ref.Canonical()
		}
		out = append(out, siteTag{Site: id, Image: image, Tag: s.Ref.Tag})
	}
	return out
}
