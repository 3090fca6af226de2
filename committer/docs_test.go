package committer

import (
	"fmt"
	"testing"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testenv"
)

// Item "one definition per value": the retry bounds docs/committer.md
// states are DefaultRetry's, the hand-back table is what nakDelay gives,
// the ack wait is the consumer's, the batch bounds are DefaultWindow and
// DefaultMaxWait: each value is written once in Go, and the page is pinned
// to it.
func TestCommitterDocStatesTheDefaults(t *testing.T) {
	r := Retry{}.withDefaults()
	row := "| redelivered after |"
	for n := uint64(1); n <= 5; n++ {
		row += " " + testenv.Spoken(r.nakDelay(n)) + " |"
	}
	testenv.DocSays(t, "committer.md",
		fmt.Sprintf("%d attempts with exponential backoff and full jitter (%s doubling up to %s), all within %d minutes",
			r.Attempts, testenv.Spoken(r.Base), testenv.Spoken(r.Max), int(flushTimeout.Minutes())),
		row,
		fmt.Sprintf("an ack wait of %d minutes", int(bus.RewriteAckWait.Minutes())),
		fmt.Sprintf("(defaults %s and %s)", testenv.Spoken(DefaultWindow), testenv.Spoken(DefaultMaxWait)),
		fmt.Sprintf("With the default `window: %s`", DefaultWindow),
		fmt.Sprintf("and `maxWait` (%s) decides", testenv.Spoken(DefaultMaxWait)),
	)
}
