// Package matcher keeps the index of image sites of a GitOps repository and
// decides, for each push event, what each site of the pushed repository
// should do. index.go and match.go are pure (no NATS, no git) and shared by
// the matcher service and `hoist explain`.
package matcher

import (
	"cmp"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/hoist-gitops/hoist/internal/manifest"
)

// Index holds every image site of a set of files, keyed by canonical
// repository name so a push is matched with one map lookup. It is safe for
// concurrent use: readers may Lookup while a writer calls SetFile.
//
// Sites in the index carry no Parts: byte spans are only valid for the
// bytes they were parsed from, and every edit re-parses the file as it is
// then (policy.ApplyRewrites), so keeping them would only cost memory
// (about half of the index).
type Index struct {
	mu    sync.RWMutex
	files map[string]fileEntry
	// byRepo maps imageref.Canonical of a site's reference to its sites,
	// which live in files (each site is stored once). Slices handed out by
	// Lookup are never modified in place: removal builds a new slice, and
	// appends only write beyond every reader's length.
	byRepo map[string][]*manifest.Site
	sites  int
	// markerFiles are the files holding Flux v2 marker sites, which are
	// resolved against the ImagePolicy objects of every file (markers.go).
	markerFiles map[string]bool
}

type fileEntry struct {
	sites    []manifest.Site
	problems []manifest.Problem
	// flux are the file's ImagePolicy and ImageRepository objects; raw its
	// marker sites as parsed, before resolution.
	flux manifest.FluxObjects
	raw  []manifest.Site
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{files: map[string]fileEntry{}, byRepo: map[string][]*manifest.Site{}, markerFiles: map[string]bool{}}
}

// SetFile parses data as the manifest file named file (slash-separated,
// relative to the repository) and replaces whatever the index held for it.
func (x *Index) SetFile(file string, data []byte) {
	x.setParsed(file, parseFile(file, data))
}

// setFileCount is SetFile returning how many sites the file holds.
func (x *Index) setFileCount(file string, data []byte) int {
	e := parseFile(file, data)
	x.setParsed(file, e)
	return len(e.sites)
}

// AddProblem records a problem that concerns no parsed file (a symbolic
// link that was not followed, say); it is kept until RemoveFile(p.File).
func (x *Index) AddProblem(p manifest.Problem) {
	x.mu.Lock()
	defer x.mu.Unlock()
	e := x.files[p.File]
	e.problems = append(e.problems, p)
	x.files[p.File] = e
}

func (x *Index) setParsed(file string, e fileEntry) {
	x.mu.Lock()
	defer x.mu.Unlock()
	old := x.files[file].flux
	x.putLocked(file, e)
	x.resolveAfterLocked(file, old, e.flux)
}

// putLocked replaces what the index holds for file. Marker sites not
// (yet) resolved are listed but not looked up.
func (x *Index) putLocked(file string, e fileEntry) {
	x.removeLocked(file)
	for i := range e.sites {
		e.sites[i].Parts = nil
	}
	x.files[file] = e
	for i := range e.sites {
		if f := e.sites[i].Flux; f != nil && !f.Resolved {
			continue
		}
		key := e.sites[i].Ref.Canonical()
		x.byRepo[key] = append(x.byRepo[key], &e.sites[i])
	}
	x.sites += len(e.sites)
	if len(e.raw) > 0 {
		x.markerFiles[file] = true
	}
}

// RemoveFile drops a file's sites and problems (the file was deleted).
func (x *Index) RemoveFile(file string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	old := x.files[file].flux
	x.removeLocked(file)
	x.resolveAfterLocked(file, old, manifest.FluxObjects{})
}

func (x *Index) removeLocked(file string) {
	old, ok := x.files[file]
	if !ok {
		return
	}
	delete(x.files, file)
	delete(x.markerFiles, file)
	x.sites -= len(old.sites)
	done := map[string]bool{}
	for _, s := range old.sites {
		key := s.Ref.Canonical()
		if done[key] {
			continue
		}
		done[key] = true
		kept := make([]*manifest.Site, 0, len(x.byRepo[key]))
		for _, t := range x.byRepo[key] {
			if t.File != file {
				kept = append(kept, t)
			}
		}
		if len(kept) == 0 {
			delete(x.byRepo, key)
		} else {
			x.byRepo[key] = kept
		}
	}
}

// Lookup returns the sites whose reference has the canonical repository
// name canonical (imageref.Canonical), in index order. The slice and the
// sites are shared and never modified by the index (SetFile replaces them):
// callers must not modify them either.
func (x *Index) Lookup(canonical string) []*manifest.Site {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.byRepo[canonical]
}

// Len is the number of sites in the index.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.sites
}

// Files returns the names of the indexed files, sorted.
func (x *Index) Files() []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	names := make([]string, 0, len(x.files))
	for f := range x.files {
		names = append(names, f)
	}
	slices.Sort(names)
	return names
}

