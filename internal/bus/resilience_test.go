package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/bus/bustest"
	"github.com/hoist-gitops/hoist/internal/testenv"
)

// onPort starts a server on port with its storage in dir.
func onPort(t *testing.T, port int, dir string) *server.Server {
	t.Helper()
	return bustest.StartWith(t, func(o *server.Options) { o.Port, o.StoreDir = port, dir })
}

// Item "stages exit when NATS is not there yet": Connect waits for a
// server that starts after it, logging each attempt, and returns once it
// is there.
func TestStagesWaitForNATS(t *testing.T) {
	port := testenv.FreePort(t)
	logs := &testenv.LogBuffer{}
	failed := make(chan struct{}, 100)
	type result struct {
		c   *bus.Conn
		err error
	}
	done := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go func() {
		c, err := bus.Connect(ctx, bus.Options{
			URL: "nats://hoist:pw@127.0.0.1:" + itoa(port), Name: t.Name(), Log: zerolog.New(logs),
			OnRetry: func(error, time.Duration) { failed <- struct{}{} },
		})
		done <- result{c, err}
	}()
	<-failed // the first attempt found nothing
	onPort(t, port, t.TempDir())
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.c.Close()
	if err := r.c.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	line := strings.SplitN(logs.String(), "\n", 2)[0]
	for _, want := range []string{`"message":"cannot connect to NATS yet; retrying"`, `"retry_in":`, `"nats_url":"nats://hoist:xxxxx@127.0.0.1:`} {
		if !strings.Contains(line, want) {
			t.Errorf("first attempt's log line lacks %s: %s", want, line)
		}
	}
}

