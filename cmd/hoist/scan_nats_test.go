package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/bus/bustest"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testregistry"
)

// matchUserPublish is what deploy/kustomize/nats/values.yaml allows the
// user hoist-match to publish (keep the two alike): its share of the
// streams, its push consumer, the tag-times, holds and scan buckets, scan events,
// and the listing of a repository's known tags (an ordered consumer on
// the tag-times bucket).
var matchUserPublish = []string{
	"hoist.rewrite.>",
	"hoist.push.>",
	"$JS.API.INFO",
	"$JS.API.STREAM.CREATE.HOIST_PUSHES", "$JS.API.STREAM.UPDATE.HOIST_PUSHES", "$JS.API.STREAM.INFO.HOIST_PUSHES",
	"$JS.API.STREAM.CREATE.HOIST_REWRITES", "$JS.API.STREAM.UPDATE.HOIST_REWRITES", "$JS.API.STREAM.INFO.HOIST_REWRITES",
	"$JS.API.STREAM.CREATE.KV_hoist_tag_times", "$JS.API.STREAM.UPDATE.KV_hoist_tag_times", "$JS.API.STREAM.INFO.KV_hoist_tag_times",
	"$JS.API.STREAM.CREATE.KV_hoist_scan", "$JS.API.STREAM.UPDATE.KV_hoist_scan", "$JS.API.STREAM.INFO.KV_hoist_scan",
	"$JS.API.STREAM.CREATE.KV_hoist_holds", "$JS.API.STREAM.UPDATE.KV_hoist_holds", "$JS.API.STREAM.INFO.KV_hoist_holds",
	"$JS.API.CONSUMER.CREATE.HOIST_PUSHES.hoist-matcher.>",
	"$JS.API.CONSUMER.INFO.HOIST_PUSHES.hoist-matcher",
	"$JS.API.CONSUMER.MSG.NEXT.HOIST_PUSHES.hoist-matcher",
	"$JS.ACK.HOIST_PUSHES.hoist-matcher.>",
	"$KV.hoist_tag_times.>",
	"$JS.API.DIRECT.GET.KV_hoist_tag_times.>",
	"$JS.API.STREAM.MSG.GET.KV_hoist_tag_times",
	"$JS.API.CONSUMER.CREATE.KV_hoist_tag_times.>",
	"$JS.API.CONSUMER.DELETE.KV_hoist_tag_times.>",
	"$KV.hoist_scan.>",
	"$JS.API.DIRECT.GET.KV_hoist_scan.>",
	"$JS.API.STREAM.MSG.GET.KV_hoist_scan",
	"$KV.hoist_holds.>",
	"$JS.API.DIRECT.GET.KV_hoist_holds.>",
	"$JS.API.STREAM.MSG.GET.KV_hoist_holds",
	"$JS.API.CONSUMER.CREATE.KV_hoist_holds.>",
	"$JS.API.CONSUMER.DELETE.KV_hoist_holds.>",
}

// Item "distributed" (deployment): hoist match scans, publishes scan
// events, records webhooks and decided tags with exactly the NATS
// permissions the deployment gives its user, without a violation.
func TestScanWorksAsTheMatchNATSUser(t *testing.T) {
	s := bustest.StartWith(t, func(o *server.Options) {
		o.Users = []*server.User{
			{Username: "hoist-match", Password: "m4tch", Permissions: &server.Permissions{
				Publish:   &server.SubjectPermission{Allow: matchUserPublish},
				Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>", "hoist.head.>"}},
			}},
			{Username: "admin", Password: "admin"},
		}
	})
	reg := testregistry.Start(t, testregistry.Options{})
	reg.PushImage(t, "team/app", "1.2.3")
	reg.PushImage(t, "team/app", "1.2.4")
	h := startServe(t, serveOpts{
		name: "match", stages: &stages{match: true},
		nats:          fmt.Sprintf(`{url: "%s", user: hoist-match, password: m4tch}`, s.ClientURL()),
		files:         map[string]string{"apps/app.yaml": release("app", reg.Host+"/team/app:1.2.3", "semver:~1.2", false)},
		defaultImages: true,
		extra:         "scan: {interval: 1s}\n",
	})
	logs := h.logs

	nc, err := nats.Connect(s.ClientURL(), nats.UserInfo("admin", "admin"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	rewrites := func() uint64 {
		st, err := js.Stream(context.Background(), bus.RewriteStream)
		if err != nil {
			return 0
		}
		info, err := st.Info(context.Background())
		if err != nil {
			return 0
		}
		return info.State.Msgs
	}
	testenv.Eventually(t, "the first scan's rewrite", func() bool { return rewrites() >= 1 })

	// A webhook for the tag the scan found (recorded, decided mark read
	// and written), and one for another repository (last webhook recorded).
	now := time.Now().UTC()
	for _, ev := range []bus.PushEvent{
		{ID: "hook-1", Registry: reg.Host, Repository: "team/app", Tag: "1.2.4", Digest: "sha256:" + strings.Repeat("a", 64), PushedAt: now, ReceivedAt: now},
		{ID: "hook-2", Registry: reg.Host, Repository: "team/other", Tag: "1.0", PushedAt: now, ReceivedAt: now},
	} {
		b, _ := json.Marshal(ev)
		if _, err := js.Publish(context.Background(), bus.PushSubject(ev.Registry, ev.Repository), b); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, "both webhooks handled", func() bool {
		l := logs.String()
		return strings.Contains(l, `"event_id":"hook-1"`) && strings.Contains(l, `"event_id":"hook-2"`)
	})
	kv, err := js.KeyValue(context.Background(), bus.ScanBucket)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the webhook's time recorded", func() bool {
		keys, err := kv.Keys(context.Background())
		if err != nil {
			return false
		}
		for _, k := range keys {
			if strings.HasPrefix(k, "hook.") {
				return true
			}
		}
		return false
	})
	if strings.Contains(strings.ToLower(logs.String()), "permissions violation") {
		t.Errorf("permissions violation in the log")
	}
}
