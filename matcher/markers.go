package matcher

import (
	"maps"
	"reflect"
	"slices"

	"github.com/hoist-gitops/hoist/internal/manifest"
)

// parseFile reads a file's sites, problems and Flux v2 objects. Marker
// sites are kept as parsed (raw) too: they are resolved again whenever an
// ImagePolicy or ImageRepository of any file changes.
func parseFile(file string, data []byte) fileEntry {
	sites, problems := manifest.Parse(file, data)
	objs, more := manifest.ReadFluxObjects(file, data)
	e := fileEntry{sites: sites, problems: append(problems, more...), flux: objs}
	for _, s := range sites {
		if s.Flux != nil {
			s.Parts = nil
			e.raw = append(e.raw, s)
		}
	}
	return e
}

// resolveAfterLocked resolves marker sites after file changed: every
// marker file when the file's Flux objects changed, else only the file's
// own markers.
func (x *Index) resolveAfterLocked(file string, before, after manifest.FluxObjects) {
	if !reflect.DeepEqual(before, after) {
		x.resolveAllLocked()
		return
	}
	if x.markerFiles[file] {
		x.resolveFileLocked(file, x.fluxIndexLocked())
	}
}

// resolveAllLocked resolves the marker sites of every file.
func (x *Index) resolveAllLocked() {
	if len(x.markerFiles) == 0 {
		return
	}
	fi := x.fluxIndexLocked()
	// In file order, so Lookup's order does not depend on map iteration.
	for _, f := range slices.Sorted(maps.Keys(x.markerFiles)) {
		x.resolveFileLocked(f, fi)
	}
}

// fluxIndexLocked merges the Flux objects of every file.
func (x *Index) fluxIndexLocked() manifest.FluxIndex {
	var objs []manifest.FluxObjects
	for _, e := range x.files {
		if len(e.flux.Policies) > 0 || len(e.flux.Repositories) > 0 {
			objs = append(objs, e.flux)
		}
	}
	return manifest.NewFluxIndex(objs...)
}

// resolveFileLocked replaces file's marker sites with their raw copies
// resolved against fi. Sites are replaced, never modified: Lookup's
// callers may hold the old ones.
func (x *Index) resolveFileLocked(file string, fi manifest.FluxIndex) {
	e := x.files[file]
	sites := make([]manifest.Site, 0, len(e.sites))
	k := 0
	for _, s := range e.sites {
		if s.Flux != nil && k < len(e.raw) {
			s = manifest.ResolveMarker(e.raw[k], fi)
			k++
		}
		sites = append(sites, s)
	}
	e.sites = sites
	x.putLocked(file, e)
}
