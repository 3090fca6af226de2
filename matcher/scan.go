package matcher

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imageref"
	"github.com/hoist-gitops/hoist/internal/registry"
)

// ScanConfig is how the matcher lists image repositories' tags itself: a
// safety net for webhooks that were lost (hoist was down, the registry gave
// up retrying) or are never sent (images you do not own).
type ScanConfig struct {
	// Interval is how often each repository of an automated, unlocked site
	// is listed, by one replica; 0 (or no Lister) turns scanning off.
	Interval time.Duration
	// WebhookGrace skips a repository that sent a webhook within Interval.
	WebhookGrace bool
	// Lister lists a repository's tags page by page (internal/registry's Client).
	Lister TagLister
	// Replica names this matcher in scan claims; empty: host name and a random suffix.
	Replica string
}

// TagLister lists a canonical repository's tags, calling fn with each page
// as the registry's paging hands them out.
type TagLister interface {
	Tags(ctx context.Context, repo string, fn func(page []string) error) error
}

// enabled reports whether scanning is on.
func (c ScanConfig) enabled() bool { return c.Interval > 0 && c.Lister != nil }

// tick is how often a replica looks for due repositories: a tenth of the
// interval, between 100 ms and 30 s.
func (c ScanConfig) tick() time.Duration {
	return min(max(c.Interval/10, 100*time.Millisecond), 30*time.Second)
}

// claimTTL is how long a scan claim holds without renewal: the interval,
// between 1 s and 2 min. A replica renews its claim every third of it
// while it scans, so a claim lapses only when its replica is gone (or cut
// off from NATS), and another replica takes the repository over then.
func (c ScanConfig) claimTTL() time.Duration { return min(max(c.Interval, time.Second), 2*time.Minute) }

// retryDelay is how long after its n-th failure in a row a repository is
// listed again: an eighth of the interval (between 1 s and 1 min),
// doubling, at most the interval; longer when the registry asked for it.
func (c ScanConfig) retryDelay(n int, err error) time.Duration {
	d := min(max(c.Interval/8, time.Second), time.Minute)
	for i := 1; i < n && d < c.Interval; i++ {
		d *= 2
	}
	return max(min(d, c.Interval), registry.RetryAfter(err))
}

// maxScans bounds the scans one replica runs at once; each host gets at
// most one, so a slow or failing registry holds up no other.
const maxScans = 8

// scanner is one replica's share of the scanning.
type scanner struct {
	store *bus.ScanStore

	mu    sync.Mutex
	busy  map[string]bool      // hosts with a scan running in this replica
	noted map[string]time.Time // when this replica last recorded a webhook, by repository
	next  map[string]time.Time // when a repository that was not due may be, by its record
}

