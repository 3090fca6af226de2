package registry

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// VerifyTag checks a pushed tag against the registry: the digest repo:tag
// points to now (which may differ from claimed when the tag has moved since
// the push), or an error of class ErrNotFound when the tag does not exist.
// Found digests are cached per (repo, tag, claimed digest), so redelivered
// or duplicate pushes ask once. A NotFound is never cached: a registry can
// announce a push before the tag can be read, and the caller asks again.
// A push that names no digest is always asked afresh: nothing ties the
// answer to that push.
func (c *Client) VerifyTag(ctx context.Context, repo, tag, claimed string) (string, error) {
	key := cacheKey{repo: repo, tag: tag, digest: claimed}
	if claimed != "" {
		if r, ok := c.cache.get(key); ok {
			return r.digest, nil
		}
	}
	d, err := c.Digest(ctx, repo, tag)
	if claimed != "" && err == nil {
		c.cache.put(key, cacheResult{digest: d})
	}
	return d, err
}

type cacheKey struct{ repo, tag, digest string }

type cacheResult struct{ digest string }

type cacheEntry struct {
	key     cacheKey
	result  cacheResult
	expires time.Time
}

// cache is a bounded, least-recently-used store of verification results,
// each kept for at most ttl.
type cache struct {
	mu    sync.Mutex
	size  int
	ttl   time.Duration
	order *list.List // front: most recently used
	items map[cacheKey]*list.Element
}

func newCache(size int, ttl time.Duration) *cache {
	if size < 1 {
		size = 1
	}
	return &cache{size: size, ttl: ttl, order: list.New(), items: map[cacheKey]*list.Element{}}
}

func (c *cache) get(k cacheKey) (cacheResult, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return cacheResult{}, false
	}
	e := el.Value.(*cacheEntry)
	if time.Now().After(e.expires) {
		c.order.Remove(el)
		delete(c.items, k)
		return cacheResult{}, false
	}
	c.order.MoveToFront(el)
	return e.result, true
}

func (c *cache) put(k cacheKey, r cacheResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		e := el.Value.(*cacheEntry)
		e.result, e.expires = r, time.Now().Add(c.ttl)
		c.order.MoveToFront(el)
		return
	}
	c.items[k] = c.order.PushFront(&cacheEntry{key: k, result: r, expires: time.Now().Add(c.ttl)})
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).key)
	}
}

// len is how many results are kept.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
