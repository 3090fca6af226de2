package matcher

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RepoState is where one repository's index stands.
type RepoState string

// The states of a repository's index. Pushes are decided against every
// repository that has an index (ready or stale); those waiting for a
// repository that has none (indexing or failing) are kept until it has one.
const (
	// StateIndexing: the first index is being built.
	StateIndexing RepoState = "indexing"
	// StateFailing: no index yet, and the attempts to build one fail; they
	// are retried with capped exponential back-off.
	StateFailing RepoState = "failing"
	// StateReady: indexed, and the last fetch succeeded recently enough.
	StateReady RepoState = "ready"
	// StateStale: indexed, but the last fetch failed (it is retried with
	// back-off) or none succeeded for longer than staleAfter.
	StateStale RepoState = "stale"
)

// repoStates lists every state, for the one-hot state gauge.
var repoStates = []RepoState{StateIndexing, StateFailing, StateReady, StateStale}

// RepoStatus is one repository's index state, for readiness and operators.
type RepoStatus struct {
	// Name and Branch are the configured repository and branch.
	Name, Branch string
	// State is where the index stands.
	State RepoState
	// Head is the commit the index was last built from ("" before the first).
	Head string
	// LastIndexed is when a fetch last succeeded (zero before the first).
	LastIndexed time.Time
	// Failures counts the fetches or reindexes that failed since the last success.
	Failures int
	// LastError is the last failure's message ("" after a success).
	LastError string
	// Warnings name configured paths that match no manifest or do not exist.
	Warnings []string
	// Holds says why the holds bucket's records of the branch are not
	// known yet ("" when they are): they are being rebuilt from git
	// history, or cannot be read. Pushes wait for them.
	Holds string
}

// staleAfter is how long without a successful fetch makes an index stale
// (0: only a failing fetch does): three missed periodic fetches, each
// allowed its git timeout.
func (r Repo) staleAfter() time.Duration {
	if r.FetchInterval <= 0 {
		return 0
	}
	return 3*r.FetchInterval + r.gitTimeout()
}

// Status is the state of every configured repository, in configuration order.
func (s *Service) Status() []RepoStatus {
	now := time.Now()
	out := make([]RepoStatus, 0, len(s.repos))
	for _, r := range s.repos {
		r.mu.Lock()
		st := r.status
		st.Warnings = append([]string(nil), st.Warnings...)
		r.mu.Unlock()
		if st.State == StateReady && r.staleAfter() > 0 && now.Sub(st.LastIndexed) > r.staleAfter() {
			st.State = StateStale
		}
		out = append(out, st)
	}
	return out
}

// Readiness is nil when push events are being consumed and every
// repository's index is ready; otherwise its error names each repository
// that is not, with its state and why (for /readyz).
func (s *Service) Readiness(context.Context) error {
	var bad []string
	if !s.consuming.Load() {
		bad = append(bad, "not consuming push events (no repository indexed yet)")
	}
	for _, st := range s.Status() {
		if st.State != StateReady || st.Holds != "" {
			bad = append(bad, st.describe())
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return errors.New(strings.Join(bad, "; "))
}

// describe says in one line why a repository is not ready.
func (st RepoStatus) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "repository %s (branch %s) %s", st.Name, st.Branch, st.State)
	if !st.LastIndexed.IsZero() {
		fmt.Fprintf(&b, ", last fetched %s ago", time.Since(st.LastIndexed).Round(time.Second))
	}
	if st.Failures > 0 {
		fmt.Fprintf(&b, ", %d failed attempts, last: %s", st.Failures, st.LastError)
	}
	if st.Holds != "" {
		fmt.Fprintf(&b, ", %s", st.Holds)
	}
	return b.String()
}

// recordAttempt notes a fetch-and-reindex of r that ended with err.
func (s *Service) recordAttempt(r *repoState, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.status.Failures++
		r.status.LastError = err.Error()
		s.m.indexFailures.WithLabelValues(r.Name).Inc()
		if r.indexed.Load() {
			s.setState(r, StateStale)
		} else {
			s.setState(r, StateFailing)
		}
		return
	}
	r.status.Failures, r.status.LastError = 0, ""
	r.status.LastIndexed = time.Now()
	r.status.Head = r.head.String()
	s.m.lastIndexed.WithLabelValues(r.Name).Set(float64(r.status.LastIndexed.Unix()))
	s.setState(r, StateReady)
}

// setState records r's state and its one-hot gauge; r.mu is held.
func (s *Service) setState(r *repoState, st RepoState) {
	r.status.State = st
	for _, x := range repoStates {
		v := 0.0
		if x == st {
			v = 1
		}
		s.m.repoState.WithLabelValues(r.Name, string(x)).Set(v)
	}
}

// setWarnings records the configured paths of r that match nothing.
func (r *repoState) setWarnings(w []string) (changed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed = strings.Join(w, "\n") != strings.Join(r.status.Warnings, "\n")
	r.status.Warnings = w
	return changed
}

// setHolds records why r's holds are not known yet ("" when they are).
func (r *repoState) setHolds(why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status.Holds = why
}
