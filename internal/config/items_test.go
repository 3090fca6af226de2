package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// splitSecrets is a hoist.yaml whose sections need different stages' secrets.
const splitSecrets = `nats:
  url: nats://127.0.0.1:4222
receivers:
  - name: reg
    kind: distribution
    secret: ${HOIST_REGISTRY_SECRET}
repositories:
  - name: gitops
    url: https://git.example.com/gitops.git
    auth:
      username: hoist
      password: ${HOIST_GIT_PASSWORD}
    commit:
      signingKeyPassphrase: ${HOIST_SIGNING_PASSPHRASE}
`

// Item: every stage died on the other stages' secrets. Each stage resolves
// only the sections it uses; config check without stages resolves all.
func TestEveryStageDiesOnOtherStagesSecrets(t *testing.T) {
	for _, v := range []string{"HOIST_REGISTRY_SECRET", "HOIST_GIT_PASSWORD", "HOIST_SIGNING_PASSPHRASE"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	cases := []struct {
		stages Stages
		env    []string // variables set
		want   []string // variables reported not set
	}{
		{StageIngest, []string{"HOIST_REGISTRY_SECRET"}, nil},
		{StageIngest, nil, []string{"HOIST_REGISTRY_SECRET"}},
		{StageMatch, []string{"HOIST_GIT_PASSWORD"}, nil},
		{StageMatch, nil, []string{"HOIST_GIT_PASSWORD"}},
		{StageCommit, []string{"HOIST_GIT_PASSWORD"}, []string{"HOIST_SIGNING_PASSPHRASE"}},
		{StageCommit, []string{"HOIST_GIT_PASSWORD", "HOIST_SIGNING_PASSPHRASE"}, nil},
		{AllStages, []string{"HOIST_GIT_PASSWORD"}, []string{"HOIST_REGISTRY_SECRET", "HOIST_SIGNING_PASSPHRASE"}},
	}
	for _, tc := range cases {
		t.Run(tc.stages.String()+"+"+strings.Join(tc.env, "+"), func(t *testing.T) {
			env := map[string]string{}
			for _, v := range tc.env {
				env[v] = "value"
			}
			c, ps := parseWithEnv(splitSecrets, tc.stages, env)
			if len(ps) != len(tc.want) {
				t.Fatalf("problems %v, want ones about %v", ps, tc.want)
			}
			for i, v := range tc.want {
				if !strings.Contains(ps[i].Message, "environment variable "+v+" is not set") {
					t.Errorf("problem %d = %v, want %s not set", i, ps[i], v)
				}
			}
			if len(ps) == 0 && c.Stages() != tc.stages {
				t.Errorf("Stages() = %v", c.Stages())
			}
		})
	}
	// Structure is checked for every stage, in every section.
	bad := strings.Replace(splitSecrets, "    commit:\n", "    comit: {}\n    commit:\n", 1)
	if _, ps := parseWithEnv(bad, StageIngest, map[string]string{"HOIST_REGISTRY_SECRET": "x"}); len(ps) != 1 || !strings.Contains(ps[0].String(), `hoist.yaml:13: unknown key "comit"`) {
		t.Errorf("ingest on a file with a misspelt repository key: %v", ps)
	}
}

// Another stage's *File need not exist; this stage's must.
func TestEveryStageDiesOnOtherStagesSecretFiles(t *testing.T) {
	dir := t.TempDir()
	src := `receivers:
  - {name: reg, kind: distribution, secretFile: /nonexistent/registry-secret}
repositories:
  - name: gitops
    url: /srv/gitops.git
    auth: {passwordFile: /nonexistent/git-password}
    commit: {signingKeyFile: /nonexistent/signing-key}
`
	for st, want := range map[Stages][]string{
		StageIngest: {"receivers[0].secretFile: cannot read"},
		StageMatch:  {"repositories[0].auth.passwordFile: cannot read"},
		StageCommit: {"repositories[0].auth.passwordFile: cannot read", "repositories[0].commit.signingKeyFile: cannot read"},
	} {
		_, ps := Parse(filepath.Join(dir, "hoist.yaml"), []byte(src), st)
		if len(ps) != len(want) {
			t.Errorf("%v: problems %v, want %q", st, ps, want)
			continue
		}
		for i, w := range want {
			if !strings.Contains(ps[i].Message, w) {
				t.Errorf("%v: problem %v, want %q", st, ps[i], w)
			}
		}
	}
}

func TestParseStages(t *testing.T) {
	for in, want := range map[string]Stages{"": AllStages, "ingest": StageIngest, "match,commit": StageMatch | StageCommit, "commit, ingest": StageIngest | StageCommit} {
		var args []string
		if in != "" {
			args = []string{in}
		}
		if got, err := ParseStages(args); err != nil || got != want {
			t.Errorf("ParseStages(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if got, err := ParseStages([]string{"ingest", "match"}); err != nil || got != StageIngest|StageMatch {
		t.Errorf("repeated: %v %v", got, err)
	}
	if _, err := ParseStages([]string{"serve"}); err == nil {
		t.Error("unknown stage accepted")
	}
}

// Item: an empty secret silently opened a receiver. Only insecureNoAuth
// runs one without authentication.
func TestEmptySecretSilentlyOpensReceiver(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOIST_EMPTY", "")
	head := "receivers:\n  - name: a\n    kind: generic\n"
	cases := []struct{ name, src, want string }{
		{"empty variable", head + "    secret: ${HOIST_EMPTY}\n", "hoist.yaml:4: receivers[0].secret: ${HOIST_EMPTY} is empty"},
		{"empty string", head + "    secret: \"\"\n", "hoist.yaml:4: receivers[0].secret is empty"},
		{"no value", head + "    secret:\n", "hoist.yaml:4: receivers[0].secret is empty"},
		{"empty file", head + "    secretFile: " + empty + "\n", "hoist.yaml:4: receivers[0].secretFile: " + empty + " is empty"},
		{"neither", head, "hoist.yaml:2: receivers[0]: no secret"},
		{"explicitly not insecure", head + "    insecureNoAuth: false\n", "hoist.yaml:2: receivers[0]: no secret"},
		{"both", head + "    secret: s\n    insecureNoAuth: true\n", "hoist.yaml:5: receivers[0]: insecureNoAuth runs the receiver without authentication; set it or a secret, not both"},
		{"both with a file", head + "    secretFile: " + empty + "\n    insecureNoAuth: true\n", "hoist.yaml:5: receivers[0]: insecureNoAuth"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps := parseAll(tc.src)
			if len(ps) != 1 || !strings.Contains(ps[0].String(), tc.want) {
				t.Fatalf("problems %v\nwant %s", ps, tc.want)
			}
		})
	}
	c, ps := Parse("hoist.yaml", []byte(head+"    insecureNoAuth: true\n"), AllStages)
	if len(ps) != 0 || !c.Receivers[0].InsecureNoAuth || c.Receivers[0].Secret != "" {
		t.Fatalf("insecureNoAuth alone: %v %+v", ps, c)
	}
}

// Item: a repository or NATS URL that cannot work passed config check.
func TestBadURLsCheckedTooLate(t *testing.T) {
	repo := func(url string) string { return "repositories:\n  - name: a\n    url: " + url + "\n" }
	nats := func(url string) string {
		return "nats:\n  url: " + url + "\nreceivers: [{name: a, kind: generic, secret: s}]\n"
	}
	bad := []struct{ src, want string }{
		{repo(`"htp:/foo bar"`), `hoist.yaml:3: repositories[0].url: "htp:/foo bar": unknown scheme or host "htp"`},
		{repo(`"https://git.example.com/my repo.git"`), `contains a space`},
		{repo(`ftp://example.com/repo.git`), `unknown scheme "ftp"`},
		{repo(`https:///repo.git`), `has no host`},
		{repo(`https://git.example.com:99999/repo.git`), `port "99999"`},
		{repo(`github.com:acme/fleet.git`), `unknown scheme or host "github.com"`},
		{nats(`http://127.0.0.1:4222`), `hoist.yaml:2: nats.url: "http://127.0.0.1:4222": scheme must be nats://`},
		{nats(`"nats://a:4222, tls://b c:4222"`), `contains a space`},
		{nats(`"nats://a:4222,,nats://b:4222"`), `empty server in the list`},
		{nats(`nats://:4222`), `has no host`},
		{nats(`nats.example.com`), `is not a URL`},
	}
	for _, tc := range bad {
		ps := withoutNothingToDo(parseAll(tc.src))
		if len(ps) != 1 || !strings.Contains(ps[0].String(), tc.want) {
			t.Errorf("%s: problems %v\nwant %s", tc.src, ps, tc.want)
		}
	}
	for _, url := range []string{"https://git.example.com/a.git", "http://127.0.0.1:8088/a.git", "ssh://git@host:2222/a.git",
		"git@github.com:acme/fleet.git", "file:///srv/a.git", "/srv/a.git", "./data/a.git", "data/a.git"} {
		if ps := parseAll(repo(url)); len(ps) != 0 {
			t.Errorf("%s: %v", url, ps)
		}
	}
	for _, url := range []string{"nats://127.0.0.1:4222", "tls://nats.example.com", "wss://n:443", "nats://a:4222,nats://b:4222", "127.0.0.1:4222"} {
		if ps := withoutNothingToDo(parseAll(nats(url))); len(ps) != 0 {
			t.Errorf("%s: %v", url, ps)
		}
	}
}

// Item: per-repository exclude globs, checked with their line.
func TestRepositoryExcludeGlobs(t *testing.T) {
	src := "repositories:\n  - name: a\n    url: /srv/a.git\n    exclude:\n      - charts/**\n      - \"**/templates/**\"\n      - \"*.tmpl.yaml\"\n"
	c, ps := Parse("hoist.yaml", []byte(src), StageMatch)
	if len(ps) != 0 || strings.Join(c.Repositories[0].Exclude, " ") != "charts/** **/templates/** *.tmpl.yaml" {
		t.Fatalf("problems %v, exclude %v", ps, c)
	}
	for glob, want := range map[string]string{
		`"charts/[a"`:  `hoist.yaml:5: repositories[0].exclude: "charts/[a" is not a valid glob`,
		`"/charts/**"`: `patterns are relative to the repository root`,
		`"charts**"`:   `** must be a whole path segment`,
		`"../x"`:       `is outside the repository`,
		`""`:           `empty pattern`,
	} {
		src := "repositories:\n  - name: a\n    url: /srv/a.git\n    exclude:\n      - " + glob + "\n"
		if ps := parseAll(src); len(ps) != 1 || !strings.Contains(ps[0].String(), want) {
			t.Errorf("%s: problems %v\nwant %s", glob, ps, want)
		}
	}
}

// Item: config messages printed the passwords of git and NATS URLs.
func TestSecretsInURLsArePrinted(t *testing.T) {
	for _, src := range []string{
		"repositories:\n  - name: a\n    url: \"https://hoist:pa55word@git.example.com/my repo.git\"\n",
		"repositories:\n  - name: a\n    url: \"htps://hoist:pa55word@git.example.com/repo.git\"\n",
		"repositories:\n  - name: a\n    url: \"https://hoist:pa55word@git example.com/repo.git\"\n",
		"repositories:\n  - name: a\n    url: \"https://pa55word@git.example.com:0x/repo.git\"\n",
		"nats:\n  url: \"nats://hoist:pa55word@nats.example.com:http\"\n",
		"nats:\n  url: \"nats://pa55word@nats example.com:4222\"\n",
		"nats:\n  url: \"http://hoist:pa55word@nats.example.com:4222\"\n",
	} {
		ps := withoutNothingToDo(parseAll(src))
		if len(ps) == 0 {
			t.Errorf("%s: no problem", src)
		}
		if strings.Contains(ps.Error(), "pa55word") {
			t.Errorf("the password is printed: %v", ps)
		}
	}
}

// Item: config reported yaml.v3's line (where the enclosing block
// starts, or 0-based) instead of the line of the mistake.
func TestConfigErrorLines(t *testing.T) {
	cases := []struct {
		src  string
		line int
	}{
		{"listen: 127.0.0.1:8080\nreceivers:\n  - name: a\n    kind: generic\n   secret: s\n", 5},
		{"listen: 127.0.0.1:8080\nlog:\n  level: info\nreceivers:\n  - name: a\n   kind: b\n", 6},
		{"a: 1\nb: 2\nc: 3\nd: 4\n- e\n", 5},
		{"a: 1\nb:\n  c: 3\n  d: 4\n\te: x\n", 5},
		{"a: 1\nb: 2\nc: 3\nd: 4\ne: [1, 2\nf: 6\n", 5},
		{"nats:\n  url: [\n", 2},
		{"a: 1\nb: 2\nc: 3\nd: 4\ne: \"abc\nf: 6\n", 5},
	}
	for _, tc := range cases {
		ps := parseAll(tc.src)
		if len(ps) != 1 || ps[0].Line != tc.line || !strings.Contains(ps[0].Message, "YAML syntax") {
			t.Errorf("%q: %v, want line %d", tc.src, ps, tc.line)
		}
	}
}

// Item: relative *File paths start from the configuration file's folder.
func TestRelativeFilePathsFromConfigFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etc")
	if err := os.MkdirAll(filepath.Join(dir, "secrets"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secrets", "reg"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := "receivers:\n  - {name: a, kind: generic, secretFile: secrets/reg}\nrepositories:\n  - {name: r, url: /srv/r.git, auth: {knownHostsFile: secrets/reg}}\n"
	path := filepath.Join(dir, "hoist.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // anywhere but the file's folder
	c, err := Load(path, AllStages)
	if err != nil {
		t.Fatal(err)
	}
	if c.Receivers[0].Secret != "s3cret" || c.Receivers[0].SecretFile != filepath.Join(dir, "secrets", "reg") ||
		c.Repositories[0].Auth.KnownHostsFile != filepath.Join(dir, "secrets", "reg") {
		t.Fatalf("relative files not resolved from %s: %+v %+v", dir, c.Receivers[0], c.Repositories[0].Auth)
	}
}

// Item: NATS authentication keys, one method at a time, files that exist.
func TestNATSAuthKeys(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rcv := "receivers: [{name: a, kind: generic, secret: s}]\n"
	ext := "nats:\n  url: nats://127.0.0.1:4222\n"
	good := []string{
		"  user: hoist\n  password: pw\n",
		"  user: hoist\n  passwordFile: " + file + "\n",
		"  token: t\n",
		"  tokenFile: " + file + "\n",
		"  credsFile: " + file + "\n",
		"  nkeySeedFile: " + file + "\n",
		"  tls: {caFile: " + file + ", certFile: " + file + ", keyFile: " + file + "}\n  user: u\n  password: p\n",
	}
	for _, g := range good {
		c, ps := Parse("hoist.yaml", []byte(ext+g+rcv), AllStages)
		if len(ps) != 0 {
			t.Errorf("%s: %v", g, ps)
			continue
		}
		if g == good[1] && c.NATS.Password != "pw" {
			t.Errorf("passwordFile not read: %+v", c.NATS)
		}
	}
	bad := []struct{ keys, want string }{
		{"  user: hoist\n", "hoist.yaml:3: nats.user needs password or passwordFile"},
		{"  password: pw\n", "hoist.yaml:3: nats: a password needs user"},
		{"  user: hoist\n  password: pw\n  token: t\n", "hoist.yaml:5: nats: set one way to authenticate (user/password, token, credsFile or nkeySeedFile), not user/password and token"},
		{"  token: t\n  credsFile: " + file + "\n", "hoist.yaml:4: nats: set one way"},
		{"  credsFile: " + file + "\n  nkeySeedFile: " + file + "\n", "hoist.yaml:4: nats: set one way"},
		{"  credsFile: /nonexistent/creds\n", "hoist.yaml:3: nats.credsFile: cannot read /nonexistent/creds"},
		{"  nkeySeedFile: /nonexistent/seed\n", "hoist.yaml:3: nats.nkeySeedFile: cannot read"},
		{"  tls:\n    caFile: /nonexistent/ca\n", "hoist.yaml:4: nats.tls.caFile: cannot read"},
		{"  tls:\n    certFile: " + file + "\n", "hoist.yaml:3: nats.tls: set certFile and keyFile together"},
		{"  tokenFile: /nonexistent/token\n", "hoist.yaml:3: nats.tokenFile: cannot read"},
		{"  token: \"\"\n", "hoist.yaml:3: nats.token is empty"},
	}
	for _, b := range bad {
		ps := parseAll(ext + b.keys + rcv)
		if len(ps) != 1 || !strings.Contains(ps[0].String(), b.want) {
			t.Errorf("%s: problems %v\nwant %s", b.keys, ps, b.want)
		}
	}
	// They belong to an external server, and to every stage.
	if ps := parseAll("nats:\n  tls: {caFile: " + file + "}\n" + rcv); len(ps) != 1 || !strings.Contains(ps[0].String(), "hoist.yaml:2: nats.tls applies to an external server") {
		t.Errorf("tls without url: %v", ps)
	}
	if _, ps := Parse("hoist.yaml", []byte(ext+"  tokenFile: /nonexistent/token\n"+rcv), StageCommit); len(ps) != 1 {
		t.Errorf("the commit stage did not read nats.tokenFile: %v", ps)
	}
}

// parseWithEnv parses for the stages with exactly env's variables among
// those splitSecrets names.
func parseWithEnv(src string, st Stages, env map[string]string) (*Config, Problems) {
	for k, v := range env {
		os.Setenv(k, v)
		defer os.Unsetenv(k)
	}
	return Parse("hoist.yaml", []byte(src), st)
}

// TestNegativeGitTimeout: a git timeout is a duration to wait, never negative.
func TestNegativeGitTimeout(t *testing.T) {
	_, ps := Parse("hoist.yaml", []byte("receivers: []\nrepositories:\n  - name: a\n    url: /tmp/a.git\n    gitTimeout: -1s\n"), AllStages)
	if len(ps) != 1 || ps[0].Line != 5 || !strings.Contains(ps[0].Message, "gitTimeout: -1s is negative") {
		t.Errorf("problems = %v, want one at line 5 about gitTimeout", ps)
	}
}
