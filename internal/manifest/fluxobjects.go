package manifest

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
	"go.yaml.in/yaml/v3"
)

// fluxImageGroup is the API group of Flux v2's image automation objects.
const fluxImageGroup = "image.toolkit.fluxcd.io/"

// fluxImageVersions are the versions of that group whose ImagePolicy and
// ImageRepository hoist reads.
var fluxImageVersions = map[string]bool{"v1beta2": true, "v1": true}

// Orders of an ImagePolicy, by the policy it holds.
const (
	OrderSemver       = "semver"
	OrderAlphabetical = "alphabetical"
	OrderNumerical    = "numerical"
)

// Digest reflection policies of an ImagePolicy.
const (
	DigestNever        = "Never"
	DigestAlways       = "Always"
	DigestIfNotPresent = "IfNotPresent"
)

// ImagePolicy is what hoist reads of a Flux v2 ImagePolicy: which
// ImageRepository it selects tags of, and the order that makes one tag
// later than another. It travels with a marker site's rewrites (JSON) so
// the committer re-checks a rewrite with the policy the matcher used.
type ImagePolicy struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// RepositoryNamespace and RepositoryName name the ImageRepository
	// (spec.imageRepositoryRef; the namespace defaults to the policy's).
	RepositoryNamespace string `json:"repositoryNamespace"`
	RepositoryName      string `json:"repositoryName"`
	// Order is OrderSemver, OrderAlphabetical or OrderNumerical.
	Order string `json:"order"`
	// Range is the semver range (spec.policy.semver.range).
	Range string `json:"range,omitempty"`
	// Descending is true for order: desc (alphabetical and numerical).
	Descending bool `json:"descending,omitempty"`
	// Pattern and Extract are spec.filterTags: a Go regexp a tag must
	// match, and the template ($name, ${1}) whose expansion is ordered.
	Pattern string `json:"pattern,omitempty"`
	Extract string `json:"extract,omitempty"`
	// DigestReflection is spec.digestReflectionPolicy; empty means Never.
	DigestReflection string `json:"digestReflection,omitempty"`
	// Image is the selected ImageRepository's spec.image, filled when a
	// marker is resolved.
	Image string `json:"image,omitempty"`
	// File and Line are where the policy is defined.
	File string `json:"-"`
	Line int    `json:"-"`
	// Invalid, when not empty, says why the policy cannot be applied.
	Invalid string `json:"-"`
}

// Key is "<namespace>/<name>".
func (p ImagePolicy) Key() string { return p.Namespace + "/" + p.Name }

// ReflectsDigest reports whether a :digest marker of this policy takes
// the pushed digest (digestReflectionPolicy Always or IfNotPresent).
func (p ImagePolicy) ReflectsDigest() bool {
	return p.DigestReflection == DigestAlways || p.DigestReflection == DigestIfNotPresent
}

// Describe renders the policy for people, as `hoist images` shows it:
// "imagepolicy:<ns>/<name> semver:>=1.0" (plus the tag filter, if any).
func (p ImagePolicy) Describe() string {
	var b strings.Builder
	b.WriteString("imagepolicy:" + p.Key() + " ")
	switch p.Order {
	case OrderSemver:
		b.WriteString("semver:" + p.Range)
	case OrderAlphabetical, OrderNumerical:
		dir := "asc"
		if p.Descending {
			dir = "desc"
		}
		b.WriteString(p.Order + ":" + dir)
	default:
		b.WriteString("invalid")
	}
	if p.Pattern != "" {
		b.WriteString(" filter:" + p.Pattern)
		if p.Extract != "" {
			b.WriteString(" extract:" + p.Extract)
		}
	}
	if p.ReflectsDigest() {
		b.WriteString(" digest:" + p.DigestReflection)
	}
	return b.String()
}

