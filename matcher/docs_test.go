package matcher

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// spoken writes d as the docs do: 2 s, 5 min.
func spoken(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d s", int(d.Seconds()))
	}
	return fmt.Sprintf("%d min", int(d.Minutes()))
}

// Item "one definition per value": the push retry schedule, the push ack
// wait and the back-off of a repository that fails to index, as the docs
// state them, are retryDelay's, the consumer's and maintain's; each value is
// written once in Go, and the pages are pinned to it.
func TestDocsStateThePushRetries(t *testing.T) {
	read := func(name string) string {
		data, err := os.ReadFile("../docs/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(strings.Fields(string(data)), " ")
	}
	first, second, third, last := spoken(retryDelay(1)), spoken(retryDelay(2)), spoken(retryDelay(3)), spoken(retryDelay(1000))
	ack := spoken(bus.PushAckWait)
	for page, phrases := range map[string][]string{
		"configuration.md": {
			fmt.Sprintf("redelivered after %s, %s, %s, … doubling to %s, then every %s", first, second, third, last, last),
			fmt.Sprintf("comes back after the %s ack wait", ack),
		},
		"operations.md": {
			fmt.Sprintf("comes back in %s, then %s, %s, … doubling to %s, and every %s", first, second, third, last, last),
			fmt.Sprintf("redelivers it after the ack wait of %s", ack),
			fmt.Sprintf("retried after %s, %s, %s, … up to %s between attempts", spoken(retryMin), spoken(2*retryMin), spoken(4*retryMin), spoken(retryMax)),
		},
	} {
		doc := read(page)
		for _, p := range phrases {
			if !strings.Contains(doc, p) {
				t.Errorf("docs/%s does not say %q", page, p)
			}
		}
	}
}
