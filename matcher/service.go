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
	js    jetstream.JetStream
	log   zerolog.Logger
	m     *metrics
	repos []*repoState
	times *bus.TagTimes
	ready atomic.Bool
}

// repoState is one repository branch: its git copy, its index and the head
// the index was built from. Only the repository's refresher goroutine
// touches src and head; idx is swapped atomically and safe for concurrent use.
type repoState struct {
	Repo
	src  *source
	idx  atomic.Pointer[Index]
	head plumbing.Hash
	kick chan struct{}
}

// New checks cfg and prepares the service; nothing talks to NATS or git
// until Run. Metrics are registered on reg (nil: none).
func New(cfg Config, js jetstream.JetStream, reg prometheus.Registerer, log zerolog.Logger) (*Service, error) {
	if js == nil {
		return nil, errors.New("matcher: no JetStream")
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("matcher: %w", err)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.CompactEvery <= 0 {
		cfg.CompactEvery = 64
	}
	if cfg.FetchGap <= 0 {
		cfg.FetchGap = time.Second
	}
	s := &Service{cfg: cfg, js: js, log: log.With().Str("component", "matcher").Logger(), m: newMetrics(reg)}
	for _, r := range cfg.Repos {
		src, err := newSource(r)
		if err != nil {
			return nil, fmt.Errorf("matcher: %w", err)
		}
		rs := &repoState{Repo: r, src: src, kick: make(chan struct{}, 1)}
		rs.idx.Store(NewIndex())
		s.repos = append(s.repos, rs)
	}
	return s, nil
}

// Ready reports whether every repository is indexed and push events are
// being consumed (for /readyz).
func (s *Service) Ready() bool { return s.ready.Load() }

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
// published and the pushes acknowledged) before it returns. Repositories
// that cannot be read are retried; no push is consumed until every one is
// indexed, so none misses a repository.
func (s *Service) Run(ctx context.Context) error {
	tt, err := bus.OpenTagTimes(ctx, s.js)
	if err != nil {
		return fmt.Errorf("matcher: %w", err)
	}
	s.times = tt
	if err := s.loadAll(ctx); err != nil {
		return nil // cancelled while loading
	}
	sub, err := bus.SubscribeHeads(s.js.Conn(), s.onHead)
	if err != nil {
		return fmt.Errorf("matcher: %w", err)
	}
	defer sub.Unsubscribe()

	var wg sync.WaitGroup
	for _, r := range s.repos {
		wg.Go(func() { s.refresher(ctx, r) })
	}
	defer wg.Wait()

	// A consumer NATS loses (a restart without storage) is re-created.
	it, err := bus.DurableMessages(ctx, s.js, bus.PushStream, bus.PushConsumerConfig(), s.log, jetstream.PullMaxMessages(2*s.cfg.Workers))
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("matcher: push consumer: %w", err)
	}
	s.ready.Store(true)
	s.log.Info().Int("repositories", len(s.repos)).Int("workers", s.cfg.Workers).Msg("matcher consuming push events")
	work := make(chan jetstream.Msg)
	var workers sync.WaitGroup
	for range s.cfg.Workers {
		workers.Go(func() {
			for m := range work {
				s.handle(m)
			}
		})
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		m, err := it.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
			if m != nil {
				_ = m.Nak()
			}
			break
		}
		if err != nil {
			continue // missed heartbeats and reconnects are recovered by the iterator
		}
		work <- m
	}
	s.ready.Store(false)
	close(work)
	workers.Wait()
	return nil
}

// loadAll indexes every repository, retrying each until it succeeds or ctx ends.
func (s *Service) loadAll(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, r := range s.repos {
		wg.Go(func() {
			delay := time.Second
			for {
				err := s.update(ctx, r, "start")
				if err == nil || ctx.Err() != nil {
					return
				}
				s.log.Error().Err(err).Str("repo", r.Name).Dur("retry_in", delay).Msg("cannot index repository")
				select {
				case <-ctx.Done():
					return
				case <-time.After(delay):
				}
				delay = min(2*delay, time.Minute)
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}

// onHead asks the repository's refresher to fetch when a committer
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

// refresher keeps one repository's index current: on each announced head
// and every FetchInterval it fetches and reindexes what changed.
func (s *Service) refresher(ctx context.Context, r *repoState) {
	var tick <-chan time.Time
	if r.FetchInterval > 0 {
		t := time.NewTicker(r.FetchInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		trigger := "head"
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		case <-tick:
			trigger = "interval"
		}
		if err := s.update(ctx, r, trigger); err != nil && ctx.Err() == nil {
			s.log.Warn().Err(err).Str("repo", r.Name).Str("trigger", trigger).Msg("reindex failed; the next head or interval retries")
		}
		gap := time.NewTimer(s.cfg.FetchGap) // a head announced meanwhile waits in r.kick
		select {
		case <-ctx.Done():
			gap.Stop()
			return
		case <-gap.C:
		}
	}
}
