package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/ingest"
	"github.com/hoist-gitops/hoist/internal/imageref"
)

// nameRE is what receiver and repository names may be: one URL path
// segment, one metric label value.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// check finds the mistakes decoding cannot: values out of range, missing
// keys, names used twice, files that do not exist.
func (c *Config) check(d *decoder) {
	c.checkTop(d)
	c.checkRegistries(d)
	names := map[string]string{}
	for i, r := range c.Receivers {
		c.checkReceiver(d, fmt.Sprintf("receivers[%d]", i), r, names)
	}
	repos := map[string]string{}
	targets := map[string]string{}
	for i, r := range c.Repositories {
		c.checkRepository(d, fmt.Sprintf("repositories[%d]", i), r, repos, targets)
	}
}

func (c *Config) checkTop(d *decoder) {
	if err := checkHostPort(c.Listen); err != nil {
		d.addf(c.line("listen"), "listen: %v", err)
	}
	if c.DataDir == "" {
		d.addf(c.line("dataDir"), "dataDir must name a folder for the local git clones")
	}
	if _, err := zerolog.ParseLevel(c.Log.Level); err != nil || c.Log.Level == "" {
		d.addf(c.line("log.level"), "log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	if c.Ingest.BodyLimit < 0 {
		d.addf(c.line("ingest.bodyLimit"), "ingest.bodyLimit must not be negative")
	}
	n := c.NATS
	if n.URL == "" {
		if n.DataDir == "" {
			d.addf(c.line("nats.dataDir"), "nats.dataDir: the embedded NATS server needs a folder for its storage")
		}
		if n.Listen != "" {
			if err := checkHostPort(n.Listen); err != nil {
				d.addf(c.line("nats.listen"), "nats.listen: %v", err)
			} else if h, _, _ := net.SplitHostPort(n.Listen); !isLoopback(h) {
				d.addf(c.line("nats.listen"), "nats.listen: the embedded server has no authentication, so it listens on a loopback address only (127.0.0.1 or ::1), not %q", h)
			}
		}
		for _, k := range []string{"replicas", "credsFile", "user", "password", "passwordFile", "token", "tokenFile"} {
			if c.has("nats." + k) {
				d.addf(c.line("nats."+k), "nats.%s applies to an external server; nats.url is empty", k)
			}
		}
	} else {
		for _, u := range strings.Split(n.URL, ",") {
			if err := checkNATSURL(strings.TrimSpace(u)); err != nil {
				d.addf(c.line("nats.url"), "nats.url: %v", err)
			}
		}
		if c.has("nats.listen") && n.Listen != "" {
			d.addf(c.line("nats.listen"), "nats.listen applies to the embedded server; nats.url is set")
		}
		if n.Replicas < 1 || n.Replicas > 5 {
			d.addf(c.line("nats.replicas"), "nats.replicas must be between 1 and 5 (JetStream's limit), not %d", n.Replicas)
		}
		if n.Token != "" && (n.User != "" || n.CredsFile != "") {
			d.addf(c.line("nats.token"), "nats: use one of token, user/password or credsFile")
		}
		c.checkReadable(d, "nats.credsFile", n.CredsFile)
	}
}

func (c *Config) checkReceiver(d *decoder, p string, r Receiver, names map[string]string) {
	before := len(d.problems)
	switch {
	case r.Name == "":
		d.addf(c.line(p), "%s: name is missing", p)
	case !nameRE.MatchString(r.Name):
		d.addf(c.line(p+".name"), "%s.name: %q may hold only letters, digits, '.', '_' and '-' (it is a URL path segment)", p, r.Name)
	case names[r.Name] != "":
		d.addf(c.line(p+".name"), "%s.name: receiver %q is already defined as %s", p, r.Name, names[r.Name])
	default:
		names[r.Name] = p
	}
	kinds := ingest.Kinds()
	switch {
	case r.Kind == "":
		d.addf(c.line(p), "%s: kind is missing (one of %s)", p, strings.Join(kinds, ", "))
	case !contains(kinds, r.Kind):
		d.addf(c.line(p+".kind"), "%s.kind: unknown kind %q%s (one of %s)", p, r.Kind, suggestWord(r.Kind, kinds), strings.Join(kinds, ", "))
	}
	if r.Secret == nil && !c.has(p+".secret") && r.SecretFile == "" {
		d.addf(c.line(p), "%s: no secret; set secret or secretFile, or write secret: \"\" to accept unauthenticated webhooks", p)
	}
	if r.Kind == string(ingest.KindNexus) && r.Host == "" {
		d.addf(c.line(p), "%s: kind nexus needs host (Nexus webhooks do not name the registry host)", p)
	}
	if r.Host != "" {
		if err := imageref.ValidateHost(r.Host); err != nil {
			d.addf(c.line(p+".host"), "%s.host: %v", p, err)
		}
	}
	for i, h := range r.HostAliases {
		if err := imageref.ValidateHost(h); err != nil {
			d.addf(c.line(fmt.Sprintf("%s.hostAliases[%d]", p, i)), "%s.hostAliases: %v", p, err)
		}
	}
	if r.RateLimit < 0 {
		d.addf(c.line(p+".rateLimit"), "%s.rateLimit must not be negative", p)
	}
	if r.RateBurst < 0 {
		d.addf(c.line(p+".rateBurst"), "%s.rateBurst must not be negative", p)
	}
	if len(d.problems) == before && r.Secret != nil { // ingest's own rules, in case they know more
		if err := c.ingestReceiver(r).Validate(); err != nil {
			d.addf(c.line(p), "%v", err)
		}
	}
}

func (c *Config) checkRepository(d *decoder, p string, r Repository, names, targets map[string]string) {
	before := len(d.problems)
	defer func() {
		if len(d.problems) > before {
			return
		}
		for _, cr := range c.CommitterConfig().Repos { // the committer's own rules, in case they know more
			if cr.Name == r.Name {
				if err := cr.Validate(); err != nil {
					d.addf(c.line(p), "%v", err)
				}
			}
		}
	}()
	if r.PushBranch != "" && r.PushBranch == r.Branch {
		d.addf(c.line(p+".pushBranch"), "%s.pushBranch equals branch; leave it empty to push to the branch", p)
	}
	switch {
	case r.Name == "":
		d.addf(c.line(p), "%s: name is missing", p)
	case !nameRE.MatchString(r.Name):
		d.addf(c.line(p+".name"), "%s.name: %q may hold only letters, digits, '.', '_' and '-'", p, r.Name)
	case names[r.Name] != "":
		d.addf(c.line(p+".name"), "%s.name: repository %q is already defined as %s", p, r.Name, names[r.Name])
	default:
		names[r.Name] = p
	}
	if r.URL == "" {
		d.addf(c.line(p), "%s: url is missing", p)
	} else if err := checkGitURL(r.URL); err != nil {
		d.addf(c.line(p+".url"), "%s.url: %v", p, err)
	} else {
		key := r.URL + "\x00" + r.TargetBranch()
		if other := targets[key]; other != "" {
			d.addf(c.line(p+".url"), "%s: commits to the same branch as %s; list each repository branch once", p, other)
		}
		targets[key] = p
	}
	for _, b := range []struct{ key, val string }{{"branch", r.Branch}, {"pushBranch", r.PushBranch}} {
		if b.val == "" && b.key == "pushBranch" {
			continue
		}
		if err := checkBranch(b.val); err != nil {
			d.addf(c.line(p+"."+b.key), "%s.%s: %v", p, b.key, err)
		}
	}
	if len(r.Paths) == 0 {
		d.addf(c.line(p+".paths"), "%s.paths: list at least one folder (\".\" is the whole repository)", p)
	}
	for i, f := range r.Paths {
		if err := checkRepoPath(f); err != nil {
			d.addf(c.line(fmt.Sprintf("%s.paths[%d]", p, i)), "%s.paths: %v", p, err)
		}
	}
	a := r.Auth
	c.checkReadable(d, p+".auth.sshKeyFile", a.SSHKeyFile)
	c.checkReadable(d, p+".auth.knownHostsFile", a.KnownHostsFile)
	m := r.Commit
	for _, s := range []struct{ key, val string }{
		{"authorName", m.AuthorName}, {"authorEmail", m.AuthorEmail},
		{"committerName", m.CommitterName}, {"committerEmail", m.CommitterEmail},
	} {
		if strings.ContainsAny(s.val, "<>\n") {
			d.addf(c.line(p+".commit."+s.key), "%s.commit.%s: %q may not contain '<', '>' or a line break", p, s.key, s.val)
		}
	}
	if m.AuthorName == "" {
		d.addf(c.line(p+".commit.authorName"), "%s.commit.authorName must not be empty", p)
	}
	if m.AuthorEmail == "" {
		d.addf(c.line(p+".commit.authorEmail"), "%s.commit.authorEmail must not be empty", p)
	}
	if m.MaxWait > 0 && m.MaxWait < m.Window {
		d.addf(c.line(p+".commit.maxWait"), "%s.commit.maxWait (%s) is shorter than window (%s)", p, m.MaxWait, m.Window)
	}
	if m.MessageTemplate != "" {
		if _, err := template.New("message").Parse(m.MessageTemplate); err != nil {
			d.addf(c.line(p+".commit.messageTemplate"), "%s.commit.messageTemplate: %v", p, err)
		}
	}
	c.checkReadable(d, p+".commit.signingKeyFile", m.SigningKeyFile)
}

// checkReadable reports a key naming a file that cannot be read.
func (c *Config) checkReadable(d *decoder, key, file string) {
	if file == "" {
		return
	}
	f, err := os.Open(file)
	if err != nil {
		d.addf(c.line(key), "%s: cannot read %s: %v", key, file, unwrapPathError(err))
		return
	}
	f.Close()
}

func checkHostPort(s string) error {
	_, port, err := net.SplitHostPort(s) // an empty host means every interface
	if err != nil {
		return fmt.Errorf("%q is not host:port", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", s, port)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkNATSURL(s string) error {
	if s == "" {
		return fmt.Errorf("empty server in the list")
	}
	if !strings.Contains(s, "://") {
		return checkHostPort(s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q: %v", s, err)
	}
	switch u.Scheme {
	case "nats", "tls", "ws", "wss":
	default:
		return fmt.Errorf("%q: scheme must be nats://, tls://, ws:// or wss://", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	return nil
}

// scpRE matches git's scp-like syntax, user@host:path.
var scpRE = regexp.MustCompile(`^[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:[^/].*|^[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:/.*`)

func checkGitURL(s string) error {
	if i := strings.Index(s, "://"); i > 0 {
		u, err := url.Parse(s)
		if err != nil {
			return fmt.Errorf("%q: %v", s, err)
		}
		switch u.Scheme {
		case "http", "https", "ssh":
			if u.Host == "" {
				return fmt.Errorf("%q has no host", s)
			}
		case "file":
			if u.Path == "" {
				return fmt.Errorf("%q has no path", s)
			}
		default:
			return fmt.Errorf("%q: scheme must be http, https, ssh or file (or a local path, or git@host:path)", s)
		}
		return nil
	}
	if scpRE.MatchString(s) {
		return nil
	}
	if strings.ContainsAny(s, "\n\x00") {
		return fmt.Errorf("%q is not a URL or a path", s)
	}
	return nil // a local path; whether it exists is found when it is opened
}

func checkBranch(b string) error {
	if b == "" {
		return fmt.Errorf("must not be empty")
	}
	if strings.HasPrefix(b, "refs/") {
		return fmt.Errorf("%q: write the branch name without refs/heads/", b)
	}
	if err := plumbing.NewBranchReferenceName(b).Validate(); err != nil {
		return fmt.Errorf("%q is not a valid branch name", b)
	}
	return nil
}

func checkRepoPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("empty folder (write \".\" for the whole repository)")
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q: folders are relative to the repository root", p)
	case path.Clean(p) == ".." || strings.HasPrefix(path.Clean(p), "../"):
		return fmt.Errorf("%q is outside the repository", p)
	case strings.Contains(p, "\\"):
		return fmt.Errorf("%q: separate folders with '/'", p)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggestWord names the word of list closest to s, if any is close.
func suggestWord(s string, list []string) string {
	m := map[string]int{}
	for i, w := range list {
		m[w] = i
	}
	return closestKey(s, m)
}
