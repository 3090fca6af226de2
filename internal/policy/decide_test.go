package policy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/imageref"
	"github.com/hoist-gitops/hoist/internal/manifest"
)

// pushTimes is push history held in memory: tag → first-seen time, for one
// repository at a time (the canonical name is checked).
type pushTimes struct {
	repo string
	at   map[string]time.Time
}

func (p pushTimes) FirstSeen(_ context.Context, repo, tag string) (time.Time, bool) {
	if repo != p.repo {
		return time.Time{}, false
	}
	t, ok := p.at[tag]
	return t, ok
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

const (
	dgA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	dgB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// site builds an automated site reading image, with the given filter.
func site(t *testing.T, image, filter string) manifest.Site {
	t.Helper()
	ref, err := imageref.Parse(image)
	if err != nil {
		t.Fatalf("parse %q: %v", image, err)
	}
	return manifest.Site{
		File: "apps/app.yaml", Resource: manifest.Resource{Namespace: "apps", Kind: "HelmRelease", Name: "app"},
		Container: "chart-image", Ref: ref,
		Policy: manifest.Policy{Automated: true, Filter: filter},
	}
}

func TestDecide(t *testing.T) {
	repo := "registry.example.com/team/app"
	history := pushTimes{repo: repo, at: map[string]time.Time{
		"1.0.0": at(0), "main-a": at(10), "main-b": at(20), "main-c": at(20), "main-old": at(-60),
	}}
	tests := []struct {
		name   string
		site   func(*manifest.Site)
		image  string
		filter string
		cand   Candidate
		times  TagTimes
		code   Code
		newRef string // expected New when updating
		reason string // substring of Reason
	}{
		{name: "not automated", image: "registry.example.com/team/app:1.0.0", cand: Candidate{Tag: "1.0.1"},
			site: func(s *manifest.Site) { s.Policy.Automated = false }, code: CodeNotAutomated, reason: "not automated"},
		{name: "locked", image: "registry.example.com/team/app:1.0.0", cand: Candidate{Tag: "1.0.1"},
			site: func(s *manifest.Site) { s.Policy.Locked = true }, code: CodeLocked, reason: "locked"},
		{name: "ignored", image: "registry.example.com/team/app:1.0.0", cand: Candidate{Tag: "1.0.1"},
			site: func(s *manifest.Site) { s.Policy.Ignored = true }, code: CodeIgnored, reason: "ignored"},
		{name: "invalid semver filter", image: "registry.example.com/team/app:1.0.0", filter: "semver:banana",
			cand: Candidate{Tag: "1.0.1"}, code: CodeInvalidFilter, reason: "invalid semver constraint"},
		{name: "invalid regexp filter", image: "registry.example.com/team/app:1.0.0", filter: "regexp:(",
			cand: Candidate{Tag: "1.0.1"}, code: CodeInvalidFilter, reason: "invalid regexp"},
		{name: "read-only site that would update", image: "registry.example.com/team/app:1.0.0", cand: Candidate{Tag: "1.0.1"},
			site: func(s *manifest.Site) { s.ReadOnly = "tag is a block scalar" }, code: CodeReadOnly, reason: "block scalar"},
		{name: "read-only site that would not update anyway", image: "registry.example.com/team/app:1.0.0", filter: "semver:^2",
			cand: Candidate{Tag: "1.0.1"}, site: func(s *manifest.Site) { s.ReadOnly = "tag is a block scalar" }, code: CodeFilterMismatch},
		{name: "digest-only push", image: "registry.example.com/team/app:1.0.0", cand: Candidate{Digest: dgA},
			code: CodeNoTag, reason: "no tag"},

		// Excluded tags.
		{name: "latest never chosen", image: "registry.example.com/team/app:1.0.0", cand: Candidate{Tag: "latest"},
			code: CodeExcludedTag, reason: "latest"},
		{name: "LATEST never chosen", image: "registry.example.com/team/app:1.0.0", cand: Candidate{Tag: "LATEST"},
			code: CodeExcludedTag},
		{name: "latest under lat* glob", image: "registry.example.com/team/app:1.0.0", filter: "lat*",
			cand: Candidate{Tag: "latest"}, code: CodeExcludedTag},
		{name: "latest allowed by filter latest", image: "registry.example.com/team/app@" + dgA, filter: "latest",
			cand: Candidate{Tag: "latest", Digest: dgB}, code: CodeUpdate, newRef: "registry.example.com/team/app:latest@" + dgB},
		{name: "latest re-push by glob:latest, digest pinned", image: "registry.example.com/team/app:latest@" + dgA, filter: "glob:latest",
			cand: Candidate{Tag: "latest", Digest: dgB}, code: CodeUpdate, newRef: "registry.example.com/team/app:latest@" + dgB, reason: "new digest"},
		{name: "cosign signature", image: "registry.example.com/team/app:1.0.0",
			cand: Candidate{Tag: "sha256-" + strings.Repeat("a", 64) + ".sig"}, code: CodeExcludedTag, reason: "signature"},
		{name: "cosign attestation", image: "registry.example.com/team/app:1.0.0",
			cand: Candidate{Tag: "sha256-" + strings.Repeat("0", 64) + ".att"}, code: CodeExcludedTag},
		{name: "cosign sbom", image: "registry.example.com/team/app:1.0.0",
			cand: Candidate{Tag: "sha256-" + strings.Repeat("f", 64) + ".sbom"}, code: CodeExcludedTag},
		{name: "sha256-prefixed but not cosign", image: "registry.example.com/team/app:1.0.0",
			cand: Candidate{Tag: "sha256-build"}, code: CodeUpdate, newRef: "registry.example.com/team/app:sha256-build"},

		// Filter.
		{name: "filter mismatch", image: "registry.example.com/team/app:v0.15.0", filter: "glob:v0.15.*",
			cand: Candidate{Tag: "v0.16.0"}, code: CodeFilterMismatch, reason: "does not match filter glob:v0.15.*"},
		{name: "semver mismatch non-version", image: "registry.example.com/team/app:4.0.3", filter: "semver:~4.0",
			cand: Candidate{Tag: "main-abc"}, code: CodeFilterMismatch},

		// Semver ordering.
		{name: "semver newer", image: "bitnami/mongodb:4.0.3", filter: "semver:~4.0",
			cand: Candidate{Tag: "4.0.10"}, code: CodeUpdate, newRef: "bitnami/mongodb:4.0.10"},
		{name: "semver older never", image: "bitnami/mongodb:4.0.3", filter: "semver:~4.0",
			cand: Candidate{Tag: "4.0.2"}, code: CodeNotNewer, reason: "not a higher version"},
		{name: "semver equal version other spelling", image: "prom/prometheus:v2.3.0", filter: "semver:~2.3",
			cand: Candidate{Tag: "2.3"}, code: CodeNotNewer},
		{name: "semver leading v", image: "prom/prometheus:v2.3.1", filter: "semver:~2.3",
			cand: Candidate{Tag: "v2.3.2"}, code: CodeUpdate, newRef: "prom/prometheus:v2.3.2"},
		{name: "semver partial candidate", image: "team/app:1.1.9", filter: "semver:>=1",
			cand: Candidate{Tag: "1.2"}, code: CodeUpdate, newRef: "team/app:1.2"},
		{name: "semver current not a version", image: "team/app:latest", filter: "semver:>=1",
			cand: Candidate{Tag: "1.0.0"}, code: CodeUpdate, newRef: "team/app:1.0.0", reason: "not a semantic version"},
		{name: "semver prerelease excluded", image: "team/app:1.0.0", filter: "semver:>=1.0",
			cand: Candidate{Tag: "1.1.0-rc.1"}, code: CodeFilterMismatch},
		{name: "semver prerelease allowed", image: "team/app:1.0.0", filter: "semver:>=1.0.0-0",
			cand: Candidate{Tag: "1.1.0-rc.1"}, code: CodeUpdate, newRef: "team/app:1.1.0-rc.1"},
		{name: "semver release after its prerelease", image: "team/app:1.1.0-rc.1", filter: "semver:>=1.0.0-0",
			cand: Candidate{Tag: "1.1.0"}, code: CodeUpdate, newRef: "team/app:1.1.0"},
		{name: "semver untagged current", image: "team/app", filter: "semver:^1",
			cand: Candidate{Tag: "1.4.0"}, code: CodeUpdate, newRef: "team/app:1.4.0", reason: "no tag"},

		// Glob/regexp ordering by push time.
		{name: "glob no history", image: "registry.example.com/team/app:main-b", filter: "main-*",
			cand: Candidate{Tag: "main-a", PushedAt: at(5)}, code: CodeUpdate, newRef: "registry.example.com/team/app:main-a", reason: "no push history"},
		{name: "glob current pushed later", image: "registry.example.com/team/app:main-b", filter: "main-*", times: history,
			cand: Candidate{Tag: "main-a", PushedAt: at(10)}, code: CodeNotNewer, reason: "pushed after"},
		{name: "glob candidate pushed later", image: "registry.example.com/team/app:main-a", filter: "main-*", times: history,
			cand: Candidate{Tag: "main-d", PushedAt: at(30)}, code: CodeUpdate, newRef: "registry.example.com/team/app:main-d"},
		{name: "glob tie smaller tag wins", image: "registry.example.com/team/app:main-c", filter: "main-*", times: history,
			cand: Candidate{Tag: "main-b", PushedAt: at(20)}, code: CodeUpdate, newRef: "registry.example.com/team/app:main-b"},
		{name: "glob tie larger tag loses", image: "registry.example.com/team/app:main-b", filter: "main-*", times: history,
			cand: Candidate{Tag: "main-c", PushedAt: at(20)}, code: CodeNotNewer, reason: "same time"},
		{name: "glob current unknown to history", image: "registry.example.com/team/app:main-zzz", filter: "main-*", times: history,
			cand: Candidate{Tag: "main-a", PushedAt: at(10)}, code: CodeUpdate, reason: "no known push time"},
		{name: "glob re-push of an old tag stays old", image: "registry.example.com/team/app:main-a", filter: "main-*", times: history,
			cand: Candidate{Tag: "main-old", PushedAt: at(99)}, code: CodeNotNewer},
		{name: "glob history of another repo ignored", image: "registry.example.com/other/app:main-b", filter: "main-*", times: history,
			cand: Candidate{Tag: "main-a", PushedAt: at(10)}, code: CodeUpdate},
		{name: "regexp delayed old event", image: "registry.example.com/team/app:main-b", filter: "regexp:^main-", times: history,
			cand: Candidate{Tag: "main-a", PushedAt: at(10)}, code: CodeNotNewer},
		{name: "glob untagged current", image: "registry.example.com/team/app", times: history,
			cand: Candidate{Tag: "main-a", PushedAt: at(10)}, code: CodeUpdate, newRef: "registry.example.com/team/app:main-a"},

		// Same value and digests (§4.3).
		{name: "same tag", image: "registry.example.com/team/app:1.0.0", cand: Candidate{Tag: "1.0.0", Digest: dgA},
			code: CodeSame, reason: "already at registry.example.com/team/app:1.0.0"},
		{name: "unpinned site gains no digest", image: "registry.example.com/team/app:1.0.0", filter: "semver:^1",
			cand: Candidate{Tag: "1.0.1", Digest: dgA}, code: CodeUpdate, newRef: "registry.example.com/team/app:1.0.1"},
		{name: "pinned: new tag and digest", image: "registry.example.com/team/app:1.0.0@" + dgA, filter: "semver:^1",
			cand: Candidate{Tag: "1.0.1", Digest: dgB}, code: CodeUpdate, newRef: "registry.example.com/team/app:1.0.1@" + dgB},
		{name: "pinned: same tag new digest", image: "registry.example.com/team/app:1.0.0@" + dgA, filter: "semver:^1",
			cand: Candidate{Tag: "1.0.0", Digest: dgB}, code: CodeUpdate, newRef: "registry.example.com/team/app:1.0.0@" + dgB},
		{name: "pinned: same tag same digest", image: "registry.example.com/team/app:1.0.0@" + dgA,
			cand: Candidate{Tag: "1.0.0", Digest: dgA}, code: CodeSame},
		{name: "pinned: push without digest", image: "registry.example.com/team/app:1.0.0@" + dgA, filter: "semver:^1",
			cand: Candidate{Tag: "1.0.1"}, code: CodeNoDigest, reason: "pins a digest"},
		{name: "pinned: same tag without digest", image: "registry.example.com/team/app:1.0.0@" + dgA,
			cand: Candidate{Tag: "1.0.0"}, code: CodeNoDigest},
		{name: "pinned untagged", image: "registry.example.com/team/app@" + dgA, filter: "semver:^1",
			cand: Candidate{Tag: "1.0.1", Digest: dgB}, code: CodeUpdate, newRef: "registry.example.com/team/app:1.0.1@" + dgB},

		// The image's rule pins digests (pinDigest): an unpinned site decides as a pinned one.
		{name: "pinDigest: new tag gains the digest", image: "registry.example.com/team/app:1.0.0", filter: "semver:^1",
			cand: Candidate{Tag: "1.0.1", Digest: dgB, PinDigest: true}, code: CodeUpdate, newRef: "registry.example.com/team/app:1.0.1@" + dgB},
		{name: "pinDigest: same tag gains the digest", image: "registry.example.com/team/app:1.0.0",
			cand: Candidate{Tag: "1.0.0", Digest: dgB, PinDigest: true}, code: CodeUpdate, newRef: "registry.example.com/team/app:1.0.0@" + dgB, reason: "pins digests"},
		{name: "pinDigest: push without digest", image: "registry.example.com/team/app:1.0.0", filter: "semver:^1",
			cand: Candidate{Tag: "1.0.1", PinDigest: true}, code: CodeNoDigest},
		{name: "pinDigest: same tag same digest", image: "registry.example.com/team/app:1.0.0@" + dgA,
			cand: Candidate{Tag: "1.0.0", Digest: dgA, PinDigest: true}, code: CodeSame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := site(t, tt.image, tt.filter)
			if tt.site != nil {
				tt.site(&s)
			}
			d := Decide(context.Background(), s, tt.cand, tt.times)
			if d.Code != tt.code {
				t.Fatalf("Decide: code %q (%s), want %q", d.Code, d.Reason, tt.code)
			}
			if d.Update != (tt.code == CodeUpdate) {
				t.Errorf("Update = %v with code %q", d.Update, d.Code)
			}
			if d.Current != s.Ref {
				t.Errorf("Current = %v, want %v", d.Current, s.Ref)
			}
			if tt.code == CodeUpdate {
				if got := d.New.String(); got != tt.newRef && tt.newRef != "" {
					t.Errorf("New = %s, want %s", got, tt.newRef)
				}
				if d.New.Name() != s.Ref.Name() {
					t.Errorf("New changes the written name: %s → %s", s.Ref.Name(), d.New.Name())
				}
			} else if d.New != (imageref.Reference{}) {
				t.Errorf("New = %v on a skip", d.New)
			}
			if !strings.Contains(d.Reason, tt.reason) || d.Reason == "" {
				t.Errorf("Reason = %q, want it to contain %q", d.Reason, tt.reason)
			}
		})
	}
}

func TestNewer(t *testing.T) {
	semverF, _ := ParseFilter("semver:*")
	globF, _ := ParseFilter("*")
	tests := []struct {
		name string
		f    Filter
		a, b Candidate
		want bool
	}{
		{"semver higher", semverF, Candidate{Tag: "1.10.0"}, Candidate{Tag: "1.9.0"}, true},
		{"semver lower", semverF, Candidate{Tag: "1.9.0"}, Candidate{Tag: "1.10.0"}, false},
		{"semver equal versions: smaller tag", semverF, Candidate{Tag: "1.2"}, Candidate{Tag: "1.2.0"}, true},
		{"semver equal versions: larger tag", semverF, Candidate{Tag: "1.2.0"}, Candidate{Tag: "1.2"}, false},
		{"semver beats non-version", semverF, Candidate{Tag: "0.1"}, Candidate{Tag: "main"}, true},
		{"non-version loses", semverF, Candidate{Tag: "main"}, Candidate{Tag: "0.1"}, false},
		{"glob later push", globF, Candidate{Tag: "a", PushedAt: at(2)}, Candidate{Tag: "b", PushedAt: at(1)}, true},
		{"glob earlier push", globF, Candidate{Tag: "a", PushedAt: at(1)}, Candidate{Tag: "b", PushedAt: at(2)}, false},
		{"glob tie smaller tag", globF, Candidate{Tag: "a", PushedAt: at(1)}, Candidate{Tag: "b", PushedAt: at(1)}, true},
		{"glob tie larger tag", globF, Candidate{Tag: "b", PushedAt: at(1)}, Candidate{Tag: "a", PushedAt: at(1)}, false},
		{"same tag later push", globF, Candidate{Tag: "a", Digest: dgB, PushedAt: at(2)}, Candidate{Tag: "a", Digest: dgA, PushedAt: at(1)}, true},
		{"same tag semver later push", semverF, Candidate{Tag: "1.0.0", Digest: dgB, PushedAt: at(2)}, Candidate{Tag: "1.0.0", Digest: dgA, PushedAt: at(1)}, true},
		{"identical", globF, Candidate{Tag: "a", PushedAt: at(1)}, Candidate{Tag: "a", PushedAt: at(1)}, false},
	}
	for _, tt := range tests {
		if got := newerCandidate(tt.f, tt.a, tt.b); got != tt.want {
			t.Errorf("%s: newerCandidate(%v, %v) = %v, want %v", tt.name, tt.a, tt.b, got, tt.want)
		}
	}
}

// FuzzDecideNeverOlder checks the rule hoist adds to Flux: under a semver
// filter an approved update always moves to a higher version, and an update
// never changes the repository as written.
func FuzzDecideNeverOlder(f *testing.F) {
	for _, s := range [][3]string{
		{"1.2.3", "1.2.4", "semver:~1.2"}, {"v2.3.1", "2.3", "semver:>=2"}, {"latest", "1.0.0", "semver:*"},
		{"1.0.0-rc.1", "1.0.0", "semver:>=1.0.0-0"}, {"main-a", "main-b", "glob:main-*"}, {"", "1.0", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, current, cand, filter string) {
		image := "registry.example.com/team/app"
		if current != "" {
			image += ":" + current
		}
		ref, err := imageref.Parse(image)
		if err != nil {
			return
		}
		s := manifest.Site{Ref: ref, Policy: manifest.Policy{Automated: true, Filter: filter}}
		d := Decide(context.Background(), s, Candidate{Tag: cand}, nil)
		if !d.Update {
			return
		}
		if d.New.Name() != ref.Name() || d.New.Tag != cand {
			t.Fatalf("update %s → %s changes more than the tag", ref, d.New)
		}
		flt, err := ParseFilter(filter)
		if err != nil {
			t.Fatalf("update under invalid filter %q", filter)
		}
		if !flt.Match(cand) {
			t.Fatalf("update to %q which %s does not match", cand, flt)
		}
		if flt.Kind != Semver || current == "" {
			return
		}
		cv, err1 := parseVersion(cand)
		ov, err2 := parseVersion(current)
		if err1 == nil && err2 == nil && !cv.GreaterThan(ov) {
			t.Fatalf("semver update %s → %s is not to a higher version", current, cand)
		}
	})
}

// ctxTimes answers only lookups made with the context it was given.
type ctxTimes struct {
	want context.Context
	pushTimes
}

func (c ctxTimes) FirstSeen(ctx context.Context, repo, tag string) (time.Time, bool) {
	if ctx != c.want {
		return time.Time{}, false
	}
	return c.pushTimes.FirstSeen(ctx, repo, tag)
}

// The first-seen lookups of a decision, a hold and a re-check are made
// with the caller's context, which bounds them: the times live in NATS.
func TestFirstSeenGetsTheCallersContext(t *testing.T) {
	repo := "registry.example.com/team/app"
	ctx := t.Context()
	times := ctxTimes{want: ctx, pushTimes: pushTimes{repo: repo, at: map[string]time.Time{"main-a": at(10), "main-b": at(20)}}}
	s := site(t, repo+":main-b", "main-*")
	// Only history known through the context says main-a is older.
	if d := Decide(ctx, s, Candidate{Tag: "main-a", PushedAt: at(30)}, times); d.Code != CodeNotNewer {
		t.Errorf("Decide = %s (%s), want %s", d.Code, d.Reason, CodeNotNewer)
	}
	if NewerTag(ctx, s, "main-a", "main-b", times) {
		t.Error("NewerTag: main-a newer than main-b")
	}
	if RolledBack(ctx, site(t, repo+":main-b", "main-*"), s.Ref, "main-a", times) {
		t.Error("RolledBack: main-b counted as set back from the older main-a")
	}
}
