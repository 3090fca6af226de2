package notify

import (
	"fmt"
	"testing"

	"github.com/hoist-gitops/hoist/internal/testenv"
)

// Item "one definition per value": the queue and retry bounds
// docs/notifications.md states are DefaultOptions'; each value is written
// once in Go, and the page is pinned to it.
func TestNotificationsDocStatesTheDefaults(t *testing.T) {
	o := DefaultOptions()
	testenv.DocSays(t, "notifications.md",
		fmt.Sprintf("**Queue**: %d events per target", o.QueueSize),
		fmt.Sprintf("up to %d attempts per event, %s before the second, doubling up to %s", o.Attempts, testenv.Spoken(o.Backoff), testenv.Spoken(o.MaxBackoff)),
		"**Timeout**: "+testenv.Spoken(o.Timeout)+" per attempt",
	)
}
