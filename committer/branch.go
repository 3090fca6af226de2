package committer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// rewarmEvery is how often a branch whose clone could not be loaded tries again.
const rewarmEvery = 30 * time.Second

// maxPull is how many messages are fetched ahead of the batch.
const maxPull = 1000

// flushTimeout bounds one batch's commit, so shutdown waits for at most this.
const flushTimeout = 2 * time.Minute

// held is a rewrite message the batch holds unacknowledged.
type held struct {
	msg jetstream.Msg
	rw  bus.Rewrite
}

// runBranch binds the repository branch's durable consumer and commits its
// rewrites in batches until ctx is cancelled.
func (c *Committer) runBranch(ctx context.Context, w *writer) error {
	defer w.clone.close()
	repo := w.repo
	cc := bus.RewriteConsumerConfig(repo.Name, repo.Branch)
	if c.cfg.AckWait > 0 {
		cc.AckWait = c.cfg.AckWait
	}
	if _, err := c.js.CreateOrUpdateConsumer(ctx, bus.RewriteStream, cc); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("committer %s: consumer: %w", repo.Name, err)
	}
	c.warm(ctx, w)

	// Read through bus.DurableMessages: a consumer NATS loses is re-created.
	it, err := bus.DurableMessages(ctx, c.js, bus.RewriteStream, cc, c.log, jetstream.PullMaxMessages(maxPull))
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("committer %s: consume: %w", repo.Name, err)
	}
	// Buffered: while a batch is being pushed, the next one piles up here
	// and is taken whole by the next flush.
	in := make(chan jetstream.Msg, maxPull)
	go func() {
		defer close(in)
		for {
			m, err := it.Next()
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			if err != nil {
				continue // the iterator recovers from missed heartbeats and reconnects
			}
			if ctx.Err() != nil {
				bus.HandBackAtShutdown(m) // shutting down: what the drained buffer still held goes back too
				continue
			}
			select {
			case in <- m:
			case <-ctx.Done():
				bus.HandBackAtShutdown(m)
			}
		}
	}()
	defer func() {
		it.Stop()
		for m := range in {
			bus.HandBackAtShutdown(m)
		}
	}()

	batch := newBatchTimer(repo.Commit.Window, repo.Commit.MaxWait)
	var pending []held
	// Held messages are marked in progress well inside the ack wait.
	keepAlive := time.NewTicker(max(cc.AckWait/4, 10*time.Millisecond))
	defer keepAlive.Stop()
	rewarm := time.NewTicker(rewarmEvery)
	defer rewarm.Stop()
	add := func(m jetstream.Msg) {
		h, ok := c.decode(w, m)
		if !ok {
			return
		}
		pending = append(pending, h)
		batch.add()
		// Edit while the window is open; the flush reuses what still holds.
		w.prepare(h.rw)
	}
	flush := func() {
		batch.reset() // what arrives during the commit starts the next batch
		// Commit everything that is already waiting with it.
	drain:
		for len(pending) < maxBatch {
			select {
			case m, ok := <-in:
				if !ok {
					break drain
				}
				if h, ok := c.decode(w, m); ok {
					pending = append(pending, h)
				}
			default:
				break drain
			}
		}
		c.flush(ctx, w, pending)
		w.dropMemo()
		pending = nil
	}
	for {
		select {
		case <-ctx.Done():
			// Close the pull first: a message handed back while this
			// committer's pull request is still open is redelivered into
			// it, and sits there until the ack wait instead of going to
			// the next committer. Drain, not Stop: the messages JetStream
			// already delivered into the pull's buffer are read and handed
			// back too; Stop would discard them, and they too would wait
			// out the ack wait.
			it.Drain()
			for m := range in {
				bus.HandBackAtShutdown(m)
			}
			for _, h := range pending {
				bus.HandBackAtShutdown(h.msg) // another replica or the next start commits it
			}
			return nil
		case m, ok := <-in:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("committer %s: the consumer stopped delivering", repo.Name)
			}
			add(m)
			if len(pending) >= maxBatch {
				flush()
			}
		case <-batch.due():
			if len(pending) > 0 {
				flush()
			}
		case <-keepAlive.C:
			inProgress(pending)
		case <-rewarm.C:
			if !w.loaded.Load() {
				c.warm(ctx, w)
			}
		}
	}
}

