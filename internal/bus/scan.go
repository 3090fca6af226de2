package bus

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ScanBucket is the KV bucket matcher replicas share their scanning
// through: per image repository the schedule and claim of its scans, when
// a webhook for it was last seen, and which tags a scan event was decided for.
const ScanBucket = "hoist_scan"

// scanDescription describes ScanBucket in NATS.
const scanDescription = "tag scans of image repositories: schedules, claims, last webhooks, decided tags"

// ErrClaimLost is a scan record that another replica changed first.
var ErrClaimLost = errors.New("scan record changed by another replica")

// ScanRecord is the shared schedule of one image repository's scans. A
// replica claims a due repository by writing its name and a claim
// deadline with the record's revision (compare-and-set): only one replica
// wins, and a claim whose replica died expires at ClaimedUntil.
type ScanRecord struct {
	// LastScan is when the last complete scan started (zero: never).
	LastScan time.Time `json:"lastScan,omitzero"`
	// Baselined is set once a complete scan recorded every tag's first-seen time.
	Baselined bool `json:"baselined,omitempty"`
	// Owner is the replica scanning now ("" when none).
	Owner string `json:"owner,omitempty"`
	// ClaimedUntil is when Owner's claim lapses unless renewed.
	ClaimedUntil time.Time `json:"claimedUntil,omitzero"`
	// Failures counts the scans that failed since the last success.
	Failures int `json:"failures,omitempty"`
	// RetryAt is the earliest time a failed repository is listed again.
	RetryAt time.Time `json:"retryAt,omitzero"`
}

// Decided marks a tag that a push event was decided for, when a scan was
// involved: a scan event and a webhook for the same tag are decided once.
type Decided struct {
	// Event is the id of the push event decided.
	Event string `json:"event"`
	// Digest is the digest it carried after verification ("" when unknown).
	Digest string `json:"digest,omitempty"`
}

// ScanStore reads and writes ScanBucket.
type ScanStore struct {
	kv jetstream.KeyValue
}

// OpenScanStore binds to the scan bucket (created by EnsureStreams).
func OpenScanStore(ctx context.Context, js jetstream.KeyValueManager) (*ScanStore, error) {
	kv, err := js.KeyValue(ctx, ScanBucket)
	if err != nil {
		return nil, fmt.Errorf("open kv %s: %w", ScanBucket, err)
	}
	return &ScanStore{kv: kv}, nil
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func schedKey(repo string) string        { return "sched." + b64(repo) }
func hookKey(repo string) string         { return "hook." + b64(repo) }
func decidedKey(repo, tag string) string { return "decided." + b64(repo) + "." + b64(tag) }

// Record is the scan record of a canonical repository and its revision (0: none yet).
func (s *ScanStore) Record(ctx context.Context, repo string) (ScanRecord, uint64, error) {
	var rec ScanRecord
	e, err := s.kv.Get(ctx, schedKey(repo))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return rec, 0, nil
	}
	if err != nil {
		return rec, 0, fmt.Errorf("read scan record of %s: %w", repo, err)
	}
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return ScanRecord{}, e.Revision(), fmt.Errorf("decode scan record of %s: %w", repo, err)
	}
	return rec, e.Revision(), nil
}

// SetRecord writes rec if the record is still at revision rev (0: absent)
// and returns the new revision; ErrClaimLost when another replica wrote first.
func (s *ScanStore) SetRecord(ctx context.Context, repo string, rec ScanRecord, rev uint64) (uint64, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("encode scan record: %w", err)
	}
	var next uint64
	if rev == 0 {
		next, err = s.kv.Create(ctx, schedKey(repo), b)
	} else {
		next, err = s.kv.Update(ctx, schedKey(repo), b, rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || isWrongSequence(err) {
		return 0, fmt.Errorf("%s: %w", repo, ErrClaimLost)
	}
	if err != nil {
		return 0, fmt.Errorf("write scan record of %s: %w", repo, err)
	}
	return next, nil
}

// isWrongSequence reports a compare-and-set that found another revision.
func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// WebhookSeen records that a webhook for the canonical repository arrived at t.
func (s *ScanStore) WebhookSeen(ctx context.Context, repo string, t time.Time) error {
	v, _ := t.UTC().MarshalText()
	if _, err := s.kv.Put(ctx, hookKey(repo), v); err != nil {
		return fmt.Errorf("record webhook of %s: %w", repo, err)
	}
	return nil
}

// LastWebhook is when a webhook for the canonical repository was last recorded.
func (s *ScanStore) LastWebhook(ctx context.Context, repo string) (time.Time, bool, error) {
	e, err := s.kv.Get(ctx, hookKey(repo))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read last webhook of %s: %w", repo, err)
	}
	var t time.Time
	if err := t.UnmarshalText(e.Value()); err != nil {
		return time.Time{}, false, fmt.Errorf("decode last webhook of %s: %w", repo, err)
	}
	return t, true, nil
}

// Decided is the mark of the event a tag was decided for, if any.
func (s *ScanStore) Decided(ctx context.Context, repo, tag string) (Decided, bool, error) {
	var d Decided
	e, err := s.kv.Get(ctx, decidedKey(repo, tag))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return d, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("read decided mark of %s:%s: %w", repo, tag, err)
	}
	if err := json.Unmarshal(e.Value(), &d); err != nil {
		return d, false, fmt.Errorf("decode decided mark of %s:%s: %w", repo, tag, err)
	}
	return d, true, nil
}

// SetDecided marks the tag as decided for the event d names.
func (s *ScanStore) SetDecided(ctx context.Context, repo, tag string, d Decided) error {
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode decided mark: %w", err)
	}
	if _, err := s.kv.Put(ctx, decidedKey(repo, tag), b); err != nil {
		return fmt.Errorf("mark %s:%s decided: %w", repo, tag, err)
	}
	return nil
}

// KnownTags calls fn with every tag of the canonical repository that has a
// first-seen time, streaming the bucket's keys (no values) from NATS.
func (tt *TagTimes) KnownTags(ctx context.Context, repo string, fn func(tag string)) error {
	prefix := b64(repo) + "."
	lister, err := tt.kv.ListKeysFiltered(ctx, prefix+"*")
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return nil
		}
		return fmt.Errorf("list tags of %s: %w", repo, err)
	}
	defer lister.Stop()
	for key := range lister.Keys() {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(key, prefix))
		if err != nil {
			continue // not a key tagTimeKey wrote
		}
		fn(string(raw))
	}
	return ctx.Err()
}
