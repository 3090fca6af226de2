package committer

import (
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream is the part of a JetStream context the committer uses: it
// reads its rewrite consumers, keeps tag times and holds in buckets, and
// announces branch heads on the connection. It neither publishes to
// streams nor manages them. jetstream.JetStream satisfies it.
type JetStream interface {
	jetstream.StreamConsumerManager
	jetstream.KeyValueManager
	Conn() *nats.Conn
}
