package manifest

import (
	"sort"
	"strings"
)

// DuplicateResources reports the resources whose image sites are in more
// than one file: Flux v1 refuses a repository that defines a resource twice,
// and an edit of one copy would not be the resource the cluster runs. sites
// are those of several files (an index's, in any order); each file holding
// a copy gets one problem, at the line of the copy's first site, naming the
// other files. Copies within one file are Parse's to report, not this
// function's. Marker sites (Flux v2) are not counted: kustomize overlays
// legitimately hold a resource in several files. The problems are ordered
// by file and line.
func DuplicateResources(sites []Site) []Problem {
	type copyAt struct {
		file string
		line int
	}
	copies := map[Resource][]copyAt{}
	for _, s := range sites {
		if s.Flux != nil {
			continue // Flux v2 repositories patch one resource in many overlays
		}
		cs := copies[s.Resource]
		found := false
		for i := range cs {
			if cs[i].file == s.File {
				found = true
				cs[i].line = min(cs[i].line, s.Line)
			}
		}
		if !found {
			cs = append(cs, copyAt{s.File, s.Line})
		}
		copies[s.Resource] = cs
	}
	var out []Problem
	for res, cs := range copies {
		if len(cs) < 2 {
			continue
		}
		sort.Slice(cs, func(i, j int) bool { return cs[i].file < cs[j].file })
		for _, c := range cs {
			var others []string
			for _, o := range cs {
				if o.file != c.file {
					others = append(others, o.file+":"+itoa(o.line))
				}
			}
			out = append(out, Problem{File: c.file, Line: c.line, Resource: res.String(),
				Message: "resource is also defined in " + strings.Join(others, ", ") +
					"; Flux v1 refuses a repository that defines a resource twice"})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Resource < out[j].Resource
	})
	return out
}
