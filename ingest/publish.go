package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// When no stream answers (a stream leader election on a cluster, a stream
// being recreated), a publish asks again noResponderRetries times,
// noResponderRetry apart, as jetstream's PublishMsg does; then the delivery
// is answered 503 and the registry retries later.
const (
	noResponderRetries = 2
	noResponderRetry   = 250 * time.Millisecond
)

// outMsg is an event's message with its headers, pooled: PublishMsg copies
// a message into the connection's buffer, so it is dead once the request
// returns, and a fresh one per event costs a header map and three more
// allocations.
// Kept: the pools pay on their own (left out of the set: 1.057 times the
// CPU per webhook without them, 27 of 30 rounds; 1.053 (27 of 30)). See fastPaths
// and BENCHMARKS.md, ingest.
type outMsg struct {
	nats.Msg
	id []string // the Nats-Msg-Id header's value
}

var outMsgs = sync.Pool{New: func() any {
	m := &outMsg{id: make([]string, 1)}
	m.Header = nats.Header{jetstream.MsgIDHeader: m.id}
	return m
}}

// pubAck is JetStream's answer to a publish: the jetstream package's PubAck,
// or the API error that refused the message.
type pubAck struct {
	Error *jetstream.APIError `json:"error,omitempty"`
	jetstream.PubAck
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
// known to be down fails at once (see replies.connected).
//
// It is the request jetstream's PublishMsg makes (same subject, Nats-Msg-Id
// header and ack), made over replies: PublishMsg adds a context, options and
// a reflective ack decode that together cost about as much as ingest's own
// parsing of the webhook, on every event, and its reply subjects are new
// for every request (see replies).
func (s *Server) publish(evs []bus.PushEvent, ids []string) (stored, duplicates int, err error) {
	now := time.Now()
	deadline := now.Add(s.publishTimeout)
	n := s.next.Add(1) % uint32(len(s.conns))
	conn := s.conns[n]
	if !conn.connected(now) {
		return 0, 0, fmt.Errorf("%w (connection %s)", errNotConnected, conn.nc.Status())
	}
	for i := range evs {
		ev := &evs[i]
		data, err := marshalJSON(ev) // a pointer: boxing the value would copy it to the heap
		if err != nil {
			return stored, duplicates, fmt.Errorf("encode event %s: %w", ev.ID, err)
		}
		var msg *outMsg
		if fastPaths.pools {
			msg = outMsgs.Get().(*outMsg)
		} else {
			msg = &outMsg{id: make([]string, 1)}
			msg.Header = nats.Header{jetstream.MsgIDHeader: msg.id}
		}
		msg.Subject, msg.Data, msg.id[0] = bus.PushSubject(ev.Registry, ev.Repository), data, ev.DedupeID()
		var ack pubAck
		if fastPaths.replySlots {
			ack, err = publishEvent(conn, &msg.Msg, deadline)
		} else {
			ack, err = publishLibrary(s.jss[n], &msg.Msg, deadline)
		}
		if fastPaths.pools {
			msg.Subject, msg.Reply, msg.Data, msg.id[0] = "", "", nil, ""
			outMsgs.Put(msg)
		}
		if err != nil {
			return stored, duplicates, fmt.Errorf("publish event %s: %w", ev.ID, err)
		}
		stored++
		e := s.log.Debug()
		if ack.Duplicate {
			duplicates++
			if id := s.storedID(ack.Sequence, deadline); id != "" {
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
// before deadline): the duplicate is still stored, only not named.
func (s *Server) storedID(seq uint64, deadline time.Time) string {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
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

// publishEvent publishes msg and waits until deadline for its JetStream
// ack, asking again while no stream answers.
func publishEvent(conn *replies, msg *nats.Msg, deadline time.Time) (pubAck, error) {
	for retries := 0; ; retries++ {
		if time.Until(deadline) <= 0 {
			return pubAck{}, context.DeadlineExceeded
		}
		resp, err := conn.request(msg, deadline)
		if errors.Is(err, nats.ErrNoResponders) {
			if retries == noResponderRetries || time.Until(deadline) <= noResponderRetry {
				return pubAck{}, jetstream.ErrNoStreamResponse
			}
			time.Sleep(noResponderRetry)
			continue
		}
		if err != nil {
			return pubAck{}, err
		}
		var ack pubAck
		if err := decodeJSON(resp.Data, &ack); err != nil {
			return pubAck{}, fmt.Errorf("%w: %q", jetstream.ErrInvalidJSAck, resp.Data)
		}
		if ack.Error != nil {
			return pubAck{}, fmt.Errorf("nats: %w", ack.Error)
		}
		if ack.Stream == "" {
			return pubAck{}, fmt.Errorf("%w: %q", jetstream.ErrInvalidJSAck, resp.Data)
		}
		if ack.Stream != bus.PushStream {
			// Checked here rather than with a Nats-Expected-Stream header: the
			// server looks for each of its expectation headers in every
			// message's headers, and the longer they are the longer that
			// takes (2% of the delivery rate). Streams cannot share subjects,
			// so this only happens when hoist's stream is missing and another
			// took its subjects: a configuration mistake, answered 503.
			return pubAck{}, fmt.Errorf("stored in stream %s, not %s: another stream holds hoist's subjects", ack.Stream, bus.PushStream)
		}
		return ack, nil
	}
}

// publishLibrary is publishEvent made with jetstream's PublishMsg, which
// asks again while no stream answers as publishEvent does.
func publishLibrary(js jetstream.JetStream, msg *nats.Msg, deadline time.Time) (pubAck, error) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	ack, err := js.PublishMsg(ctx, msg)
	if err != nil {
		return pubAck{}, err
	}
	if ack.Stream != bus.PushStream {
		return pubAck{}, fmt.Errorf("stored in stream %s, not %s: another stream holds hoist's subjects", ack.Stream, bus.PushStream)
	}
	return pubAck{PubAck: *ack}, nil
}
