package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/hoist-gitops/hoist/internal/manifest"
	"github.com/hoist-gitops/hoist/internal/policy"
	"github.com/hoist-gitops/hoist/matcher"
)

func init() {
	register("images", "list the image sites hoist finds, with filters, automation and problems", runImages)
}

// imageRow is one container in `hoist images --output json`: the fields docs/cli.md documents.
type imageRow struct {
	File      string `json:"file"`
	Line      int    `json:"line"`
	Resource  string `json:"resource"`
	Container string `json:"container"`
	Image     string `json:"image"`
	Filter    string `json:"filter"`
	Automated bool   `json:"automated"`
	Locked    bool   `json:"locked"`
	Ignored   bool   `json:"ignored"`
	// Coverage is how hoist hears of new tags: webhook, webhook+scan, or
	// "" for a site it never updates (images_scan.go).
	Coverage string   `json:"coverage"`
	Problems []string `json:"problems"`
	// Warnings are not mistakes but probably not what was meant (an automated
	// container without a filter takes any tag, debug and branch builds too).
	Warnings []string `json:"warnings,omitempty"`
	// MinAge is the container's hoist.dev/min-age annotation as written.
	MinAge string `json:"minAge,omitempty"`
	// Hold says why a person's rollback holds the site (with --config).
	Hold string `json:"hold,omitempty"`
	// Waiting names a tag held for its minimum age, and until when (with --config).
	Waiting string `json:"waiting,omitempty"`
}

// noFilterWarning is the warning of an automated container without a filter.
const noFilterWarning = "automated without a filter: any tag pushed (debug, branch and test builds too) is used; add filter.fluxcd.io/<container>: semver:... or glob:..."

func runImages(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("hoist images", flag.ContinueOnError)
	fl.SetOutput(stderr)
	output := fl.String("output", "table", "output format: table or json")
	failOnProblems := fl.Bool("fail-on-problems", false, "exit 1 when any problem is found (for CI); warnings do not fail")
	cfgPath := fl.String("config", "", "a deployment's hoist.yaml: its scan: and images: say which images are scanned (default: every image, hourly), and when it names a reachable NATS (nats.url, or nats.listen of hoist serve) the holds kept there are shown")
	repoName := fl.String("repo", "", "with --config, the configured repository PATH belongs to (needed when it configures several)")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: hoist images [--output table|json] [--fail-on-problems] [--config hoist.yaml] [PATH...]")
		fmt.Fprintln(stderr, "\nLists every image site under PATH (files or folders, default .): resource,")
		fmt.Fprintln(stderr, "container, image as written, filter, automation, and the problems found.")
		fl.PrintDefaults()
	}
	paths, err := parseArgs(fl, args)
	if err != nil {
		return parseFailed(err)
	}
	if *output != "table" && *output != "json" {
		fmt.Fprintf(stderr, "hoist images: --output must be table or json, not %q\n", *output)
		return 2
	}
	view, err := loadScanView(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "hoist images: %v\n", err)
		return 1
	}
	tree, err := loadManifests(paths)
	if err != nil {
		fmt.Fprintf(stderr, "hoist images: %v\n", err)
		return 1
	}
	defer tree.close()
	sites := tree.idx.Sites()
	rows := imageRows(sites)
	setCoverage(rows, sites, view)
	if view.holds {
		if err := addHolds(*cfgPath, *repoName, rows); err != nil {
			fmt.Fprintf(stderr, "hoist images: %v\n", err)
			return 1
		}
	}
	problems := tree.idx.Problems()
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // messages name <container>; this is not HTML
		if err := enc.Encode(rows); err != nil {
			fmt.Fprintf(stderr, "hoist images: %v\n", err)
			return 1
		}
		// File-level problems belong to no container: they go to stderr so
		// stdout stays the array of rows docs/cli.md describes.
		for _, p := range problems {
			fmt.Fprintf(stderr, "warning: %s\n", p)
		}
	} else {
		writeImagesTable(stdout, rows, problems)
	}
	if *failOnProblems {
		if n := countProblems(rows, problems); n > 0 {
			fmt.Fprintf(stderr, "hoist images: %s\n", plural(n, "problem"))
			return 1
		}
	}
	return 0
}

