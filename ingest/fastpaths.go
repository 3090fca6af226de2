package ingest

// fastPaths turns ingest's hand-written fast paths on. The webhook bench
// (TestBenchReportIngest) turns them off, between its load runs, to measure
// them against the plain library path in a paired A/B; nothing else changes
// it. goccy/go-json has its own switch, fastJSON.
//
// The reply slots, queuedConn (internal/bus/inprocess.go) and the pools each
// pay on their own, and so does the set. In the paired A/B of BENCHMARKS.md's
// ingest section ("What the hand-written fast paths buy"), with each load
// starting from an emptied stream, in two runs of 6 Dec 2026 whose A/A
// control's middle 80% lay within 0.958–1.024 and 0.951–1.059, in-process CPU
// per webhook was, without the set (jetstream's PublishMsg, nats.go's
// in-process pipe, no pools), 1.225 times as high (median, 30 of 30 rounds)
// and 1.227 (30 of 30); left out one at a time: reply slots 1.070 (28 of 30)
// and 1.069 (29 of 30), queuedConn 1.033 (25 of 30) and 1.044 (25 of 30),
// pools 1.057 (27 of 30) and 1.053 (27 of 30). With the set, in-process ingest
// made 0.625 and 0.604 of the bare handler's rate (target 0.50). See
// BENCHMARKS.md, ingest.
var fastPaths = struct {
	replySlots bool // replies.go, instead of jetstream's PublishMsg
	pools      bool // sync.Pools of body buffers, outgoing messages and timers
}{true, true}
