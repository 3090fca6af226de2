package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// Item "visible": hoist images says for each site how hoist hears of new
// tags: webhooks, and scans when the configuration given with --config (or,
// without one, the defaults) scans the image; nothing for a site hoist
// never updates.
func TestImagesCoverage(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app.yaml"), release("app", "ghcr.io/org/app:1.0.0", "semver:*", false))
	writeFile(t, filepath.Join(dir, "vendor.yaml"), release("vendor", "docker.io/bitnami/redis:7.2.4", "semver:~7.2", false))
	writeFile(t, filepath.Join(dir, "frozen.yaml"), release("frozen", "ghcr.io/org/frozen:1.0.0", "semver:*", true))
	coverage := func(args ...string) map[string]string {
		t.Helper()
		code, out, errOut := runHoist(t, append([]string{"images", "--output", "json"}, append(args, dir)...)...)
		if code != 0 {
			t.Fatalf("hoist images %v: exit %d: %s", args, code, errOut)
		}
		var rows []imageRow
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range rows {
			got[r.Resource] = r.Coverage
		}
		return got
	}
	want := map[string]string{"apps:helmrelease/app": "webhook+scan", "apps:helmrelease/vendor": "webhook+scan", "apps:helmrelease/frozen": ""}
	if got := coverage(); !equalMaps(got, want) {
		t.Errorf("defaults: %v, want %v", got, want)
	}

	cfg := filepath.Join(t.TempDir(), "hoist.yaml")
	writeFile(t, cfg, `images: [{match: "ghcr.io/org/**", scan: false}]
repositories: [{name: r, url: "${NOT_SET_HERE}"}]
`)
	want["apps:helmrelease/app"] = "webhook"
	if got := coverage("--config", cfg); !equalMaps(got, want) {
		t.Errorf("scan: false for ghcr.io/org: %v, want %v", got, want)
	}
	writeFile(t, cfg, "scan: {interval: 0}\nrepositories: [{name: r, url: /tmp/r.git}]\n")
	want["apps:helmrelease/vendor"] = "webhook"
	if got := coverage("--config", cfg); !equalMaps(got, want) {
		t.Errorf("scan.interval 0: %v, want %v", got, want)
	}

	writeFile(t, cfg, "scan: {interval: -1h}\nrepositories: [{name: r, url: /tmp/r.git}]\n")
	if code, _, errOut := runHoist(t, "images", "--config", cfg, dir); code != 1 || !strings.Contains(errOut, "scan.interval") {
		t.Errorf("a bad scan.interval: exit %d, %q", code, errOut)
	}
	code, out, _ := runHoist(t, "images", dir)
	if code != 0 || !strings.Contains(out, "COVERAGE") || !strings.Contains(out, "webhook+scan") {
		t.Errorf("table without coverage:\n%s", out)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
