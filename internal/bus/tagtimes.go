package bus

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TagTimes keeps the first-seen time of each (canonical repository, tag) in
// the JetStream KV bucket TagTimesBucket, shared by every matcher replica.
// The first write wins, so a delayed redelivery of an old push can never make
// its tag look newer than it is. It satisfies policy.TagTimes.
type TagTimes struct {
	kv      jetstream.KeyValue
	timeout time.Duration

	mu    sync.RWMutex
	cache map[string]time.Time // first-seen times are immutable once stored
}

// maxCachedTimes bounds the in-memory cache of first-seen times.
const maxCachedTimes = 100000

// OpenTagTimes binds to the tag-times bucket (created by ensureStreamsReplicated).
func OpenTagTimes(ctx context.Context, js jetstream.KeyValueManager) (*TagTimes, error) {
	kv, err := js.KeyValue(ctx, TagTimesBucket)
	if err != nil {
		return nil, fmt.Errorf("open kv %s: %w", TagTimesBucket, err)
	}
	return &TagTimes{kv: kv, timeout: 5 * time.Second, cache: map[string]time.Time{}}, nil
}

// tagTimeKey is the KV key of a tag: both parts base64url-encoded, because
// repository names hold ':' (ports) and '/' and keys allow neither.
func tagTimeKey(canonicalRepo, tag string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(canonicalRepo)) + "." + base64.RawURLEncoding.EncodeToString([]byte(tag))
}

// Record stores t as the first-seen time of the tag unless one is stored
// already, and returns the time that is in effect.
func (tt *TagTimes) Record(ctx context.Context, canonicalRepo, tag string, t time.Time) (time.Time, error) {
	key := tagTimeKey(canonicalRepo, tag)
	if seen, ok := tt.cached(key); ok {
		return seen, nil
	}
	val, err := t.UTC().MarshalText()
	if err != nil {
		return time.Time{}, fmt.Errorf("encode time: %w", err)
	}
	_, err = tt.kv.Create(ctx, key, val)
	if err == nil {
		tt.remember(key, t)
		return t, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return time.Time{}, fmt.Errorf("record %s:%s: %w", canonicalRepo, tag, err)
	}
	seen, ok, err := tt.get(ctx, key)
	if err != nil {
		return time.Time{}, fmt.Errorf("read %s:%s: %w", canonicalRepo, tag, err)
	}
	if !ok {
		return t, nil
	}
	return seen, nil
}

// FirstSeen is the first-seen time of the tag, if hoist has seen it pushed.
// The lookup ends with ctx, and after tt.timeout at the latest; one that
// fails or runs out of time counts as unknown.
func (tt *TagTimes) FirstSeen(ctx context.Context, canonicalRepo, tag string) (time.Time, bool) {
	key := tagTimeKey(canonicalRepo, tag)
	if seen, ok := tt.cached(key); ok {
		return seen, true
	}
	ctx, cancel := context.WithTimeout(ctx, tt.timeout)
	defer cancel()
	seen, ok, err := tt.get(ctx, key)
	if err != nil || !ok {
		return time.Time{}, false
	}
	return seen, true
}

func (tt *TagTimes) get(ctx context.Context, key string) (time.Time, bool, error) {
	e, err := tt.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	var seen time.Time
	if err := seen.UnmarshalText(e.Value()); err != nil {
		return time.Time{}, false, fmt.Errorf("decode time of %s: %w", key, err)
	}
	tt.remember(key, seen)
	return seen, true, nil
}

func (tt *TagTimes) cached(key string) (time.Time, bool) {
	tt.mu.RLock()
	defer tt.mu.RUnlock()
	t, ok := tt.cache[key]
	return t, ok
}

func (tt *TagTimes) remember(key string, t time.Time) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if len(tt.cache) >= maxCachedTimes {
		clear(tt.cache)
	}
	tt.cache[key] = t
}
