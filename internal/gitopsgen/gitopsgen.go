// Package gitopsgen writes a synthetic GitOps repository for benchmarks and
// end-to-end tests: HelmRelease files in nested folders using every image
// shape hoist detects in a HelmRelease (plain string, split image/tag, registry keys, image
// mappings, aliases by annotation, digests), with policies and filters of
// every kind, some workloads and some files of broken YAML.
//
// The output depends only on (n, seed). Generate(dir, 10000, 1) is the
// repository `make bench` indexes.
package gitopsgen

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hoist-gitops/hoist/internal/imageref"
)

// Stats describes what Generate wrote.
type Stats struct {
	// Files is the number of .yaml files written (n).
	Files int
	// HelmReleases, Workloads and Broken count the files of each sort;
	// Broken files hold YAML that does not parse and yield no sites.
	HelmReleases, Workloads, Broken int
	// Sites is the number of image sites a correct detector finds.
	Sites int
	// Bytes is the total size of the files.
	Bytes int64
	// Paths are the files written, slash-separated, relative to dir, sorted.
	Paths []string
	// Repos counts the sites of each image repository, by canonical name
	// (imageref.Canonical).
	Repos map[string]int
	// Sample is the smallest canonical repository name with exactly one
	// site, for benchmarks and tests that push a single image.
	Sample string
}

// Every fraction below is out of 100 files.
const (
	workloadPercent = 6
	brokenPercent   = 1
)

// Generate writes n manifest files under dir (created if needed) from the
// given seed and reports what it wrote. About 93% of the files are
// HelmReleases with one to five images each (about three on average), 6%
// are workloads, 1% are broken YAML.
func Generate(dir string, n int, seed int64) (Stats, error) {
	g := &gen{
		rng:   rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15)),
		stats: Stats{Repos: map[string]int{}},
	}
	for i := range n {
		var rel, body string
		switch r := g.rng.IntN(100); {
		case i > 0 && r < brokenPercent:
			rel, body = g.broken(i)
			g.stats.Broken++
		case i > 0 && r < brokenPercent+workloadPercent:
			rel, body = g.workload(i)
			g.stats.Workloads++
		default:
			rel, body = g.helmRelease(i)
			g.stats.HelmReleases++
		}
		path := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return g.stats, fmt.Errorf("generate %s: %w", rel, err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			return g.stats, fmt.Errorf("generate %s: %w", rel, err)
		}
		g.stats.Files++
		g.stats.Bytes += int64(len(body))
		g.stats.Paths = append(g.stats.Paths, rel)
	}
	sort.Strings(g.stats.Paths)
	for r, k := range g.stats.Repos {
		if k == 1 && (g.stats.Sample == "" || r < g.stats.Sample) {
			g.stats.Sample = r
		}
	}
	return g.stats, nil
}

type gen struct {
	rng   *rand.Rand
	stats Stats
}

var (
	envs      = []string{"production", "staging", "dev"}
	teams     = []string{"payments", "search", "identity", "platform", "data", "web", "mobile", "ml"}
	hosts     = []string{"", "docker.io/", "ghcr.io/", "quay.io/", "registry.example.com/", "127.0.0.1:5000/", "eu.gcr.io/"}
	children  = []string{"api", "worker", "web", "sidecar", "proxy", "exporter", "migrations", "cron"}
	shared    = []string{"nginx", "bitnami/redis", "prom/prometheus", "quay.io/prometheus/node-exporter", "ghcr.io/fluxcd/flagger"}
	prefixes  = []string{"fluxcd.io/", "flux.weave.works/"}
	semverFil = []string{"semver:~1.2", "semver:^1", "semver:>=1.0.0", "semver: ~2.3", "semver:>=1.0.0-0"}
	globFil   = []string{"glob:*", "glob:main-*", "v1.*", "glob: *", "release-*"}
	regexFil  = []string{"regex:^1\\.[0-9]+\\.[0-9]+$", "regexp:^main-[a-f0-9]+$", "regexp:^v?2\\."}
)

func (g *gen) pick(xs []string) string { return xs[g.rng.IntN(len(xs))] }

// repo returns an image repository name as written ([host/]path): mostly
// one unique to this file and container, sometimes a widely shared one.
func (g *gen) repo(file int, container string) string {
	var r string
	if g.rng.IntN(10) == 0 {
		r = g.pick(shared)
	} else {
		r = fmt.Sprintf("%steam-%d/%s-%d", g.pick(hosts), file%97, container, file)
	}
	host, path := imageref.SplitHost(r)
	g.stats.Repos[imageref.Canonical(host, path)]++
	g.stats.Sites++
	return r
}

