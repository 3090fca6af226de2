package ingest

import (
	"errors"
	"fmt"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imageref"
)

// parseGeneric reads hoist's own payload for CI pipelines:
// {"image": "host/path:tag", "digest": "sha256:...", "pushedAt": "<RFC 3339>"}.
// digest and pushedAt are optional; "image" may carry the digest itself
// ("host/path:tag@sha256:..."). An image without a host is on the receiver's
// configured host, else on Docker Hub.
func parseGeneric(in Input) ([]bus.PushEvent, error) {
	var p struct {
		Image    *string  `json:"image"`
		Digest   string   `json:"digest"`
		PushedAt flexTime `json:"pushedAt"`
	}
	if err := decodeJSON(in.Body, &p); err != nil {
		return nil, err
	}
	if p.Image == nil {
		return nil, errors.New(`no "image"`)
	}
	ref, err := imageref.Parse(*p.Image)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	digest := p.Digest
	if digest == "" {
		digest = ref.Digest
	}
	host := ref.Host
	if host == "" {
		host = in.Host
	}
	if host == "" {
		host = imageref.DockerHub
	}
	return []bus.PushEvent{{
		Registry:   host,
		Repository: ref.Path,
		Tag:        ref.Tag,
		Digest:     digest,
		PushedAt:   p.PushedAt.Time,
		DeliveryID: in.Header.Get("X-Request-Id"),
	}}, nil
}
