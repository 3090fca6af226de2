package manifest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fidelityCase is one manifest (a file under testdata/parse, or an inline
// document) and what Parse must make of it.
type fidelityCase struct {
	name string
	file string // under testdata/parse; empty when doc is given
	doc  string
	// sites lists every site as "<resource> <container>=<reference>",
	// "!" before the resource marking a read-only site, joined by "; ".
	sites string
	// problems are fragments of every problem, in order: the file's
	// ("L<line> [<resource>: ]<message>") then each site's
	// ("<container>: <message>").
	problems []string
}

func runFidelity(t *testing.T, tests []fidelityCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, data := "f.yaml", []byte(tt.doc)
			if tt.file != "" {
				name = filepath.Join("testdata/parse", tt.file)
				var err error
				if data, err = os.ReadFile(name); err != nil {
					t.Fatal(err)
				}
			}
			sites, problems := Parse(name, data)
			checkSpans(t, name, data, sites, problems)
			var got, msgs []string
			for _, p := range problems {
				if p.Resource != "" {
					msgs = append(msgs, fmt.Sprintf("L%d %s: %s", p.Line, p.Resource, p.Message))
				} else {
					msgs = append(msgs, fmt.Sprintf("L%d %s", p.Line, p.Message))
				}
			}
			for _, s := range sites {
				ro := ""
				if s.ReadOnly != "" {
					ro = "!"
				}
				got = append(got, ro+s.Resource.String()+" "+s.Container+"="+s.Ref.String())
				for _, p := range s.Problems {
					msgs = append(msgs, s.Container+": "+p)
				}
			}
			if g := strings.Join(got, "; "); g != tt.sites {
				t.Errorf("sites\n  %s\nwant\n  %s", g, tt.sites)
			}
			if len(msgs) != len(tt.problems) {
				t.Errorf("%d problems, want %d:\n  %s", len(msgs), len(tt.problems), strings.Join(msgs, "\n  "))
				return
			}
			for i, want := range tt.problems {
				if !strings.Contains(msgs[i], want) {
					t.Errorf("problem %q, want it to say %q", msgs[i], want)
				}
			}
			// Every site of the manifest can be edited (or is refused for
			// the reason it gives) with the edit property holding.
			for i, s := range sites {
				err := checkEdit(t, name, data, i, "9.9.9", testDigest)
				if err != nil && s.ReadOnly == "" {
					t.Errorf("edit of %s %s: %v", s.Resource, s.Container, err)
				}
			}
		})
	}
}

// TestListKinds: Flux v1 reads the items of kind List and of every kind
// ending in List; each item is a resource with its own namespace,
// annotations and problems, and is edited in place.
func TestListKinds(t *testing.T) {
	runFidelity(t, []fidelityCase{
		{name: "List, HelmReleaseList with quoted keys, DeploymentList", file: "lists.yaml",
			sites: "apps:helmrelease/shop web=repo/web:1.2.3; apps:helmrelease/shop worker=repo/worker:v1; " +
				"default:deployment/api api=repo/api:v1; " +
				"one:helmrelease/podinfo chart-image=repo/podinfo:6.0.0; two:helmrelease/podinfo chart-image=repo/podinfo:6.0.1; " +
				"two:helmrelease/podinfo sidecar=repo/sidecar:v2@" + "sha256:" + strings.Repeat("2", 64) + "; " +
				"default:helmrelease/third web=repo/third:v1; " +
				"batch:deployment/a main=repo/main:v1@sha256:" + strings.Repeat("1", 64) + "; batch:deployment/a init=repo/init:v1; " +
				"default:cronjob/nightly job=repo/job:v3",
			problems: []string{"L39 items[3] is itself a list (kind List): a List inside a List is not read",
				`L71 default:helmrelease/third: filter filter.fluxcd.io/wbe is for container "wbe", which this resource does not have`}},
		{name: "kind ending in List, quoted kind key", doc: "'kind': HelmReleaseList\nitems:\n- 'kind': HelmRelease\n  metadata: {name: a}\n" +
			"  spec: {values: {image: repo/a:v1}}\n",
			sites: "default:helmrelease/a chart-image=repo/a:v1"},
		{name: "anchor shared by two items is read-only in both", doc: "kind: List\nitems:\n" +
			"- kind: HelmRelease\n  metadata: {name: a}\n  spec:\n    values:\n      web: {image: repo/a, tag: &t v1}\n" +
			"- kind: HelmRelease\n  metadata: {name: b}\n  spec:\n    values:\n      web: {image: repo/b, tag: *t}\n",
			sites: "!default:helmrelease/a web=repo/a:v1; !default:helmrelease/b web=repo/b:v1",
			problems: []string{"web: the tag at line 7 is shared (YAML anchor) with container web of default:helmrelease/b",
				"web: the tag at line 7 is shared (YAML anchor) with container web of default:helmrelease/a"}},
		{name: "items that are not a list", doc: "kind: List\nitems: {kind: Pod}\n",
			problems: []string{"L2 items is a mapping, not a list; Flux v1 refuses"}},
		{name: "an item that is not a mapping", doc: "kind: DeploymentList\nitems:\n- just a string\n" +
			"- kind: Deployment\n  metadata: {name: d}\n  spec: {template: {spec: {containers: [{name: c, image: 'r:1'}]}}}\n",
			sites:    "default:deployment/d c=r:1",
			problems: []string{"L3 items[0] is a string, not a mapping; Flux v1 refuses"}},
		{name: "item problems name the item", doc: "kind: List\nitems:\n- kind: Deployment\n  metadata: {name: d, namespace: n}\n" +
			"  spec: {template: {spec: {containers: [{image: 'r:1'}]}}}\n",
			problems: []string{"L5 n:deployment/d: containers entry without a name"}},
	})
}

