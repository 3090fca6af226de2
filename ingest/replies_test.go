package ingest

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hoist-gitops/hoist/internal/bus/bustest"
)

// A slot carries one request after another, each getting its own reply; a
// request that timed out gives its slot up, so that its late reply cannot
// be taken for the reply of a later request.
func TestRepliesReuseSlotsAndDropLateReplies(t *testing.T) {
	b := bustest.Start(t)
	r := newReplies(b.NC)
	echo, err := b.NC.Subscribe("test.echo", func(m *nats.Msg) { _ = m.Respond(m.Data) })
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Unsubscribe()
	held := make(chan *nats.Msg, 1) // requests to test.late, answered when the test says
	late, err := b.NC.ChanSubscribe("test.late", held)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Unsubscribe()

	for _, want := range []string{"one", "two", "three"} {
		if got, err := replyData(r.request(&nats.Msg{Subject: "test.echo", Data: []byte(want)}, time.Now().Add(10*time.Second))); got != want {
			t.Fatalf("request %q: reply %q, %v", want, got, err)
		}
	}
	if r.made != 1 {
		t.Errorf("three requests in turn made %d slots, want 1", r.made)
	}

	if _, err := r.request(&nats.Msg{Subject: "test.late", Data: []byte("late")}, time.Now()); !errors.Is(err, nats.ErrTimeout) {
		t.Fatalf("request nobody answers in time: %v, want a timeout", err)
	}
	m := <-held
	if err := m.Respond([]byte("the late reply")); err != nil { // after the request gave up
		t.Fatal(err)
	}
	if err := b.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, err := replyData(r.request(&nats.Msg{Subject: "test.echo", Data: []byte("four")}, time.Now().Add(10*time.Second))); got != "four" {
		t.Fatalf("request after a late reply: reply %q, %v; want its own reply", got, err)
	}
	if r.made != 2 {
		t.Errorf("%d slots made, want 2: the timed-out one must not be reused", r.made)
	}
}

// With no subscriber at all, the server's "no responders" status is
// reported as such, and the slot is reused.
func TestRepliesNoResponders(t *testing.T) {
	b := bustest.Start(t)
	r := newReplies(b.NC)
	for range 2 {
		if _, err := r.request(&nats.Msg{Subject: "test.nobody"}, time.Now().Add(10*time.Second)); !errors.Is(err, nats.ErrNoResponders) {
			t.Fatalf("request to no subscriber: %v, want %v", err, nats.ErrNoResponders)
		}
	}
	if r.made != 1 {
		t.Errorf("%d slots made, want 1", r.made)
	}
}

// replyData is a reply's data, "" when there is none.
func replyData(m *nats.Msg, err error) (string, error) {
	if m == nil {
		return "", err
	}
	return string(m.Data), err
}
