package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/imagerules"
)

// withRepository, appended to a test file, gives hoist something to do
// without moving the lines of the keys tested.
const withRepository = "repositories: [{name: r, url: /tmp/r.git}]\n"

// registries and images decode with their defaults, and images map onto
// the rules the matcher applies, in order.
func TestRegistriesAndImagesConfig(t *testing.T) {
	src := `
registries:
  - host: registry.example.com
    insecure: true
    auth: {username: hoist, passwordFile: testdata/secret.txt}
    rateLimit: 2.5
  - host: docker.io
    auth: {dockerConfigFile: testdata/secret.txt}
images:
  - match: "registry.example.com/team/**"
    verify: none
    scan: false
  - match: "**"
`
	c, ps := Parse("hoist.yaml", []byte(src+withRepository), AllStages)
	if len(ps) != 0 {
		t.Fatalf("problems: %v", ps)
	}
	r := c.Registries[0]
	if r.Host != "registry.example.com" || !r.Insecure || r.Auth.Username != "hoist" || r.Auth.PasswordFile != "testdata/secret.txt" || r.RateLimit != 2.5 {
		t.Errorf("registries[0] = %+v", r)
	}
	if c.Registries[1].Auth.DockerConfigFile == "" {
		t.Errorf("registries[1] = %+v", c.Registries[1])
	}
	rules := c.ImageRules()
	want := []imagerules.Rule{
		{Match: "registry.example.com/team/**", Verify: imagerules.VerifyNone},
		{Match: "**", Verify: imagerules.VerifyTag, Scan: true},
	}
	if len(rules) != 2 || rules[0] != want[0] || rules[1] != want[1] {
		t.Errorf("rules = %+v, want %+v", rules, want)
	}
	compiled, err := imagerules.Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	if got := compiled.For("registry.example.com/team/app"); got.Verify != imagerules.VerifyNone {
		t.Errorf("team/app gets %+v", got)
	}
}

// Each mistake in registries and images is reported at its line.
func TestRegistriesAndImagesProblems(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "absent")
	cases := []struct {
		name, yaml string
		want       string
	}{
		{"unknown key", "images:\n - match: '**'\n   verfy: none\n", `hoist.yaml:3: unknown key "verfy" in images[0] (did you mean "verify"?)`},
		{"bad glob", "images:\n - match: 'ghcr.io/{a,b'\n", "hoist.yaml:2: images[0].match: \"ghcr.io/{a,b\""},
		{"glob without host", "images:\n - match: nginx\n", "hoist.yaml:2: images[0].match: \"nginx\" never matches: it does not start with a registry host"},
		{"match missing", "images:\n - verify: none\n", "hoist.yaml:2: images[0]: match is missing"},
		{"match twice", "images:\n - match: '**'\n - match: '**'\n", "hoist.yaml:3: images[1].match: \"**\" is already matched by images[0]"},
		{"bad verify", "images:\n - match: '**'\n   verify: digest\n", `hoist.yaml:3: images[0].verify: "digest" is not one of tag, none`},
		{"key file missing", "images:\n - match: '**'\n   signature:\n     key: " + missing + "\n", "hoist.yaml:4: images[0].signature.key: cannot read"},
		{"trusted root missing", "images:\n - match: '**'\n   signature:\n     keyless: {issuer: i, identity: x, trustedRootFile: " + missing + "}\n", "images[0].signature.keyless.trustedRootFile: cannot read"},
		{"identity regexp", "images:\n - match: '**'\n   signature:\n     keyless: {issuer: i, identity: '(', trustedRootFile: testdata/secret.txt}\n", "images[0].signature.keyless.identity: error parsing regexp"},
		{"key and keyless", "images:\n - match: '**'\n   signature: {key: testdata/secret.txt, keyless: {issuer: i, identity: x}}\n", "images[0].signature: set key or keyless, not both"},
		{"minAge too long", "images:\n - match: '**'\n   minAge: 168h\n", "hoist.yaml:3: images[0].minAge: 168h0m0s is longer than 144h0m0s"},
		{"negative minAge", "images:\n - match: '**'\n   minAge: -1h\n", "hoist.yaml:3: images[0].minAge: -1h is negative"},
		{"host missing", "registries:\n - insecure: true\n", "hoist.yaml:2: registries[0]: host is missing"},
		{"bad host", "registries:\n - host: 'https://ghcr.io'\n", "hoist.yaml:2: registries[0].host:"},
		{"host twice", "registries:\n - host: docker.io\n - host: index.docker.io\n", "hoist.yaml:3: registries[1].host: index.docker.io is already configured in registries[0]"},
		{"negative rate", "registries:\n - host: ghcr.io\n   rateLimit: -1\n", "hoist.yaml:3: registries[0].rateLimit must not be negative"},
		{"password and file", "registries:\n - host: ghcr.io\n   auth:\n     username: u\n     password: p\n     passwordFile: testdata/secret.txt\n", "hoist.yaml:6: registries[0].auth: set password or passwordFile, not both"},
		{"no username", "registries:\n - host: ghcr.io\n   auth:\n     password: p\n", "hoist.yaml:3: registries[0].auth: username is missing"},
		{"no password", "registries:\n - host: ghcr.io\n   auth: {username: u}\n", "hoist.yaml:3: registries[0].auth: password or passwordFile is missing"},
		{"docker config and user", "registries:\n - host: ghcr.io\n   auth: {username: u, password: p, dockerConfigFile: testdata/secret.txt}\n", "registries[0].auth: set dockerConfigFile or username and password, not both"},
		{"docker config missing", "registries:\n - host: ghcr.io\n   auth:\n     dockerConfigFile: " + missing + "\n", "hoist.yaml:4: registries[0].auth.dockerConfigFile: cannot read"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, all := Parse("hoist.yaml", []byte(tc.yaml+withRepository), AllStages)
			var ps Problems // a signature is also refused as not supported yet: that is not the mistake tested
			for _, p := range all {
				if strings.Contains(tc.want, "not supported") || !strings.Contains(p.Message, "signature is not supported") {
					ps = append(ps, p)
				}
			}
			if len(ps) != 1 {
				t.Fatalf("want one problem, got %d:\n%v", len(ps), ps)
			}
			if !strings.Contains(ps[0].String(), tc.want) {
				t.Fatalf("got  %s\nwant %s", ps[0], tc.want)
			}
		})
	}
}

