package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// publisher is a NATS connection ingest publishes on, with its JetStream
// context.
type publisher struct {
	nc *nats.Conn
	js jetstream.JetStream
}

// errNotConnected is publish's error while the NATS connection is down:
// waiting for the publish timeout would only keep the registry hanging.
var errNotConnected = errors.New("not connected to NATS")

// publish stores each event in the push stream with its dedupe id as
// Nats-Msg-Id, waiting for every ack; it returns how many events JetStream
// acknowledged (stored, in order) and how many of those it already had (a
// registry's retry), whose ids[i] it replaces with the id of the copy
// stored earlier. An error means the events from evs[stored] on may not be
// stored: the delivery must be answered 503 so that the registry retries,
// and the retry is stored once thanks to the message ids. A connection
// that is down fails at once.
//
// jetstream's PublishMsg asks again, twice, 250 ms apart, while no stream
// answers (a stream leader election on a cluster, a stream being
// recreated); then the delivery is answered 503 and the registry retries
// later.
func (s *Server) publish(evs []bus.PushEvent, ids []string) (stored, duplicates int, err error) {
	deadline := time.Now().Add(s.publishTimeout)
	p := s.pubs[s.next.Add(1)%uint32(len(s.pubs))]
	if !p.nc.IsConnected() {
		return 0, 0, fmt.Errorf("%w (connection %s)", errNotConnected, p.nc.Status())
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	for i := range evs {
		ev := &evs[i]
		data, err := marshalJSON(ev) // a pointer: boxing the value would copy it to the heap
		if err != nil {
			return stored, duplicates, fmt.Errorf("encode event %s: %w", ev.ID, err)
		}
		msg := &nats.Msg{Subject: bus.PushSubject(ev.Registry, ev.Repository), Data: data}
		ack, err := p.js.PublishMsg(ctx, msg, jetstream.WithMsgID(ev.DedupeID()))
		if err != nil {
			return stored, duplicates, fmt.Errorf("publish event %s: %w", ev.ID, err)
		}
		if ack.Stream != bus.PushStream {
			// Checked here rather than with a Nats-Expected-Stream header: the
			// server looks for each of its expectation headers in every
			// message's headers. Streams cannot share subjects, so this only
			// happens when hoist's stream is missing and another took its
			// subjects: a configuration mistake, answered 503.
			return stored, duplicates, fmt.Errorf("publish event %s: stored in stream %s, not %s: another stream holds hoist's subjects",
				ev.ID, ack.Stream, bus.PushStream)
		}
		stored++
		e := s.log.Debug()
		if ack.Duplicate {
			duplicates++
			if id := s.storedID(ctx, ack.Sequence); id != "" {
				ids[i] = id
				e = e.Str("duplicate_of", id)
			}
		}
		e.Str("event_id", ev.ID).Str("registry", ev.Registry).Str("repository", ev.Repository).
			Str("tag", ev.Tag).Str("digest", ev.Digest).Bool("duplicate", ack.Duplicate).
			Uint64("seq", ack.Sequence).Msg("push event stored")
	}
	return stored, duplicates, nil
}

// storedID is the event id of the push stream's message seq: JetStream's
// ack of a duplicate names the sequence of the copy it already holds. ""
// when it cannot be read (gone from the stream, or JetStream not answering
// before ctx ends): the duplicate is still stored, only not named.
func (s *Server) storedID(ctx context.Context, seq uint64) string {
	st, err := s.js.Stream(ctx, bus.PushStream)
	if err != nil {
		return ""
	}
	m, err := st.GetMsg(ctx, seq)
	if err != nil {
		return ""
	}
	var ev struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(m.Data, &ev) != nil {
		return ""
	}
	return ev.ID
}
