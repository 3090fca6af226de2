package matcher

import (
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// A big repository's first index takes seconds (20,000 files: a clone of
// tens of megabytes, then every file parsed); without a word in between,
// a matcher that is working looks hung. A full index logs its progress
// every ProgressEvery files and at least every progressInterval.

// DefaultProgressEvery is how many files a full index reads between two
// progress lines.
const DefaultProgressEvery = 5000

// progressInterval is the longest a full index goes without a progress line.
const progressInterval = 5 * time.Second

// progress counts a full index's files read and sites found, and logs
// them now and then. A nil progress counts nothing.
type progress struct {
	log   zerolog.Logger
	every int
	start time.Time
	now   func() time.Time

	mu       sync.Mutex
	read     int
	sites    int
	nextRead int       // files read at which the next line is due
	last     time.Time // of the last line
}

// newProgress is the progress of a full index of r started at start.
func (s *Service) newProgress(r *repoState, trigger string, start time.Time) *progress {
	every := s.cfg.ProgressEvery
	if every <= 0 {
		every = DefaultProgressEvery
	}
	now := time.Now()
	p := &progress{
		log:   s.log.With().Str("repo", r.Name).Str("branch", r.Branch).Str("trigger", trigger).Logger(),
		every: every, start: start, now: time.Now, nextRead: every, last: now,
	}
	p.log.Info().Int64("duration_ms", now.Sub(start).Milliseconds()).Msg("repository fetched; indexing its manifests")
	return p
}

// fileRead counts one file read, and logs when a line is due.
func (p *progress) fileRead() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.read++
	now := p.now()
	if p.read < p.nextRead && now.Sub(p.last) < progressInterval {
		return
	}
	for p.nextRead <= p.read {
		p.nextRead += p.every
	}
	p.last = now
	p.log.Info().Int("files_read", p.read).Int("sites", p.sites).
		Int64("duration_ms", now.Sub(p.start).Milliseconds()).Msg("indexing repository")
}

// indexed counts the sites of one file parsed.
func (p *progress) indexed(sites int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.sites += sites
	p.mu.Unlock()
}
