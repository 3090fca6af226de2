package manifest

import (
	"strings"
	"testing"
)

// hr wraps values (indented two spaces per level already) and annotations
// into a HelmRelease document.
func hr(annotations, values string) string {
	return "apiVersion: helm.fluxcd.io/v1\nkind: HelmRelease\nmetadata:\n  name: r\n  annotations:\n    x: y\n" +
		indent(annotations, "    ") + "spec:\n  values:\n" + indent(values, "    ")
}

func indent(s, by string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = by + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// TestRules states each detection rule on a minimal document:
// the sites found ("container=reference", in order, "!" marking read-only)
// and a fragment of every problem reported.
func TestRules(t *testing.T) {
	tests := []struct {
		name     string
		doc      string
		sites    string
		problems []string
	}{
		{"top level is chart-image", hr("", "image: nginx:1.0\n"), "chart-image=nginx:1.0", nil},
		{"one level down is the key", hr("", "web:\n  image: nginx:1.0\n"), "web=nginx:1.0", nil},
		{"two levels down is not detected", hr("", "a:\n  b:\n    image: nginx:1.0\n"), "", nil},
		{"list items are not detected", hr("", "a:\n- image: nginx:1.0\n"), "", nil},
		{"image + tag", hr("", "image: nginx\ntag: \"1.0\"\n"), "chart-image=nginx:1.0", nil},
		{"registry + image + tag", hr("", "registry: ghcr.io\nimage: o/a\ntag: v1\n"), "chart-image=ghcr.io/o/a:v1", nil},
		{"image mapping", hr("", "image:\n  registry: ghcr.io\n  repository: o/a\n  tag: v1\n"), "chart-image=ghcr.io/o/a:v1", nil},
		{"unquoted number tag is read as its text", hr("", "image: nginx\ntag: 1.2\n"), "chart-image=nginx:1.2", nil},
		{"unquoted int tag is read as its text", hr("", "image: nginx\ntag: 7\n"), "chart-image=nginx:7", nil},
		{"null tag is ignored", hr("", "image: nginx\ntag: ~\n"), "!chart-image=nginx", nil},
		{"boolean tag is ignored", hr("", "image: nginx\ntag: true\n"), "!chart-image=nginx", nil},
		{"quoted number tag counts", hr("", "image: nginx\ntag: '1.2'\n"), "chart-image=nginx:1.2", nil},
		{"semver tag counts", hr("", "image: nginx\ntag: 1.2.3\n"), "chart-image=nginx:1.2.3", nil},
		{"date tag counts", hr("", "image: nginx\ntag: 2021-01-01\n"), "chart-image=nginx:2021-01-01", nil},
		{"empty registry is not an image", hr("", "registry: \"\"\nimage: nginx\n"), "", []string{"registry is empty"}},
		{"empty tag is not an image", hr("", "image: nginx\ntag: \"\"\n"), "", []string{"tag is empty"}},
		{"invalid combination is not an image", hr("", "image: nginx:1.0\ntag: \"1.2\"\n"), "", []string{"not a valid image"}},
		{"registry outside an image mapping is ignored", hr("", "registry: x.io\nimage:\n  repository: nginx\n"), "chart-image=nginx", nil},
		{"image mapping without repository", hr("", "image:\n  tag: v1\n"), "", nil},
		{"chart-image child replaces the top level", hr("", "image: a:1\nchart-image:\n  image: b:2\n"), "chart-image=b:2", nil},
		{"order: chart-image, then byte order", hr("", "image: a:1\nzz:\n  image: z:1\nAA:\n  image: x:1\nmm:\n  image: m:1\n"),
			"chart-image=a:1 AA=x:1 mm=m:1 zz=z:1", nil},
		{"alias", hr("repository.fluxcd.io/app: a.b.c.repo\ntag.fluxcd.io/app: a.b.c.tag\n", "a:\n  b:\n    c:\n      repo: r/app\n      tag: v1\n"),
			"app=r/app:v1", nil},
		{"alias replaces the detected container of the same name", hr("repository.fluxcd.io/web: web.other\n", "web:\n  image: a:1\n  other: b:2\n"),
			"web=b:2", nil},
		{"alias under another name lists both, read-only", hr("repository.fluxcd.io/app: web.image\n", "web:\n  image: a:1\n"),
			"!app=a:1 !web=a:1", nil},
		{"alias through a list", hr("repository.fluxcd.io/app: l.0\n", "l:\n- a:1\n"), "", []string{"lists are not searched"}},
		{"alias to a number", hr("repository.fluxcd.io/app: a\n", "a: 5\n"), "", []string{"not a string"}},
		{"alias missing", hr("repository.fluxcd.io/app: nope\n", "a: b\n"), "", []string{"does not resolve"}},
		{"alias without repository", hr("tag.fluxcd.io/app: a\n", "a: b\n"), "", []string{"needs repository.fluxcd.io/app"}},
		{"anchor and alias", hr("", "a: &i nginx:1\nweb:\n  image: *i\n"), "web=nginx:1", nil},
		{"merge key", hr("", "base: &b\n  image: nginx\n  tag: v1\nweb:\n  <<: *b\n  tag: v2\n"), "base=nginx:v1 web=nginx:v2", nil},
		{"shared tag is read-only", hr("", "a:\n  image: x\n  tag: &t v1\nb:\n  image: y\n  tag: *t\n"), "!a=x:v1 !b=y:v1", nil},
		{"automated true", hr("fluxcd.io/automated: \"true\"\n", "image: a:1\n"), "chart-image=a:1", nil},
		{"misspelt prefix", hr("filter.fluxd.io/web: glob:*\n", "web:\n  image: a:1\n"), "web=a:1", []string{"did you mean filter.fluxcd.io/web"}},
		{"misspelt policy", hr("fluxcd.io/automate: \"true\"\n", "image: a:1\n"), "chart-image=a:1", []string{"did you mean fluxcd.io/automated"}},
		{"filter for a missing container", hr("filter.fluxcd.io/wbe: glob:*\n", "web:\n  image: a:1\n"), "web=a:1", []string{`did you mean "web"`}},
		{"YAML that does not parse", "kind: HelmRelease\nspec: [\n", "", []string{"YAML does not parse"}},
		{"Deployment", "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        image: x:1\n      initContainers:\n      - name: i\n        image: y:1\n",
			"a=x:1 i=y:1", nil},
		{"CronJob", "kind: CronJob\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n          - name: c\n            image: x:1\n",
			"c=x:1", nil},
		{"Pod", "kind: Pod\nspec:\n  containers:\n  - name: p\n    image: x:1\n", "p=x:1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sites, problems := Parse("f.yaml", []byte(tt.doc))
			var got []string
			for _, s := range sites {
				ro := ""
				if s.ReadOnly != "" {
					ro = "!"
				}
				got = append(got, ro+s.Container+"="+s.Ref.String())
			}
			if strings.Join(got, " ") != tt.sites {
				t.Errorf("sites %q, want %q", strings.Join(got, " "), tt.sites)
			}
			if len(problems) != len(tt.problems) {
				t.Errorf("problems %v, want %d", problems, len(tt.problems))
			}
			for i, want := range tt.problems {
				if i < len(problems) && !strings.Contains(problems[i].Message, want) {
					t.Errorf("problem %q, want it to say %q", problems[i].Message, want)
				}
			}
		})
	}
}

func TestUTF16IsReported(t *testing.T) {
	sites, problems := Parse("f.yaml", []byte("\xff\xfek\x00i\x00n\x00d\x00"))
	if len(sites) != 0 || len(problems) != 1 || !strings.Contains(problems[0].Message, "UTF-16") {
		t.Errorf("sites %v problems %v", sites, problems)
	}
}
