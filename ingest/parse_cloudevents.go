package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imageref"
)

// cdeventsArtifactPublished prefixes the type of a CDEvents artifact.published event.
const cdeventsArtifactPublished = "dev.cdevents.artifact.published."

// cdEvent is a CDEvent: a context and a subject whose id is a package URL.
type cdEvent struct {
	Context struct {
		ID        string   `json:"id"`
		Type      string   `json:"type"`
		Timestamp flexTime `json:"timestamp"`
	} `json:"context"`
	Subject struct {
		ID string `json:"id"`
	} `json:"subject"`
}

// parseCloudEvents reads a CDEvents artifact.published event in CloudEvents
// binary mode (ce-* headers, the CDEvent as body), structured mode (the
// CDEvent under "data"), or a bare CDEvent. Only OCI artifacts (subject.id
// "pkg:oci/...") are image pushes; the image is the purl's repository_url,
// its tag qualifier and its version (the digest).
func parseCloudEvents(in Input) ([]bus.PushEvent, error) {
	var ce struct {
		SpecVersion string          `json:"specversion"`
		ID          string          `json:"id"`
		Type        string          `json:"type"`
		Time        flexTime        `json:"time"`
		Data        json.RawMessage `json:"data"`
	}
	if err := decodeJSON(in.Body, &ce); err != nil {
		return nil, err
	}
	var ev cdEvent
	body := in.Body
	if ce.SpecVersion != "" && len(ce.Data) > 0 {
		body = ce.Data
	}
	if err := decodeJSON(body, &ev); err != nil {
		return nil, err
	}
	typ := firstNonEmpty(ev.Context.Type, ce.Type, in.Header.Get("Ce-Type"))
	if typ == "" {
		return nil, errors.New("not a CloudEvent: no type")
	}
	if !strings.HasPrefix(typ, cdeventsArtifactPublished) {
		return nil, nil
	}
	p, ok, err := parseOCIPurl(ev.Subject.ID)
	if err != nil || !ok {
		return nil, err
	}
	host, path := imageref.SplitHost(p.repository)
	if host == "" {
		host = in.Host
	}
	at := firstTime(ev.Context.Timestamp.Time, ce.Time.Time, parseTime(in.Header.Get("Ce-Time")))
	return []bus.PushEvent{{
		Registry:   host,
		Repository: path,
		Tag:        p.tag,
		Digest:     p.digest,
		PushedAt:   at,
		DeliveryID: firstNonEmpty(ev.Context.ID, ce.ID, in.Header.Get("Ce-Id")),
	}}, nil
}

// ociPurl is what a pkg:oci package URL says about an image.
type ociPurl struct {
	repository string // [host/]path
	tag        string
	digest     string
}

// parseOCIPurl reads "pkg:oci/<name>@<digest>?repository_url=<host/path>&tag=<tag>".
// ok is false for a package URL of another type.
func parseOCIPurl(s string) (ociPurl, bool, error) {
	rest, found := strings.CutPrefix(s, "pkg:")
	if !found {
		return ociPurl{}, false, nil
	}
	typ, rest, _ := strings.Cut(rest, "/")
	if !strings.EqualFold(typ, "oci") {
		return ociPurl{}, false, nil
	}
	rest, _, _ = strings.Cut(rest, "#")
	rest, rawQuery, _ := strings.Cut(rest, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return ociPurl{}, true, fmt.Errorf("purl %q: qualifiers: %w", s, err)
	}
	name, version := rest, ""
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		name, version = rest[:i], rest[i+1:]
	}
	if name, err = url.PathUnescape(name); err != nil {
		return ociPurl{}, true, fmt.Errorf("purl %q: name: %w", s, err)
	}
	if version, err = url.PathUnescape(version); err != nil {
		return ociPurl{}, true, fmt.Errorf("purl %q: version: %w", s, err)
	}
	repo := strings.TrimPrefix(strings.TrimPrefix(q.Get("repository_url"), "https://"), "http://")
	if repo == "" {
		repo = name
	}
	return ociPurl{repository: strings.TrimSuffix(repo, "/"), tag: q.Get("tag"), digest: version}, true, nil
}

// firstNonEmpty returns the first of ss that is not "".
func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
