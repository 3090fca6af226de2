package ingest

// fastPaths turns ingest's hand-written fast paths on. The webhook bench
// (TestBenchReportIngest) turns them off, between its load runs, to measure
// them against the plain library path in a paired A/B; nothing else changes
// it. goccy/go-json has its own switch, fastJSON.
var fastPaths = struct {
	replySlots bool // replies.go, instead of jetstream's PublishMsg
	pools      bool // sync.Pools of body buffers, outgoing messages and timers
}{true, true}
