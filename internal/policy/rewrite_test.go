package policy

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/manifest"
	"github.com/hoist-gitops/hoist/internal/wire"
)

const shop = "registry.example.com/team/shop"

func rewrite(resource, container, image, tag, digest string) wire.Rewrite {
	return wire.Rewrite{File: "release.yaml", Resource: resource, Container: container, Image: image,
		Tag: tag, Digest: digest, PushedAt: at(0)}
}

func TestApplyRewrites(t *testing.T) {
	orig, err := os.ReadFile("testdata/release.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := string(orig)
	hr, dep := "apps:helmrelease/shop", "apps:deployment/api"
	sidecarDigest := "sha256:" + strings.Repeat("a", 64)
	tests := []struct {
		name string
		// edit changes the file first, as a person's commit at the head would.
		edit  func(string) string
		rws   []wire.Rewrite
		times TagTimes
		// applied[i] and reasons[i] are per rewrite.
		applied []bool
		reasons []string
		// want is the file afterwards, as replacements of the original text.
		want [][2]string
	}{
		{
			name:    "one site",
			rws:     []wire.Rewrite{rewrite(hr, "chart-image", shop, "1.2.4", "")},
			applied: []bool{true}, reasons: []string{shop + ":1.2.3 → " + shop + ":1.2.4"},
			want: [][2]string{{"tag: 1.2.3   #", "tag: 1.2.4   #"}},
		},
		{
			name: "every site of two resources at once",
			rws: []wire.Rewrite{
				rewrite(hr, "chart-image", shop, "1.2.4", ""),
				rewrite(dep, "api", shop, "1.2.4", ""),
				rewrite(hr, "worker", "registry.example.com/team/worker", "main-bbb", ""),
				rewrite(hr, "sidecar", "registry.example.com/team/sidecar", "1.1.0", dgB),
			},
			applied: []bool{true, true, true, true},
			want: [][2]string{
				{"tag: 1.2.3   #", "tag: 1.2.4   #"},
				{"shop:1.2.3\n", "shop:1.2.4\n"},
				{"'main-aaa'", "'main-bbb'"},
				{"sidecar:1.0.0@" + sidecarDigest, "sidecar:1.1.0@" + dgB},
			},
		},
		{
			name: "already applied is a no-op",
			edit: func(s string) string { return strings.Replace(s, "tag: 1.2.3 ", "tag: 1.2.4 ", 1) },
			rws:  []wire.Rewrite{rewrite(hr, "chart-image", shop, "1.2.4", "")}, applied: []bool{false},
			reasons: []string{"already at " + shop + ":1.2.4"},
		},
		{
			name: "a person moved further ahead",
			edit: func(s string) string { return strings.Replace(s, "tag: 1.2.3 ", "tag: 1.2.9 ", 1) },
			rws:  []wire.Rewrite{rewrite(hr, "chart-image", shop, "1.2.4", "")}, applied: []bool{false},
			reasons: []string{"not a higher version"},
		},
		{
			name: "locked since",
			edit: func(s string) string {
				return strings.Replace(s, "    fluxcd.io/automated: \"true\"\n    filter", "    fluxcd.io/automated: \"true\"\n    fluxcd.io/locked: \"true\"\n    filter", 1)
			},
			rws: []wire.Rewrite{rewrite(hr, "chart-image", shop, "1.2.4", ""), rewrite(dep, "api", shop, "1.2.4", "")},
			// The Deployment is not locked and still applies.
			applied: []bool{false, true}, reasons: []string{"locked", ""},
			want: [][2]string{{"shop:1.2.3\n", "shop:1.2.4\n"}},
		},
		{
			name:    "site gone",
			edit:    func(s string) string { return strings.Replace(s, "name: shop", "name: store", 1) },
			rws:     []wire.Rewrite{rewrite(hr, "chart-image", shop, "1.2.4", "")},
			applied: []bool{false}, reasons: []string{"no longer exists"},
		},
		{
			name:    "site reads another image now",
			edit:    func(s string) string { return strings.Replace(s, "team/shop\n", "team/boutique\n", 1) },
			rws:     []wire.Rewrite{rewrite(hr, "chart-image", shop, "1.2.4", "")},
			applied: []bool{false}, reasons: []string{"now reads registry.example.com/team/boutique:1.2.3"},
		},
		{
			name: "several rewrites for one site: one winner",
			rws: []wire.Rewrite{
				rewrite(hr, "chart-image", shop, "1.2.5", ""),
				rewrite(hr, "chart-image", shop, "1.2.7", ""),
				rewrite(hr, "chart-image", shop, "1.2.4", ""),
			},
			applied: []bool{false, true, false},
			reasons: []string{"superseded by " + shop + ":1.2.7", "", "superseded by"},
			want:    [][2]string{{"tag: 1.2.3   #", "tag: 1.2.7   #"}},
		},
		{
			name: "glob: the tag in git was pushed after the rewrite's",
			rws:  []wire.Rewrite{rewrite(hr, "worker", "registry.example.com/team/worker", "main-bbb", "")},
			times: pushTimes{repo: "registry.example.com/team/worker", at: map[string]time.Time{
				"main-aaa": at(5), "main-bbb": at(0),
			}},
			applied: []bool{false}, reasons: []string{"pushed after"},
		},
		{
			name:    "digest-pinned site, rewrite without a digest",
			rws:     []wire.Rewrite{rewrite(hr, "sidecar", "registry.example.com/team/sidecar", "1.1.0", "")},
			applied: []bool{false}, reasons: []string{"pins a digest"},
		},
		{
			name: "rewrite for another file",
			rws: []wire.Rewrite{func() wire.Rewrite {
				r := rewrite(hr, "chart-image", shop, "1.2.4", "")
				r.File = "other.yaml"
				return r
			}()},
			applied: []bool{false}, reasons: []string{"not release.yaml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := src
			if tt.edit != nil {
				in = tt.edit(src)
				if in == src {
					t.Fatal("edit changed nothing")
				}
			}
			out, results, err := ApplyRewrites(context.Background(), "release.yaml", []byte(in), tt.rws, tt.times)
			if err != nil {
				t.Fatal(err)
			}
			if len(results) != len(tt.rws) {
				t.Fatalf("%d results for %d rewrites", len(results), len(tt.rws))
			}
			for i, r := range results {
				if r.Rewrite.Tag != tt.rws[i].Tag || r.Rewrite.Container != tt.rws[i].Container {
					t.Errorf("result %d is for %+v, want %+v", i, r.Rewrite, tt.rws[i])
				}
				if r.Applied != tt.applied[i] {
					t.Errorf("rewrite %d: Applied = %v (%s), want %v", i, r.Applied, r.Reason, tt.applied[i])
				}
				if i < len(tt.reasons) && !strings.Contains(r.Reason, tt.reasons[i]) {
					t.Errorf("rewrite %d: Reason = %q, want it to contain %q", i, r.Reason, tt.reasons[i])
				}
				if r.Reason == "" {
					t.Errorf("rewrite %d: empty Reason", i)
				}
			}
			want := in
			for _, rep := range tt.want {
				if !strings.Contains(want, rep[0]) {
					t.Fatalf("test bug: %q not in the file", rep[0])
				}
				want = strings.Replace(want, rep[0], rep[1], 1)
			}
			if string(out) != want {
				t.Errorf("file afterwards:\n%s\nwant:\n%s", out, want)
			}
			// Applying the same rewrites to the result changes nothing more.
			again, results2, err := ApplyRewrites(context.Background(), "release.yaml", out, tt.rws, tt.times)
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(out) {
				t.Errorf("re-applying changed the file again:\n%s", again)
			}
			for i, r := range results2 {
				if r.Applied {
					t.Errorf("re-applying rewrite %d applied it again", i)
				}
			}
		})
	}
}

func TestApplyRewritesReadsBackEverySite(t *testing.T) {
	data, err := os.ReadFile("testdata/release.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := ApplyRewrites(context.Background(), "release.yaml", data, []wire.Rewrite{
		rewrite("apps:helmrelease/shop", "chart-image", shop, "1.2.4", ""),
		rewrite("apps:deployment/api", "api", shop, "1.2.10", ""),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sites, problems := manifest.Parse("release.yaml", out)
	if len(problems) != 0 {
		t.Fatalf("edited file has problems: %v", problems)
	}
	got := map[string]string{}
	for _, s := range sites {
		got[s.Resource.String()+" "+s.Container] = s.Ref.String()
	}
	want := map[string]string{
		"apps:helmrelease/shop chart-image": shop + ":1.2.4",
		"apps:helmrelease/shop worker":      "registry.example.com/team/worker:main-aaa",
		"apps:helmrelease/shop sidecar":     "registry.example.com/team/sidecar:1.0.0@sha256:" + strings.Repeat("a", 64),
		"apps:deployment/api api":           shop + ":1.2.10",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s reads %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("sites %v, want %v", got, want)
	}
}