// TestFilesFluxRefuses: whatever makes Flux v1 refuse a file is reported,
// naming the file and line, while the valid documents are still read.
func TestFilesFluxRefuses(t *testing.T) {
	refuses := "Flux v1 refuses"
	runFidelity(t, []fidelityCase{
		{name: "YAML error in a document of any kind", file: "refused-yaml-error.yaml",
			sites:    "default:helmrelease/web chart-image=repo/web:v1",
			problems: []string{"L16 YAML does not parse", "L23 YAML does not parse"}},
		{name: "anchor used across documents", file: "refused-cross-anchor.yaml",
			sites: "default:helmrelease/other chart-image=repo/other:v1",
			problems: []string{"L16 YAML does not parse: unknown anchor 'webtag' referenced (anchor &webtag is defined in an earlier document " +
				"of this file; YAML anchors do not reach across documents"}},
		{name: "spec, values and other fields of the wrong type", file: "refused-types.yaml",
			sites: "default:deployment/containersmap ok=repo/ok:v1; default:helmrelease/fine chart-image=repo/fine:v1",
			problems: []string{
				"L8 default:helmrelease/specstring: spec is a string, not a mapping; " + refuses,
				"L15 default:helmrelease/valuesstring: spec.values is a string, not a mapping; " + refuses,
				"L20 metadata is a string, not a mapping; " + refuses,
				"L29 default:helmrelease/annotationslist: metadata.annotations is a list, not a mapping; " + refuses,
				"L40 default:deployment/templatescalar: spec.template is a string, not a mapping; " + refuses,
				"L49 default:deployment/containersmap: containers is a mapping, not a list; " + refuses,
				"L53 default:deployment/containersmap: initContainers[0] is a string, not a mapping; " + refuses,
				"L60 metadata.name is a mapping, not a string; " + refuses,
				"L63 kind is a list, not a string; " + refuses,
			}},
		{name: "values a list, document a list or a scalar", doc: "kind: HelmRelease\nmetadata: {name: l}\nspec:\n  values:\n  - image: r:1\n" +
			"---\n- a list\n---\njust a scalar\n---\n# only a comment\n",
			problems: []string{"L4 default:helmrelease/l: spec.values is a list, not a mapping; " + refuses,
				"L7 the document is a list, not a mapping; " + refuses, "L9 the document is a string, not a mapping; " + refuses}},
		{name: "null key, list key, .inf and .nan in a HelmRelease", file: "refused-json.yaml",
			sites: "default:helmrelease/json 1=repo/one:v1; default:helmrelease/json web=repo/web:v1",
			problems: []string{`L9 default:helmrelease/json: a key is null ("~"); Flux v1 converts a HelmRelease to JSON`,
				`L11 default:helmrelease/json: a key is null ("null")`, "L13 default:helmrelease/json: a key is a list",
				"L17 default:helmrelease/json: value .inf is not a number JSON can hold", "L18 default:helmrelease/json: value -.Inf",
				"L19 default:helmrelease/json: value .nan"}},
		{name: "empty key in a HelmRelease", doc: "kind: HelmRelease\nmetadata: {name: e}\nspec:\n  values:\n    ? \n    : {image: r:1}\n",
			problems: []string{"L5 default:helmrelease/e: a key is null (an empty key)"}},
		{name: "Job and Pod specs are not decoded by Flux v1: not a refusal", doc: "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: x\n" +
			"---\nkind: Job\nmetadata: {name: j}\nspec:\n  template: [x]\n",
			problems: []string{"L4 default:pod/p: containers is a string, not a list; its images are not read",
				"L9 default:job/j: spec.template is a list, not a mapping; its images are not read"}},
		{name: "annotations that are not a mapping, any kind", doc: "kind: ConfigMap\nmetadata:\n  name: c\n  annotations: [a]\n",
			problems: []string{"L4 default:configmap/c: metadata.annotations is a list, not a mapping; " + refuses}},
		{name: "annotation that is a mapping or a list", doc: "kind: Deployment\nmetadata:\n  name: d\n  annotations:\n" +
			"    example.com/config: {a: b}\n    fluxcd.io/automated: [\"true\"]\n",
			problems: []string{"L5 default:deployment/d: annotation example.com/config is a mapping, not a string; it is ignored, and " + refuses,
				"L6 default:deployment/d: annotation fluxcd.io/automated is a list, not a string; it is ignored, and " + refuses}},
		{name: "null key outside values, in a List item", doc: "kind: HelmReleaseList\nitems:\n- kind: HelmRelease\n  metadata: {name: e, ~: x}\n",
			problems: []string{"L4 default:helmrelease/e: a key is null"}},
		{name: "same resource twice in one file", file: "refused-duplicates.yaml",
			sites: "default:helmrelease/web chart-image=repo/web:v1; default:helmrelease/web chart-image=repo/web:v2; " +
				"apps:helmrelease/shared chart-image=repo/shared:v1",
			problems: []string{"L17 default:helmrelease/web: resource is defined twice in this file (first at line 4); " + refuses,
				"L28 default:configmap/settings: resource is defined twice in this file (first at line 12)"}},
	})
}

