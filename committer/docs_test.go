package committer

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// spoken writes d as docs/committer.md does: 50 ms, 5 s, 2 min.
func spoken(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	}
	return fmt.Sprintf("%d min", int(d.Minutes()))
}

// Item "one definition per value": the retry bounds docs/committer.md
// states are DefaultRetry's, the hand-back table is what nakDelay gives,
// the ack wait is the consumer's, the batch bounds are DefaultWindow and
// DefaultMaxWait: each value is written once in Go, and
// the page is pinned to it.
func TestCommitterDocStatesTheDefaults(t *testing.T) {
	data, err := os.ReadFile("../docs/committer.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(string(data)), " ")
	r := Retry{}.withDefaults()
	row := "| redelivered after |"
	for n := uint64(1); n <= 5; n++ {
		row += " " + spoken(r.nakDelay(n)) + " |"
	}
	for _, want := range []string{
		fmt.Sprintf("%d attempts with exponential backoff and full jitter (%s doubling up to %s), all within %d minutes",
			r.Attempts, spoken(r.Base), spoken(r.Max), int(flushTimeout.Minutes())),
		row,
		fmt.Sprintf("an ack wait of %d minutes", int(bus.RewriteAckWait.Minutes())),
		fmt.Sprintf("(defaults %s and %s)", spoken(DefaultWindow), spoken(DefaultMaxWait)),
		fmt.Sprintf("With the default `window: %s`", DefaultWindow),
		fmt.Sprintf("and `maxWait` (%s) decides", spoken(DefaultMaxWait)),
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs/committer.md does not say %q", want)
		}
	}
}