// Item "stages exit when NATS is not there yet": losing and regaining the
// server is logged, and Ready says since when NATS is gone.
func TestNATSConnectionStateLogged(t *testing.T) {
	port, dir := testenv.FreePort(t), t.TempDir()
	s := onPort(t, port, dir)
	logs := &testenv.LogBuffer{}
	ctx := context.Background()
	c, err := bus.Connect(ctx, bus.Options{URL: s.ClientURL(), Name: t.Name(), Log: zerolog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s.Shutdown()
	s.WaitForShutdown()
	testenv.Eventually(t, "the disconnect's log line", func() bool { return strings.Contains(logs.String(), "NATS connection lost") })
	if err := c.Ready(ctx); err == nil || !strings.Contains(err.Error(), "disconnected since ") {
		t.Fatalf("Ready while NATS is down = %v", err)
	}
	onPort(t, port, dir)
	testenv.Eventually(t, "the reconnect's log line", func() bool { return strings.Contains(logs.String(), `"message":"NATS reconnected"`) })
	if !strings.Contains(logs.String(), `"server":"nats://127.0.0.1:`+itoa(port)) {
		t.Errorf("the reconnect does not name the server:\n%s", logs.String())
	}
	testenv.Eventually(t, "ready again", func() bool { return c.Ready(ctx) == nil })
	c.Close()
	testenv.Eventually(t, "the close's log line", func() bool { return strings.Contains(logs.String(), "NATS connection closed") })
}

// Item "readiness that means something": Ready fails while one of hoist's
// streams is missing, names it, and has it re-created.
func TestReadinessDetectsMissingStreams(t *testing.T) {
	b := bustest.Start(t)
	ctx := context.Background()
	if err := b.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.JS.DeleteStream(ctx, bus.RewriteStream); err != nil {
		t.Fatal(err)
	}
	err := b.Ready(ctx)
	if err == nil || !strings.Contains(err.Error(), bus.RewriteStream) {
		t.Fatalf("Ready without %s = %v", bus.RewriteStream, err)
	}
	testenv.Eventually(t, "the stream re-created", func() bool { return b.Ready(ctx) == nil })
	if _, err := b.JS.Stream(ctx, bus.RewriteStream); err != nil {
		t.Fatal(err)
	}
}

// Item "NATS that lost its data is never recovered from": a reader of the
// matchers' durable consumer goes on receiving pushes after NATS lost the
// streams and the consumer, deleted under it or gone with a server that
// restarted on an empty store.
func TestRecoverWhenNATSLostItsData(t *testing.T) {
	for _, tc := range []struct {
		name string
		lose func(t *testing.T, s *server.Server, c *bus.Conn, port int) *server.Server
	}{
		{"streams deleted", func(t *testing.T, s *server.Server, c *bus.Conn, _ int) *server.Server {
			for _, name := range []string{bus.PushStream, bus.RewriteStream} {
				if err := c.JS.DeleteStream(context.Background(), name); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.JS.DeleteKeyValue(context.Background(), bus.TagTimesBucket); err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"server restarted without its storage", func(t *testing.T, s *server.Server, _ *bus.Conn, port int) *server.Server {
			s.Shutdown()
			s.WaitForShutdown()
			return onPort(t, port, t.TempDir())
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := testenv.FreePort(t)
			s := onPort(t, port, t.TempDir())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c, err := bus.Connect(ctx, bus.Options{URL: s.ClientURL(), Name: t.Name(), Log: zerolog.New(t.Output())})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			d, err := bus.DurableMessages(ctx, c.JS, bus.PushStream, bus.PushConsumerConfig(), zerolog.New(t.Output()))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Stop()
			got := make(chan string, 10)
			go func() {
				for {
					m, err := d.Next()
					if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
						close(got)
						return
					}
					if err != nil {
						t.Errorf("Next: %v", err)
						continue
					}
					var ev bus.PushEvent
					_ = json.Unmarshal(m.Data(), &ev)
					_ = m.Ack()
					got <- ev.Tag
				}
			}()
			publish := func(tag string) error {
				ev := bus.PushEvent{Registry: "127.0.0.1:5000", Repository: "team/app", Tag: tag}
				data, _ := json.Marshal(ev)
				pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				_, err := c.JS.Publish(pctx, bus.PushSubject(ev.Registry, ev.Repository), data, jetstream.WithMsgID(ev.DedupeID()))
				return err
			}
			receive := func(want string) {
				t.Helper()
				select {
				case tag := <-got:
					if tag != want {
						t.Fatalf("received %q, want %q", tag, want)
					}
				case <-time.After(2 * time.Minute): // a failure guard, far above any recovery
					t.Fatalf("%s never received", want)
				}
			}
			if err := publish("v1"); err != nil {
				t.Fatal(err)
			}
			receive("v1")

			tc.lose(t, s, c, port)
			// A registry retries until NATS stores the push again.
			testenv.Eventually(t, "a push stored again", func() bool { return publish("v2") == nil })
			receive("v2")
			testenv.Eventually(t, "ready again", func() bool { return c.Ready(ctx) == nil })
			if _, err := c.JS.KeyValue(ctx, bus.TagTimesBucket); err != nil {
				t.Fatalf("tag-times bucket not re-created: %v", err)
			}
		})
	}
}
func itoa(i int) string { return strconv.Itoa(i) }

// Item "NATS that lost its data is never recovered from": a Durable on a
// plain JetStream context (no Conn to re-create streams) still re-creates
// its own consumer when it is deleted.
func TestRecoverWhenNATSLostItsDataConsumerOnly(t *testing.T) {
	b := bustest.Start(t)
	js, err := jetstream.New(b.NC)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := bus.RewriteConsumerConfig("gitops", "main")
	d, err := bus.DurableMessages(ctx, js, bus.RewriteStream, cfg, zerolog.New(t.Output()))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	for i, body := range []string{`{"n":1}`, `{"n":2}`} {
		if i == 1 {
			if err := js.DeleteConsumer(ctx, bus.RewriteStream, cfg.Durable); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := js.Publish(ctx, bus.RewriteSubject("gitops", "main"), []byte(body)); err != nil {
			t.Fatal(err)
		}
		m, err := d.Next()
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Data()) != body {
			t.Fatalf("got %s, want %s", m.Data(), body)
		}
		if err := m.DoubleAck(ctx); err != nil { // stored before the consumer goes
			t.Fatal(err)
		}
	}
}
