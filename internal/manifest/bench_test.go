package manifest

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/hoist-gitops/hoist/internal/benchmd"
)

// benchFiles is the synthetic repository the benchmarks parse, in path order.
type benchFiles struct {
	paths []string
	data  [][]byte
	bytes int64
}

func loadBench(tb testing.TB, n int) benchFiles {
	st, files := loadRepo(tb, n)
	var bf benchFiles
	bf.paths = append(bf.paths, st.Paths...)
	sort.Strings(bf.paths)
	for _, p := range bf.paths {
		bf.data = append(bf.data, files[p])
		bf.bytes += int64(len(files[p]))
	}
	return bf
}

// parseAll parses every file and returns the sites found.
func parseAll(bf benchFiles) []Site {
	var all []Site
	for i, p := range bf.paths {
		sites, _ := Parse(p, bf.data[i])
		all = append(all, sites...)
	}
	return all
}

// decodeAll is the baseline: only yaml.v3's decoding of every document of
// every file into nodes, which Parse cannot avoid.
func decodeAll(bf benchFiles) int {
	n := 0
	for _, b := range bf.data {
		for _, c := range splitDocuments(b) {
			var node yaml.Node
			if yaml.Unmarshal(b[c.start:c.end], &node) == nil {
				n++
			}
		}
	}
	return n
}

func BenchmarkParse10k(b *testing.B) {
	bf := loadBench(b, 10000)
	b.SetBytes(bf.bytes)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		parseAll(bf)
	}
}

func BenchmarkYAMLDecode10k(b *testing.B) {
	bf := loadBench(b, 10000)
	b.SetBytes(bf.bytes)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		decodeAll(bf)
	}
}

func BenchmarkRetag(b *testing.B) {
	data, err := os.ReadFile("testdata/parse/seed-filters.yaml")
	if err != nil {
		b.Fatal(err)
	}
	sites, _ := Parse("f.yaml", data)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		reps, _, err := Retag(data, sites[0], "4.0.4", "")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Apply(data, reps); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBenchReportManifest measures parsing a 10,000-file synthetic
// repository against the yaml.v3 decoding it is built on, and one edit, and
// writes the figures to BENCHMARKS.md (section manifest-parse).
func TestBenchReportManifest(t *testing.T) {
	path := os.Getenv("HOIST_BENCH_REPORT")
	if path == "" {
		t.Skip("set HOIST_BENCH_REPORT to the path of BENCHMARKS.md")
	}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	bf := loadBench(t, 10000)
	parse := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			parseAll(bf)
		}
	})
	base := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			decodeAll(bf)
		}
	})
	retag := testing.Benchmark(BenchmarkRetag)
	// Heap held by the sites of the whole repository.
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	sites := parseAll(bf)
	runtime.GC()
	runtime.ReadMemStats(&after)
	retained := float64(after.HeapAlloc) - float64(before.HeapAlloc)
	runtime.KeepAlive(sites)

	sec := float64(parse.NsPerOp()) / 1e9
	md := fmt.Sprintf("## Manifest parsing (internal/manifest)\n\n"+
		"Machine: %s. One core (GOMAXPROCS=1). Repository: gitopsgen.Generate(dir, 10000, 1), %d files, %.1f MB, %d sites; "+
		"files already in memory.\n\n"+
		"| measurement | time | files/s | allocated per run | ratio |\n|---|---|---|---|---|\n"+
		"| baseline: yaml.v3 decode of every document | %.0f ms | %.0f | %.0f MB | 1.00 |\n"+
		"| manifest.Parse of every file (sites, policies, problems, spans) | %.0f ms | %.0f | %.0f MB | %.2f |\n"+
		"| Retag + Apply of one site (incl. read-back check) | %.1f µs | | %.1f KB | |\n\n"+
		"Heap retained by the %d sites of the repository: %.1f MB (target for the whole index: < 100 MB). "+
		"Target for indexing 10,000 files on one core: < 1 s.\n",
		benchmd.Machine(), len(bf.paths), float64(bf.bytes)/1e6, len(sites),
		float64(base.NsPerOp())/1e6, float64(len(bf.paths))/(float64(base.NsPerOp())/1e9), float64(base.AllocedBytesPerOp())/1e6,
		sec*1e3, float64(len(bf.paths))/sec, float64(parse.AllocedBytesPerOp())/1e6, float64(parse.NsPerOp())/float64(base.NsPerOp()),
		float64(retag.NsPerOp())/1e3, float64(retag.AllocedBytesPerOp())/1e3,
		len(sites), retained/1e6)
	if err := benchmd.Update(path, "manifest-parse", md); err != nil {
		t.Fatal(err)
	}
	t.Log(md)
}
