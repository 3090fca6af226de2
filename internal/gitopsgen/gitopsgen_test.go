package gitopsgen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	sa, err := Generate(a, 200, 7)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := Generate(b, 200, 7)
	if err != nil {
		t.Fatal(err)
	}
	if sa.Files != 200 || len(sa.Paths) != 200 || sa.Sites != sb.Sites || sa.Sample != sb.Sample || sa.Bytes != sb.Bytes {
		t.Fatalf("stats differ or wrong: %+v vs %+v", sa, sb)
	}
	for _, p := range sa.Paths {
		x, err := os.ReadFile(filepath.Join(a, p))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b, p))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Fatalf("%s differs between two runs with the same seed", p)
		}
	}
	sc, err := Generate(t.TempDir(), 200, 8)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Bytes == sa.Bytes && sc.Sites == sa.Sites {
		t.Errorf("seeds 7 and 8 wrote the same-looking repository")
	}
}

func TestGenerateWritesEverySortOfFile(t *testing.T) {
	dir := t.TempDir()
	st, err := Generate(dir, 1000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if st.HelmReleases+st.Workloads+st.Broken != st.Files {
		t.Errorf("file counts do not add up: %+v", st)
	}
	if st.Workloads == 0 || st.Broken == 0 || st.HelmReleases < 900 {
		t.Errorf("want every sort of file: %d HelmReleases, %d workloads, %d broken", st.HelmReleases, st.Workloads, st.Broken)
	}
	if per := float64(st.Sites) / float64(st.Files); per < 2 || per > 4 {
		t.Errorf("%.2f sites per file, want about 3", per)
	}
	if st.Repos[st.Sample] != 1 {
		t.Errorf("sample %q has %d sites, want 1", st.Sample, st.Repos[st.Sample])
	}
	// Every file but the broken ones is valid YAML; the broken ones are not.
	broken := 0
	for _, p := range st.Paths {
		data, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var n yaml.Node
			if err = dec.Decode(&n); err != nil {
				break
			}
		}
		if err.Error() != "EOF" {
			broken++
		}
	}
	if broken != st.Broken {
		t.Errorf("%d files do not parse, Stats says %d are broken", broken, st.Broken)
	}
}