// TestFilesFluxRefusesDuplicatesAcrossFiles: a resource defined in two
// files is reported in both, each naming the other (the index reports these
// with DuplicateResources).
func TestFilesFluxRefusesDuplicatesAcrossFiles(t *testing.T) {
	var all []Site
	for _, f := range []string{"refused-duplicates-other.yaml", "refused-duplicates.yaml", "lists.yaml"} {
		name := filepath.Join("testdata/parse", f)
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sites, _ := Parse(name, data)
		all = append(all, sites...)
	}
	var got []string
	for _, p := range DuplicateResources(all) {
		got = append(got, p.String())
	}
	want := []string{
		"testdata/parse/refused-duplicates-other.yaml:10: apps:helmrelease/shared: resource is also defined in " +
			"testdata/parse/refused-duplicates.yaml:45; Flux v1 refuses a repository that defines a resource twice",
		"testdata/parse/refused-duplicates.yaml:45: apps:helmrelease/shared: resource is also defined in " +
			"testdata/parse/refused-duplicates-other.yaml:10; Flux v1 refuses a repository that defines a resource twice",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// retagCase is one edit of a site of a testdata/parse file and the
// replacement texts it must produce, in file order (or the error).
type retagCase struct {
	name, file, container, tag, digest string
	want                               []string
	err                                error
}

func runRetag(t *testing.T, tests []retagCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run("edit "+tt.name, func(t *testing.T) {
			file := filepath.Join("testdata/parse", tt.file)
			data, i := findSite(t, file, tt.container)
			err := checkEdit(t, file, data, i, tt.tag, tt.digest)
			if tt.err != nil || err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				return
			}
			sites, _ := Parse(file, data)
			reps, _, err := Retag(data, sites[i], tt.tag, tt.digest)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range reps {
				got = append(got, r.Text)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("replacements %q, want %q", got, tt.want)
			}
		})
	}
}