// A signature rule is checked in the registry: verify: none cannot go with
// it, a keyless rule names its trusted root, and waitFor is not negative.
func TestImageSignatureRules(t *testing.T) {
	_, ps := Parse("hoist.yaml", []byte("images:\n - match: '**'\n   verify: none\n   signature: {key: testdata/secret.txt}\n"+withRepository), AllStages)
	if got := ps.Error(); len(ps) != 1 || !strings.Contains(got, "verify: none cannot be used with signature") {
		t.Fatalf("problems:\n%s", got)
	}
	_, ps = Parse("hoist.yaml", []byte("images:\n - match: '**'\n   signature: {keyless: {issuer: i, identity: x}, waitFor: -1s}\n"+withRepository), AllStages)
	if got := ps.Error(); len(ps) != 2 || !strings.Contains(got, "trustedRootFile is missing") || !strings.Contains(got, "waitFor: -1s is negative") {
		t.Fatalf("problems:\n%s", got)
	}
	c, ps := Parse("hoist.yaml", []byte("images:\n - match: '**'\n   signature: {key: testdata/secret.txt, waitFor: 5m}\n"+withRepository), AllStages)
	if len(ps) != 0 || c.ImageRules()[0].Signature.WaitFor != 5*time.Minute {
		t.Fatalf("problems:\n%s", ps.Error())
	}
}

// registries and images are the matcher's: only a stage that runs the
// matcher resolves their secrets and checks their files.
func TestRegistriesResolvedByTheMatchStageOnly(t *testing.T) {
	src := "registries:\n - host: ghcr.io\n   auth: {username: u, password: \"${HOIST_TEST_REGISTRY_PW}\"}\n" +
		"images:\n - match: '**'\n   signature: {key: /nonexistent/cosign.pub}\n" + withRepository
	t.Setenv("HOIST_TEST_REGISTRY_PW", "")
	os.Unsetenv("HOIST_TEST_REGISTRY_PW")
	for _, st := range []Stages{StageIngest, StageCommit} {
		if _, ps := Parse("hoist.yaml", []byte(src), st); len(ps) != 0 {
			t.Errorf("stage %s: %v", st, ps)
		}
	}
	_, ps := Parse("hoist.yaml", []byte(src), StageMatch)
	got := ps.Error()
	if !strings.Contains(got, "HOIST_TEST_REGISTRY_PW is not set") || !strings.Contains(got, "images[0].signature.key: cannot read") {
		t.Errorf("match stage problems:\n%s", got)
	}
}
