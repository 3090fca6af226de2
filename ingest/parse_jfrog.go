package ingest

import (
	"errors"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// parseJFrog reads a JFrog Artifactory webhook of domain "docker", event
// "pushed". With no configured host the repository-path access method is
// assumed: host from jpd_origin, repository "<repo_key>/<image_name>". A
// configured host (subdomain or port access method, where the repository key
// is in the host) gives "<host>/<image_name>".
func parseJFrog(in Input) ([]bus.PushEvent, error) {
	var p struct {
		Domain    *string `json:"domain"`
		EventType string  `json:"event_type"`
		JPDOrigin string  `json:"jpd_origin"`
		Data      struct {
			RepoKey   string `json:"repo_key"`
			ImageName string `json:"image_name"`
			Tag       string `json:"tag"`
			SHA256    string `json:"sha256"`
		} `json:"data"`
	}
	if err := decodeJSON(in.Body, &p); err != nil {
		return nil, err
	}
	if p.Domain == nil {
		return nil, errors.New(`not a JFrog webhook: no "domain"`)
	}
	if *p.Domain != "docker" || p.EventType != "pushed" {
		return nil, nil
	}
	ev := bus.PushEvent{
		Registry:   in.Host,
		Repository: p.Data.ImageName,
		Tag:        p.Data.Tag,
	}
	if ev.Registry == "" {
		ev.Registry = urlHost(p.JPDOrigin)
		ev.Repository = p.Data.RepoKey + "/" + p.Data.ImageName
	}
	if p.Data.SHA256 != "" {
		ev.Digest = "sha256:" + p.Data.SHA256
	}
	return []bus.PushEvent{ev}, nil
}
