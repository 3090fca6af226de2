package policy

import "sync"

// maxCachedFilters bounds the filter cache; the patterns come from the
// repositories, so this is only reached by churn, and then the cache starts over.
const maxCachedFilters = 4096

type cachedFilter struct {
	f   Filter
	err error
}

// filterCache remembers parsed filters by pattern, so deciding a push does
// not compile a regexp or constraint per site. Filters are immutable once
// parsed, so sharing them is safe.
var filterCache = struct {
	sync.RWMutex
	m map[string]cachedFilter
}{m: map[string]cachedFilter{}}

// CachedFilter is ParseFilter with a process-wide cache keyed by the pattern.
func CachedFilter(pattern string) (Filter, error) {
	filterCache.RLock()
	c, ok := filterCache.m[pattern]
	filterCache.RUnlock()
	if ok {
		return c.f, c.err
	}
	f, err := ParseFilter(pattern)
	filterCache.Lock()
	if len(filterCache.m) >= maxCachedFilters {
		filterCache.m = map[string]cachedFilter{}
	}
	filterCache.m[pattern] = cachedFilter{f: f, err: err}
	filterCache.Unlock()
	return f, err
}
