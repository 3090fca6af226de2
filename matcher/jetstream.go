package matcher

import (
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream is the part of a JetStream context the matcher uses: it reads
// the push consumer, publishes rewrites (and the pushes a scan finds),
// keeps tag times, holds and scan records in buckets, and hears branch
// heads on the connection. It never manages streams. jetstream.JetStream
// satisfies it.
type JetStream interface {
	jetstream.Publisher
	jetstream.StreamConsumerManager
	jetstream.KeyValueManager
	Conn() *nats.Conn
}
