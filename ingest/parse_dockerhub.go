package ingest

import (
	"errors"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imageref"
)

// parseDockerHub reads a Docker Hub webhook: every delivery is a push of
// push_data.tag to repository.repo_name on docker.io; Docker Hub sends no digest.
func parseDockerHub(in Input) ([]bus.PushEvent, error) {
	var p struct {
		PushData *struct {
			PushedAt flexTime `json:"pushed_at"`
			Tag      string   `json:"tag"`
		} `json:"push_data"`
		Repository *struct {
			RepoName string `json:"repo_name"`
		} `json:"repository"`
	}
	if err := decodeJSON(in.Body, &p); err != nil {
		return nil, err
	}
	if p.PushData == nil || p.Repository == nil {
		return nil, errors.New(`not a Docker Hub webhook: no "push_data" or "repository"`)
	}
	return []bus.PushEvent{{
		Registry:   imageref.DockerHub,
		Repository: p.Repository.RepoName,
		Tag:        p.PushData.Tag,
		PushedAt:   p.PushData.PushedAt.Time,
	}}, nil
}
