package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/committer"
	"github.com/hoist-gitops/hoist/ingest"
	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/config"
	"github.com/hoist-gitops/hoist/internal/imagerules"
	"github.com/hoist-gitops/hoist/internal/registry"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/matcher"
)

// spoken writes d as the docs' prose does.
var spoken = testenv.Spoken

// goDuration writes d as the reference table does: Go syntax without the
// zero units String adds (2m, not 2m0s).
func goDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// documentedDefaults is the default column of the configuration
// reference in docs/operations.md, by key.
func documentedDefaults(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		cells := strings.Split(line, " | ")
		if len(cells) < 3 || !strings.HasPrefix(cells[0], "| `") {
			continue
		}
		out[strings.Trim(cells[0], "|` ")] = cells[1]
	}
	if len(out) < 50 {
		t.Fatalf("found %d rows in the configuration reference; the table was not read", len(out))
	}
	return out
}

// Item "one definition per value": every default is written once in Go,
// by the code that applies it; the configuration reference repeats it,
// and this test pins each documented default to that constant.
func TestDocumentedDefaultsAreTheCodes(t *testing.T) {
	if ingest.DefaultBodyLimit%(1<<20) != 0 {
		t.Fatalf("ingest.DefaultBodyLimit %d is not whole MiB; write the documented form anew", ingest.DefaultBodyLimit)
	}
	want := map[string]string{
		"listen":                                    "`" + config.DefaultListen + "`",
		"log.level":                                 "`" + config.DefaultLogLevel + "`",
		"dataDir":                                   "`" + config.DefaultDataDir + "`",
		"nats.dataDir":                              "`" + config.DefaultNATSDataDir + "`",
		"ingest.bodyLimit":                          fmt.Sprintf("%d MiB", ingest.DefaultBodyLimit>>20),
		"ingest.publishTimeout":                     "`" + goDuration(ingest.DefaultPublishTimeout) + "`",
		"repositories[].branch":                     "`" + config.DefaultBranch + "`",
		"repositories[].gitTimeout":                 fmt.Sprintf("`0` (matcher `%s`, committer `%s`)", goDuration(matcher.DefaultGitTimeout), goDuration(committer.DefaultGitTimeout)),
		"repositories[].fetchInterval":              "`" + goDuration(matcher.DefaultFetchInterval) + "`",
		"repositories[].commit.authorName":          "`" + committer.DefaultAuthorName + "`",
		"repositories[].commit.authorEmail":         "`" + committer.DefaultAuthorEmail + "`",
		"repositories[].commit.window":              "`" + goDuration(committer.DefaultWindow) + "`",
		"repositories[].commit.maxWait":             "`" + goDuration(committer.DefaultMaxWait) + "`",
		"repositories[].pullRequest.branchTemplate": "`" + committer.DefaultBranchTemplate + "`",
		"registries[].rateLimit":                    fmt.Sprintf("`%d`", registry.DefaultRateLimit),
		"images[].verify":                           "`" + string(imagerules.VerifyTag) + "`",
		"images[].signature.waitFor":                "`" + goDuration(matcher.DefaultSignatureWait) + "`",
		"scan.interval":                             "`" + goDuration(config.DefaultScanInterval) + "`",
	}
	// What config fills in itself, read from a file that sets nothing of it.
	c, ps := config.Parse("hoist.yaml", []byte("repositories: [{name: gitops, url: /tmp/x.git}]\nimages: [{match: \"**\"}]\n"), config.AllStages)
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	want["nats.replicas"] = fmt.Sprintf("`%d`", c.NATS.Replicas)
	want["scan.webhookGrace"] = fmt.Sprintf("`%t`", c.Scan.WebhookGrace)
	want["images[].scan"] = fmt.Sprintf("`%t`", c.Images[0].Scan)
	want["repositories[].paths"] = fmt.Sprintf("`[%q]`", c.Repositories[0].Paths[0])
	doc := documentedDefaults(t)
	for key, w := range want {
		if got, ok := doc[key]; !ok {
			t.Errorf("docs/operations.md has no row for %s", key)
		} else if got != w {
			t.Errorf("docs/operations.md: %s defaults to %s; the code's default is %s", key, got, w)
		}
	}
}

// Item "one definition per value": how the streams and consumers are wired,
// as docs/configuration.md tells it, is what the bus and the committer's
// retry defaults say.
func TestWiringDocStatesTheDefaults(t *testing.T) {
	r := committer.DefaultRetry()
	testenv.DocSays(t, "configuration.md",
		"deduplicated for "+spoken(bus.DedupeWindow)+" by message id",
		"redelivered after the ack wait of "+spoken(bus.RewriteAckWait),
		fmt.Sprintf("handed back with a delay of %s doubling per delivery up to %s", spoken(r.NakDelay), spoken(r.NakDelayMax)),
		fmt.Sprintf("after %d deliveries", bus.RewriteMaxDeliver),
	)
}