// warm brings the branch head into the clone, so the first batch does not
// wait for a clone and readiness means the repository is loaded. Failures
// are logged and retried by the caller.
func (c *Committer) warm(ctx context.Context, w *writer) {
	if w.clone.stale {
		if err := w.clone.reset(); err != nil {
			w.log.Warn().Err(err).Msg("rebuilding the local clone failed; retrying")
			return
		}
	}
	sess, ar, err := w.rem.receivePack(ctx)
	if err != nil {
		w.log.Warn().Err(err).Msg("remote not reachable; retrying")
		return
	}
	sess.Close()
	h, ok := ar.References[plumbing.NewBranchReferenceName(w.repo.Branch).String()]
	if !ok {
		w.log.Warn().Msg("the branch does not exist on the remote; retrying")
		return
	}
	if !w.clone.has(h) {
		depth := 1
		if w.repo.PushBranch != "" || w.pr != nil {
			depth = pushBranchDepth
		}
		if _, err := w.clone.fetch(ctx, w.rem, []string{w.repo.Branch}, depth); err != nil {
			w.log.Warn().Err(err).Msg("fetch failed; retrying")
			return
		}
	}
	w.loaded.Store(true)
}

// decode reads a rewrite message; one that cannot be a rewrite of this
// branch is terminated (never redelivered) and logged.
func (c *Committer) decode(w *writer, m jetstream.Msg) (held, bool) {
	var rw bus.Rewrite
	err := json.Unmarshal(m.Data(), &rw)
	if err == nil && (rw.Repo != w.repo.Name || rw.Branch != w.repo.Branch) {
		err = fmt.Errorf("rewrite for %s %s on the subject of %s %s", rw.Repo, rw.Branch, w.repo.Name, w.repo.Branch)
	}
	if err == nil && (rw.File == "" || rw.New == "") {
		err = errors.New("rewrite without file or new value")
	}
	if err != nil {
		c.m.rewrites.WithLabelValues(w.repo.Name, "invalid").Inc()
		w.log.Error().Err(err).Str("subject", m.Subject()).Msg("invalid rewrite message terminated")
		m.Term()
		return held{}, false
	}
	return held{msg: m, rw: rw}, true
}

// deliveries is how many times JetStream delivered m, this time included.
func deliveries(m jetstream.Msg) uint64 {
	md, err := m.Metadata()
	if err != nil || md.NumDelivered == 0 {
		return 1
	}
	return md.NumDelivered
}

func inProgress(hs []held) {
	for _, h := range hs {
		h.msg.InProgress()
	}
}

// flush commits a batch and settles its messages: all acknowledged once the
// push is accepted (or when nothing needed committing), all handed back with
// a delay when the retries ran out.
func (c *Committer) flush(ctx context.Context, w *writer, hs []held) {
	rws := make([]bus.Rewrite, len(hs))
	for i, h := range hs {
		rws[i] = h.rw
	}
	c.m.batchSize.Observe(float64(len(rws)))
	// An in-flight attempt finishes even when shutdown starts; only the
	// retries stop.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	res, err := w.commitUntil(fctx, ctx, rws, func() { inProgress(hs) })
	if err != nil {
		var longest time.Duration
		for _, h := range hs {
			if ctx.Err() != nil {
				bus.HandBackAtShutdown(h.msg) // shutting down: another replica may take it now
				continue
			}
			// The delay grows with the message's deliveries, so a long
			// outage is not hammered, and is capped, so a rewrite lands
			// soon after the remote is back.
			d := w.retry.nakDelay(deliveries(h.msg))
			longest = max(longest, d)
			h.msg.NakWithDelay(d)
		}
		c.m.batches.WithLabelValues(w.repo.Name, "handed_back").Inc()
		c.m.rewrites.WithLabelValues(w.repo.Name, "handed_back").Add(float64(len(hs)))
		w.log.Error().Err(err).Strs("event_ids", eventIDs(rws)).Int("rewrites", len(rws)).
			Dur("nak_delay", longest).Msg("batch handed back to JetStream")
		if ctx.Err() == nil {
			c.notifyHandBack(w, rws, err, longest)
		}
		return
	}
	pushedAt := time.Now()
	if w.pr != nil {
		c.announcePRs(w, res, pushedAt)
	} else if !res.Commit.IsZero() {
		w.hit("after-push")
		c.recordWritten(w, res) // before the head is announced and indexed
		c.announce(w, res, pushedAt)
	} else {
		c.m.batches.WithLabelValues(w.repo.Name, "unchanged").Inc()
		ids := eventIDs(rws)
		w.log.Info().Strs("event_ids", ids).Int("events", len(ids)).Int("dropped", len(res.Dropped)).
			Msg("nothing to commit: the head already has or refuses every rewrite")
	}
	for _, d := range res.Dropped {
		c.m.rewrites.WithLabelValues(w.repo.Name, "dropped").Inc()
		w.log.Debug().Str("event_id", firstID(d.Rewrite)).Strs("event_ids", d.Rewrite.EventIDs).
			Str("file", d.Rewrite.File).Str("resource", d.Rewrite.Resource).Str("container", d.Rewrite.Container).
			Str("new", d.Rewrite.New).Str("reason", d.Reason).Msg("rewrite dropped at the head")
	}
	for _, h := range hs {
		h.msg.Ack()
	}
}

