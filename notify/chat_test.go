package notify

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/nicholas-fedor/shoutrrr/pkg/format"
	"github.com/nicholas-fedor/shoutrrr/pkg/services/chat/discord"
	"github.com/nicholas-fedor/shoutrrr/pkg/services/chat/slack"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// smtpSink is a minimal SMTP server on 127.0.0.1 without TLS or
// authentication: it accepts every message and hands its DATA over.
func smtpSink(t *testing.T) (addr string, mails <-chan string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	out := make(chan string, 10)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveSMTP(conn, out)
		}
	}()
	return ln.Addr().String(), out
}

func serveSMTP(conn net.Conn, out chan<- string) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	say := func(s string) { fmt.Fprintf(conn, "%s\r\n", s) }
	say("220 sink ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250 sink")
		case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"), strings.HasPrefix(cmd, "RSET"), strings.HasPrefix(cmd, "NOOP"):
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(l)
			}
			out <- data.String()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

func TestNotifyEmailThroughShoutrrrSMTP(t *testing.T) {
	addr, mails := smtpSink(t)
	reg := prometheus.NewRegistry()
	u := "smtp://" + addr + "/?from=hoist@example.com&to=ops@example.com&auth=None&encryption=None&usestarttls=no"
	d, err := New([]Target{{URL: u}}, fastOptions(), reg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer closeNow(t, d)
	d.Notify(commitEvent())
	mail := <-mails
	unfolded := strings.ReplaceAll(mail, "\r\n ", " ")
	for _, want := range []string{
		"Subject: hoist: 2 image updates to gitops/main (4b825dc642cb)",
		"To: ops@example.com",
		"apps/api.yaml: apps:deployment/api api: registry.example/team/api:1.2.3 → registry.example/team/api:1.2.4",
		"https://github.com/acme/gitops/commit/4b825dc642cb6eb9a060e54bf8d69288fbee4904",
	} {
		if !strings.Contains(unfolded, want) && !strings.Contains(decodeQP(unfolded), want) {
			t.Errorf("mail lacks %q:\n%s", want, mail)
		}
	}
	testenv.Eventually(t, "sent counted", func() bool { return count(t, reg, "0-smtp", KindCommit, outcomeSent) == 1 })
}

// decodeQP undoes quoted-printable soft breaks and =XX escapes, enough to
// read a body back.
func decodeQP(s string) string {
	s = strings.ReplaceAll(s, "=\r\n", "")
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '=' && i+2 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+3], "%02X", &c); err == nil {
				b.WriteByte(c)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestNotifyLoggerServiceWritesTheLog(t *testing.T) {
	var buf testenv.LogBuffer
	reg := prometheus.NewRegistry()
	d, err := New([]Target{{URL: "logger://", Events: []Kind{KindCommit}}}, fastOptions(), reg, zerolog.New(&buf))
	if err != nil {
		t.Fatal(err)
	}
	d.Notify(commitEvent())
	testenv.Eventually(t, "sent", func() bool { return count(t, reg, "0-logger", KindCommit, outcomeSent) == 1 })
	closeNow(t, d)
	var line struct {
		Level, Notifier, Notification, Message string
	}
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if err := json.Unmarshal([]byte(l), &line); err == nil && line.Level == "info" && line.Notification != "" {
			break
		}
	}
	if line.Notifier != "0-logger" || !strings.HasPrefix(line.Notification, "hoist: 2 image updates to gitops/main") ||
		!strings.Contains(line.Notification, "apps/web.yaml: apps:helmrelease/web chart-image: registry.example/team/web:2.0.0 → registry.example/team/web:2.1.0") {
		t.Fatalf("log line %+v\nlog:\n%s", line, buf.String())
	}
}

