package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoist-gitops/hoist/internal/wire"
)

// HoldsBucket is the KV bucket of the sites hoist wrote and the holds on
// them: for each site, the tag hoist last wrote there and, when a person
// set the site back to an older value, the hold that keeps hoist from
// writing that tag (or an older one) again.
const HoldsBucket = "hoist_holds"

// holdsDescription describes HoldsBucket in NATS.
const holdsDescription = "per site: the tag hoist last wrote, and the hold a person's rollback put on it"

// Site names one image site of a repository branch; its Key is its key in HoldsBucket.
type Site = wire.Site

// SiteRecord is what HoldsBucket keeps for one site.
type SiteRecord struct {
	Site
	// Image is the canonical repository the site reads.
	Image string `json:"image"`
	// Written is the tag hoist last wrote to the site, at WrittenAt in Commit.
	Written   string    `json:"written"`
	WrittenAt time.Time `json:"writtenAt"`
	Commit    string    `json:"commit,omitempty"`
	// Held is set when the site was found reading an older tag than
	// Written (RolledBackTo), seen at HeldSince in HeldCommit: no tag up to
	// Written is applied again until a newer one is, or the hold is released.
	Held         bool      `json:"held,omitempty"`
	RolledBackTo string    `json:"rolledBackTo,omitempty"`
	HeldSince    time.Time `json:"heldSince,omitzero"`
	HeldCommit   string    `json:"heldCommit,omitempty"`
}

// For reports whether the record is about the image a site reads now
// (canonical repository): a site switched to another image has nothing to
// do with the tags written for the old one.
func (r SiteRecord) For(image string) bool { return r.Image == "" || r.Image == image }

// Holds reads and writes HoldsBucket.
type Holds struct{ kv jetstream.KeyValue }

// OpenHolds binds to the holds bucket (created by EnsureStreams).
func OpenHolds(ctx context.Context, js jetstream.KeyValueManager) (*Holds, error) {
	kv, err := js.KeyValue(ctx, HoldsBucket)
	if err != nil {
		return nil, fmt.Errorf("open kv %s: %w", HoldsBucket, err)
	}
	return &Holds{kv: kv}, nil
}

// Get returns the site's record, ok false when hoist never wrote the site
// (or its record was released).
func (h *Holds) Get(ctx context.Context, s Site) (SiteRecord, bool, error) {
	rec, _, ok, err := h.get(ctx, s.Key())
	return rec, ok, err
}

func (h *Holds) get(ctx context.Context, key string) (SiteRecord, uint64, bool, error) {
	e, err := h.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return SiteRecord{}, 0, false, nil
	}
	if err != nil {
		return SiteRecord{}, 0, false, fmt.Errorf("read hold %s: %w", key, err)
	}
	var rec SiteRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return SiteRecord{}, 0, false, fmt.Errorf("decode hold %s: %w", key, err)
	}
	return rec, e.Revision(), true, nil
}

// Written records that hoist wrote rec.Written to the site; any hold on it
// ends (the tag written is newer than the one held back).
func (h *Holds) Written(ctx context.Context, rec SiteRecord) error {
	rec.Held, rec.RolledBackTo, rec.HeldSince, rec.HeldCommit = false, "", time.Time{}, ""
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode hold: %w", err)
	}
	if _, err := h.kv.Put(ctx, rec.Key(), b); err != nil {
		return fmt.Errorf("record %s written: %w", rec.Site, err)
	}
	return nil
}

// Hold marks the site held: it reads rolledBackTo, older than the tag hoist
// last wrote, since commit. It does nothing when the record is gone
// (released) or already says so, and loses to a concurrent write (compare
// and swap on the record's revision). It reports whether it changed the record.
func (h *Holds) Hold(ctx context.Context, s Site, written, rolledBackTo, commit string, now time.Time) (bool, error) {
	rec, rev, ok, err := h.get(ctx, s.Key())
	if err != nil || !ok || rec.Written != written || rec.Held && rec.RolledBackTo == rolledBackTo {
		return false, err
	}
	rec.Held, rec.RolledBackTo, rec.HeldSince, rec.HeldCommit = true, rolledBackTo, now.UTC(), commit
	b, err := json.Marshal(rec)
	if err != nil {
		return false, fmt.Errorf("encode hold: %w", err)
	}
	if _, err := h.kv.Update(ctx, s.Key(), b, rev); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return false, nil // written meanwhile: that write wins
		}
		return false, fmt.Errorf("hold %s: %w", s, err)
	}
	return true, nil
}

// Unhold clears a hold whose site no longer reads an older tag than the
// one written (a person moved it forward again), keeping the record.
func (h *Holds) Unhold(ctx context.Context, s Site) error {
	rec, rev, ok, err := h.get(ctx, s.Key())
	if err != nil || !ok || !rec.Held {
		return err
	}
	rec.Held, rec.RolledBackTo, rec.HeldSince, rec.HeldCommit = false, "", time.Time{}, ""
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode hold: %w", err)
	}
	if _, err := h.kv.Update(ctx, s.Key(), b, rev); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("unhold %s: %w", s, err)
	}
	return nil
}