// announce records a pushed commit: metrics, log lines and the new head on the bus.
func (c *Committer) announce(w *writer, res Result, pushedAt time.Time) {
	c.m.commits.WithLabelValues(w.repo.Name).Inc()
	c.m.batches.WithLabelValues(w.repo.Name, "committed").Inc()
	c.m.rewrites.WithLabelValues(w.repo.Name, "applied").Add(float64(len(res.Applied)))
	c.m.committed(w.repo, pushedAt)
	var worst time.Duration
	for _, rw := range res.Applied {
		if rw.ReceivedAt.IsZero() {
			continue
		}
		lat := pushedAt.Sub(rw.ReceivedAt)
		worst = max(worst, lat)
		c.m.latency.WithLabelValues(w.repo.Name).Observe(lat.Seconds())
		w.log.Debug().Str("event_id", firstID(rw)).Str("commit", res.Commit.String()).
			Str("file", rw.File).Str("resource", rw.Resource).Str("container", rw.Container).
			Str("old", rw.Old).Str("new", rw.New).Int64("latency_ms", lat.Milliseconds()).
			Msg("rewrite committed")
	}
	ids := eventIDs(res.Applied)
	w.log.Info().Str("commit", res.Commit.String()).Strs("event_ids", ids).Int("events", len(ids)).
		Int("applied", len(res.Applied)).Int("dropped", len(res.Dropped)).Int("files", countFiles(res.Applied)).
		Int("attempts", res.Attempts).
		Int64("latency_ms", worst.Milliseconds()).
		Int64("refs_ms", res.Timings.Refs.Milliseconds()).Int64("fetch_ms", res.Timings.Fetch.Milliseconds()).
		Int64("build_ms", res.Timings.Build.Milliseconds()).Int64("push_ms", res.Timings.Push.Milliseconds()).
		Msg("commit pushed")
	head := bus.Head{Repo: w.repo.Name, Branch: res.Branch, Commit: res.Commit.String(), EventIDs: ids}
	if err := bus.AnnounceHead(c.js.Conn(), head); err != nil {
		w.log.Warn().Err(err).Msg("announce head")
	}
	c.notifyCommit(w, res)
}

// countFiles is how many files rws change.
func countFiles(rws []bus.Rewrite) int {
	files := map[string]bool{}
	for _, rw := range rws {
		files[rw.File] = true
	}
	return len(files)
}

func firstID(rw bus.Rewrite) string {
	if len(rw.EventIDs) == 0 {
		return ""
	}
	return rw.EventIDs[0]
}

// eventIDs lists the push events of rws once each, in order of appearance.
func eventIDs(rws []bus.Rewrite) []string {
	seen := map[string]bool{}
	var ids []string
	for _, rw := range rws {
		for _, id := range rw.EventIDs {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids
}
