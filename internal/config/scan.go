package config

import "time"

// Scan is how hoist lists image repositories' tags itself, as a safety net
// for webhooks that were lost or never sent (images you do not own).
type Scan struct {
	// Interval is how often each image repository of an automated,
	// unlocked site is listed; 0 turns scanning off.
	Interval time.Duration `yaml:"interval"`
	// WebhookGrace skips a repository that sent a webhook within the
	// interval: with webhooks working, scanning asks the registry nothing.
	WebhookGrace bool `yaml:"webhookGrace"`
}

// DefaultScanInterval is how often a repository is listed when scan.interval is not set.
const DefaultScanInterval = time.Hour

// setDefaults fills scan before its keys are decoded.
func (s *Scan) setDefaults() {
	s.Interval = DefaultScanInterval
	s.WebhookGrace = true
}

// checkScan finds the mistakes in scan.
func (c *Config) checkScan(d *decoder) {
	if c.Scan.Interval < 0 {
		c.report(d, "scan.interval", "scan.interval must not be negative (0 turns scanning off)")
	}
	if c.Scan.Interval > 0 && c.Scan.Interval < time.Second {
		c.report(d, "scan.interval", "scan.interval: %s is less than a second; registries would be listed without pause", c.Scan.Interval)
	}
}
