package ingest

import (
	"errors"
	"strings"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// distEvent is one event of a CNCF distribution notification envelope; ACR
// sends the same object on its own.
type distEvent struct {
	ID        string   `json:"id"`
	Timestamp flexTime `json:"timestamp"`
	Action    string   `json:"action"`
	Target    struct {
		MediaType  string `json:"mediaType"`
		Digest     string `json:"digest"`
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
		URL        string `json:"url"`
	} `json:"target"`
	Request struct {
		Host string `json:"host"`
	} `json:"request"`
}

// manifestMediaTypes are the target media types of a manifest or index push;
// every other push (layers, configs: blobs) is ignored.
var manifestMediaTypes = map[string]bool{
	"application/vnd.docker.distribution.manifest.v1+json":      true,
	"application/vnd.docker.distribution.manifest.v1+prettyjws": true,
	"application/vnd.docker.distribution.manifest.v2+json":      true,
	"application/vnd.docker.distribution.manifest.list.v2+json": true,
	"application/vnd.oci.image.manifest.v1+json":                true,
	"application/vnd.oci.image.index.v1+json":                   true,
	"application/vnd.oci.artifact.manifest.v1+json":             true,
}

// isManifest reports whether a push event's target is a manifest or index:
// by media type, or, when the registry sent none, by its /manifests/ URL.
func (e distEvent) isManifest() bool {
	if e.Target.MediaType == "" {
		return strings.Contains(e.Target.URL, "/manifests/")
	}
	return manifestMediaTypes[e.Target.MediaType]
}

// event is the push event of a distribution-shaped event.
func (e distEvent) event(defaultHost string) bus.PushEvent {
	host := e.Request.Host
	if host == "" {
		host = defaultHost
	}
	return bus.PushEvent{
		Registry:   host,
		Repository: e.Target.Repository,
		Tag:        e.Target.Tag,
		Digest:     e.Target.Digest,
		PushedAt:   e.Timestamp.Time,
		DeliveryID: e.ID,
	}
}

// parseDistribution reads a CNCF distribution (registry 2.x v1 or 3.x v2
// envelope, GitLab, Zot...) notification: one event per manifest or index
// push; pulls, deletes, mounts and blob pushes yield none.
func parseDistribution(in Input) ([]bus.PushEvent, error) {
	var env struct {
		Events *[]distEvent `json:"events"`
	}
	if err := decodeJSON(in.Body, &env); err != nil {
		return nil, err
	}
	if env.Events == nil {
		return nil, errors.New(`not a notification envelope: no "events"`)
	}
	var out []bus.PushEvent
	for _, e := range *env.Events {
		if e.Action != "push" || !e.isManifest() {
			continue
		}
		out = append(out, e.event(in.Host))
	}
	return out, nil
}
