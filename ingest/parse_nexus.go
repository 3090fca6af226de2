package ingest

import (
	"errors"
	"strings"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// parseNexus reads a Sonatype Nexus Repository 3 "rm:repository:component"
// webhook: a docker component CREATED or UPDATED is a push of
// component.version to component.name. Nexus does not name the host its
// docker connector serves, so the receiver's configured host is used.
func parseNexus(in Input) ([]bus.PushEvent, error) {
	var p struct {
		Timestamp flexTime `json:"timestamp"`
		Action    string   `json:"action"`
		Component *struct {
			Format  string `json:"format"`
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"component"`
		Asset *struct{} `json:"asset"`
	}
	if err := decodeJSON(in.Body, &p); err != nil {
		return nil, err
	}
	if p.Component == nil {
		if p.Asset != nil {
			return nil, nil
		}
		return nil, errors.New(`not a Nexus component webhook: no "component"`)
	}
	if p.Component.Format != "docker" || (p.Action != "CREATED" && p.Action != "UPDATED") {
		return nil, nil
	}
	ev := bus.PushEvent{
		Registry:   in.Host,
		Repository: p.Component.Name,
		Tag:        p.Component.Version,
		PushedAt:   p.Timestamp.Time,
		DeliveryID: in.Header.Get("X-Nexus-Webhook-Delivery"),
	}
	if strings.HasPrefix(ev.Tag, "sha256:") {
		ev.Digest = ev.Tag
	}
	return []bus.PushEvent{ev}, nil
}