// TestNotifyChatMessagesShapedForEachService checks that Slack, Teams,
// Discord and Matrix URLs (which cannot be reached from a test) parse, and
// that the payload Slack's and Discord's own builders make of hoist's
// message carries the title and one line per change.
func TestNotifyChatMessagesShapedForEachService(t *testing.T) {
	urls := map[string]string{
		"slack":   "slack://hook:T00000000-B00000000-XXXXXXXXXXXXXXXXXXXXXXXX@webhook?botname=hoist",
		"teams":   "teams://11111111-4444-4444-8444-cccccccccccc@22222222-4444-4444-8444-cccccccccccc/33333333012222222222333333333344/44444444-4444-4444-8444-cccccccccccc/V2ESyij_gAljSoUQHvZoZYzlpAoAXExyOl26dlf1xHEx05?host=acme.webhook.office.com",
		"discord": "discord://t0kenT0kenT0ken@123456789012345678",
		"matrix":  "matrix://hoist:pa55word@matrix.example:8448/?rooms=!ops:matrix.example",
	}
	ev := commitEvent()
	for name, u := range urls {
		tg := Target{URL: u}
		if err := tg.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		c, err := newChat(tg, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		text, params := c.message(ev)
		titled := params["title"] == renderTitle(ev) || name == "matrix" && strings.HasPrefix(text, renderTitle(ev)+"\n")
		if !titled || !strings.Contains(text, "apps/api.yaml") {
			t.Errorf("%s: message %q params %v", name, text, params)
		}
	}

	// Slack: what Send posts, made by the service's own builder.
	su, _ := url.Parse(urls["slack"])
	cfg, err := slack.CreateConfigFromURL(su)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newChat(Target{URL: urls["slack"]}, testLogger(t))
	text, params := c.message(ev)
	pkr := format.NewPropKeyResolver(cfg)
	if err := pkr.UpdateConfigFromParams(cfg, &params); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(slack.CreateJSONPayload(cfg, text))
	var sp struct {
		Text        string `json:"text"`
		Channel     string `json:"channel"`
		Attachments []struct {
			Text string `json:"text"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(body, &sp); err != nil {
		t.Fatal(err)
	}
	if sp.Text != renderTitle(ev) || len(sp.Attachments) != 5 ||
		sp.Attachments[2].Text != "- apps/api.yaml: apps:deployment/api api: registry.example/team/api:1.2.3 → registry.example/team/api:1.2.4" {
		t.Fatalf("slack payload %s", body)
	}

	// Discord: the service splits the text into items and titles the embed.
	items := discord.CreateItemsFromPlain(text, false)
	dp, err := discord.CreatePayloadFromItems(items[0], renderTitle(ev), [5]uint{})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = json.Marshal(dp)
	if !bytes.Contains(body, []byte(`"title":"hoist: 2 image updates to gitops/main (4b825dc642cb)"`)) ||
		!bytes.Contains(body, []byte("registry.example/team/web:2.1.0")) {
		t.Fatalf("discord payload %s", body)
	}
}

// shoutrrr's generic webhook is written generic+http(s)://: it posts the
// text (here as its JSON template), not hoist's event JSON, which plain
// http(s):// URLs get.
func TestNotifyGenericShoutrrrWebhookIsNotHoists(t *testing.T) {
	srv := newHookServer(t)
	reg := prometheus.NewRegistry()
	u := "generic+" + srv.URL + "/text?template=json"
	d, err := New([]Target{{URL: u}}, fastOptions(), reg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer closeNow(t, d)
	d.Notify(commitEvent())
	testenv.Eventually(t, "sent", func() bool { return count(t, reg, "0-generic+http", KindCommit, outcomeSent) == 1 })
	r := srv.requests()[0]
	var body struct{ Title, Message, Event string }
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("%s: %v", r.body, err)
	}
	if body.Title != renderTitle(commitEvent()) || body.Message != renderText(commitEvent()) || body.Event != "" || r.header.Get(eventHeader) != "" {
		t.Fatalf("generic body %s, headers %v", r.body, r.header)
	}
}

// Matrix through shoutrrr's matrix service against a homeserver the test
// runs on 127.0.0.1 (its client API over http: disableTLS): the message
// reaches the room with the title at its head, since the matrix service
// has a title key but never sends it.
func TestNotifyMatrixReachesTheRoom(t *testing.T) {
	sent := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("access_token") != "syt_t0ken" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"errcode":"M_UNKNOWN_TOKEN","error":"bad token"}`)
			return
		}
		switch {
		case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/_matrix/client/r0/join/"):
			fmt.Fprint(w, `{"room_id":"!ops:hoist.test"}`)
		case r.Method == http.MethodPost && r.URL.Path == "/_matrix/client/r0/rooms/!ops:hoist.test/send/m.room.message":
			var body struct{ MsgType, Body string }
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				t.Error(err)
			}
			sent <- body.Body
			fmt.Fprint(w, `{"event_id":"$1"}`)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	reg := prometheus.NewRegistry()
	d, err := New([]Target{{URL: "matrix://:syt_t0ken@" + host + "/?rooms=!ops:hoist.test&disableTLS=yes"}}, fastOptions(), reg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer closeNow(t, d)
	ev := commitEvent()
	d.Notify(ev)
	body := <-sent
	if !strings.HasPrefix(body, renderTitle(ev)+"\n") || !strings.Contains(body, "- apps/api.yaml: apps:deployment/api api: registry.example/team/api:1.2.3 → registry.example/team/api:1.2.4") {
		t.Fatalf("matrix message %q", body)
	}
	testenv.Eventually(t, "sent", func() bool { return count(t, reg, "0-matrix", KindCommit, outcomeSent) == 1 })
}