// Rebuilt stores a record rebuilt from git history unless the site has
// one: a record the committer wrote meanwhile is newer and wins. It
// reports whether it stored rec.
func (h *Holds) Rebuilt(ctx context.Context, rec SiteRecord) (bool, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return false, fmt.Errorf("encode hold: %w", err)
	}
	if _, err := h.kv.Create(ctx, rec.Key(), b); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return false, nil
		}
		return false, fmt.Errorf("store rebuilt record of %s: %w", rec.Site, err)
	}
	return true, nil
}

// Release forgets the site's record, and with it any hold: the next push
// is decided as if hoist had never written the site.
func (h *Holds) Release(ctx context.Context, s Site) error {
	if err := h.kv.Purge(ctx, s.Key()); err != nil {
		return fmt.Errorf("release %s: %w", s, err)
	}
	return nil
}

// List returns the records of the sites held (all when all is set),
// sorted by repository, branch, file, resource and container.
func (h *Holds) List(ctx context.Context, all bool) ([]SiteRecord, error) {
	lister, err := h.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", HoldsBucket, err)
	}
	defer lister.Stop()
	var out []SiteRecord
	for key := range lister.Keys() {
		if strings.HasPrefix(key, pendingPrefix) || strings.HasPrefix(key, historyPrefix) {
			continue
		}
		rec, _, ok, err := h.get(ctx, key)
		if err != nil {
			return nil, err
		}
		if ok && (all || rec.Held) {
			out = append(out, rec)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return strings.Compare(out[i].Key(), out[j].Key()) < 0
	})
	return out, nil
}

// pendingPrefix starts the keys of the youngest-newest tags held for their
// minimum age, one per site, beside the sites' records.
const pendingPrefix = "pending."

// Pending is the newest tag a minimum age holds back at a site: an older
// tag that comes of age meanwhile is not written, this one replaces it.
type Pending struct {
	Site
	Tag   string    `json:"tag"`
	Until time.Time `json:"until,omitzero"`
}

// Pending returns the tag held back at the site for its minimum age, with
// the entry's revision for SetPending.
func (h *Holds) Pending(ctx context.Context, s Site) (Pending, uint64, bool, error) {
	e, err := h.kv.Get(ctx, pendingPrefix+s.Key())
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Pending{}, 0, false, nil
	}
	if err != nil {
		return Pending{}, 0, false, fmt.Errorf("read pending tag of %s: %w", s, err)
	}
	var p Pending
	if err := json.Unmarshal(e.Value(), &p); err != nil {
		return Pending{}, 0, false, fmt.Errorf("decode pending tag of %s: %w", s, err)
	}
	return p, e.Revision(), true, nil
}

// SetPending stores p as the site's pending tag if the entry is still at
// revision rev (0: there was none); a concurrent change wins, and false
// is returned.
func (h *Holds) SetPending(ctx context.Context, p Pending, rev uint64) (bool, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return false, fmt.Errorf("encode pending tag: %w", err)
	}
	key := pendingPrefix + p.Key()
	if rev == 0 {
		_, err = h.kv.Create(ctx, key, b)
	} else {
		_, err = h.kv.Update(ctx, key, b, rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store pending tag of %s: %w", p.Site, err)
	}
	return true, nil
}

// ClearPending forgets the site's pending tag if it is still at revision rev.
func (h *Holds) ClearPending(ctx context.Context, s Site, rev uint64) error {
	err := h.kv.Delete(ctx, pendingPrefix+s.Key(), jetstream.LastRevision(rev))
	if err != nil && !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("clear pending tag of %s: %w", s, err)
	}
	return nil
}

// historyPrefix starts the keys of the history marks, one per repository
// branch, beside the sites' records.
const historyPrefix = "history."

// HistoryMark says that the records of a repository branch were rebuilt
// from its git history (or found to need none) into this bucket. A bucket
// without it for a branch has lost its records, or never had them: NATS
// lost its storage, the bucket was deleted and re-created, or hoist meets
// the repository for the first time.
type HistoryMark struct {
	Repo   string `json:"repo"`
	Branch string `json:"branch"`
	// Head is the commit the history was read back from, at At.
	Head string    `json:"head"`
	At   time.Time `json:"at"`
	// Commits were read; Records and Holds were found in them (and stored
	// where the site had no record).
	Commits int `json:"commits"`
	Records int `json:"records"`
	Holds   int `json:"holds"`
}

func historyKey(repo, branch string) string {
	return historyPrefix + wire.BranchKey(repo, branch)
}

// History returns the repository branch's history mark, ok false when the
// bucket has none (its records are to be rebuilt).
func (h *Holds) History(ctx context.Context, repo, branch string) (HistoryMark, bool, error) {
	e, err := h.kv.Get(ctx, historyKey(repo, branch))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return HistoryMark{}, false, nil
	}
	if err != nil {
		return HistoryMark{}, false, fmt.Errorf("read history mark of %s %s: %w", repo, branch, err)
	}
	var m HistoryMark
	if err := json.Unmarshal(e.Value(), &m); err != nil {
		return HistoryMark{}, false, fmt.Errorf("decode history mark of %s %s: %w", repo, branch, err)
	}
	return m, true, nil
}

// SetHistory stores the history mark of m's repository branch, once its
// records are rebuilt.
func (h *Holds) SetHistory(ctx context.Context, m HistoryMark) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode history mark: %w", err)
	}
	if _, err := h.kv.Put(ctx, historyKey(m.Repo, m.Branch), b); err != nil {
		return fmt.Errorf("store history mark of %s %s: %w", m.Repo, m.Branch, err)
	}
	return nil
}
