// Package ingest is hoist's front door: HTTP receivers that authenticate a
// registry's push webhook, turn its payload into normalised push events, and
// store them in NATS JetStream before answering 2xx.
//
// The parsers (one file per kind) are pure functions from a delivery's bytes
// and headers to events; Server is the thin HTTP and JetStream shell around them.
package ingest

import (
	"fmt"
	"net/http"
	"sort"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// Kind names a registry's webhook dialect; a receiver has exactly one.
type Kind string

// The webhook dialects ingest understands.
const (
	KindDistribution Kind = "distribution"
	KindDockerHub    Kind = "dockerhub"
	KindHarbor       Kind = "harbor"
	KindQuay         Kind = "quay"
	KindGitHub       Kind = "github"
	KindACR          Kind = "acr"
	KindGCR          Kind = "gcr"
	KindECR          Kind = "ecr"
	KindJFrog        Kind = "jfrog"
	KindNexus        Kind = "nexus"
	KindGitea        Kind = "gitea"
	KindCloudEvents  Kind = "cloudevents"
	KindGeneric      Kind = "generic"
)

// Input is one delivery as a parser sees it.
type Input struct {
	// Body is the request body, already bounded by the body limit.
	Body []byte
	// Header holds the request headers (event type, delivery id...).
	Header http.Header
	// Host is the receiver's configured registry host, used by kinds whose
	// payload does not name the host manifests pull from; "" when not set.
	Host string
}

// Parser turns one delivery into zero or more push events. It is pure: it
// reads only its input. Events it returns have PushedAt zero when the payload
// has no time; ID, Receiver and ReceivedAt are filled in by the server.
type Parser func(Input) ([]bus.PushEvent, error)

var parsers = map[Kind]Parser{
	KindDistribution: parseDistribution,
	KindDockerHub:    parseDockerHub,
	KindHarbor:       parseHarbor,
	KindQuay:         parseQuay,
	KindGitHub:       parseGitHub,
	KindACR:          parseACR,
	KindGCR:          parseGCR,
	KindECR:          parseECR,
	KindJFrog:        parseJFrog,
	KindNexus:        parseNexus,
	KindGitea:        parseGitea,
	KindCloudEvents:  parseCloudEvents,
	KindGeneric:      parseGeneric,
}

// Kinds lists every receiver kind ingest accepts, sorted, for config validation.
func Kinds() []string {
	out := make([]string, 0, len(parsers))
	for k := range parsers {
		out = append(out, string(k))
	}
	sort.Strings(out)
	return out
}

// parserFor returns the parser of a kind.
func parserFor(k Kind) (Parser, error) {
	p, ok := parsers[k]
	if !ok {
		return nil, fmt.Errorf("unknown receiver kind %q (known: %v)", k, Kinds())
	}
	return p, nil
}

// Events parses a delivery with the kind's parser, then normalises and
// validates every event: an unparsable digest becomes unknown (""),
// a tag that is really a digest becomes no tag, and a host, repository or tag
// outside the reference grammar rejects the whole delivery.
func Events(k Kind, in Input) ([]bus.PushEvent, error) {
	p, err := parserFor(k)
	if err != nil {
		return nil, err
	}
	evs, err := p(in)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", k, err)
	}
	for i := range evs {
		evs[i] = normalise(evs[i])
		if err := validateEvent(evs[i]); err != nil {
			return nil, fmt.Errorf("%s event %d: %w", k, i, err)
		}
	}
	return evs, nil
}
