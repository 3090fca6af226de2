package matcher

import (
	"fmt"
	"testing"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testenv"
)

// Item "one definition per value": the push retry schedule, the push ack
// wait and the back-off of a repository that fails to index, as the docs
// state them, are retryDelay's, the consumer's and maintain's; each value
// is written once in Go, and the pages are pinned to it.
func TestDocsStateThePushRetries(t *testing.T) {
	s := testenv.Spoken
	first, second, third, last := s(retryDelay(1)), s(retryDelay(2)), s(retryDelay(3)), s(retryDelay(1000))
	testenv.DocSays(t, "configuration.md",
		fmt.Sprintf("redelivered after %s, %s, %s, … doubling to %s, then every %s", first, second, third, last, last),
		fmt.Sprintf("comes back after the %s ack wait", s(bus.PushAckWait)),
	)
	testenv.DocSays(t, "operations.md",
		fmt.Sprintf("comes back in %s, then %s, %s, … doubling to %s, and every %s", first, second, third, last, last),
		fmt.Sprintf("redelivers it after the ack wait of %s", s(bus.PushAckWait)),
		fmt.Sprintf("retried after %s, %s, %s, … up to %s between attempts", s(retryMin), s(2*retryMin), s(4*retryMin), s(retryMax)),
	)
}