// Validate checks what Flux checks of a policy: exactly one of semver,
// alphabetical and numerical, a range that parses, an order of asc or
// desc, a filter pattern that compiles, a known digest reflection policy.
func (p ImagePolicy) Validate() error {
	switch p.Order {
	case OrderSemver:
		if strings.TrimSpace(p.Range) == "" {
			return fmt.Errorf("spec.policy.semver.range is empty")
		}
		if _, err := semver.NewConstraint(p.Range); err != nil {
			return fmt.Errorf("spec.policy.semver.range %q: %w", p.Range, err)
		}
	case OrderAlphabetical, OrderNumerical:
	default:
		return fmt.Errorf("spec.policy must hold exactly one of semver, alphabetical and numerical")
	}
	if _, err := regexp.Compile(p.Pattern); err != nil {
		return fmt.Errorf("spec.filterTags.pattern %q: %w", p.Pattern, err)
	}
	switch p.DigestReflection {
	case "", DigestNever, DigestAlways, DigestIfNotPresent:
	default:
		return fmt.Errorf("spec.digestReflectionPolicy %q: must be Always, IfNotPresent or Never", p.DigestReflection)
	}
	if p.RepositoryName == "" {
		return fmt.Errorf("spec.imageRepositoryRef.name is empty")
	}
	return nil
}

// ImageRepository is what hoist reads of a Flux v2 ImageRepository.
type ImageRepository struct {
	Namespace, Name string
	// Image is spec.image, the repository name as written (no tag).
	Image string
	File  string
	Line  int
}

// Key is "<namespace>/<name>".
func (r ImageRepository) Key() string { return r.Namespace + "/" + r.Name }

// FluxObjects are the ImagePolicy and ImageRepository objects of a file.
type FluxObjects struct {
	Policies     []ImagePolicy
	Repositories []ImageRepository
}

// ReadFluxObjects reads the ImagePolicy and ImageRepository objects
// (image.toolkit.fluxcd.io v1beta2 and v1) of a YAML file, every document.
// An object of another version of that group, or one whose fields have the
// wrong type, is a problem; an ImagePolicy that fails Validate is returned
// with Invalid set (a marker naming it is then reported). file is only
// recorded.
func ReadFluxObjects(file string, data []byte) (FluxObjects, []Problem) {
	var out FluxObjects
	var problems []Problem
	if !bytes.Contains(data, []byte(fluxImageGroup)) {
		return out, nil
	}
	for _, c := range splitDocuments(data) {
		if !c.doc || !bytes.Contains(data[c.start:c.end], []byte(fluxImageGroup)) {
			continue
		}
		d := &doc{file: file, data: data, c: c, lf: onlyLF(data)}
		d.fluxObject(&out)
		problems = append(problems, d.problems...)
	}
	return out, problems
}

// fluxObjectDoc is the part of an ImagePolicy or ImageRepository hoist reads.
type fluxObjectDoc struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Spec struct {
		Image              string `yaml:"image"`
		ImageRepositoryRef struct {
			Name      string `yaml:"name"`
			Namespace string `yaml:"namespace"`
		} `yaml:"imageRepositoryRef"`
		Policy struct {
			Semver *struct {
				Range string `yaml:"range"`
			} `yaml:"semver"`
			Alphabetical *orderSpec `yaml:"alphabetical"`
			Numerical    *orderSpec `yaml:"numerical"`
		} `yaml:"policy"`
		FilterTags *struct {
			Pattern string `yaml:"pattern"`
			Extract string `yaml:"extract"`
		} `yaml:"filterTags"`
		DigestReflectionPolicy string `yaml:"digestReflectionPolicy"`
	} `yaml:"spec"`
}

// orderSpec is an alphabetical or numerical policy.
type orderSpec struct {
	Order string `yaml:"order"`
}

