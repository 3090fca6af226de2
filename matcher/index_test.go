package matcher

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hoist-gitops/hoist/internal/gitopsgen"
	"github.com/hoist-gitops/hoist/internal/manifest"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

func TestManifestFiles(t *testing.T) {
	outside := t.TempDir()
	testgit.WriteFiles(t, outside, map[string]string{"secret.yaml": "kind: Secret\n"})
	dir := t.TempDir()
	testgit.WriteFiles(t, dir, map[string]string{
		"a.yaml": "", "b.yml": "", "notes.txt": "", "x.yaml.orig": "", "deep/er/c.yaml": "",
		".git/config.yaml": "", "sub/.git/HEAD.yaml": "", ".github/ci.yml": "",
	})
	for link, target := range map[string]string{
		"link.yaml":   filepath.Join(outside, "secret.yaml"),
		"linkdir":     outside,
		"inside.yaml": "a.yaml",
		"README":      "notes.txt", // not a manifest name: not reported
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	all := []string{".github/ci.yml", "a.yaml", "b.yml", "deep/er/c.yaml"}
	allLinks := []string{"inside.yaml", "link.yaml", "linkdir"}
	for _, tc := range []struct {
		name         string
		paths        []string
		files, links []string
		err          string
	}{
		{name: "default", files: all, links: allLinks},
		{name: "dot", paths: []string{"."}, files: all, links: allLinks},
		{name: "folder and file, overlapping", paths: []string{"deep", "deep/er/c.yaml", "./notes.txt"}, files: []string{"deep/er/c.yaml", "notes.txt"}},
		{name: "a link named directly", paths: []string{"link.yaml"}, links: []string{"link.yaml"}},
		{name: "missing", paths: []string{"nope"}, err: "nope"},
		{name: "outside", paths: []string{"../x"}, err: "not a path inside"},
	} {
		for fsName, fsys := range map[string]fs.FS{"os.Root": root.FS(), "os.DirFS": os.DirFS(dir)} {
			t.Run(tc.name+"/"+fsName, func(t *testing.T) {
				files, links, err := ManifestFiles(fsys, tc.paths)
				if tc.err != "" {
					if err == nil || !strings.Contains(err.Error(), tc.err) {
						t.Fatalf("err = %v, want one containing %q", err, tc.err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(files, tc.files) || !slices.Equal(links, tc.links) {
					t.Errorf("files %q links %q, want %q and %q", files, links, tc.files, tc.links)
				}
			})
		}
	}
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %s
spec:
  template:
    spec:
      containers:
        - name: app
          image: %s
`

func deploymentYAML(name, image string) []byte {
	return []byte(strings.Replace(strings.Replace(deployment, "%s", name, 1), "%s", image, 1))
}

func TestIndexSetFileReplacesAndRemoves(t *testing.T) {
	x := NewIndex()
	x.SetFile("a.yaml", deploymentYAML("a", "nginx:1.25"))
	x.SetFile("b.yaml", deploymentYAML("b", "docker.io/library/nginx:1.24"))
	nginx := "docker.io/library/nginx"
	held := x.Lookup(nginx)
	if len(held) != 2 || held[0].File != "a.yaml" || held[1].File != "b.yaml" {
		t.Fatalf("Lookup(nginx) = %v, want the sites of a.yaml and b.yaml", held)
	}

	// Re-indexing a.yaml with another image moves its site.
	x.SetFile("a.yaml", deploymentYAML("a", "ghcr.io/acme/web:2"))
	if got := x.Lookup(nginx); len(got) != 1 || got[0].File != "b.yaml" {
		t.Errorf("after SetFile(a.yaml): Lookup(nginx) = %v, want only b.yaml", got)
	}
	if got := x.Lookup("ghcr.io/acme/web"); len(got) != 1 || got[0].Ref.Tag != "2" {
		t.Errorf("Lookup(ghcr.io/acme/web) = %v", got)
	}
	// A slice handed out earlier is a snapshot: it is never changed in place.
	if len(held) != 2 || held[0].File != "a.yaml" || held[0].Ref.Tag != "1.25" {
		t.Errorf("earlier Lookup result changed: %v", held)
	}
	if x.Len() != 2 || !slices.Equal(x.Files(), []string{"a.yaml", "b.yaml"}) {
		t.Errorf("Len %d Files %v", x.Len(), x.Files())
	}

	x.RemoveFile("b.yaml")
	x.RemoveFile("never-indexed.yaml")
	if got := x.Lookup(nginx); len(got) != 0 {
		t.Errorf("after RemoveFile: Lookup(nginx) = %v", got)
	}
	if x.Len() != 1 || len(x.Sites()) != 1 {
		t.Errorf("Len %d, Sites %d, want 1", x.Len(), len(x.Sites()))
	}

	// A file that does not parse is a problem, and replacing it clears it.
	x.SetFile("bad.yaml", []byte("kind: Deployment\nmetadata: [unclosed\n"))
	if ps := x.Problems(); len(ps) != 1 || ps[0].File != "bad.yaml" {
		t.Fatalf("Problems = %v, want one for bad.yaml", ps)
	}
	x.SetFile("bad.yaml", deploymentYAML("bad", "nginx:1"))
	if ps := x.Problems(); len(ps) != 0 {
		t.Errorf("Problems after fixing bad.yaml = %v", ps)
	}
}

func TestIndexConcurrentLookupAndSetFile(t *testing.T) {
	x := NewIndex()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, s := range x.Lookup("docker.io/library/nginx") {
				if s.Ref.Path != "nginx" {
					t.Errorf("torn site %v", s)
				}
			}
			_ = x.Sites()
		}
	})
	for i := range 200 {
		name := []string{"a.yaml", "b.yaml", "c.yaml"}[i%3]
		if i%7 == 0 {
			x.RemoveFile(name)
		} else {
			x.SetFile(name, deploymentYAML("d", "nginx:1."+string(rune('0'+i%10))))
		}
	}
	close(stop)
	wg.Wait()
	if n := len(x.Lookup("docker.io/library/nginx")); n != x.Len() {
		t.Errorf("Lookup has %d sites, Len %d", n, x.Len())
	}
}

func TestBuildIndexExamples(t *testing.T) {
	x, err := BuildIndex(os.DirFS("../examples/gitops"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range x.Lookup("127.0.0.1:5000/team/app") {
		got = append(got, s.File+" "+s.Resource.String()+" "+s.Container+" "+s.Ref.String())
	}
	want := []string{
		"apps/frozen.yaml apps:helmrelease/billing chart-image 127.0.0.1:5000/team/app:1.0.0",
		"apps/podinfo.yaml apps:helmrelease/podinfo chart-image 127.0.0.1:5000/team/app:1.2.3",
		"apps/shop.yaml apps:helmrelease/shop worker 127.0.0.1:5000/team/app:1.2.3",
		"workloads/api.yaml apps:deployment/api api 127.0.0.1:5000/team/app:1.2.3",
	}
	if !slices.Equal(got, want) {
		t.Errorf("sites of 127.0.0.1:5000/team/app:\n got %q\nwant %q", got, want)
	}
	if got := x.Lookup("docker.io/library/nats-streaming"); len(got) != 1 || got[0].Container != "nats" {
		t.Errorf("nats-streaming (Docker Hub, one component) = %v", got)
	}
	sites := x.Sites()
	if !slices.IsSortedFunc(sites, func(a, b manifest.Site) int { return strings.Compare(a.File, b.File) }) {
		t.Errorf("Sites not in file order")
	}
	foundTypo := false
	for _, p := range x.Problems() {
		if p.File == "legacy/submarine.yaml" && strings.Contains(p.Message, "filter.fluxd.io") {
			foundTypo = true
		}
	}
	if !foundTypo {
		t.Errorf("the misspelt filter.fluxd.io annotation is not reported: %v", x.Problems())
	}
}

// TestBuildIndexGenerated cross-checks detection against the generator:
// every site it wrote is found, under the right repository, and every
// broken file is reported.
func TestBuildIndexGenerated(t *testing.T) {
	dir := t.TempDir()
	st, err := gitopsgen.Generate(dir, 400, 3)
	if err != nil {
		t.Fatal(err)
	}
	x, err := BuildIndex(os.DirFS(dir), []string{"."})
	if err != nil {
		t.Fatal(err)
	}
	if x.Len() != st.Sites {
		t.Errorf("index has %d sites, the generator wrote %d", x.Len(), st.Sites)
	}
	for repo, n := range st.Repos {
		if got := len(x.Lookup(repo)); got != n {
			t.Errorf("Lookup(%s) = %d sites, want %d", repo, got, n)
		}
	}
	brokenFiles := map[string]bool{}
	for _, p := range x.Problems() {
		if strings.Contains(p.File, "/broken-") {
			brokenFiles[p.File] = true
		}
	}
	if len(brokenFiles) != st.Broken {
		t.Errorf("%d broken files reported, the generator wrote %d", len(brokenFiles), st.Broken)
	}
	if got := x.Lookup(st.Sample); len(got) != 1 {
		t.Errorf("sample %s has %d sites", st.Sample, len(got))
	}
}

// TestFilesFluxRefusesDuplicateAcrossFiles: the same resource defined in two
// files is a problem of each file (Flux refuses the repository); removing one
// copy clears it.
func TestFilesFluxRefusesDuplicateAcrossFiles(t *testing.T) {
	x := NewIndex()
	x.SetFile("a.yaml", deploymentYAML("web", "nginx:1.25"))
	x.SetFile("b.yaml", deploymentYAML("web", "nginx:1.24"))
	x.SetFile("c.yaml", deploymentYAML("other", "nginx:1.24"))
	ps := x.Problems()
	if len(ps) != 2 || ps[0].File != "a.yaml" || ps[1].File != "b.yaml" ||
		!strings.Contains(ps[0].Message, "b.yaml") || !strings.Contains(ps[1].Message, "a.yaml") {
		t.Fatalf("Problems = %v, want one in a.yaml naming b.yaml and one in b.yaml naming a.yaml", ps)
	}
	x.RemoveFile("b.yaml")
	if ps := x.Problems(); len(ps) != 0 {
		t.Errorf("Problems after removing b.yaml = %v", ps)
	}
}
