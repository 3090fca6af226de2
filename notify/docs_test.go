package notify

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Item "one definition per value": the queue and retry bounds
// docs/notifications.md states are DefaultOptions'; each value is written
// once in Go, and the page is pinned to it.
func TestNotificationsDocStatesTheDefaults(t *testing.T) {
	data, err := os.ReadFile("../docs/notifications.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(string(data)), " ")
	o := DefaultOptions()
	for _, want := range []string{
		fmt.Sprintf("**Queue**: %d events per target", o.QueueSize),
		fmt.Sprintf("up to %d attempts per event, %d s before the second, doubling up to %d s", o.Attempts, int(o.Backoff.Seconds()), int(o.MaxBackoff.Seconds())),
		fmt.Sprintf("**Timeout**: %d s per attempt", int(o.Timeout.Seconds())),
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs/notifications.md does not say %q", want)
		}
	}
}
