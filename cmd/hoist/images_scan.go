package main

import (
	"fmt"
	"strings"

	"github.com/hoist-gitops/hoist/internal/config"
	"github.com/hoist-gitops/hoist/internal/imagerules"
	"github.com/hoist-gitops/hoist/internal/manifest"
)

// How hoist learns of a site's new tags, the coverage of `hoist images`.
const (
	// coverWebhook: webhooks only (scanning is off for the image).
	coverWebhook = "webhook"
	// coverBoth: webhooks, and a scan of the image repository every scan.interval.
	coverBoth = "webhook+scan"
)

// scanView is what a configuration says about scanning: the interval and
// the images rules. Without a configuration file, the defaults apply.
type scanView struct {
	on    bool
	rules *imagerules.Rules
	// holds is set when the file names a NATS server this command can
	// reach for the holds it keeps: an external one, or hoist serve's
	// embedded one when it listens for network clients.
	holds bool
}

// loadScanView reads scan: and images: from the configuration file at
// path ("": the defaults, every image scanned hourly). Mistakes in other
// sections are not this command's business and are ignored.
func loadScanView(path string) (scanView, error) {
	if path == "" {
		return scanView{on: config.DefaultScanInterval > 0}, nil
	}
	c, ps := config.Check(path, config.StageMatch)
	var mine config.Problems
	for _, p := range ps {
		if c == nil || p.Key == "" && p.Line == 0 && strings.Contains(p.Message, "cannot read") ||
			p.Key == "scan" || strings.HasPrefix(p.Key, "scan.") || strings.HasPrefix(p.Key, "images") {
			mine = append(mine, p)
		}
	}
	if c == nil || len(mine) > 0 {
		return scanView{}, mine
	}
	rules, err := imagerules.Compile(c.ImageRules())
	if err != nil {
		return scanView{}, fmt.Errorf("%s: %w", path, err)
	}
	return scanView{on: c.Scan.Interval > 0, rules: rules, holds: c.NATS.URL != "" || c.NATS.Listen != ""}, nil
}

// setCoverage fills each row's coverage from its site (rows[i] is sites[i]'s):
// a site hoist updates hears of new tags through webhooks, and through
// scans when scanning is on and the image's rule does not turn it off;
// hoist never updates the others, so they have none.
func setCoverage(rows []imageRow, sites []manifest.Site, v scanView) {
	for i := range rows {
		r := &rows[i]
		switch {
		case !r.Automated || r.Locked || r.Ignored:
			r.Coverage = ""
		case v.on && v.rules.For(sites[i].Ref.Canonical()).Scan:
			r.Coverage = coverBoth
		default:
			r.Coverage = coverWebhook
		}
	}
}

// coverageWord is a row's coverage for the table.
func coverageWord(r imageRow) string {
	if r.Coverage == "" {
		return "-"
	}
	return r.Coverage
}
