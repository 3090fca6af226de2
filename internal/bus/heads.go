package bus

import (
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"
)

// AnnounceHead tells every matcher that a committer pushed a new head. It is
// a plain NATS publish: a lost announcement only delays reindexing until the
// matcher's periodic fetch.
func AnnounceHead(nc *nats.Conn, h Head) error {
	b, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("encode head: %w", err)
	}
	if err := nc.Publish(headSubject(h.Repo, h.Branch), b); err != nil {
		return fmt.Errorf("announce head %s %s: %w", h.Repo, h.Branch, err)
	}
	return nil
}

// SubscribeHeads calls fn for every head announced on any repository branch.
// Announcements that do not decode are skipped.
func SubscribeHeads(nc *nats.Conn, fn func(Head)) (*nats.Subscription, error) {
	sub, err := nc.Subscribe(headSubjectPrefix+">", func(m *nats.Msg) {
		var h Head
		if json.Unmarshal(m.Data, &h) == nil {
			fn(h)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe heads: %w", err)
	}
	return sub, nil
}
