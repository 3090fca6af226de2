package ingest

import (
	"runtime"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// benchStreams empties the push streams the bench fills before every load
// run, so each run starts from the same state: the stream and JetStream's
// dedupe map (every message id of the last two hours, which a purge keeps)
// otherwise grow by millions of events over the bench, and the process's
// heap with them. Measured on 6 Dec 2026, CPU per webhook rose from about
// 70µs to 115µs as one stream grew to a million events (heap 15MB to
// 300MB), and a garbage collection over that heap, falling in one load and
// not the next, made the A/A control's rounds range from 0.30 to 3.13.
type benchStreams struct {
	t    testing.TB
	held map[jetstream.JetStream]int64 // events the deleted streams held
}

// newBenchStreams empties the push streams of js between load runs.
func newBenchStreams(t testing.TB, js ...jetstream.JetStream) *benchStreams {
	s := &benchStreams{t: t, held: map[jetstream.JetStream]int64{}}
	for _, j := range js {
		s.held[j] = 0
	}
	return s
}

// settle deletes and recreates every push stream (dropping its dedupe map
// with it) and collects the garbage, so the next load starts with an empty
// stream and the same small heap.
func (s *benchStreams) settle() {
	ctx := s.t.Context()
	for js := range s.held {
		s.held[js] += streamMsgs(s.t, js)
		if err := js.DeleteStream(ctx, bus.PushStream); err != nil {
			s.t.Fatalf("delete stream %s: %v", bus.PushStream, err)
		}
		if _, err := js.CreateStream(ctx, bus.PushStreamConfig()); err != nil {
			s.t.Fatalf("create stream %s: %v", bus.PushStream, err)
		}
	}
	runtime.GC()
}

// stored is how many events js's push stream has held over the bench.
func (s *benchStreams) stored(js jetstream.JetStream) int64 {
	return s.held[js] + streamMsgs(s.t, js)
}

// streamMsgs is the number of events in js's push stream.
func streamMsgs(t testing.TB, js jetstream.JetStream) int64 {
	st, err := js.Stream(t.Context(), bus.PushStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return int64(info.State.Msgs)
}