// fluxObject reads one document that may be an ImagePolicy or ImageRepository.
func (d *doc) fluxObject(out *FluxObjects) {
	var head struct {
		APIVersion any `yaml:"apiVersion"`
		Kind       any `yaml:"kind"`
	}
	src := d.data[d.c.start:d.c.end]
	if yaml.Unmarshal(src, &head) != nil {
		return // not a mapping or not YAML: Parse reports it
	}
	api, _ := head.APIVersion.(string)
	kind, _ := head.Kind.(string)
	if !strings.HasPrefix(api, fluxImageGroup) || kind != "ImagePolicy" && kind != "ImageRepository" {
		return
	}
	line := d.absLine(firstContentLine(src))
	if v := strings.TrimPrefix(api, fluxImageGroup); !fluxImageVersions[v] {
		d.problems = append(d.problems, Problem{File: d.file, Line: line, Message: fmt.Sprintf(
			"%s is %s; hoist reads %sv1beta2 and v1 only", kind, api, fluxImageGroup)})
		return
	}
	var o fluxObjectDoc
	if err := yaml.Unmarshal(src, &o); err != nil {
		d.problems = append(d.problems, Problem{File: d.file, Line: line, Message: fmt.Sprintf(
			"%s does not read as a Flux %s: %v", kind, kind, strings.TrimPrefix(err.Error(), "yaml: "))})
		return
	}
	ns := o.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	res := Resource{Namespace: ns, Kind: kind, Name: o.Metadata.Name}.String()
	if o.Metadata.Name == "" {
		d.problems = append(d.problems, Problem{File: d.file, Line: line, Resource: res, Message: kind + " has no metadata.name"})
		return
	}
	if kind == "ImageRepository" {
		r := ImageRepository{Namespace: ns, Name: o.Metadata.Name, Image: o.Spec.Image, File: d.file, Line: line}
		if r.Image == "" {
			d.problems = append(d.problems, Problem{File: d.file, Line: line, Resource: res, Message: "ImageRepository has no spec.image"})
		}
		out.Repositories = append(out.Repositories, r)
		return
	}
	p := ImagePolicy{Namespace: ns, Name: o.Metadata.Name, File: d.file, Line: line,
		RepositoryName: o.Spec.ImageRepositoryRef.Name, RepositoryNamespace: o.Spec.ImageRepositoryRef.Namespace,
		DigestReflection: o.Spec.DigestReflectionPolicy}
	if p.RepositoryNamespace == "" {
		p.RepositoryNamespace = ns
	}
	if f := o.Spec.FilterTags; f != nil {
		p.Pattern, p.Extract = f.Pattern, f.Extract
	}
	n := 0
	pol := o.Spec.Policy
	if pol.Semver != nil {
		n++
		p.Order, p.Range = OrderSemver, pol.Semver.Range
	}
	for _, o := range []struct {
		name string
		set  bool
		dir  string
	}{
		{OrderAlphabetical, pol.Alphabetical != nil, orderOf(pol.Alphabetical)},
		{OrderNumerical, pol.Numerical != nil, orderOf(pol.Numerical)},
	} {
		if !o.set {
			continue
		}
		n++
		p.Order = o.name
		switch o.dir {
		case "", "asc":
		case "desc":
			p.Descending = true
		default:
			p.Invalid = fmt.Sprintf("spec.policy.%s.order %q: must be asc or desc", o.name, o.dir)
		}
	}
	if n != 1 {
		p.Order = ""
	}
	if p.Invalid == "" {
		if err := p.Validate(); err != nil {
			p.Invalid = err.Error()
		}
	}
	if p.Invalid != "" {
		d.problems = append(d.problems, Problem{File: d.file, Line: line, Resource: res, Message: "invalid ImagePolicy: " + p.Invalid})
	}
	out.Policies = append(out.Policies, p)
}

// orderOf reads the order of an alphabetical or numerical policy.
func orderOf(p *orderSpec) string {
	if p == nil {
		return ""
	}
	return p.Order
}

// firstContentLine is the 1-based line of the first line of src that is
// neither blank, a comment nor a document marker.
func firstContentLine(src []byte) int {
	line := 1
	for len(src) > 0 {
		i := bytes.IndexByte(src, '\n')
		l := src
		if i >= 0 {
			l = src[:i]
		}
		t := bytes.TrimSpace(l)
		if len(t) > 0 && t[0] != '#' && !bytes.HasPrefix(t, []byte("---")) && t[0] != '%' {
			return line
		}
		if i < 0 {
			break
		}
		src = src[i+1:]
		line++
	}
	return 1
}
