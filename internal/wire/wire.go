// Package wire defines what hoist's stages say to each other: the push events
// ingest stores, the rewrites the matcher approves and the heads the committer
// announces. It is a leaf: the decision code (internal/policy) reads these
// types without linking NATS, which carries them (internal/bus).
package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// PushEvent is one normalised "image pushed" notification, as ingest stores it.
type PushEvent struct {
	// ID follows this push through every service's logs.
	ID string `json:"id"`
	// Registry is the registry host as the webhook named it (e.g. "127.0.0.1:5000", "docker.io").
	Registry string `json:"registry"`
	// Repository is the repository path without host (e.g. "team/app").
	Repository string `json:"repository"`
	// Tag is the pushed tag; empty for digest-only pushes.
	Tag string `json:"tag,omitempty"`
	// Digest is the manifest digest, empty when unknown or unparsable.
	Digest string `json:"digest,omitempty"`
	// PushedAt is the registry's time of the push, or the receipt time when the payload has none.
	PushedAt time.Time `json:"pushedAt"`
	// ReceivedAt is when ingest received the webhook; end-to-end latency starts here.
	ReceivedAt time.Time `json:"receivedAt"`
	// Receiver is the name of the ingest receiver that accepted the webhook.
	Receiver string `json:"receiver"`
	// DeliveryID is the registry's own id for the delivery, when it sends one.
	DeliveryID string `json:"deliveryId,omitempty"`
	// HostAliases are other names the receiver's registry goes by in manifests.
	HostAliases []string `json:"hostAliases,omitempty"`
	// Source is SourceScan for a tag hoist found by listing the registry
	// itself; empty for a webhook.
	Source string `json:"source,omitempty"`
	// SemverOnly marks an event of a repository's first scan: only sites
	// with a semver: filter act on it (the push order of tags that predate
	// hoist is unknown, so glob and regexp sites wait for a newer tag).
	SemverOnly bool `json:"semverOnly,omitempty"`
}

// SourceScan is the Source of a push event found by a scan of the registry.
const SourceScan = "scan"

// DedupeID is the JetStream message id of the event: equal for every
// delivery of the same (host, repository, tag, digest), so a registry's retry
// is stored once.
func (e PushEvent) DedupeID() string {
	// Built in a buffer on the stack: ingest asks for this once per event.
	var buf [512]byte
	b := appendLower(buf[:0], e.Registry)
	b = append(append(append(append(append(append(b, 0), e.Repository...), 0), e.Tag...), 0), e.Digest...)
	h := sha256.Sum256(b)
	var id [len("push-") + 32]byte
	copy(id[:], "push-")
	hex.Encode(id[len("push-"):], h[:16])
	return string(id[:])
}

// appendLower appends strings.ToLower(s) to b.
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return append(b, strings.ToLower(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// Rewrite is one approved change to one image site, sent from the matcher to
// the committer of the git repository that holds the site.
type Rewrite struct {
	// EventIDs are the push events that led to this rewrite.
	EventIDs []string `json:"eventIds"`
	// Repo is the configured name of the git repository.
	Repo string `json:"repo"`
	// Branch is the tracked branch the site was read from.
	Branch string `json:"branch"`
	// File is the repository-relative, slash-separated path of the manifest.
	File string `json:"file"`
	// Resource is "<namespace>:<kind lower-case>/<name>".
	Resource string `json:"resource"`
	// Container is the site's container name (chart-image, values key, alias or workload container).
	Container string `json:"container"`
	// Image is the canonical repository name the site matched on.
	Image string `json:"image"`
	// Old is the image as written when the matcher decided ([host/]path[:tag][@digest]).
	Old string `json:"old"`
	// New is the image the site must read afterwards, in the same spelling as Old.
	New string `json:"new"`
	// Tag and Digest are the pushed tag and digest that New carries.
	Tag    string `json:"tag"`
	Digest string `json:"digest,omitempty"`
	// PinDigest is set when the image's rule pins digests: the site reads
	// Tag@Digest afterwards even if it did not pin a digest before.
	PinDigest bool `json:"pinDigest,omitempty"`
	// PushedAt is the push time of Tag, used to order candidates for the same site.
	PushedAt time.Time `json:"pushedAt"`
	// ReceivedAt is when the first push event was received by ingest.
	ReceivedAt time.Time `json:"receivedAt"`
	// Policy is set for a site marked by a Flux v2 setter comment: the
	// ImagePolicy (as JSON) the matcher decided with, which the committer
	// re-checks the rewrite with at the branch head.
	Policy string `json:"policy,omitempty"`
}

// Head announces that a committer pushed a new head of a branch.
type Head struct {
	Repo   string `json:"repo"`
	Branch string `json:"branch"`
	Commit string `json:"commit"`
	// EventIDs are the push events whose rewrites the commit carried.
	EventIDs []string `json:"eventIds,omitempty"`
}
