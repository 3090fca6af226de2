package manifest

import (
	"encoding/json"
	"fmt"
	"strings"
)

// markerKey is the key of a Flux v2 setter comment: a field whose comment
// reads {"$imagepolicy": "<namespace>:<policy>[:tag|:name|:digest]"} is set
// from that ImagePolicy's latest image.
const markerKey = "$imagepolicy"

// MarkerPart says which part of an image reference a marked field holds.
type MarkerPart string

// Marker parts, by the suffix of the marker's value.
const (
	PartImage  MarkerPart = ""       // no suffix: the whole reference, name:tag
	PartTag    MarkerPart = "tag"    // ":tag": the tag alone
	PartName   MarkerPart = "name"   // ":name": the repository name alone
	PartDigest MarkerPart = "digest" // ":digest": the digest alone
)

// Marker is a parsed setter comment.
type Marker struct {
	// Namespace and Name name the ImagePolicy.
	Namespace, Name string
	// Part is what the marked field holds.
	Part MarkerPart
}

// Policy renders the policy the marker names as "<namespace>/<name>".
func (m Marker) Policy() string { return m.Namespace + "/" + m.Name }

// String renders the marker's value as written: "<ns>:<name>[:<part>]".
func (m Marker) String() string {
	s := m.Namespace + ":" + m.Name
	if m.Part != PartImage {
		s += ":" + string(m.Part)
	}
	return s
}

// parseMarker reads a YAML comment the way Flux v2 does: the comment, with
// its leading '#' characters removed, must be exactly a JSON object of
// string values (blanks around it allowed) holding the key "$imagepolicy".
// ok is false when the comment is no marker at all (any other comment);
// err is set when it is a marker whose value Flux would never match (no
// namespace, an unknown suffix, an empty name): the field is then not
// updated, which its author should hear about.
func parseMarker(comment string) (m Marker, ok bool, err error) {
	c := strings.TrimLeft(comment, "#")
	if !strings.Contains(c, markerKey) {
		return Marker{}, false, nil
	}
	var obj map[string]string
	if json.Unmarshal([]byte(c), &obj) != nil {
		return Marker{}, false, nil
	}
	v, found := obj[markerKey]
	if !found {
		return Marker{}, false, nil
	}
	fields := strings.Split(v, ":")
	switch {
	case v == "":
		return Marker{}, true, fmt.Errorf("setter comment %s is empty: it must name <namespace>:<policy>", markerKey)
	case len(fields) == 1:
		return Marker{}, true, fmt.Errorf("setter comment %q names no namespace: it must read <namespace>:<policy>", v)
	case len(fields) > 3:
		return Marker{}, true, fmt.Errorf("setter comment %q has too many parts: it must read <namespace>:<policy>[:tag|:name|:digest]", v)
	}
	m = Marker{Namespace: fields[0], Name: fields[1]}
	if m.Namespace == "" || m.Name == "" {
		return Marker{}, true, fmt.Errorf("setter comment %q has an empty namespace or policy name", v)
	}
	if len(fields) == 3 {
		switch p := MarkerPart(fields[2]); p {
		case PartTag, PartName, PartDigest:
			m.Part = p
		default:
			return Marker{}, true, fmt.Errorf("setter comment %q ends in %q: the suffix must be :tag, :name or :digest", v, fields[2])
		}
	}
	return m, true, nil
}