// Item "one definition per value": the time bounds of a webhook that
// docs/ingest.md and docs/operations.md state are the HTTP server's and
// ingest's.
func TestHTTPTimeoutsDocStatesTheCodes(t *testing.T) {
	testenv.DocSays(t, "ingest.md",
		"a body must arrive within "+spoken(ingest.DefaultReadTimeout)+" of the start of its delivery",
		fmt.Sprintf("allows %s for a request's headers, %s for the whole request, and closes a keep-alive connection idle for %s",
			spoken(httpHeaderTimeout), spoken(httpRequestTimeout), spoken(httpIdleTimeout)),
	)
	testenv.DocSays(t, "operations.md",
		fmt.Sprintf("Time: %s for a request's headers, %s for a webhook's body (408 beyond), %s for any whole request; a keep-alive connection idle for %s is closed",
			spoken(httpHeaderTimeout), spoken(ingest.DefaultReadTimeout), spoken(httpRequestTimeout), spoken(httpIdleTimeout)),
		"`ingest.publishTimeout` ("+spoken(ingest.DefaultPublishTimeout)+")",
	)
}

// Item "one definition per value": the longest minimum age is a day
// below what the push stream keeps, and docs/gates.md says both.
func TestMinAgeCapFitsThePushStream(t *testing.T) {
	if imagerules.MaxMinAge+24*time.Hour != bus.StreamMaxAge {
		t.Errorf("imagerules.MaxMinAge %s is not a day below bus.StreamMaxAge %s", imagerules.MaxMinAge, bus.StreamMaxAge)
	}
	testenv.DocSays(t, "gates.md", fmt.Sprintf("which keeps a push for %d days, a minimum age is at most %d days",
		int(bus.StreamMaxAge.Hours()/24), int(imagerules.MaxMinAge.Hours()/24)))
}

// Item "one definition per value": the shutdown bounds the docs state are
// cmd/hoist's own constants.
func TestShutdownDocStatesTheCodes(t *testing.T) {
	testenv.DocSays(t, "configuration.md", "in-flight ones finish, up to "+spoken(shutdownTimeout))
	testenv.DocSays(t, "operations.md", "lets those in flight finish (up to "+spoken(shutdownTimeout)+")")
	testenv.DocSays(t, "notifications.md", "a stopping service gives the queued events "+spoken(notifyCloseTimeout))
}

// Item "one definition per value": a repository that leaves the stages'
// keys out runs with each stage's own defaults, filled in here rather than
// written again in internal/config.
func TestStageDefaultsFillKeysLeftOut(t *testing.T) {
	c, ps := config.Parse("hoist.yaml", []byte("repositories:\n  - name: gitops\n    url: /tmp/x.git\n"), config.AllStages)
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	cr := committerConfig(c).Repos[0].Commit
	if cr.Window != committer.DefaultWindow || cr.MaxWait != committer.DefaultMaxWait {
		t.Errorf("committer window %s, maxWait %s; want its defaults %s, %s", cr.Window, cr.MaxWait, committer.DefaultWindow, committer.DefaultMaxWait)
	}
	if mr := matcherConfig(c).Repos[0]; mr.FetchInterval != matcher.DefaultFetchInterval {
		t.Errorf("matcher fetch interval %s, want its default %s", mr.FetchInterval, matcher.DefaultFetchInterval)
	}
	c, ps = config.Parse("hoist.yaml", []byte("repositories:\n  - name: gitops\n    url: /tmp/x.git\n    fetchInterval: 0\n    commit: {window: 0, maxWait: 0}\n"), config.AllStages)
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	if cr := committerConfig(c).Repos[0].Commit; cr.Window != 0 || cr.MaxWait != 0 {
		t.Errorf("window: 0 and maxWait: 0 became %s and %s", cr.Window, cr.MaxWait)
	}
	if mr := matcherConfig(c).Repos[0]; mr.FetchInterval != 0 {
		t.Errorf("fetchInterval: 0 became %s", mr.FetchInterval)
	}
}

// A window longer than the default maxWait is a mistake config check still
// finds, though the default is the committer's: placed at the window's line.
func TestWindowLongerThanDefaultMaxWait(t *testing.T) {
	p := writeConfig(t, "repositories:\n  - name: gitops\n    url: /tmp/x.git\n    commit:\n      window: 1h\n")
	code, out, _ := runHoist(t, "config", "check", "--config", p)
	if code != 1 || !strings.Contains(out, p+":5: repositories[0].commit.window: ") || !strings.Contains(out, "shorter than window (1h0m0s)") {
		t.Errorf("exit %d, stdout:\n%s", code, out)
	}
}
