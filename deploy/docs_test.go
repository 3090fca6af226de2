package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var operationsDoc = filepath.Join(repoRoot, "docs", "operations.md")

// docSection returns the text of the "## <title>" section of a markdown file.
func docSection(t *testing.T, path, title string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "\n## "+title+"\n")
	if start < 0 {
		t.Fatalf("%s has no section %q", path, title)
	}
	rest := text[start+len("\n## "+title+"\n"):]
	if end := strings.Index(rest, "\n## "); end >= 0 {
		rest = rest[:end]
	}
	return rest
}

var backticked = regexp.MustCompile("`([^`]+)`")

// firstColumn returns the backticked names in the first cell of every table row.
func firstColumn(section string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cell := strings.SplitN(line[2:], " |", 2)[0]
		for _, m := range backticked.FindAllStringSubmatch(cell, -1) {
			out[m[1]] = true
		}
	}
	return out
}

// compareSets fails for names in code but not in the doc, and in the doc but not in code.
func compareSets(t *testing.T, what string, code []string, doc map[string]bool) {
	t.Helper()
	if len(code) == 0 {
		t.Fatalf("found no %s in the source; the scanner is broken", what)
	}
	inCode := map[string]bool{}
	for _, c := range code {
		inCode[c] = true
		if !doc[c] {
			t.Errorf("%s `%s` is not documented in %s", what, c, operationsDoc)
		}
	}
	var stale []string
	for d := range doc {
		if !inCode[d] {
			stale = append(stale, d)
		}
	}
	sort.Strings(stale)
	for _, d := range stale {
		t.Errorf("%s `%s` is documented in %s but not in the source", what, d, operationsDoc)
	}
}

// TestOperationsDocConfig checks the configuration reference against the Config
// struct of internal/config (every yaml key, both ways).
func TestOperationsDocConfig(t *testing.T) {
	keys, err := ConfigKeys(filepath.Join(repoRoot, "internal", "config"), "Config")
	if err != nil {
		t.Fatal(err)
	}
	compareSets(t, "config key", keys, firstColumn(docSection(t, operationsDoc, "Configuration reference")))
}

// TestOperationsDocMetrics checks the metrics table against every Prometheus metric
// declared in hoist's Go source.
func TestOperationsDocMetrics(t *testing.T) {
	ms, err := Metrics(repoRoot, "deploy")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms {
		if !strings.HasPrefix(m.Name, "hoist_") {
			t.Errorf("%s (%s): metric outside the hoist namespace", m.Name, m.File)
		}
		names = append(names, m.Name)
	}
	compareSets(t, "metric", names, firstColumn(docSection(t, operationsDoc, "Metrics")))
}

// TestOperationsDocLogFields checks the log field table against the field names
// hoist's Go source writes with zerolog.
func TestOperationsDocLogFields(t *testing.T) {
	fields, err := LogFields(repoRoot, "deploy")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names)
	doc := firstColumn(docSection(t, operationsDoc, "Logs"))
	for _, f := range names {
		if !doc[f] {
			t.Errorf("log field `%s` (written in %v) is not documented in %s", f, fields[f], operationsDoc)
		}
	}
}
