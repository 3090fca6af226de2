package ingest

import (
	"errors"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imageref"
)

// quayHost is quay.io, the host of a Quay delivery that names none.
const quayHost = "quay.io"

// parseQuay reads a Quay "repository push" notification: one event per
// entry of updated_tags, host from docker_url. Quay sends neither digest nor time.
func parseQuay(in Input) ([]bus.PushEvent, error) {
	var p struct {
		Repository  *string  `json:"repository"`
		DockerURL   string   `json:"docker_url"`
		UpdatedTags []string `json:"updated_tags"`
	}
	if err := decodeJSON(in.Body, &p); err != nil {
		return nil, err
	}
	if p.Repository == nil {
		return nil, errors.New(`not a Quay notification: no "repository"`)
	}
	name, _, _ := splitImageName(p.DockerURL)
	host, _ := imageref.SplitHost(name)
	if host == "" {
		host = in.Host
	}
	if host == "" {
		host = quayHost
	}
	out := make([]bus.PushEvent, 0, len(p.UpdatedTags))
	for _, tag := range p.UpdatedTags {
		out = append(out, bus.PushEvent{Registry: host, Repository: *p.Repository, Tag: tag})
	}
	return out, nil
}
