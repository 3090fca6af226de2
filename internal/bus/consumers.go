package bus

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Durable consumer names. Every replica of a stage binds to the same durable
// consumer, and the streams use work-queue retention, so replicas share the
// messages instead of each receiving all of them.
const (
	// MatcherConsumer is the durable consumer of PushStream the matchers share.
	MatcherConsumer = "hoist-matcher"
	// committerConsumerPrefix prefixes the durable consumer of one repository
	// branch's rewrites.
	committerConsumerPrefix = "hoist-committer-"
)

// PushAckWait is how long the push stream waits before redelivering a push
// a matcher neither acknowledged nor handed back (the matcher died holding
// it). The consumer has no BackOff list: with one, JetStream ignores the
// delay of NakWithDelay and redelivers on the list's schedule instead, and
// the matcher hands pushes back with delays of its own.
const PushAckWait = 30 * time.Second

// RewriteAckWait is how long a committer may hold a delivered rewrite
// without acknowledging it: then (a crashed committer) JetStream gives it to
// another. It must exceed a batch's longest life between keep-alives:
// maxWait (committer.DefaultMaxWait unless set) plus a push attempt; committers extend it with
// InProgress while a batch is retried.
const RewriteAckWait = 2 * time.Minute

// RewriteMaxDeliver bounds the deliveries of a rewrite. A committer hands a
// batch it cannot push back with a delay of 30 s doubling up to 5 min, so
// a rewrite is retried for about two days before JetStream gives up on it
// (it then stays in the stream, visible to an operator).
const RewriteMaxDeliver = 600

// PushConsumerConfig is the matchers' shared durable pull consumer of every
// push event: explicit acks (a push is acknowledged only after its rewrites
// are stored, for every repository), redelivered until then. Deliveries are
// not bounded: a push waits as long as a repository is not indexed, and the
// matcher's own retry delays are capped, so the cost of waiting is bounded.
// MaxAckPending is large because pushes waiting for a repository count
// against it; when it is reached, delivery pauses (nothing is lost).
func PushConsumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       MatcherConsumer,
		Description:   "matchers: push events to rewrites",
		FilterSubject: PushSubjects,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       PushAckWait,
		MaxDeliver:    -1,
		MaxAckPending: 10000,
	}
}

// RewriteConsumerName is the durable consumer name of one repository
// branch's rewrites (durable names cannot hold '.', '*', '>', '/' or spaces).
func RewriteConsumerName(repo, branch string) string {
	name := committerConsumerPrefix + consumerToken(repo) + "_" + consumerToken(branch)
	if len(name) > 200 {
		h := sha256.Sum256([]byte(repo + "\x00" + branch))
		name = committerConsumerPrefix + hex.EncodeToString(h[:16])
	}
	return name
}

// RewriteConsumerConfig is the committers' shared durable pull consumer of
// one repository branch's rewrites. MaxAckPending is large because a whole
// batch (a burst of a thousand pushes) is held unacknowledged until its
// commit is pushed. It has no BackOff: with one, JetStream times a message
// handed back with a delay from the back-off step instead of the delay
// asked for (a 30 s hand-back became 3.5 min, 13.5 min, an hour), so the
// committers choose the redelivery delays themselves.
func RewriteConsumerConfig(repo, branch string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       RewriteConsumerName(repo, branch),
		Description:   "committer of " + repo + " " + branch,
		FilterSubject: RewriteSubject(repo, branch),
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       RewriteAckWait,
		MaxDeliver:    RewriteMaxDeliver,
		MaxAckPending: 50000,
	}
}

// consumerToken makes s usable inside a durable consumer name.
func consumerToken(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', '/', '\\', ' ', '\t', '\r', '\n':
			return '_'
		}
		return r
	}, subjectToken(s))
}
