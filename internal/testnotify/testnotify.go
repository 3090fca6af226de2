// Package testnotify is a notification webhook on 127.0.0.1 for tests: it
// collects what hoist's notifiers send it, decoded, with the request's
// body and headers for the tests that check signatures.
package testnotify

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/notify"
)

// Received is one notification the sink was sent.
type Received struct {
	Event  notify.Event
	Body   []byte
	Header http.Header
}

// Sink is a running notification webhook.
type Sink struct {
	// URL is where notifiers send to.
	URL string
	got chan Received
}

// Start runs a sink until the test ends. With hang set it never answers
// a request it has collected (until the test ends): a notification target
// that hangs.
func Start(t testing.TB, hang bool) *Sink {
	t.Helper()
	s := &Sink{got: make(chan Received, 100)}
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev notify.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("notification %s: %v", body, err)
		}
		s.got <- Received{Event: ev, Body: body, Header: r.Header.Clone()}
		if hang {
			select {
			case <-stop:
			case <-r.Context().Done():
			}
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) }) // runs first: a hanging request ends before Close waits for it
	s.URL = srv.URL
	return s
}

// Next waits for the next notification (failing the test after
// testenv.WaitLimit).
func (s *Sink) Next(t testing.TB) notify.Event {
	t.Helper()
	return s.NextReceived(t).Event
}

// NextReceived is Next with the request's body and headers.
func (s *Sink) NextReceived(t testing.TB) Received {
	t.Helper()
	return testenv.Receive(t, s.got, "a notification")
}