// countProblems is how many problems rows and file-level problems hold together.
func countProblems(rows []imageRow, problems []manifest.Problem) int {
	n := len(problems)
	for _, r := range rows {
		n += len(r.Problems)
	}
	return n
}

// imageRows turns sites into rows, adding each filter's own problem: a
// container with an invalid filter is reported and not automated (Flux v1 would
// have matched every tag, silently).
func imageRows(sites []manifest.Site) []imageRow {
	rows := make([]imageRow, 0, len(sites))
	for _, s := range sites {
		r := imageRow{
			File: s.File, Line: s.Line, Resource: s.Resource.String(), Container: s.Container,
			Image: s.Ref.String(), Filter: s.Policy.Filter,
			Automated: s.Policy.Automated, Locked: s.Policy.Locked, Ignored: s.Policy.Ignored,
			Problems: append([]string{}, s.Problems...), MinAge: s.Policy.MinAge,
		}
		if s.Flux != nil {
			// A Flux v2 marker site: its ImagePolicy is its filter.
			r.Filter = markerFilter(s)
			if s.Ref.Path == "" { // only a tag is marked and no ImageRepository names the image
				r.Image = "(unknown)" + r.Image
			}
			rows = append(rows, r)
			continue
		}
		if _, err := policy.ParseFilter(s.Policy.Filter); err != nil {
			r.Problems = append(r.Problems, err.Error()+"; not automated")
			r.Automated = false
		}
		if r.Automated && !r.Locked && !r.Ignored && s.Policy.Filter == "" {
			r.Warnings = append(r.Warnings, noFilterWarning)
		}
		rows = append(rows, r)
	}
	return rows
}

// markerFilter is the FILTER column of a Flux v2 marker site: its
// ImagePolicy and order ("imagepolicy:flux-system/app semver:>=1.0"), or
// only the policy's name when it could not be resolved.
func markerFilter(s manifest.Site) string {
	if s.Flux.Resolved {
		return s.Flux.Policy.Describe()
	}
	return "imagepolicy:" + s.Flux.Namespace + "/" + s.Flux.Name + " (unresolved)"
}

func writeImagesTable(w io.Writer, rows []imageRow, problems []manifest.Problem) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESOURCE\tCONTAINER\tIMAGE\tFILTER\tPOLICY\tCOVERAGE\tLOCATION")
	for _, r := range rows {
		filter := r.Filter
		if filter == "" {
			filter = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s:%d\n", r.Resource, r.Container, shortDigest(r.Image), filter, policyWord(r), coverageWord(r), r.File, r.Line)
	}
	tw.Flush()
	var lines []string
	for _, r := range rows {
		for _, p := range r.Problems {
			lines = append(lines, fmt.Sprintf("%s:%d: %s %s: %s", r.File, r.Line, r.Resource, r.Container, p))
		}
	}
	for _, p := range problems {
		lines = append(lines, p.String())
	}
	var warnings []string
	for _, r := range rows {
		for _, h := range []string{r.Hold, r.Waiting} {
			if h != "" {
				warnings = append(warnings, fmt.Sprintf("%s:%d: %s %s: %s", r.File, r.Line, r.Resource, r.Container, h))
			}
		}
		for _, wn := range r.Warnings {
			warnings = append(warnings, fmt.Sprintf("%s:%d: %s %s: %s", r.File, r.Line, r.Resource, r.Container, wn))
		}
	}
	summary := fmt.Sprintf("\n%s, %s", plural(len(rows), "image"), plural(len(lines), "problem"))
	if len(warnings) > 0 {
		summary += ", " + plural(len(warnings), "warning")
	}
	fmt.Fprintln(w, summary)
	for _, l := range lines {
		fmt.Fprintln(w, "  "+l)
	}
	for _, l := range warnings {
		fmt.Fprintln(w, "  warning: "+l)
	}
}

