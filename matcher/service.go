package matcher

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// Service is the matcher stage: it keeps an index of every configured
// repository's image sites, turns each push event into rewrites for the
// sites whose policy approves it, and acknowledges the push only once its
// rewrites are stored.
type Service struct {
	cfg   Config
	js    JetStream
	log   zerolog.Logger
	m     *metrics
	repos []*repoState
	times *bus.TagTimes
	gates Gates // minimum ages and holds (gates.go)
	// consuming is set while push events are consumed (once any
	// repository is indexed).
	consuming atomic.Bool
	// done remembers, per push message, the repositories it was decided
	// for while it waits for others to be indexed.
	done doneSet
	// sigs caches signature verdicts per digest (signature.go).
	sigs sigCache
	// sigWait holds the pushes waiting for their signature (signature.go).
	sigWait sigWaiters
	// scan is this replica's share of the scanning; nil when scanning is off.
	scan *scanner
	sm   *scanMetrics
}

// repoState is one repository branch: its git copy, its index and the head
// the index was built from. Only the repository's maintain goroutine
// touches src and head; idx is swapped atomically and safe for concurrent
// use; indexed is set once idx holds the repository's manifests, and
// holdsKnown while the holds bucket has the branch's records (see
// ensureHolds): pushes are decided for the repository only when both are.
type repoState struct {
	Repo
	src        *source
	idx        atomic.Pointer[Index]
	indexed    atomic.Bool
	holdsKnown atomic.Bool
	head       plumbing.Hash
	kick       chan struct{}

	mu     sync.Mutex
	status RepoStatus // guarded by mu
}

// New checks cfg and prepares the service; nothing talks to NATS or git
// until Run. Metrics are registered on reg (nil: none).
func New(cfg Config, js JetStream, reg prometheus.Registerer, log zerolog.Logger) (*Service, error) {
	if js == nil {
		return nil, errors.New("matcher: no JetStream")
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("matcher: %w", err)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.CompactEvery <= 0 {
		cfg.CompactEvery = DefaultCompactEvery
	}
	if cfg.FetchGap <= 0 {
		cfg.FetchGap = DefaultFetchGap
	}
	m, err := newMetrics(reg, repoNames(cfg.Repos))
	if err != nil {
		return nil, fmt.Errorf("matcher: %w", err)
	}
	sm, err := newScanMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("matcher: %w", err)
	}
	s := &Service{cfg: cfg, js: js, log: log.With().Str("component", "matcher").Logger(), m: m, sm: sm}
	if cfg.Scan.enabled() && s.cfg.Scan.Replica == "" {
		s.cfg.Scan.Replica = replicaName()
	}
	for _, r := range cfg.Repos {
		src, err := newSource(r)
		if err != nil {
			return nil, fmt.Errorf("matcher: %w", err)
		}
		rs := &repoState{Repo: r, src: src, kick: make(chan struct{}, 1)}
		rs.idx.Store(NewIndex())
		rs.status = RepoStatus{Name: r.Name, Branch: r.Branch, Holds: "holds not read yet"}
		s.setState(rs, StateIndexing)
		s.repos = append(s.repos, rs)
	}
	return s, nil
}

// Ready reports whether push events are consumed and every repository's
// index is ready (Readiness says why not).
func (s *Service) Ready() bool { return s.Readiness(context.Background()) == nil }

// Consuming reports whether push events are being consumed: from the
// moment any repository is indexed until Run ends.
func (s *Service) Consuming() bool { return s.consuming.Load() }

// Index is the current index of the named repository, nil when unknown.
func (s *Service) Index(repo string) *Index {
	for _, r := range s.repos {
		if r.Name == repo {
			return r.idx.Load()
		}
	}
	return nil
}

