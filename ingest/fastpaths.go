package ingest

// fastPaths turns ingest's hand-written fast paths on. The webhook bench
// (TestBenchReportIngest) turns each off in turn, between its load runs, to
// measure it against the plain library path in a paired A/B; nothing else
// changes it.
var fastPaths = struct {
	goccyJSON bool // goccy/go-json, instead of encoding/json
}{true}