// shortDigest abbreviates a sha256 digest in a reference to 12 hex digits
// for tables; JSON output always carries the whole reference.
func shortDigest(ref string) string {
	i := strings.Index(ref, "@sha256:")
	if i < 0 || len(ref) < i+8+64 {
		return ref
	}
	return ref[:i+8+12] + "…"
}

// plural renders "1 image", "2 images".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// policyWord summarises a row's automation for the table.
func policyWord(r imageRow) string {
	var words []string
	if r.Automated {
		words = append(words, "automated")
	}
	if r.Locked {
		words = append(words, "locked")
	}
	if r.Ignored {
		words = append(words, "ignored")
	}
	if r.MinAge != "" {
		words = append(words, "min-age "+r.MinAge)
	}
	if r.Hold != "" {
		words = append(words, "held")
	}
	if len(words) == 0 {
		return "manual"
	}
	return strings.Join(words, ",")
}

// parseArgs parses flags that may come before, between or after the
// positional arguments, and returns the positional ones.
func parseArgs(fl *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fl.Parse(args); err != nil {
			return nil, err
		}
		args = fl.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// manifestTree is the manifests named on the command line, indexed, with
// what is needed to write each file back in place.
type manifestTree struct {
	idx   *matcher.Index
	files map[string]treeFile // by index file name
	roots []*os.Root
}

// treeFile is where an indexed file lives: a path inside a folder opened as
// an os.Root (so no write can leave it), or a file named directly.
type treeFile struct {
	root *os.Root
	rel  string
	path string
}

func (t *manifestTree) close() {
	for _, r := range t.roots {
		r.Close()
	}
}

// loadManifests indexes every manifest under paths (default "."). Folders
// are searched recursively without following symbolic links; a file named
// directly is read whatever its extension. A path that cannot be read is an
// error; a manifest that does not parse is a problem of the index.
func loadManifests(paths []string) (*manifestTree, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	t := &manifestTree{idx: matcher.NewIndex(), files: map[string]treeFile{}}
	for _, arg := range paths {
		info, err := os.Stat(arg)
		if err != nil {
			t.close()
			return nil, err
		}
		base := filepath.ToSlash(filepath.Clean(arg))
		if !info.IsDir() {
			data, err := os.ReadFile(arg)
			if err != nil {
				t.close()
				return nil, err
			}
			t.idx.SetFile(base, data)
			t.files[base] = treeFile{path: arg}
			continue
		}
		root, err := os.OpenRoot(arg)
		if err != nil {
			t.close()
			return nil, err
		}
		t.roots = append(t.roots, root)
		files, links, err := matcher.ManifestFiles(root.FS(), nil)
		if err != nil {
			t.close()
			return nil, fmt.Errorf("%s: %w", arg, err)
		}
		for _, f := range files {
			data, err := root.ReadFile(f)
			if err != nil {
				t.close()
				return nil, fmt.Errorf("%s: %w", arg, err)
			}
			name := path.Join(base, f)
			t.idx.SetFile(name, data)
			t.files[name] = treeFile{root: root, rel: f, path: filepath.FromSlash(name)}
		}
		for _, l := range links {
			t.idx.AddProblem(manifest.Problem{File: path.Join(base, l), Message: "symbolic link not followed"})
		}
	}
	return t, nil
}

// read returns the current bytes of an indexed file.
func (t *manifestTree) read(name string) ([]byte, error) {
	f, ok := t.files[name]
	if !ok {
		return nil, errors.New(name + ": not an indexed file")
	}
	if f.root != nil {
		return f.root.ReadFile(f.rel)
	}
	return os.ReadFile(f.path)
}

// write replaces an indexed file's content in place, keeping its mode.
func (t *manifestTree) write(name string, data []byte) error {
	f, ok := t.files[name]
	if !ok {
		return errors.New(name + ": not an indexed file")
	}
	if f.root != nil {
		info, err := f.root.Lstat(f.rel)
		if err != nil {
			return err
		}
		return f.root.WriteFile(f.rel, data, info.Mode().Perm())
	}
	info, err := os.Stat(f.path)
	if err != nil {
		return err
	}
	return os.WriteFile(f.path, data, info.Mode().Perm())
}
