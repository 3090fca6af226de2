package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestFullConfig(t *testing.T) {
	t.Setenv("HOIST_TEST_SECRET", "s3cret")
	t.Setenv("HOIST_TEST_DATA", "")
	c, err := Load("testdata/full.yaml", AllStages)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.NATS.DataDir != "./data/nats" {
		t.Errorf("dataDir = %q (default of ${VAR:-default} not used)", c.NATS.DataDir)
	}
	if s := c.Receivers[0].Secret; s != "s3cret" {
		t.Errorf("secret from env = %q", s)
	}
	if s := c.Receivers[1].Secret; s != "file-secret" {
		t.Errorf("secret from file = %q", s)
	}
	if r := c.Receivers[2]; r.Secret != "" || !r.InsecureNoAuth {
		t.Errorf("insecureNoAuth receiver = %+v", r)
	}
	if got := c.Receivers[0].HostAliases; len(got) != 2 || got[1] != "registry.local" {
		t.Errorf("hostAliases = %v", got)
	}
	if c.Ingest.PublishTimeout != 5*time.Second || c.Ingest.BodyLimit != 2<<20 {
		t.Errorf("ingest = %+v", c.Ingest)
	}
	r := c.Repositories[0]
	if r.Commit.Window == nil || *r.Commit.Window != 0 || r.Commit.MaxWait == nil || *r.Commit.MaxWait != 10*time.Second || r.FetchInterval == nil || *r.FetchInterval != time.Minute {
		t.Errorf("durations: window %v maxWait %v fetch %v", r.Commit.Window, r.Commit.MaxWait, r.FetchInterval)
	}
	if r.Auth.Password != "file-secret" || r.TargetBranch() != "hoist/updates" || len(r.Exclude) != 2 || r.GitTimeout != 45*time.Second {
		t.Errorf("auth/pushBranch: %+v %q", r.Auth, r.TargetBranch())
	}
	// The second repository gets every default of the file; what the file
	// leaves out of the stages' keys stays unset, for the stage's own
	// default (cmd/hoist fills them in).
	d := c.Repositories[1]
	if d.Branch != "main" || len(d.Paths) != 1 || d.Paths[0] != "." || d.Commit.Window != nil ||
		d.Commit.MaxWait != nil || d.Commit.AuthorName != "" || d.Commit.AuthorEmail != "" ||
		d.FetchInterval != nil || d.TargetBranch() != "main" {
		t.Errorf("defaults not applied: %+v", d)
	}
}

// Item: an empty configuration passed config check (and then hoist ran
// with nothing to do).
func TestEmptyConfigIsRefused(t *testing.T) {
	for _, src := range []string{"", "\n", "# only a comment\n", "---\n"} {
		if _, ps := Parse("hoist.yaml", []byte(src), AllStages); len(ps) != 1 || !strings.Contains(ps[0].String(), "hoist.yaml: the file is empty") {
			t.Errorf("%q: problems %v", src, ps)
		}
	}
	_, ps := Parse("hoist.yaml", []byte("listen: 127.0.0.1:8080\nreceivers: []\n"), AllStages)
	if len(ps) != 1 || !strings.Contains(ps[0].String(), "no receivers and no repositories") {
		t.Errorf("a file with nothing to do: problems %v", ps)
	}
}

// Every mistake in the file is reported, each at its own line.
func TestMistakesGolden(t *testing.T) {
	os.Unsetenv("HOIST_TEST_UNSET")
	_, ps := Check("testdata/mistakes.yaml", AllStages)
	got := ps.Error() + "\n"
	golden := filepath.Join("testdata", "mistakes.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("problems differ from %s (run go test -update):\n got:\n%s\nwant:\n%s", golden, got, want)
	}
}

