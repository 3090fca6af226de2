package main

import (
	"crypto/hmac"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hoist-gitops/hoist/internal/config"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testnotify"
	"github.com/hoist-gitops/hoist/notify"
)

// Item (gates and people): hoist tells the repository's owners what it
// did. A webhook becomes a commit through hoist serve, and the notify
// webhook receives the commit notification, signed, with the change.
func TestNotifyServeWebhookToCommitNotification(t *testing.T) {
	const secret = "n0tify-secret"
	hook := testnotify.Start(t, false) // stops after hoist serve: cleanups run last first

	h := startServe(t, serveOpts{files: map[string]string{"apps/app.yaml": serveRelease}, extra: fmt.Sprintf(`notify:
  - url: %s/hoist
    events: [commit]
    secret: %s
`, hook.URL, secret)})
	if _, metrics := h.get("/metrics"); !strings.Contains(metrics, `hoist_notifications_total{event="commit",notifier="0-http",outcome="failed"} 0`) {
		t.Errorf("the notification series are not present at zero:\n%s", metrics)
	}
	h.mustPush(t, "127.0.0.1:5000/team/app:1.2.4")
	got := hook.NextReceived(t)
	head := h.repo.Head(t, "main")
	if head == h.seed {
		t.Fatal("notified, but no commit")
	}
	if !hmac.Equal([]byte(got.Header.Get(notify.SignatureHeader)), []byte(notify.Sign([]byte(secret), got.Body))) {
		t.Error("the notification's signature is not valid for the secret")
	}
	ev := got.Event
	if ev.Kind != notify.KindCommit || ev.Repo != "gitops" || ev.Branch != "main" || ev.Commit == nil || ev.Commit.SHA != head ||
		len(ev.Commit.Changes) != 1 || len(ev.Commit.EventIDs) != 1 {
		t.Fatalf("notification %+v (head %s)", ev, head)
	}
	ch := ev.Commit.Changes[0]
	if ch.File != "apps/app.yaml" || ch.Resource != "apps:helmrelease/app" ||
		ch.Old != "127.0.0.1:5000/team/app:1.2.3" || ch.New != "127.0.0.1:5000/team/app:1.2.4" || !slices.Equal(ch.EventIDs, ev.Commit.EventIDs) {
		t.Fatalf("change %+v", ch)
	}
	testenv.Eventually(t, "the sent notification counted", func() bool {
		_, metrics := h.get("/metrics")
		return strings.Contains(metrics, `hoist_notifications_total{event="commit",notifier="0-http",outcome="sent"} 1`)
	})
}

// Item (gates and people): config check validates notify URLs without
// sending, at the line of the key, and never quotes a token.
func TestNotifyConfigCheck(t *testing.T) {
	p := writeConfig(t, `repositories:
  - {name: gitops, url: /tmp/x.git}
notify:
  - url: slak://hook:T0-B0-SECRETTOKEN@webhook
  - url: smtp://mail.example/?to=ops@example.com
  - url: logger://
    secret: s
  - url: https://hooks.example/hoist
    events: [comit]
  - url: https://hooks.example/hoist
    secret: s
    events: [commit, hold, failure, rejected]
`)
	code, out, _ := runHoist(t, "config", "check", "--config", p)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		p + `:4: notify[0].url: unknown scheme "slak"`,
		p + `:5: notify[1].url: the smtp:// url: fromAddress missing from config URL`,
		p + `:7: notify[2].secret: secret signs hoist's JSON webhook`,
		p + `:9: notify[3].events: unknown event "comit" (did you mean "commit"?)`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "\n") != 4 || strings.Contains(out, "SECRETTOKEN") {
		t.Errorf("want 4 mistakes and no token:\n%s", out)
	}
	// Only the stages that notify check notify.
	if code, out, _ := runHoist(t, "config", "check", "--stage", "ingest", "--config", p); code != 0 || strings.Contains(out, "notify") {
		t.Errorf("--stage ingest: exit %d\n%s", code, out)
	}
}

// The event names config accepts are the kinds notify sends.
func TestNotifyEventNamesAgree(t *testing.T) {
	var kinds []string
	for _, k := range notify.Kinds() {
		kinds = append(kinds, string(k))
	}
	if !slices.Equal(kinds, config.NotifyEvents) {
		t.Fatalf("config.NotifyEvents %v, notify.Kinds %v", config.NotifyEvents, kinds)
	}
}