// Run indexes every repository, then consumes push events until ctx is
// cancelled; the pushes being handled then are finished (their rewrites
// published and the pushes acknowledged) before it returns, and those
// delivered but not started yet are handed back for another matcher at
// once, not left to the ack wait. Each
// repository is indexed and kept current on its own, so one that cannot
// be read (retried with back-off) holds up no other: pushes are consumed
// as soon as any repository is indexed and decided for those indexed; a
// push is acknowledged only once every repository has decided it, and
// handed back to wait for those not indexed yet.
func (s *Service) Run(ctx context.Context) error {
	tt, err := bus.OpenTagTimes(ctx, s.js)
	if err != nil {
		return fmt.Errorf("matcher: %w", err)
	}
	s.times = tt
	if err := s.openGates(ctx); err != nil {
		return fmt.Errorf("matcher: %w", err)
	}
	if s.cfg.Scan.enabled() {
		st, err := bus.OpenScanStore(ctx, s.js)
		if err != nil {
			return fmt.Errorf("matcher: %w", err)
		}
		s.scan = &scanner{store: st, busy: map[string]bool{}, noted: map[string]time.Time{}, next: map[string]time.Time{}}
	}
	sub, err := bus.SubscribeHeads(s.js.Conn(), s.onHead)
	if err != nil {
		return fmt.Errorf("matcher: %w", err)
	}
	defer sub.Unsubscribe()

	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx) // the maintainers end with Run, whatever its outcome
	defer cancel()
	firstIndexed := make(chan struct{})
	var once sync.Once
	for _, r := range s.repos {
		wg.Go(func() { s.maintain(ctx, r, func() { once.Do(func() { close(firstIndexed) }) }) })
	}
	select {
	case <-ctx.Done():
		return nil // cancelled before any repository was indexed
	case <-firstIndexed:
	}

	// A consumer NATS loses (a restart without storage) is re-created.
	it, err := bus.DurableMessages(ctx, s.js, bus.PushStream, bus.PushConsumerConfig(), s.log, jetstream.PullMaxMessages(2*s.cfg.Workers))
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("matcher: push consumer: %w", err)
	}
	s.consuming.Store(true)
	s.log.Info().Int("repositories", len(s.repos)).Int("workers", s.cfg.Workers).Msg("matcher consuming push events")
	if s.scan != nil {
		wg.Go(func() { s.scanLoop(ctx) })
		s.log.Info().Dur("interval", s.cfg.Scan.Interval).Bool("webhook_grace", s.cfg.Scan.WebhookGrace).
			Str("replica", s.cfg.Scan.Replica).Msg("matcher scanning registries")
	}
	work := make(chan jetstream.Msg)
	var workers sync.WaitGroup
	for range s.cfg.Workers {
		workers.Go(func() {
			for m := range work {
				s.handle(m)
			}
		})
	}
	// Drain, not Stop, at shutdown: Stop would discard the pushes JetStream
	// already delivered into the pull's buffer, and they would wait out the
	// ack wait before another matcher got them. Drained, they are read here
	// and handed back at once, as is a push no worker took before the end;
	// the pushes the workers hold are decided before Run returns.
	stop := context.AfterFunc(ctx, it.Drain)
	defer stop()
	handedBack := 0
	for {
		m, err := it.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			break
		}
		if err != nil {
			continue // missed heartbeats and reconnects are recovered by the iterator
		}
		if ctx.Err() != nil {
			bus.HandBackAtShutdown(m)
			handedBack++
			continue
		}
		select {
		case work <- m:
		case <-ctx.Done():
			bus.HandBackAtShutdown(m)
			handedBack++
		}
	}
	if handedBack > 0 {
		s.log.Info().Int("handed_back", handedBack).Msg("pushes not started handed back for another matcher")
	}
	s.consuming.Store(false)
	close(work)
	workers.Wait()
	return nil
}

// Back-off between attempts to fetch and index a repository that failed.
const (
	retryMin = time.Second
	retryMax = time.Minute
)

// maintain builds r's index and keeps it current until ctx ends: a failed
// attempt is logged and retried after a back-off doubling from retryMin
// to retryMax; once indexed (onIndexed is called), each announced head
// and every FetchInterval fetches and reindexes what changed.
func (s *Service) maintain(ctx context.Context, r *repoState, onIndexed func()) {
	var tick <-chan time.Time
	if r.FetchInterval > 0 {
		t := time.NewTicker(r.FetchInterval)
		defer t.Stop()
		tick = t.C
	}
	trigger, delay, attempt := "start", retryMin, 0
	for {
		err := s.update(ctx, r, trigger)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			attempt++
			ev := s.log.Error()
			msg := "cannot index repository; retrying"
			if r.indexed.Load() {
				ev, msg = s.log.Warn(), "cannot refresh repository; its index is stale until a retry succeeds"
				trigger = "retry"
			}
			ev.Err(err).Str("repo", r.Name).Str("branch", r.Branch).Int("attempt", attempt).Dur("retry_in", delay).Msg(msg)
			if !sleep(ctx, delay) {
				return
			}
			delay = min(2*delay, retryMax)
			continue
		}
		onIndexed()
		if err := s.ensureHolds(ctx, r); err != nil {
			if ctx.Err() != nil {
				return
			}
			attempt++
			s.log.Warn().Err(err).Str("repo", r.Name).Str("branch", r.Branch).Int("attempt", attempt).Dur("retry_in", delay).
				Msg("cannot make sure the holds bucket has the branch's records; its pushes wait; retrying")
			if !sleep(ctx, delay) {
				return
			}
			delay, trigger = min(2*delay, retryMax), "retry"
			continue
		}
		delay, attempt = retryMin, 0
		if !sleep(ctx, s.cfg.FetchGap) { // a head announced meanwhile waits in r.kick
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
			trigger = "head"
		case <-tick:
			trigger = "interval"
		}
	}
}

// sleep waits for d, or reports false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// onHead asks the repository's maintainer to fetch when a committer
// announces a head the index does not have yet.
func (s *Service) onHead(h bus.Head) {
	for _, r := range s.repos {
		if r.Name == h.Repo && r.Branch == h.Branch {
			select {
			case r.kick <- struct{}{}:
			default: // a fetch is already requested
			}
		}
	}
}
