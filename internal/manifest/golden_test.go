package manifest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/parse/*.golden from the current output")

// render prints sites and problems compactly, one site per line followed by
// its parts; the golden files hold this text.
func render(sites []Site, problems []Problem) string {
	var b strings.Builder
	for _, s := range sites {
		fmt.Fprintf(&b, "site doc=%d line=%d %s %s %s %s", s.Document, s.Line, s.Resource, s.Container, s.Shape, s.Ref)
		if s.Policy.Automated {
			b.WriteString(" automated")
		}
		if s.Policy.Locked {
			b.WriteString(" locked")
		}
		if s.Policy.Ignored {
			b.WriteString(" ignored")
		}
		if s.Policy.Filter != "" {
			fmt.Fprintf(&b, " filter=%q", s.Policy.Filter)
		}
		b.WriteByte('\n')
		roles := make([]string, 0, len(s.Parts))
		for r := range s.Parts {
			roles = append(roles, string(r))
		}
		sort.Strings(roles)
		for _, r := range roles {
			p := s.Parts[Role(r)]
			fmt.Fprintf(&b, "  %s L%d %d-%d %s %q", r, p.Line, p.Start, p.End, p.Style, p.Value)
			if p.Flow {
				b.WriteString(" flow")
			}
			if p.Frozen {
				b.WriteString(" frozen")
			}
			b.WriteByte('\n')
		}
		for _, p := range s.Problems {
			fmt.Fprintf(&b, "  problem: %s\n", p)
		}
		if s.ReadOnly != "" {
			b.WriteString("  read-only\n")
		}
	}
	for _, p := range problems {
		fmt.Fprintf(&b, "problem L%d %s: %s\n", p.Line, p.Resource, p.Message)
	}
	return b.String()
}

// checkSpans asserts what every site must satisfy whatever the file: each
// editable part's span holds exactly its value in its style, and the file
// and line are recorded.
func checkSpans(t testing.TB, file string, data []byte, sites []Site, problems []Problem) {
	t.Helper()
	for _, s := range sites {
		if s.File != file || s.Line < 1 || len(s.Parts) == 0 {
			t.Errorf("%s: site %s/%s: file %q line %d parts %d", file, s.Resource, s.Container, s.File, s.Line, len(s.Parts))
		}
		for r, p := range s.Parts {
			if p.Frozen {
				continue
			}
			if err := checkScalar(data, p); err != nil {
				t.Errorf("%s: site %s/%s part %s: %v", file, s.Resource, s.Container, r, err)
				continue
			}
			if got := lineAt(data, p.Start); got != p.Line {
				t.Errorf("%s: site %s/%s part %s: Line %d, but offset %d is on line %d", file, s.Resource, s.Container, r, p.Line, p.Start, got)
			}
			want := map[Style]byte{SingleQuoted: '\'', DoubleQuoted: '"'}[p.Style]
			if want != 0 && (data[p.Start] != want || data[p.End-1] != want) {
				t.Errorf("%s: site %s/%s part %s: style %s but text %q", file, s.Resource, s.Container, r, p.Style, data[p.Start:p.End])
			}
		}
	}
	for _, p := range problems {
		if p.File != file || p.Line < 1 || p.Message == "" {
			t.Errorf("%s: malformed problem %+v", file, p)
		}
	}
}

// lineAt counts lines up to off the way YAML does (CRLF, CR, LF, NEL, LS, PS).
func lineAt(data []byte, off int) int {
	line := 1
	for i := 0; i < off && i < len(data); {
		if n := breakLen(data, i); n > 0 {
			line++
			i += n
			continue
		}
		i++
	}
	return line
}

func TestParseGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/parse/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sites, problems := Parse(f, data)
			checkSpans(t, f, data, sites, problems)
			got := render(sites, problems)
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestParseGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the golden file:\n--- got\n%s--- want\n%s", f, got, want)
			}
		})
	}
}
