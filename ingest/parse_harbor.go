package ingest

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imageref"
)

// harborPushTypes are the event types of an artifact push: 2.x default
// format, 1.x, and the CloudEvents format.
var harborPushTypes = map[string]bool{
	"PUSH_ARTIFACT":          true,
	"pushImage":              true,
	"harbor.artifact.pushed": true,
}

// harborData is the event data of every Harbor format.
type harborData struct {
	Resources []struct {
		Digest      string `json:"digest"`
		Tag         string `json:"tag"`
		ResourceURL string `json:"resource_url"`
	} `json:"resources"`
	Repository struct {
		RepoFullName string `json:"repo_full_name"`
	} `json:"repository"`
}

// harborPayload covers the default (2.x and 1.x) and CloudEvents formats.
type harborPayload struct {
	Type      string      `json:"type"`
	OccurAt   flexTime    `json:"occur_at"`
	EventData *harborData `json:"event_data"`
	// CloudEvents format.
	ID   string      `json:"id"`
	Time flexTime    `json:"time"`
	Data *harborData `json:"data"`
}

// parseHarbor reads a Harbor webhook: one event per resource of an artifact
// push. A by-digest push names the digest as its tag and becomes untagged
// (normalise). The documentation's CloudEvents sample carries "//" comment
// lines; a body that is not JSON is retried with those lines removed.
func parseHarbor(in Input) ([]bus.PushEvent, error) {
	var p harborPayload
	if err := decodeJSON(in.Body, &p); err != nil {
		var syn *json.SyntaxError
		if !errors.As(err, &syn) {
			return nil, err
		}
		p = harborPayload{}
		if err2 := decodeJSON(stripLineComments(in.Body), &p); err2 != nil {
			return nil, err
		}
	}
	if p.Type == "" {
		return nil, errors.New(`not a Harbor webhook: no "type"`)
	}
	if !harborPushTypes[p.Type] {
		return nil, nil
	}
	data := p.EventData
	if data == nil {
		data = p.Data
	}
	if data == nil {
		return nil, errors.New(`a Harbor push without "event_data" or "data"`)
	}
	repo := data.Repository.RepoFullName
	at := firstTime(p.OccurAt.Time, p.Time.Time)
	out := make([]bus.PushEvent, 0, len(data.Resources))
	for _, r := range data.Resources {
		out = append(out, bus.PushEvent{
			Registry:   harborHost(r.ResourceURL, repo, in.Host),
			Repository: repo,
			Tag:        r.Tag,
			Digest:     r.Digest,
			PushedAt:   at,
			DeliveryID: p.ID,
		})
	}
	return out, nil
}

// harborHost takes the host from a resource URL ("host/repo:tag" or
// "host/repo@digest"): the part before "/<repo>", else Docker's rule for the
// first component, else the configured host.
func harborHost(resourceURL, repo, fallback string) string {
	u := strings.TrimPrefix(strings.TrimPrefix(resourceURL, "https://"), "http://")
	if repo != "" {
		for _, sep := range []string{":", "@"} {
			if i := strings.Index(u, "/"+repo+sep); i > 0 {
				return u[:i]
			}
		}
	}
	name, _, _ := splitImageName(u)
	if host, _ := imageref.SplitHost(name); host != "" {
		return host
	}
	return fallback
}
