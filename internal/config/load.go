package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads, decodes and checks a configuration file for the stages that
// will run. The error is a Problems listing every mistake when there are any.
func Load(path string, stages Stages) (*Config, error) {
	c, ps := Check(path, stages)
	if len(ps) > 0 {
		return nil, ps
	}
	return c, nil
}

// Check reads and decodes the file at path for the stages and returns
// every mistake in it, each with its line. The Config is usable only when
// there are none.
func Check(path string, stages Stages) (*Config, Problems) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Problems{{File: path, Message: fmt.Sprintf("cannot read: %v", err)}}
	}
	return Parse(path, data, stages)
}

// Parse decodes and checks a configuration held in memory; name is the
// file's path, used in messages and as the folder relative *File paths
// start from. ${ENV} references are expanded from the process environment
// and *File keys read from disk, in the sections the stages use; the
// structure of the whole file (syntax, keys, types) is always checked.
func Parse(name string, data []byte, stages Stages) (*Config, Problems) {
	if stages == 0 {
		stages = AllStages
	}
	c := &Config{file: name, lines: map[string]int{}, stages: stages}
	c.setDefaults()
	d := &decoder{file: name, env: os.LookupEnv, lines: c.lines, stages: stages, raw: map[string]string{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Problems{syntaxProblem(name, data, err)}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null" {
		return nil, Problems{{File: name, Message: "the file is empty; a configuration needs receivers or repositories"}}
	}
	d.decode(doc.Content[0], reflect.ValueOf(c).Elem(), "")
	c.resolveFiles()
	c.readSecretFiles(d)
	c.check(d)
	return c, d.problems.Sorted()
}

// yamlLineRE finds the line in a yaml.v3 syntax error.
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxProblem places a yaml.v3 error at the line of the mistake. yaml.v3
// names the line where the enclosing block starts (a mistake on line 5 of a
// list that starts on line 2 is "line 2"), and parser errors 0-based; the
// mistake is on the first line from there whose prefix of the file fails
// with the same error, since everything before it parses.
func syntaxProblem(name string, data []byte, err error) Problem {
	msg := err.Error()
	m := yamlLineRE.FindStringSubmatch(msg)
	if m == nil {
		return Problem{File: name, Message: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")}
	}
	line, _ := strconv.Atoi(m[1])
	return Problem{File: name, Line: mistakeLine(data, line, m[2]), Message: "YAML syntax: " + m[2]}
}

// maxScanLines and maxScanBytes bound the prefixes mistakeLine parses
// (each parse reads the prefix again); a configuration file comes nowhere
// near them.
const (
	maxScanLines = 2000
	maxScanBytes = 256 << 10
)

// mistakeLine is the first line from reported on whose prefix of data fails
// to parse with the message msg, or reported when none does.
func mistakeLine(data []byte, reported int, msg string) int {
	if len(data) > maxScanBytes {
		return reported
	}
	ends := []int{} // ends[i] is the offset just after line i+1
	for i, b := range data {
		if b == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		ends = append(ends, len(data))
	}
	start := max(reported, 1)
	for l := start; l <= len(ends) && l < start+maxScanLines; l++ {
		if m := yamlLineRE.FindStringSubmatch(parseError(data[:ends[l-1]])); m != nil && m[2] == msg {
			return l
		}
	}
	return reported
}

// parseError is yaml.v3's error for data, "" when it parses.
func parseError(data []byte) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return err.Error()
	}
	return ""
}

// line is the line of a key path, or of its nearest parent that has one.
func (c *Config) line(path string) int {
	for {
		if l, ok := c.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
}

// has reports whether the file set the key path.
func (c *Config) has(path string) bool {
	_, ok := c.lines[path]
	return ok
}

// readSecretFiles fills each secret from its *File key; setting both is a mistake.
func (c *Config) readSecretFiles(d *decoder) {
	for i := range c.Receivers {
		r := &c.Receivers[i]
		p := fmt.Sprintf("receivers[%d]", i)
		c.fromFile(d, p+".secret", &r.Secret, r.SecretFile)
	}
	for i := range c.Notify {
		n := &c.Notify[i]
		c.fromFile(d, fmt.Sprintf("notify[%d].secret", i), &n.Secret, n.SecretFile)
	}
	c.fromFile(d, "nats.password", &c.NATS.Password, c.NATS.PasswordFile)
	c.fromFile(d, "nats.token", &c.NATS.Token, c.NATS.TokenFile)
	for i := range c.Repositories {
		r := &c.Repositories[i]
		p := fmt.Sprintf("repositories[%d]", i)
		c.fromFile(d, p+".auth.password", &r.Auth.Password, r.Auth.PasswordFile)
		c.fromFile(d, p+".auth.sshKeyPassphrase", &r.Auth.SSHKeyPassphrase, r.Auth.SSHKeyPassphraseFile)
		c.fromFile(d, p+".commit.signingKeyPassphrase", &r.Commit.SigningKeyPassphrase, r.Commit.SigningKeyPassphraseFile)
		c.readPullRequestToken(d, p, r)
	}
}

// fromFile sets *value from the file named by the key path+"File", when
// one of the stages uses the key: another stage's secret file need not be
// there.
func (c *Config) fromFile(d *decoder, path string, value *string, file string) {
	if file == "" {
		return
	}
	if *value != "" || c.has(path) {
		d.addf(path+"File", c.line(path+"File"), "%s: set %s or %sFile, not both", parentKey(path), lastKey(path), lastKey(path))
		return
	}
	if !c.stages.uses(path) {
		return
	}
	if s, ok := c.readFile(d, path+"File", file); ok {
		*value = s
	}
}

// readFile reads a secret file, without its trailing line break.
func (c *Config) readFile(d *decoder, path, file string) (string, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		d.addf(path, c.line(path), "%s: cannot read %s: %v", path, file, unwrapPathError(err))
		return "", false
	}
	return strings.TrimRight(string(b), "\r\n"), true
}

// resolveFiles makes every relative *File path relative to the folder of
// the configuration file rather than to the working directory, so a file
// and the secrets beside it can be moved together.
func (c *Config) resolveFiles() {
	dir := filepath.Dir(c.file)
	rel := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	n := &c.NATS
	for _, p := range []*string{&n.PasswordFile, &n.TokenFile, &n.CredsFile, &n.NkeySeedFile, &n.TLS.CAFile, &n.TLS.CertFile, &n.TLS.KeyFile} {
		rel(p)
	}
	for i := range c.Receivers {
		rel(&c.Receivers[i].SecretFile)
	}
	for i := range c.Notify {
		rel(&c.Notify[i].SecretFile)
	}
	for i := range c.Repositories {
		a, m := &c.Repositories[i].Auth, &c.Repositories[i].Commit
		for _, p := range append([]*string{&a.PasswordFile, &a.SSHKeyFile, &a.SSHKeyPassphraseFile, &a.KnownHostsFile, &m.SigningKeyFile, &m.SigningKeyPassphraseFile}, pullRequestFiles(&c.Repositories[i])...) {
			rel(p)
		}
	}
	c.resolveRegistryFiles(rel)
}

func lastKey(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

func parentKey(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return path
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