// Sites returns every site, ordered by file name and, within a file, in the
// order the parser reported them.
func (x *Index) Sites() []manifest.Site {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]manifest.Site, 0, x.sites)
	for _, f := range x.sortedFilesLocked() {
		out = append(out, x.files[f].sites...)
	}
	return out
}

// Problems returns the file-level problems (YAML that does not parse,
// misspelt annotations, aliases that do not resolve, ...), ordered by file
// and line. Problems of single sites are in each Site's Problems.
func (x *Index) Problems() []manifest.Problem {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []manifest.Problem
	var all []manifest.Site
	for _, f := range x.sortedFilesLocked() {
		out = append(out, x.files[f].problems...)
		all = append(all, x.files[f].sites...)
	}
	// A resource defined in two files is a mistake Flux refuses; only the
	// whole index can see it.
	out = append(out, manifest.DuplicateResources(all)...)
	slices.SortStableFunc(out, func(a, b manifest.Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
	return out
}

func (x *Index) sortedFilesLocked() []string {
	names := make([]string, 0, len(x.files))
	for f := range x.files {
		names = append(names, f)
	}
	slices.Sort(names)
	return names
}

// BuildIndex reads every manifest under paths of fsys (see ManifestFiles)
// and indexes it, parsing files on all available cores. Symbolic links are
// not followed; each is recorded as a problem. A file that cannot be read
// is an error; a file that does not parse is a problem of the index.
func BuildIndex(fsys fs.FS, paths []string) (*Index, error) {
	files, links, err := ManifestFiles(fsys, paths)
	if err != nil {
		return nil, err
	}
	x := NewIndex()
	if err := x.AddFiles(fsys, files); err != nil {
		return nil, err
	}
	for _, l := range links {
		x.AddProblem(manifest.Problem{File: l, Message: "symbolic link not followed"})
	}
	return x, nil
}

// AddFiles reads and indexes the named files of fsys (replacing what the
// index held for them), parsing on all available cores.
func (x *Index) AddFiles(fsys fs.FS, files []string) error {
	type parsed struct {
		e   fileEntry
		err error
	}
	results := make([]parsed, len(files))
	add, wait := onCores(len(files), func(k int) {
		data, err := fs.ReadFile(fsys, files[k])
		if err != nil {
			results[k].err = fmt.Errorf("read manifest %s: %w", files[k], err)
			return
		}
		results[k].e = parseFile(files[k], data)
	})
	for k := range files {
		add(k)
	}
	wait()
	for _, r := range results {
		if r.err != nil {
			return r.err
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for k, r := range results {
		x.putLocked(files[k], r.e)
	}
	x.resolveAllLocked()
	return nil
}

// ManifestFiles lists the .yaml and .yml files under paths of fsys,
// slash-separated, sorted and without duplicates. A path may name a folder
// (searched recursively) or a file (listed whatever its extension). Folders
// named .git are skipped. Symbolic links are never followed: those with a
// manifest name or not leading to a regular file are returned in links. A path that does not exist is an error.
func ManifestFiles(fsys fs.FS, paths []string) (files, links []string, err error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	seen := map[string]bool{}
	add := func(list *[]string, p string) {
		if !seen[p] {
			seen[p] = true
			*list = append(*list, p)
		}
	}
	for _, root := range paths {
		root = path.Clean(root)
		if !fs.ValidPath(root) {
			return nil, nil, fmt.Errorf("manifest path %q: not a path inside the repository", root)
		}
		info, err := lstat(fsys, root)
		if err != nil {
			return nil, nil, fmt.Errorf("manifest path %q: %w", root, err)
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			add(&links, root)
			continue
		}
		if !info.IsDir() {
			add(&files, root)
			continue
		}
		err = fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("walk %s: %w", p, err)
			}
			switch {
			case d.Type()&fs.ModeSymlink != 0:
				if isManifestName(p) || !isFile(fsys, p) {
					add(&links, p)
				}
			case d.IsDir():
				if d.Name() == ".git" {
					return fs.SkipDir
				}
			case d.Type().IsRegular() && isManifestName(p):
				add(&files, p)
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	slices.Sort(files)
	slices.Sort(links)
	return files, links, nil
}

func isManifestName(p string) bool {
	return strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")
}

// isFile reports whether name (a symbolic link) is known to lead to a
// regular file; links to folders, and links fsys refuses to follow (out of
// an os.Root), are not.
func isFile(fsys fs.FS, name string) bool {
	info, err := fs.Stat(fsys, name)
	return err == nil && info.Mode().IsRegular()
}

// lstat describes name without following a final symbolic link when fsys
// can tell links apart (os.DirFS and os.Root do).
func lstat(fsys fs.FS, name string) (fs.FileInfo, error) {
	if l, ok := fsys.(fs.ReadLinkFS); ok {
		return l.Lstat(name)
	}
	return fs.Stat(fsys, name)
}
