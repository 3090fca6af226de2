package config

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads, decodes and checks a configuration file. The error is a
// Problems listing every mistake when there are any.
func Load(path string) (*Config, error) {
	c, ps := Check(path)
	if len(ps) > 0 {
		return nil, ps
	}
	return c, nil
}

// Check reads and decodes the file at path and returns every mistake in it,
// each with its line. The Config is usable only when there are none.
func Check(path string) (*Config, Problems) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Problems{{File: path, Message: fmt.Sprintf("cannot read: %v", err)}}
	}
	return Parse(path, data)
}

// Parse decodes and checks a configuration held in memory; name is the file
// name used in messages. ${ENV} references are expanded from the process
// environment and *File keys read from disk (relative paths are relative to
// the working directory, like every other path in the file).
func Parse(name string, data []byte) (*Config, Problems) {
	c := &Config{file: name, lines: map[string]int{}}
	c.setDefaults()
	d := &decoder{file: name, env: os.LookupEnv, lines: c.lines}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Problems{syntaxProblem(name, err)}
	}
	if len(doc.Content) > 0 {
		d.decode(doc.Content[0], reflect.ValueOf(c).Elem(), "")
	}
	c.readSecretFiles(d)
	c.check(d)
	return c, d.problems.sorted()
}

// yamlLineRE finds the line in a yaml.v3 syntax error.
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func syntaxProblem(name string, err error) Problem {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Problem{File: name, Line: line, Message: "YAML syntax: " + m[2]}
	}
	return Problem{File: name, Message: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")}
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
		if r.SecretFile == "" {
			continue
		}
		if r.Secret != nil {
			d.addf(c.line(p+".secretFile"), "%s: set secret or secretFile, not both", p)
			continue
		}
		if s, ok := c.readFile(d, p+".secretFile", r.SecretFile); ok {
			r.Secret = &s
		}
	}
	c.fromFile(d, "nats.password", &c.NATS.Password, c.NATS.PasswordFile)
	c.fromFile(d, "nats.token", &c.NATS.Token, c.NATS.TokenFile)
	for i := range c.Repositories {
		r := &c.Repositories[i]
		p := fmt.Sprintf("repositories[%d]", i)
		c.fromFile(d, p+".auth.password", &r.Auth.Password, r.Auth.PasswordFile)
		c.fromFile(d, p+".auth.sshKeyPassphrase", &r.Auth.SSHKeyPassphrase, r.Auth.SSHKeyPassphraseFile)
		c.fromFile(d, p+".commit.signingKeyPassphrase", &r.Commit.SigningKeyPassphrase, r.Commit.SigningKeyPassphraseFile)
	}
}

// fromFile sets *value from the file named by the key path+"File".
func (c *Config) fromFile(d *decoder, path string, value *string, file string) {
	if file == "" {
		return
	}
	if *value != "" {
		d.addf(c.line(path+"File"), "%s: set %s or %sFile, not both", parentKey(path), lastKey(path), lastKey(path))
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
		d.addf(c.line(path), "%s: cannot read %s: %v", path, file, unwrapPathError(err))
		return "", false
	}
	return strings.TrimRight(string(b), "\r\n"), true
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
