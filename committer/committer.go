// Package committer turns rewrites into commits: per repository branch it
// batches the rewrites arriving from JetStream, re-checks them against the
// files at the branch head, edits the files, makes one commit without any
// worktree, pushes it with a compare-and-swap update, and acknowledges the
// messages only once the push is accepted.
package committer

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Committer writes the rewrites of its configured repository branches.
type Committer struct {
	cfg     Config
	js      JetStream
	log     zerolog.Logger
	m       *metrics
	prm     *prMetrics
	writers []*writer
	holds   SiteHolds // the tags written and the holds on them (holds.go)
}

// New validates cfg and opens the local clones. Metrics are registered on
// reg (nil: none). Nothing talks to NATS or git until Run.
func New(cfg Config, js JetStream, reg prometheus.Registerer, log zerolog.Logger) (*Committer, error) {
	if js == nil {
		return nil, errors.New("committer: no JetStream")
	}
	m, err := registerMetrics(reg, cfg.Repos)
	if err != nil {
		return nil, fmt.Errorf("committer: %w", err)
	}
	c := &Committer{cfg: cfg, js: js, log: log.With().Str("component", "committer").Logger(), m: m}
	if cfg.pullRequests() {
		if c.prm, err = newPRMetrics(reg, cfg.Repos); err != nil {
			return nil, fmt.Errorf("committer: %w", err)
		}
	}
	seen := map[string]bool{}
	for _, r := range cfg.Repos {
		if seen[r.Name] {
			return nil, fmt.Errorf("committer: repository %s configured twice", r.Name)
		}
		seen[r.Name] = true
		w, err := newWriter(r, cfg, c.m, c.log)
		if err != nil {
			return nil, fmt.Errorf("committer: %w", err)
		}
		w.prm = c.prm
		c.writers = append(c.writers, w)
	}
	return c, nil
}

// Ready reports whether every repository branch's clone holds its branch
// head (for /readyz).
func (c *Committer) Ready() bool {
	for _, w := range c.writers {
		if !w.loaded.Load() {
			return false
		}
	}
	return true
}

// Run consumes and commits until ctx is cancelled, then hands back the
// batches it holds (an in-flight push is finished first). It returns an
// error only when a repository branch cannot be consumed at all.
func (c *Committer) Run(ctx context.Context) error {
	if c.cfg.Editor == nil {
		tt, err := bus.OpenTagTimes(ctx, c.js)
		if err != nil {
			return fmt.Errorf("committer: %w", err)
		}
		h, err := bus.OpenHolds(ctx, c.js)
		if err != nil {
			return fmt.Errorf("committer: %w", err)
		}
		c.holds = h
		edit := holdEditor(policyEditor(tt), h, tt)
		for _, w := range c.writers {
			w.edit = edit
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(c.writers))
	for _, w := range c.writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.runBranch(ctx, w); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	wg.Wait()
	close(errs)
	return errors.Join(collect(errs)...)
}

func collect(ch <-chan error) []error {
	var out []error
	for err := range ch {
		out = append(out, err)
	}
	return out
}