// tag returns a tag that YAML always reads as a string (never a bare number).
func (g *gen) tag() string {
	switch g.rng.IntN(4) {
	case 0:
		return fmt.Sprintf("v%d.%d.%d", 1+g.rng.IntN(3), g.rng.IntN(20), g.rng.IntN(30))
	case 1:
		return fmt.Sprintf("main-%07x", g.rng.Uint32()>>4)
	default:
		return fmt.Sprintf("%d.%d.%d", 1+g.rng.IntN(3), g.rng.IntN(20), g.rng.IntN(30))
	}
}

func (g *gen) digest() string {
	return fmt.Sprintf("sha256:%016x%016x%016x%016x", g.rng.Uint64(), g.rng.Uint64(), g.rng.Uint64(), g.rng.Uint64())
}

func (g *gen) folder(i int) string {
	return fmt.Sprintf("clusters/%s/%s/apps-%d", envs[i%len(envs)], teams[(i/3)%len(teams)], (i/24)%40)
}

// filter returns a filter pattern; roughly one in a hundred is invalid.
func (g *gen) filter() string {
	switch r := g.rng.IntN(100); {
	case r == 0:
		return "semver:not-a-version"
	case r < 40:
		return g.pick(semverFil)
	case r < 75:
		return g.pick(globFil)
	default:
		return g.pick(regexFil)
	}
}

// helmRelease returns the path and text of one HelmRelease file.
func (g *gen) helmRelease(i int) (string, string) {
	name := fmt.Sprintf("%s-%d", g.pick(children), i)
	ns := g.pick(teams)
	var ann, vals strings.Builder
	prefix := g.pick(prefixes)
	switch r := g.rng.IntN(20); {
	case r < 14:
		fmt.Fprintf(&ann, "    %sautomated: \"true\"\n", prefix)
	case r == 14:
		fmt.Fprintf(&ann, "    %sautomated: \"true\"\n    %slocked: \"true\"\n", prefix, prefix)
	case r == 15:
		fmt.Fprintf(&ann, "    %sautomated: 'true'\n    %signore: \"true\"\n", prefix, prefix)
	}
	images := 1 + g.rng.IntN(5) // 1..5, three on average
	containers := []string{}
	if g.rng.IntN(3) > 0 {
		containers = append(containers, "chart-image")
	}
	for _, c := range g.rng.Perm(len(children)) {
		if len(containers) >= images {
			break
		}
		containers = append(containers, children[c])
	}
	fmt.Fprintf(&vals, "    replicaCount: %d\n    # values for %s\n", 1+g.rng.IntN(5), name)
	for _, c := range containers {
		if g.rng.IntN(2) == 0 {
			writeFilter(&ann, g.filterKey(prefix, c), g.filter())
		}
		indent := "      "
		if c == "chart-image" {
			indent = "    "
		} else {
			fmt.Fprintf(&vals, "    %s:\n", c)
		}
		repo := g.repo(i, c)
		g.shape(&vals, indent, repo)
		fmt.Fprintf(&vals, "%sresources:\n%s  limits: {cpu: 100m, memory: 128Mi}\n", indent, indent)
	}
	if g.rng.IntN(4) == 0 { // an aliased image, deeper than detection looks
		alias := "deep" + fmt.Sprint(g.rng.IntN(3))
		repo := g.repo(i, alias)
		fmt.Fprintf(&ann, "    repository.fluxcd.io/%s: sub.%s.img\n    tag.fluxcd.io/%s: sub.%s.tag\n", alias, alias, alias, alias)
		fmt.Fprintf(&vals, "    sub:\n      %s:\n        img: %s\n        tag: %q\n", alias, repo, g.tag())
		if g.rng.IntN(2) == 0 {
			writeFilter(&ann, "filter.fluxcd.io/"+alias, "glob: *")
		}
	}
	fmt.Fprintf(&vals, "    ingress:\n      enabled: %v\n      hosts:\n        - %s.example.com\n", g.rng.IntN(2) == 0, name)
	var b strings.Builder
	if g.rng.IntN(8) == 0 { // a multi-document file
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-config\ndata:\n  image: not/an-image-site:1.0\n---\n", name)
	}
	fmt.Fprintf(&b, "apiVersion: %s\nkind: HelmRelease\nmetadata:\n  name: %s\n  namespace: %s\n", g.pick([]string{"helm.fluxcd.io/v1", "helm.toolkit.fluxcd.io/v2", "helm.toolkit.fluxcd.io/v2beta1"}), name, ns)
	if ann.Len() > 0 {
		b.WriteString("  annotations:\n")
		b.WriteString(ann.String())
	}
	fmt.Fprintf(&b, "spec:\n  releaseName: %s\n  chart:\n    repository: https://charts.example.com/\n    name: %s\n    version: 1.%d.0\n  values:\n", name, name, g.rng.IntN(9))
	b.WriteString(vals.String())
	return fmt.Sprintf("%s/%s.yaml", g.folder(i), name), b.String()
}

