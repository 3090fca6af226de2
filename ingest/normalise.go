package ingest

import (
	"fmt"
	"strings"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imageref"
)

// maxNameLength is the longest host/path the reference grammar accepts.
const maxNameLength = 255

// normalise applies the rules every kind shares: a digest that does not
// parse is unknown (""), and a tag that is a digest (Harbor and Gitea name
// by-digest pushes that way) or equals the digest is no tag.
func normalise(ev bus.PushEvent) bus.PushEvent {
	if ev.Tag != "" && (ev.Tag == ev.Digest || digestShaped(ev.Tag)) {
		ev.Tag = "" // a tag never has a ':'; a digest-shaped one is no tag
	}
	if ev.Digest != "" && validDigest(ev.Digest) != nil {
		ev.Digest = ""
	}
	if !ev.PushedAt.IsZero() {
		ev.PushedAt = ev.PushedAt.UTC()
	}
	return ev
}

// digestShaped reports whether a tag is really a digest. Only a ':' can make
// it one, and nearly no tag has one, so that is looked at first: the digest
// check builds an error for every tag that is not a digest.
func digestShaped(tag string) bool {
	return strings.IndexByte(tag, ':') >= 0 && (strings.HasPrefix(tag, "sha256:") || imageref.ValidateDigest(tag) == nil)
}

// validateEvent checks an event's host, repository and tag against the image
// reference grammar, so nothing that reaches a file can carry YAML or shell.
func validateEvent(ev bus.PushEvent) error {
	if ev.Registry == "" {
		return fmt.Errorf("no registry host (set the receiver's host)")
	}
	if err := imageref.ValidateHost(ev.Registry); err != nil {
		return err
	}
	if err := imageref.ValidatePath(ev.Repository); err != nil {
		return err
	}
	if len(ev.Registry)+1+len(ev.Repository) > maxNameLength {
		return fmt.Errorf("repository name %q longer than %d characters", ev.Registry+"/"+ev.Repository, maxNameLength)
	}
	if ev.Tag != "" {
		if err := imageref.ValidateTag(ev.Tag); err != nil {
			return err
		}
	}
	if ev.Digest != "" {
		if err := validDigest(ev.Digest); err != nil {
			return err
		}
	}
	return nil
}

// validDigest is imageref.ValidateDigest with a fast path for the sha256
// digests nearly every registry sends.
func validDigest(d string) error {
	if hexPart, ok := strings.CutPrefix(d, "sha256:"); ok && len(hexPart) == 64 {
		for i := 0; i < len(hexPart); i++ {
			if c := hexPart[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return imageref.ValidateDigest(d)
			}
		}
		return nil
	}
	return imageref.ValidateDigest(d)
}

// splitUntagged separates the events that can choose an update (they carry
// a tag) from those that cannot: an event without a tag (digest-only pushes,
// multi-arch children) chooses no update, so it is never stored.
// The tagged events are moved to the front of evs, in order.
func splitUntagged(evs []bus.PushEvent) (tagged []bus.PushEvent, untagged int) {
	tagged = evs[:0]
	for _, ev := range evs {
		if ev.Tag == "" {
			untagged++
			continue
		}
		tagged = append(tagged, ev)
	}
	return tagged, untagged
}
