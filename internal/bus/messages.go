// Package bus carries what hoist's stages say to each other over NATS
// JetStream: the streams and subjects for the messages of internal/wire, the
// consumers, the key-value bucket of tag first-seen times, and the connection.
package bus

import (
	"strings"

	"github.com/hoist-gitops/hoist/internal/wire"
)

// The messages are defined in internal/wire, a package without NATS, so that
// the decision code can use them; these names keep the stages' code reading
// as the bus's vocabulary.
type (
	// PushEvent is one normalised "image pushed" notification, as ingest stores it.
	PushEvent = wire.PushEvent
	// Rewrite is one approved change to one image site, from matcher to committer.
	Rewrite = wire.Rewrite
	// Head announces that a committer pushed a new head of a branch.
	Head = wire.Head
)

// subjectToken turns s into a single NATS subject token: the characters
// that split or wildcard a subject ('.', '*', '>', whitespace) become '_'.
func subjectToken(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(subjectRune, s)
}

// subjectRune is what subjectToken turns r into.
func subjectRune(r rune) rune {
	switch r {
	case '.', '*', '>', ' ', '\t', '\r', '\n':
		return '_'
	}
	return r
}

// writeToken writes subjectToken(s) to b.
func writeToken(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			b.WriteString(subjectToken(s)) // runes, as strings.Map reads them
			return
		}
	}
	if s == "" {
		b.WriteByte('_')
	}
	for i := 0; i < len(s); i++ {
		b.WriteByte(byte(subjectRune(rune(s[i]))))
	}
}
