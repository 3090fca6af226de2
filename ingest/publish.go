package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	fastjson "github.com/goccy/go-json"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// noResponderRetry is how long a publish waits before asking again when no
// stream answered (a stream leader election on a cluster, a stream being
// recreated); the publish timeout bounds the retries.
const noResponderRetry = 250 * time.Millisecond

// expectedStream is the Nats-Expected-Stream header value of every event,
// shared: the header is only read.
var expectedStream = []string{bus.PushStream}

// pubAck is JetStream's answer to a publish: the jetstream package's PubAck,
// or the API error that refused the message.
type pubAck struct {
	Error *jetstream.APIError `json:"error,omitempty"`
	jetstream.PubAck
}

// publish stores each event in the push stream with its dedupe id as
// Nats-Msg-Id, waiting for every ack; it returns how many JetStream already
// had (a registry's retry). An error means some event may not be stored: the
// delivery must be answered 503 so that the registry retries, and the retry
// is stored once thanks to the message ids.
//
// It is the request jetstream's PublishMsg makes (same subject, headers and
// ack), sent with the core connection's RequestMsg: PublishMsg adds a
// context, options and a reflective ack decode that together cost about as
// much as ingest's own parsing of the webhook, on every event.
func (s *Server) publish(evs []bus.PushEvent) (duplicates int, err error) {
	deadline := time.Now().Add(s.publishTimeout)
	nc := s.conns[s.next.Add(1)%uint32(len(s.conns))]
	for _, ev := range evs {
		data, err := fastjson.Marshal(ev)
		if err != nil {
			return duplicates, fmt.Errorf("encode event %s: %w", ev.ID, err)
		}
		msg := &nats.Msg{Subject: bus.PushSubject(ev.Registry, ev.Repository), Data: data, Header: nats.Header{
			jetstream.MsgIDHeader:          {ev.DedupeID()},
			jetstream.ExpectedStreamHeader: expectedStream,
		}}
		ack, err := request(nc, msg, deadline)
		if err != nil {
			return duplicates, fmt.Errorf("publish event %s: %w", ev.ID, err)
		}
		if ack.Duplicate {
			duplicates++
		}
		s.log.Debug().Str("event_id", ev.ID).Str("registry", ev.Registry).Str("repository", ev.Repository).
			Str("tag", ev.Tag).Str("digest", ev.Digest).Bool("duplicate", ack.Duplicate).
			Uint64("seq", ack.Sequence).Msg("push event stored")
	}
	return duplicates, nil
}

// request publishes msg and waits until deadline for its JetStream ack,
// asking again while no stream answers.
func request(nc *nats.Conn, msg *nats.Msg, deadline time.Time) (pubAck, error) {
	for {
		wait := time.Until(deadline)
		if wait <= 0 {
			return pubAck{}, context.DeadlineExceeded
		}
		resp, err := nc.RequestMsg(msg, wait)
		if errors.Is(err, nats.ErrNoResponders) {
			if time.Until(deadline) <= noResponderRetry {
				return pubAck{}, jetstream.ErrNoStreamResponse
			}
			time.Sleep(noResponderRetry)
			continue
		}
		if err != nil {
			return pubAck{}, err
		}
		var ack pubAck
		if err := fastjson.Unmarshal(resp.Data, &ack); err != nil {
			return pubAck{}, fmt.Errorf("%w: %q", jetstream.ErrInvalidJSAck, resp.Data)
		}
		if ack.Error != nil {
			return pubAck{}, fmt.Errorf("nats: %w", ack.Error)
		}
		if ack.Stream == "" {
			return pubAck{}, fmt.Errorf("%w: %q", jetstream.ErrInvalidJSAck, resp.Data)
		}
		return ack, nil
	}
}
