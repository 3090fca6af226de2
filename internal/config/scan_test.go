package config

import (
	"strings"
	"testing"
	"time"
)

// Item "what is scanned": scan.interval defaults to an hour with the
// webhook grace on; 0 turns scanning off; a negative or sub-second
// interval is a mistake named at its line.
func TestScanConfig(t *testing.T) {
	c, ps := Parse("hoist.yaml", []byte(withRepository), AllStages)
	if len(ps) != 0 {
		t.Fatal(ps)
	}
	if c.Scan.Interval != time.Hour || !c.Scan.WebhookGrace {
		t.Errorf("defaults: %+v", c.Scan)
	}
	c, ps = Parse("hoist.yaml", []byte("scan: {interval: 0, webhookGrace: false}\n"+withRepository), AllStages)
	if len(ps) != 0 {
		t.Fatal(ps)
	}
	if c.Scan.Interval != 0 || c.Scan.WebhookGrace {
		t.Errorf("scan off: %+v", c.Scan)
	}
	c, ps = Parse("hoist.yaml", []byte("scan:\n  interval: 15m\n"+withRepository), AllStages)
	if len(ps) != 0 || c.Scan.Interval != 15*time.Minute || !c.Scan.WebhookGrace {
		t.Errorf("interval only: %+v %v", c.Scan, ps)
	}
	for _, bad := range []string{"-1m", "10ms"} {
		_, ps = Parse("hoist.yaml", []byte("scan:\n  interval: "+bad+"\n"+withRepository), AllStages)
		if len(ps) != 1 || ps[0].Line != 2 || !strings.Contains(ps[0].Message, "scan.interval") {
			t.Errorf("interval %s: %v", bad, ps)
		}
	}
	_, ps = Parse("hoist.yaml", []byte("scan: {intervall: 1h}\n"+withRepository), AllStages)
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "intervall") {
		t.Errorf("misspelt key: %v", ps)
	}
}
