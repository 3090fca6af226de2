package ingest

// fastPaths turns ingest's hand-written fast paths on. The webhook bench
// (TestBenchReportIngest) turns them off, between its load runs, to measure
// them against the plain library path in a paired A/B; nothing else changes
// it. goccy/go-json has its own switch, fastJSON.
//
// The reply slots, queuedConn (internal/bus/inprocess.go) and the pools are
// kept as a set; each alone is within the noise. The set against the
// library path (jetstream's PublishMsg, nats.go's in-process pipe, no pools) in the paired
// A/B of BENCHMARKS.md's ingest section: 1.292x less CPU per webhook, 30 of
// 30 rounds, in the run that weighed the set alone; 0.963 (15 of 30) and
// 1.040 (15 of 30) in two runs of 6 Dec 2026 that weighed six rows and
// whose A/A control varied 46% and 29% (inconclusive). With the set,
// in-process ingest made 0.54 and 0.56 of the bare handler's rate; without
// it, 0.43.
// See BENCHMARKS.md, ingest.
var fastPaths = struct {
	replySlots bool // replies.go, instead of jetstream's PublishMsg
	pools      bool // sync.Pools of body buffers, outgoing messages and timers
}{true, true}
