package manifest

import (
	"fmt"
	"sort"

	"github.com/hoist-gitops/hoist/internal/imageref"
)

// FluxIndex is the ImagePolicy and ImageRepository objects of a whole
// repository, by "<namespace>/<name>".
type FluxIndex struct {
	Policies     map[string]ImagePolicy
	Repositories map[string]ImageRepository
}

// NewFluxIndex merges the objects of several files. When two files define
// the same object (kustomize overlays may), the one in the file sorted
// first is used.
func NewFluxIndex(objs ...FluxObjects) FluxIndex {
	x := FluxIndex{Policies: map[string]ImagePolicy{}, Repositories: map[string]ImageRepository{}}
	var ps []ImagePolicy
	var rs []ImageRepository
	for _, o := range objs {
		ps = append(ps, o.Policies...)
		rs = append(rs, o.Repositories...)
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].File < ps[j].File })
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].File < rs[j].File })
	for _, p := range ps {
		if _, ok := x.Policies[p.Key()]; !ok {
			x.Policies[p.Key()] = p
		}
	}
	for _, r := range rs {
		if _, ok := x.Repositories[r.Key()]; !ok {
			x.Repositories[r.Key()] = r
		}
	}
	return x
}

// resolveMarkers returns sites with every marker site resolved against the
// repository's ImagePolicy and ImageRepository objects: its Flux.Policy
// set, its Ref naming the ImageRepository's image, and Policy.Automated
// true. A marker site that cannot be resolved — its policy is missing or
// invalid, the policy's ImageRepository is missing or its image does not
// parse, or the image or name marked in the file is not the
// ImageRepository's image — is returned with the reason among its
// Problems and as its ReadOnly, and is not automated. Sites are copied,
// never modified in place; Flux v1 sites are returned as they are.
func resolveMarkers(sites []Site, x FluxIndex) []Site {
	out := make([]Site, len(sites))
	for i, s := range sites {
		if s.Flux == nil {
			out[i] = s
			continue
		}
		out[i] = ResolveMarker(s, x)
	}
	return out
}

// ResolveMarker resolves one marker site (see resolveMarkers).
func ResolveMarker(s Site, x FluxIndex) Site {
	f := *s.Flux
	s.Flux = &f
	s.Problems = append([]string(nil), s.Problems...)
	fail := func(why string) Site {
		s.Problems = append(s.Problems, why)
		if s.ReadOnly == "" {
			s.ReadOnly = why
		}
		s.Policy = Policy{}
		return s
	}
	key := f.Namespace + "/" + f.Name
	p, ok := x.Policies[key]
	if !ok {
		return fail(fmt.Sprintf("setter comment names ImagePolicy %s, which is not in the repository's manifests", key))
	}
	if p.Invalid != "" {
		return fail(fmt.Sprintf("ImagePolicy %s (%s:%d) is invalid: %s", key, p.File, p.Line, p.Invalid))
	}
	rkey := p.RepositoryNamespace + "/" + p.RepositoryName
	r, ok := x.Repositories[rkey]
	if !ok {
		return fail(fmt.Sprintf("ImagePolicy %s selects ImageRepository %s, which is not in the repository's manifests", key, rkey))
	}
	return Bind(s, p, r.Image)
}

// Bind resolves marker site s with policy p, whose ImageRepository's image
// is image: the committer binds a re-read site with the policy its rewrite
// carries. The image or name marked in the file must be that image.
func Bind(s Site, p ImagePolicy, image string) Site {
	if s.Flux == nil {
		return s
	}
	f := *s.Flux
	s.Flux = &f
	fail := func(why string) Site {
		s.Problems = append(append([]string(nil), s.Problems...), why)
		if s.ReadOnly == "" {
			s.ReadOnly = why
		}
		s.Policy = Policy{}
		return s
	}
	repo, err := imageref.Parse(image)
	if err != nil || repo.Tag != "" || repo.Digest != "" {
		return fail(fmt.Sprintf("ImageRepository %s/%s has spec.image %q, which is not a repository name", p.RepositoryNamespace, p.RepositoryName, image))
	}
	_, whole := f.Parts[RoleImage]
	_, name := f.Parts[RoleRepository]
	if whole || name {
		if s.Ref.Canonical() != repo.Canonical() {
			return fail(fmt.Sprintf("the image marked for ImagePolicy %s/%s reads %s, but its ImageRepository %s/%s is %s",
				p.Namespace, p.Name, s.Ref.Name(), p.RepositoryNamespace, p.RepositoryName, image))
		}
	} else {
		s.Ref.Host, s.Ref.Path = repo.Host, repo.Path
	}
	p.Image = image
	f.Policy = p
	f.Resolved = true
	s.Policy = Policy{Automated: s.ReadOnly == ""}
	if _, digest := f.Parts[RoleDigest]; digest && !p.ReflectsDigest() {
		return fail(fmt.Sprintf("a :digest marker needs ImagePolicy %s/%s to reflect digests (spec.digestReflectionPolicy Always or IfNotPresent)", p.Namespace, p.Name))
	}
	return s
}
