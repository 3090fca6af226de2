package ingest

import (
	"errors"
	"strings"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imageref"
)

// ghcrHost is GitHub's container registry.
const ghcrHost = "ghcr.io"

// ghPackage is the package object of GitHub's package and registry_package events.
type ghPackage struct {
	Name        string   `json:"name"`
	Namespace   string   `json:"namespace"`
	Ecosystem   string   `json:"ecosystem"`
	PackageType string   `json:"package_type"`
	UpdatedAt   flexTime `json:"updated_at"`
	Owner       struct {
		Login string `json:"login"`
	} `json:"owner"`
	PackageVersion *struct {
		CreatedAt         flexTime `json:"created_at"`
		UpdatedAt         flexTime `json:"updated_at"`
		PackageURL        string   `json:"package_url"`
		ContainerMetadata *struct {
			Tag struct {
				Name   string `json:"name"`
				Digest string `json:"digest"`
			} `json:"tag"`
			Manifest struct {
				Digest string `json:"digest"`
			} `json:"manifest"`
		} `json:"container_metadata"`
	} `json:"package_version"`
}

// isContainer reports whether the package is a container image. GitHub's
// own examples disagree with themselves (package_type "npm", ecosystem
// "docker"), so either field naming a container is enough.
func (p ghPackage) isContainer() bool {
	for _, s := range []string{p.PackageType, p.Ecosystem} {
		switch strings.ToLower(s) {
		case "container", "docker":
			return true
		}
	}
	return false
}

// parseGitHub reads a GitHub "package" or "registry_package" webhook
// (X-GitHub-Event) for a published or updated container package on GHCR.
// Other events (ping, push...) and other package types yield none.
func parseGitHub(in Input) ([]bus.PushEvent, error) {
	switch in.Header.Get("X-GitHub-Event") {
	case "package", "registry_package", "":
	default:
		return nil, nil
	}
	var p struct {
		Action          string     `json:"action"`
		Package         *ghPackage `json:"package"`
		RegistryPackage *ghPackage `json:"registry_package"`
	}
	if err := decodeJSON(in.Body, &p); err != nil {
		return nil, err
	}
	pkg := p.Package
	if pkg == nil {
		pkg = p.RegistryPackage
	}
	if pkg == nil {
		if in.Header.Get("X-GitHub-Event") == "" {
			return nil, errors.New(`not a GitHub package event: no "package" or "registry_package"`)
		}
		return nil, errors.New("package event without a package")
	}
	if p.Action != "published" && p.Action != "updated" || !pkg.isContainer() || pkg.PackageVersion == nil {
		return nil, nil
	}
	v := pkg.PackageVersion
	host, repo := ghcrHost, strings.ToLower(pkg.Owner.Login+"/"+pkg.Name)
	if pkg.Owner.Login == "" {
		repo = strings.ToLower(pkg.Namespace + "/" + pkg.Name)
	}
	if name, _, _ := splitImageName(v.PackageURL); name != "" {
		if h, path := imageref.SplitHost(name); h != "" {
			host, repo = strings.ToLower(h), strings.ToLower(path)
		}
	}
	ev := bus.PushEvent{
		Registry:   host,
		Repository: repo,
		PushedAt:   firstTime(v.CreatedAt.Time, v.UpdatedAt.Time, pkg.UpdatedAt.Time),
		DeliveryID: in.Header.Get("X-GitHub-Delivery"),
	}
	if cm := v.ContainerMetadata; cm != nil {
		ev.Tag = cm.Tag.Name
		ev.Digest = cm.Tag.Digest
		if ev.Digest == "" {
			ev.Digest = cm.Manifest.Digest
		}
	}
	return []bus.PushEvent{ev}, nil
}