func (g *gen) filterKey(prefix, container string) string {
	if g.rng.IntN(3) == 0 {
		return prefix + "tag." + container
	}
	return "filter.fluxcd.io/" + container
}

func writeFilter(b *strings.Builder, key, pattern string) {
	fmt.Fprintf(b, "    %s: '%s'\n", key, strings.ReplaceAll(pattern, "'", "''"))
}

// shape writes one detected image in one of the shapes of a HelmRelease's values.
func (g *gen) shape(b *strings.Builder, in, repo string) {
	tag := g.tag()
	host, path := imageref.SplitHost(repo)
	switch g.rng.IntN(8) {
	case 0:
		fmt.Fprintf(b, "%simage: %s:%s\n", in, repo, tag)
	case 1:
		fmt.Fprintf(b, "%simage: \"%s:%s@%s\"\n", in, repo, tag, g.digest())
	case 2:
		fmt.Fprintf(b, "%simage: %s\n%stag: %q\n", in, repo, in, tag)
	case 3:
		if host == "" {
			host = "docker.io"
		}
		fmt.Fprintf(b, "%sregistry: %s\n%simage: %s\n%stag: '%s'\n", in, host, in, path, in, tag)
	case 4, 5:
		fmt.Fprintf(b, "%simage:\n%s  repository: %s\n%s  tag: %s\n%s  pullPolicy: IfNotPresent\n", in, in, repo, in, tag, in)
	case 6:
		if host == "" {
			host = "docker.io"
		}
		fmt.Fprintf(b, "%simage:\n%s  registry: %s\n%s  repository: %s\n%s  tag: %s\n", in, in, host, in, path, in, tag)
	default: // untagged
		fmt.Fprintf(b, "%simage: %s\n", in, repo)
	}
}

var workloadKinds = []string{"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"}

func (g *gen) workload(i int) (string, string) {
	kind := g.pick(workloadKinds)
	name := fmt.Sprintf("%s-%d", strings.ToLower(kind), i)
	var ann strings.Builder
	if g.rng.IntN(3) > 0 {
		ann.WriteString("    fluxcd.io/automated: \"true\"\n")
	}
	var pod strings.Builder
	in := "      "
	switch kind {
	case "Pod":
		in = "  "
	case "CronJob":
		in = "          "
	}
	if g.rng.IntN(3) == 0 {
		fmt.Fprintf(&pod, "%sinitContainers:\n%s  - name: init\n%s    image: %s:%s\n", in, in, in, g.repo(i, "init"), g.tag())
	}
	fmt.Fprintf(&pod, "%scontainers:\n", in)
	for k := range 1 + g.rng.IntN(2) {
		c := fmt.Sprintf("main%d", k)
		if g.rng.IntN(2) == 0 {
			writeFilter(&ann, "filter.fluxcd.io/"+c, g.filter())
		}
		fmt.Fprintf(&pod, "%s  - name: %s\n%s    image: %s:%s\n%s    ports:\n%s      - containerPort: %d\n", in, c, in, g.repo(i, c), g.tag(), in, in, 8080+k)
	}
	var b strings.Builder
	api := "apps/v1"
	switch kind {
	case "Pod":
		api = "v1"
	case "Job", "CronJob":
		api = "batch/v1"
	}
	fmt.Fprintf(&b, "apiVersion: %s\nkind: %s\nmetadata:\n  name: %s\n  namespace: %s\n", api, kind, name, g.pick(teams))
	if ann.Len() > 0 {
		b.WriteString("  annotations:\n")
		b.WriteString(ann.String())
	}
	b.WriteString("spec:\n")
	switch kind {
	case "Pod":
	case "CronJob":
		b.WriteString("  schedule: \"*/5 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n")
	default:
		b.WriteString("  template:\n    spec:\n")
	}
	b.WriteString(pod.String())
	return fmt.Sprintf("%s/workloads/%s.yaml", g.folder(i), name), b.String()
}

func (g *gen) broken(i int) (string, string) {
	bodies := []string{
		"apiVersion: helm.fluxcd.io/v1\nkind: HelmRelease\nmetadata:\n  name: broken-%d\nspec:\n  values:\n    image: [unclosed\n",
		"apiVersion: helm.fluxcd.io/v1\nkind: HelmRelease\nmetadata:\n  name: broken-%d\n spec:\n  values: {}\n",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: broken-%d\n\tannotations: {}\n",
	}
	return fmt.Sprintf("%s/broken-%d.yaml", g.folder(i), i), fmt.Sprintf(g.pick(bodies), i)
}
