package bus

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ShutdownHandBack is how long a message handed back at shutdown waits
// before JetStream delivers it again. Stopping a pull is asynchronous in
// nats.go: a message handed back at once could be redelivered into the
// stopping stage's own pull request and sit there for the whole ack wait.
// A second is long enough for the pull to be gone and short against any
// ack wait.
const ShutdownHandBack = time.Second

// HandBackAtShutdown returns m to its stream for another replica (or the
// next start of this one) of a stage that is stopping: it is neither
// acknowledged nor left to the ack wait.
func HandBackAtShutdown(m jetstream.Msg) { _ = m.NakWithDelay(ShutdownHandBack) }