func TestProblems(t *testing.T) {
	t.Setenv("HOIST_SET", "value")
	cases := []struct {
		name, yaml string
		want       string // substring of the only problem, with its line
	}{
		{"syntax", "nats:\n  url: [\n", "hoist.yaml:2: YAML syntax"},
		{"top not mapping", "- a\n", "hoist.yaml:1: the top level must be a mapping"},
		{"unknown top key", "listen: 127.0.0.1:1\nrecievers: []\n", `hoist.yaml:2: unknown key "recievers" in the top level (did you mean "receivers"?)`},
		{"case slip", "nats:\n  dataDIR: x\n", `hoist.yaml:2: unknown key "dataDIR" in nats (did you mean "dataDir"?)`},
		{"env unset", "listen: ${HOIST_NOT_SET_ANYWHERE}\n", "hoist.yaml:1: listen: environment variable HOIST_NOT_SET_ANYWHERE is not set"},
		{"env bad ref", "listen: ${1X}\n", `hoist.yaml:1: listen: "${1X}" is not a valid`},
		{"env escape", "log:\n  level: $${X}\n", `log.level: "${X}" is not one of`},
		{"env in duration", "repositories:\n - name: a\n   url: /x\n   commit: {window: \"${HOIST_SET}\"}\n", `hoist.yaml:4: repositories[0].commit.window: "value" is not a duration`},
		{"list wanted", "receivers: {name: a}\n", "hoist.yaml:1: receivers must be a list, not a mapping"},
		{"string wanted", "listen: [a]\n", "hoist.yaml:1: listen must be a string, not a list"},
		{"negative duration", "repositories:\n - name: a\n   url: /x\n   fetchInterval: -1s\n", "hoist.yaml:4: repositories[0].fetchInterval: -1s is negative"},
		{"no secret", "receivers:\n - name: a\n   kind: generic\n", "hoist.yaml:2: receivers[0]: no secret"},
		{"secret and file", "receivers:\n - name: a\n   kind: generic\n   secret: x\n   secretFile: testdata/secret.txt\n", "hoist.yaml:5: receivers[0]: set secret or secretFile, not both"},
		{"secret file missing", "receivers:\n - name: a\n   kind: generic\n   secretFile: testdata/nope\n", "hoist.yaml:4: receivers[0].secretFile: cannot read testdata/nope: no such file or directory"},
		{"nats listen public", "nats: {listen: 0.0.0.0:4222}\n", "hoist.yaml:1: nats.listen: the embedded server has no authentication"},
		{"nats creds without url", "nats:\n  credsFile: x\n", "hoist.yaml:2: nats.credsFile applies to an external server"},
		{"nats replicas without url", "nats:\n  replicas: 3\n", "hoist.yaml:2: nats.replicas applies to an external server"},
		{"nats replicas out of range", "nats:\n  url: nats://127.0.0.1:4222\n  replicas: 7\n", "hoist.yaml:3: nats.replicas must be between 1 and 5 (JetStream's limit), not 7"},
		{"same branch twice", "repositories:\n - {name: a, url: /x}\n - {name: b, url: /x}\n", "hoist.yaml:3: repositories[1]: commits to the same branch as repositories[0]"},
		{"refs prefix", "repositories:\n - name: a\n   url: /x\n   branch: refs/heads/main\n", "hoist.yaml:4: repositories[0].branch: \"refs/heads/main\": write the branch name without refs/heads/"},
		{"empty paths", "repositories:\n - name: a\n   url: /x\n   paths: []\n", "hoist.yaml:4: repositories[0].paths: list at least one folder"},
		{"bad email", "repositories:\n - name: a\n   url: /x\n   commit:\n     authorEmail: \"<x>\"\n", "hoist.yaml:5: repositories[0].commit.authorEmail"},
		{"push to the tracked branch", "repositories:\n - name: a\n   url: /x\n   pushBranch: main\n", "hoist.yaml:4: repositories[0].pushBranch equals branch"},
		{"alias merge", "base: &b {kind: generic, secret: x}\n", `hoist.yaml:1: unknown key "base"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps := withoutNothingToDo(parseAll(tc.yaml))
			if len(ps) != 1 {
				t.Fatalf("want one problem, got %d:\n%v", len(ps), ps)
			}
			if !strings.Contains(ps[0].String(), tc.want) {
				t.Fatalf("got  %s\nwant %s", ps[0], tc.want)
			}
		})
	}
}

func TestMergeKeysAndAliases(t *testing.T) {
	src := `
receivers:
  - &base {name: a, kind: generic, secret: x, hostAliases: &hosts ["127.0.0.1:5000"]}
  - <<: *base
    name: b
    secret: y
repositories:
  - name: r
    url: /tmp/r.git
    paths: *hosts
`
	c, ps := Parse("hoist.yaml", []byte(src), AllStages)
	if len(ps) != 0 {
		t.Fatalf("problems: %v", ps)
	}
	b := c.Receivers[1]
	if b.Name != "b" || b.Kind != "generic" || b.Secret != "y" || len(b.HostAliases) != 1 {
		t.Fatalf("merged receiver = %+v", b)
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	t.Chdir(filepath.Join("..", ".."))
	if _, ps := Check("examples/hoist.yaml", AllStages); len(ps) != 0 {
		t.Fatalf("examples/hoist.yaml: %v", ps)
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/full.yaml", "testdata/mistakes.yaml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("a: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, ps := Parse("fuzz.yaml", data, AllStages)
		if len(ps) == 0 && c == nil {
			t.Fatal("no config and no problem")
		}
		for _, p := range ps {
			if p.Message == "" {
				t.Fatal("problem without a message")
			}
		}
	})
}

func TestRecursiveAliasIsAProblem(t *testing.T) {
	_, ps := Parse("hoist.yaml", []byte("nats: &a {<<: *a}\n"), AllStages)
	if len(ps) == 0 || !strings.Contains(ps.Error(), "nested too deeply") {
		t.Fatalf("problems = %v", ps)
	}
}

// parseAll parses a configuration for every stage.
func parseAll(src string) Problems {
	_, ps := Parse("hoist.yaml", []byte(src), AllStages)
	return ps
}

// withoutNothingToDo drops the problem of a file with neither receivers
// nor repositories, which short test files are.
func withoutNothingToDo(ps Problems) Problems {
	var out Problems
	for _, p := range ps {
		if !strings.Contains(p.Message, "no receivers and no repositories") {
			out = append(out, p)
		}
	}
	return out
}