// TestDigestKeys: a digest: key that is invalid, not a string, or would
// double a digest the repository or tag already carries leaves the image
// listed, read-only, with the reason.
func TestDigestKeys(t *testing.T) {
	d1, d3 := "sha256:"+strings.Repeat("1", 64), "sha256:"+strings.Repeat("3", 64)
	runFidelity(t, []fidelityCase{
		{name: "invalid, non-string and double digests", file: "digest-keys.yaml",
			sites: "!default:helmrelease/digestkeys double=repo/double@" + d1 +
				"; !default:helmrelease/digestkeys doubleintag=repo/doubleintag:v1@" + d1 +
				"; !default:helmrelease/digestkeys doubletagged=repo/doubletagged:v1@" + d1 +
				"; !default:helmrelease/digestkeys invalid=repo/invalid:v1" +
				"; !default:helmrelease/digestkeys mapping=repo/mapping" +
				"; !default:helmrelease/digestkeys number=repo/number:v1" +
				"; !default:helmrelease/digestkeys short=repo/short:v1" +
				"; default:helmrelease/digestkeys valid=repo/valid:v1@" + d3,
			problems: []string{
				"double: digest at line 30 is given while the repository already carries a digest, so the chart would build a double digest",
				"doubleintag: digest at line 38 is given while the tag already carries a digest",
				"doubletagged: digest at line 34 is given while the image already carries a digest",
				`invalid: digest at line 12 ("sha256:nothex") is not a valid digest`,
				"mapping: digest at line 25 is a mapping, not a string: the image is read without this digest and hoist will not edit it",
				"number: digest at line 21 is a number (12345), not a string",
				`short: digest at line 17 ("sha256:1234") is not a valid digest`,
			}},
		{name: "invalid digest beside a non-string tag: both reasons", doc: hr("", "image:\n  repository: r\n  tag: true\n  digest: nope\n"),
			sites:    "!default:helmrelease/r chart-image=r",
			problems: []string{"chart-image: digest at line 12", "chart-image: tag at line 11 is a boolean"}},
		{name: "empty and null digests mean not pinned", doc: hr("", "a: {image: r, tag: v1, digest: ''}\nb: {image: r, tag: v1, digest: ~}\n"),
			sites: "default:helmrelease/r a=r:v1; default:helmrelease/r b=r:v1"},
	})
	runRetag(t, []retagCase{
		{"invalid digest is read-only", "digest-keys.yaml", "invalid", "v2", d1, nil, ErrReadOnly},
		{"double digest is read-only", "digest-keys.yaml", "doubletagged", "v2", d1, nil, ErrReadOnly},
	})
}

// TestDigestInImageWithTag: image: repo@sha256:… with a separate tag: key
// reads repo:tag@sha256:…; an edit writes the tag in the tag key and the
// digest in the image, each in its own quoting.
func TestDigestInImageWithTag(t *testing.T) {
	d1, d2, d3, d4 := "sha256:"+strings.Repeat("1", 64), "sha256:"+strings.Repeat("2", 64), "sha256:"+strings.Repeat("3", 64), "sha256:"+strings.Repeat("4", 64)
	runFidelity(t, []fidelityCase{
		{name: "image, registry and repository shapes", file: "digest-in-image.yaml",
			sites: "default:helmrelease/splitdigest mapped=repo/mapped:v2@" + d3 +
				"; default:helmrelease/splitdigest registry=ghcr.io/org/app:1.0@" + d2 +
				"; default:helmrelease/splitdigest web=repo/web:v1.2.3@" + d1,
			problems: []string{"L23 default:helmrelease/splitdigest: spec.values.both: image \"repo/both:v0@" + d4 + "\" + tag \"v1\" is not a valid image"}},
		{name: "alias with a digest in the repository", doc: hr("repository.fluxcd.io/app: a.repo\ntag.fluxcd.io/app: a.tag\n",
			"a:\n  repo: r/app@"+d1+"\n  tag: v1\n"),
			sites: "default:helmrelease/r app=r/app:v1@" + d1},
	})
	runRetag(t, []retagCase{
		{"tag and digest", "digest-in-image.yaml", "web", "v1.3.0", d4, []string{"repo/web@" + d4, "v1.3.0"}, nil},
		{"same tag, new digest: the image alone", "digest-in-image.yaml", "web", "v1.2.3", d4, []string{"repo/web@" + d4}, nil},
		{"new tag needs a digest", "digest-in-image.yaml", "web", "v1.3.0", "", nil, ErrDigestRequired},
		{"registry beside: quoting kept", "digest-in-image.yaml", "registry", "1.1", d4, []string{`"org/app@` + d4 + `"`, "'1.1'"}, nil},
		{"repository mapping", "digest-in-image.yaml", "mapped", "v3", d4, []string{"repo/mapped@" + d4, "v3"}, nil},
	})
}

