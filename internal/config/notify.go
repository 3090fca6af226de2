package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hoist-gitops/hoist/internal/suggest"
)

// Notify is one notify entry: where hoist tells people what it did.
type Notify struct {
	// URL is an http(s):// URL (hoist's JSON webhook) or a shoutrrr
	// service URL (slack://, teams://, discord://, matrix://, smtp://,
	// generic+https://, logger://).
	URL string `yaml:"url"`
	// Events are the kinds sent: commit, hold, failure, rejected; empty: all.
	Events []string `yaml:"events"`
	// Secret (or SecretFile) signs hoist's JSON webhook with HMAC-SHA256;
	// when set it must not be empty.
	Secret     string `yaml:"secret"`
	SecretFile string `yaml:"secretFile"`
}

// NotifyEvents are the names notify[].events may hold.
var NotifyEvents = []string{"commit", "hold", "failure", "rejected"}

// notifyStages are the stages that send notifications and so resolve and
// check notify: the committer (commit, failure) and the matcher (rejected,
// hold, a failing registry).
const notifyStages = StageMatch | StageCommit

// checkNotify checks a notify entry: a URL, known event names, and a
// secret that, when given, is not empty. What the URL says is checked by
// the notify package, which knows the services.
func (c *Config) checkNotify(d *decoder, p string, n Notify) {
	if n.URL == "" && !d.problems.Under(p+".url") {
		c.report(d, p, "%s: url is missing", p)
	}
	for i, e := range n.Events {
		if !slices.Contains(NotifyEvents, e) {
			c.report(d, fmt.Sprintf("%s.events[%d]", p, i), "%s.events: unknown event %q%s (one of %s)",
				p, e, suggest.DidYouMean(e, NotifyEvents), strings.Join(NotifyEvents, ", "))
		}
	}
	set := c.has(p+".secret") || n.SecretFile != ""
	if set && n.Secret == "" && !d.problems.Under(p+".secret") && !d.problems.Under(p+".secretFile") {
		c.reportEmptySecret(d, p, n.SecretFile, "an unsigned webhook is written without secret")
	}
}
