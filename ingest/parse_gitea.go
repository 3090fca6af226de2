package ingest

import (
	"errors"
	"net/http"
	"strings"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// headerOf returns the first of the named headers that is set.
func headerOf(h http.Header, names ...string) string {
	for _, k := range names {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// parseGitea reads a Gitea or Forgejo "package" webhook: action "created" of
// a package of type "container" is a push of package.version to
// owner/name. The host is the configured one, else that of package.html_url
// (Gitea serves its registry on its web host).
func parseGitea(in Input) ([]bus.PushEvent, error) {
	switch headerOf(in.Header, "X-Gitea-Event", "X-Forgejo-Event", "X-Gogs-Event") {
	case "package", "":
	default:
		return nil, nil
	}
	var p struct {
		Action  string `json:"action"`
		Package *struct {
			Owner struct {
				Login    string `json:"login"`
				UserName string `json:"username"`
			} `json:"owner"`
			Type      string   `json:"type"`
			Name      string   `json:"name"`
			Version   string   `json:"version"`
			HTMLURL   string   `json:"html_url"`
			CreatedAt flexTime `json:"created_at"`
		} `json:"package"`
	}
	if err := decodeJSON(in.Body, &p); err != nil {
		return nil, err
	}
	if p.Package == nil {
		return nil, errors.New(`not a package event: no "package"`)
	}
	if p.Action != "created" || p.Package.Type != "container" {
		return nil, nil
	}
	owner := p.Package.Owner.Login
	if owner == "" {
		owner = p.Package.Owner.UserName
	}
	host := in.Host
	if host == "" {
		host = urlHost(p.Package.HTMLURL)
	}
	return []bus.PushEvent{{
		Registry:   host,
		Repository: strings.ToLower(owner + "/" + p.Package.Name),
		Tag:        p.Package.Version,
		PushedAt:   p.Package.CreatedAt.Time,
		DeliveryID: headerOf(in.Header, "X-Gitea-Delivery", "X-Forgejo-Delivery"),
	}}, nil
}