// TestNumericTag: a plain number in a tag key is read as its text (1.10 is
// "1.10", never 1.1) and edited; the new tag is written quoted when plain
// text would read as anything but a string. A number Helm would print
// differently from its text is reported.
func TestNumericTag(t *testing.T) {
	d1 := "sha256:" + strings.Repeat("1", 64)
	runFidelity(t, []fidelityCase{
		{name: "numbers in tag keys", file: "numeric-tags.yaml",
			sites: "default:helmrelease/numbers big=repo/big:20240101; !default:helmrelease/numbers bool=repo/bool" +
				"; !default:helmrelease/numbers explicit=repo/explicit; default:helmrelease/numbers float=repo/float:1.9" +
				"; default:helmrelease/numbers flow=repo/flow:4.5; !default:helmrelease/numbers inf=repo/inf" +
				"; default:helmrelease/numbers int=repo/int:7; default:helmrelease/numbers mapped=repo/mapped:3.2" +
				"; default:helmrelease/numbers pinned=repo/pinned:2.0@" + d1 + "; default:helmrelease/numbers tenth=repo/tenth:1.10",
			problems: []string{
				"L37 default:helmrelease/numbers: value .inf is not a number JSON can hold",
				`big: tag 20240101 at line 21 is written as a number: hoist reads its text "20240101", but Helm renders the number as "2.0240101e+07"; quote the tag`,
				"bool: tag at line 40 is a boolean (false), not a string",
				"explicit: tag at line 34 is a number (1.5), not a string",
				"inf: tag at line 37 is a number (.inf), not a string",
				`pinned: tag 2.0 at line 28 is written as a number: hoist reads its text "2.0", but Helm renders the number as "2"`,
				`tenth: tag 1.10 at line 15 is written as a number: hoist reads its text "1.10", but Helm renders the number as "1.1"`,
			}},
	})
	runFidelity(t, []fidelityCase{
		{name: "alias tag path to a number", doc: hr("repository.fluxcd.io/app: a.repo\ntag.fluxcd.io/app: a.tag\n", "a:\n  repo: r/app\n  tag: 1.10\n"),
			sites:    "default:helmrelease/r app=r/app:1.10",
			problems: []string{`app: tag 1.10 at line 13 is written as a number: hoist reads its text "1.10", but Helm renders the number as "1.1"`}},
		{name: "alias repository path to a number is still not an image", doc: hr("repository.fluxcd.io/app: a.repo\n", "a:\n  repo: 5\n"),
			problems: []string{`L7 default:helmrelease/r: repository.fluxcd.io/app: path "a.repo" is a number (5), not a string`}},
	})
	runRetag(t, []retagCase{
		{"float to a number-like tag: quoted", "numeric-tags.yaml", "float", "1.10", "", []string{`"1.10"`}, nil},
		{"float to a semver: plain", "numeric-tags.yaml", "float", "1.9.1", "", []string{"1.9.1"}, nil},
		{"1.10 is not 1.1: same text, nothing to do", "numeric-tags.yaml", "tenth", "1.10", "", nil, nil},
		{"1.10 to 1.1 is a change", "numeric-tags.yaml", "tenth", "1.1", "", []string{`"1.1"`}, nil},
		{"int", "numeric-tags.yaml", "int", "8", "", []string{`"8"`}, nil},
		{"mapping, comment kept", "numeric-tags.yaml", "mapped", "3.3", "", []string{`"3.3"`}, nil},
		{"flow", "numeric-tags.yaml", "flow", "4.6", "", []string{`"4.6"`}, nil},
		{"with a digest key", "numeric-tags.yaml", "pinned", "2.1", d1, []string{`"2.1"`}, nil},
		{"explicitly typed stays read-only", "numeric-tags.yaml", "explicit", "1.6", "", nil, ErrReadOnly},
	})
}
