package ingest

import (
	"context"
	"fmt"

	fastjson "github.com/goccy/go-json"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// publish stores each event in the push stream with its dedupe id as
// Nats-Msg-Id, waiting for every ack; it returns how many JetStream already
// had (a registry's retry). An error means some event may not be stored: the
// delivery must be answered 503 so that the registry retries, and the retry
// is stored once thanks to the message ids.
func (s *Server) publish(ctx context.Context, evs []bus.PushEvent) (duplicates int, err error) {
	// A registry that hangs up does not cancel the publish: storing what it
	// announced costs nothing, and its retry is then a duplicate. (Detached,
	// the timeout is also cheaper: nothing is registered with the request's
	// context.)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.publishTimeout)
	defer cancel()
	for _, ev := range evs {
		data, err := fastjson.Marshal(ev)
		if err != nil {
			return duplicates, fmt.Errorf("encode event %s: %w", ev.ID, err)
		}
		msg := &nats.Msg{Subject: bus.PushSubject(ev.Registry, ev.Repository), Data: data}
		ack, err := s.js.PublishMsg(ctx, msg, jetstream.WithMsgID(ev.DedupeID()), jetstream.WithExpectStream(bus.PushStream))
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