// scanLoop looks for due repositories every tick until ctx ends, and waits
// for the scans it started.
func (s *Service) scanLoop(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(s.cfg.Scan.tick())
	defer t.Stop()
	for {
		s.scanRound(ctx, &wg)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// scanRound starts, for each host without a scan running here, a worker
// that claims and lists that host's due repositories one after the other:
// one listing per host at a time, hosts in parallel (at most maxScans).
func (s *Service) scanRound(ctx context.Context, wg *sync.WaitGroup) {
	sc := s.scan
	byHost := map[string][]string{}
	var hosts []string
	for _, repo := range s.scanTargets() {
		host, _ := imageref.SplitHost(repo)
		if byHost[host] == nil {
			hosts = append(hosts, host)
		}
		byHost[host] = append(byHost[host], repo)
	}
	for _, host := range hosts {
		sc.mu.Lock()
		skip := sc.busy[host] || len(sc.busy) >= maxScans
		if !skip {
			sc.busy[host] = true
		}
		sc.mu.Unlock()
		if skip {
			continue
		}
		wg.Go(func() {
			defer func() {
				sc.mu.Lock()
				delete(sc.busy, host)
				sc.mu.Unlock()
			}()
			for _, repo := range byHost[host] {
				if ctx.Err() != nil {
					return
				}
				if rec, rev, ok := s.claimScan(ctx, repo); ok {
					s.scanRepo(ctx, repo, rec, rev)
				}
			}
		})
	}
}

// claimScan claims repo when it is due: never scanned, or its interval has
// passed since the last scan, its retry time (after failures) has come, no
// replica holds a live claim, and (with the webhook grace) no webhook for it
// was seen within the interval. The claim is a compare-and-set on the
// repository's shared record, so one replica wins. A repository that is
// not due is not asked about again (no NATS request) until the time its
// record named: those times only move forward.
//
// The webhook grace applies only once a repository's first scan is done:
// a first scan acts only for semver: sites, so one put off until webhooks
// stop would take the tags pushed while they were lost for tags that
// predate hoist. One listing per repository buys that certainty.
func (s *Service) claimScan(ctx context.Context, repo string) (bus.ScanRecord, uint64, bool) {
	cfg, sc := s.cfg.Scan, s.scan
	now := time.Now()
	sc.mu.Lock()
	next := sc.next[repo]
	sc.mu.Unlock()
	if now.Before(next) {
		return bus.ScanRecord{}, 0, false // not due before next, as its record said
	}
	later := func(t time.Time) (bus.ScanRecord, uint64, bool) {
		sc.mu.Lock()
		sc.next[repo] = t
		sc.mu.Unlock()
		return bus.ScanRecord{}, 0, false
	}
	rec, rev, err := sc.store.Record(ctx, repo)
	if err != nil {
		s.log.Warn().Err(err).Str("image", repo).Msg("cannot read the scan record; trying again at the next tick")
		return rec, 0, false
	}
	switch {
	case rec.ClaimedUntil.After(now):
		return later(rec.ClaimedUntil)
	case rec.RetryAt.After(now):
		return later(rec.RetryAt)
	case !rec.LastScan.IsZero() && now.Before(rec.LastScan.Add(cfg.Interval)):
		return later(rec.LastScan.Add(cfg.Interval))
	}
	if cfg.WebhookGrace && rec.Baselined { // a first scan is never skipped (see below)
		last, ok, err := sc.store.LastWebhook(ctx, repo)
		if err != nil {
			s.log.Warn().Err(err).Str("image", repo).Msg("cannot read the last webhook time; trying again at the next tick")
			return rec, 0, false
		}
		if ok && now.Sub(last) < cfg.Interval {
			return later(last.Add(cfg.Interval))
		}
	}
	if rec.Owner != "" && rec.Owner != cfg.Replica {
		s.log.Info().Str("image", repo).Str("previous_owner", rec.Owner).Msg("scan claim lapsed (its replica stopped); taking the repository over")
	}
	rec.Owner, rec.ClaimedUntil = cfg.Replica, now.Add(cfg.claimTTL())
	rev, err = sc.store.SetRecord(ctx, repo, rec, rev)
	if err != nil {
		if !errors.Is(err, bus.ErrClaimLost) {
			s.log.Warn().Err(err).Str("image", repo).Msg("cannot claim the scan; trying again at the next tick")
		}
		return rec, 0, false
	}
	return rec, rev, true
}

// scanRepo lists one claimed repository, renewing the claim while it
// runs, and records the outcome: the scan time and baseline on success,
// the failure count and retry time on failure. A scan whose claim is lost
// (NATS unreachable long enough for another replica to take over) stops.
func (s *Service) scanRepo(ctx context.Context, repo string, rec bus.ScanRecord, rev uint64) {
	cfg, st := s.cfg.Scan, s.scan.store
	host, _ := imageref.SplitHost(repo)
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex // guards rec and rev between the renewals and the end
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(cfg.claimTTL() / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			mu.Lock()
			r := rec
			r.ClaimedUntil = time.Now().Add(cfg.claimTTL())
			next, err := st.SetRecord(ctx, repo, r, rev)
			if err == nil {
				rec, rev = r, next
			}
			mu.Unlock()
			if errors.Is(err, bus.ErrClaimLost) {
				s.log.Warn().Str("image", repo).Msg("scan claim taken over by another replica; stopping this scan")
				cancel()
				return
			}
		}
	}()
	res, err := s.listRepo(ctx, repo, rec.Baselined)
	cancel()
	<-renewed

	mu.Lock()
	defer mu.Unlock()
	rec.Owner, rec.ClaimedUntil = "", time.Time{}
	log := s.log.With().Str("image", repo).Int("pages", res.pages).Int("tags", res.tags).
		Int("new_tags", res.newTags).Int("events", res.events).Bool("first_scan", !rec.Baselined).
		Int64("duration_ms", time.Since(start).Milliseconds()).Logger()
	if err != nil {
		rec.Failures++
		delay := cfg.retryDelay(rec.Failures, err)
		rec.RetryAt = time.Now().Add(delay)
		log.Warn().Err(err).Int("failures", rec.Failures).Dur("retry_in", delay).Msg("scan failed; retrying this repository later")
	} else {
		rec.LastScan, rec.Baselined, rec.Failures, rec.RetryAt = start, true, 0, time.Time{}
		log.Info().Msg("scan listed tags")
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second) // recorded even when ctx ended
	defer wcancel()
	if _, werr := st.SetRecord(wctx, repo, rec, rev); werr != nil {
		s.log.Warn().Err(werr).Str("image", repo).Msg("cannot record the scan's outcome; its claim lapses and the repository is listed again")
	}
	// Counted once the outcome is stored, so whoever reads the count (an
	// alert, then `hoist images`) finds the record that goes with it.
	s.sm.observe(host, res, err)
}

// scanTargets are the canonical repositories to scan: those of automated,
// unlocked, not ignored sites in every indexed repository whose images
// rule does not turn scanning off, sorted, each once.
func (s *Service) scanTargets() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range s.repos {
		if !r.indexed.Load() {
			continue
		}
		r.idx.Load().eachRepository(func(repo string, automated bool) {
			if !automated || seen[repo] {
				return
			}
			seen[repo] = true
			if s.cfg.ImageRules.For(repo).Scan {
				out = append(out, repo)
			}
		})
	}
	slices.Sort(out)
	return out
}

// eachRepository calls fn with each canonical repository of the index and
// whether one of its sites is automated, unlocked and not ignored.
func (x *Index) eachRepository(fn func(repo string, automated bool)) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for repo, sites := range x.byRepo {
		automated := false
		for _, st := range sites {
			p := st.Policy
			automated = automated || p.Automated && !p.Locked && !p.Ignored
		}
		fn(repo, automated)
	}
}

// replicaName is the host name with a random suffix: unique per process.
func replicaName() string {
	h, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return h + "-" + hex.EncodeToString(b[:])
}
