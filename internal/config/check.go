package config

import (
	"errors"
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

	"github.com/hoist-gitops/hoist/internal/imageref"
	"github.com/hoist-gitops/hoist/internal/names"
	"github.com/hoist-gitops/hoist/internal/redact"
)

// report records a mistake about a key path at its line.
func (c *Config) report(d *decoder, key, format string, args ...any) {
	d.addf(key, c.line(key), format, args...)
}

// check finds the mistakes decoding cannot: values out of range, missing
// keys, names used twice, files that do not exist. It checks the sections
// the stages use; what a stage's own package validates (receiver kinds,
// commit templates run on sample data) is checked by the caller, which
// knows the stages.
func (c *Config) check(d *decoder) {
	c.checkTop(d)
	c.checkNATS(d)
	if len(c.Receivers) == 0 && len(c.Repositories) == 0 && !d.problems.Under("receivers") && !d.problems.Under("repositories") {
		d.addf("", 0, "no receivers and no repositories: hoist would have nothing to do")
	}
	if c.stages&StageIngest != 0 {
		seen := map[string]string{}
		for i, r := range c.Receivers {
			c.checkReceiver(d, fmt.Sprintf("receivers[%d]", i), r, seen)
		}
	}
	if c.stages&(StageMatch|StageCommit) != 0 {
		repos := map[string]string{}
		targets := map[string]string{}
		for i, r := range c.Repositories {
			c.checkRepository(d, fmt.Sprintf("repositories[%d]", i), r, repos, targets)
		}
	}
	if c.stages&StageMatch != 0 {
		c.checkRegistries(d)
		c.checkScan(d)
	}
	if c.stages&notifyStages != 0 {
		for i, n := range c.Notify {
			c.checkNotify(d, fmt.Sprintf("notify[%d]", i), n)
		}
	}
}

func (c *Config) checkTop(d *decoder) {
	if err := checkHostPort(c.Listen); err != nil {
		c.report(d, "listen", "listen: %v", err)
	}
	if c.stages&StageCommit != 0 && c.DataDir == "" {
		c.report(d, "dataDir", "dataDir must name a folder for the local git clones")
	}
	if _, err := zerolog.ParseLevel(c.Log.Level); err != nil || c.Log.Level == "" {
		c.report(d, "log.level", "log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	if c.stages&StageIngest != 0 && c.Ingest.BodyLimit < 0 {
		c.report(d, "ingest.bodyLimit", "ingest.bodyLimit must not be negative")
	}
}

// externalNATSKeys are the nats keys that apply to an external server only.
var externalNATSKeys = []string{"replicas", "user", "password", "passwordFile", "token", "tokenFile", "credsFile", "nkeySeedFile", "tls"}

func (c *Config) checkNATS(d *decoder) {
	n := c.NATS
	if n.URL == "" {
		if n.DataDir == "" {
			c.report(d, "nats.dataDir", "nats.dataDir: the embedded NATS server needs a folder for its storage")
		}
		if n.Listen != "" {
			if err := checkHostPort(n.Listen); err != nil {
				c.report(d, "nats.listen", "nats.listen: %v", err)
			} else if h, _, _ := net.SplitHostPort(n.Listen); !isLoopback(h) {
				c.report(d, "nats.listen", "nats.listen: the embedded server has no authentication, so it listens on a loopback address only (127.0.0.1 or ::1), not %q", h)
			}
		}
		for _, k := range externalNATSKeys {
			if c.has("nats." + k) {
				c.report(d, "nats."+k, "nats.%s applies to an external server; nats.url is empty", k)
			}
		}
		return
	}
	for _, u := range strings.Split(n.URL, ",") {
		if err := checkNATSURL(strings.TrimSpace(u)); err != nil {
			c.report(d, "nats.url", "nats.url: %v", err)
		}
	}
	if c.has("nats.listen") && n.Listen != "" {
		c.report(d, "nats.listen", "nats.listen applies to the embedded server; nats.url is set")
	}
	if n.Replicas < 1 || n.Replicas > 5 {
		c.report(d, "nats.replicas", "nats.replicas must be between 1 and 5 (JetStream's limit), not %d", n.Replicas)
	}
	c.checkNATSAuth(d)
	for _, k := range []struct{ key, file string }{
		{"nats.credsFile", n.CredsFile}, {"nats.nkeySeedFile", n.NkeySeedFile},
		{"nats.tls.caFile", n.TLS.CAFile}, {"nats.tls.certFile", n.TLS.CertFile}, {"nats.tls.keyFile", n.TLS.KeyFile},
	} {
		c.checkReadable(d, k.key, k.file)
	}
	if (n.TLS.CertFile == "") != (n.TLS.KeyFile == "") {
		c.report(d, "nats.tls", "nats.tls: set certFile and keyFile together (a client certificate and its key)")
	}
}

// checkNATSAuth allows one authentication method to an external server and
// a user only with a password.
func (c *Config) checkNATSAuth(d *decoder) {
	n := c.NATS
	type method struct{ name, key string }
	var set []method
	if c.has("nats.user") || c.has("nats.password") || c.has("nats.passwordFile") {
		set = append(set, method{"user/password", firstSet(c, "nats.user", "nats.password", "nats.passwordFile")})
	}
	if c.has("nats.token") || c.has("nats.tokenFile") {
		set = append(set, method{"token", firstSet(c, "nats.token", "nats.tokenFile")})
	}
	if c.has("nats.credsFile") {
		set = append(set, method{"credsFile", "nats.credsFile"})
	}
	if c.has("nats.nkeySeedFile") {
		set = append(set, method{"nkeySeedFile", "nats.nkeySeedFile"})
	}
	if len(set) > 1 {
		c.report(d, set[1].key, "nats: set one way to authenticate (user/password, token, credsFile or nkeySeedFile), not %s and %s", set[0].name, set[1].name)
		return
	}
	if len(set) == 0 || set[0].name == "credsFile" || set[0].name == "nkeySeedFile" {
		return
	}
	if set[0].name == "token" {
		if n.Token == "" && !d.problems.Under("nats.token") && !d.problems.Under("nats.tokenFile") {
			c.report(d, set[0].key, "nats.token is empty")
		}
		return
	}
	switch {
	case n.User == "" && !d.problems.Under("nats.user"):
		c.report(d, set[0].key, "nats: a password needs user")
	case n.Password == "" && !d.problems.Under("nats.password") && !d.problems.Under("nats.passwordFile"):
		c.report(d, "nats.user", "nats.user needs password or passwordFile")
	}
}

// firstSet is the first of the keys the file sets.
func firstSet(c *Config, keys ...string) string {
	for _, k := range keys {
		if c.has(k) {
			return k
		}
	}
	return keys[0]
}

// checkName checks the name of the entry at p (a receiver or a
// repository): present, of the allowed characters, and not already used
// by an entry recorded in seen, where it is recorded.
func (c *Config) checkName(d *decoder, p, what, name string, seen map[string]string) {
	switch {
	case name == "":
		c.report(d, p, "%s: name is missing", p)
	case !names.Valid(name):
		c.report(d, p+".name", "%s.name: %q may hold only %s (it is a URL path segment and a metric label)", p, name, names.Allowed)
	case seen[name] != "":
		c.report(d, p+".name", "%s.name: %s %q is already defined as %s", p, what, name, seen[name])
	default:
		seen[name] = p
	}
}

func (c *Config) checkReceiver(d *decoder, p string, r Receiver, seen map[string]string) {
	c.checkName(d, p, "receiver", r.Name, seen)
	if r.Kind == "" {
		c.report(d, p, "%s: kind is missing", p)
	}
	c.checkReceiverAuth(d, p, r)
	if r.Host != "" {
		if err := imageref.ValidateHost(r.Host); err != nil {
			c.report(d, p+".host", "%s.host: %v", p, err)
		}
	}
	for i, h := range r.HostAliases {
		if err := imageref.ValidateHost(h); err != nil {
			c.report(d, fmt.Sprintf("%s.hostAliases[%d]", p, i), "%s.hostAliases: %v", p, err)
		}
	}
	if r.RateLimit < 0 {
		c.report(d, p+".rateLimit", "%s.rateLimit must not be negative", p)
	}
	if r.RateBurst < 0 {
		c.report(d, p+".rateBurst", "%s.rateBurst must not be negative", p)
	}
}

// checkReceiverAuth accepts a receiver with a non-empty secret, or with
// insecureNoAuth: true and no secret. An empty secret is never taken to
// mean "no authentication": a variable set to "" or an empty file would
// otherwise open the receiver without anyone noticing.
func (c *Config) checkReceiverAuth(d *decoder, p string, r Receiver) {
	hasSecret, hasFile := c.has(p+".secret"), r.SecretFile != ""
	const optOut = "an empty secret would accept unauthenticated webhooks; write insecureNoAuth: true instead of a secret if that is meant"
	switch {
	case r.InsecureNoAuth && (hasSecret || hasFile):
		c.report(d, p+".insecureNoAuth", "%s: insecureNoAuth runs the receiver without authentication; set it or a secret, not both", p)
	case r.InsecureNoAuth:
	case !hasSecret && !hasFile:
		c.report(d, p, "%s: no secret; set secret or secretFile (insecureNoAuth: true accepts unauthenticated webhooks)", p)
	case r.Secret != "" || d.problems.Under(p+".secret") || d.problems.Under(p+".secretFile"):
	default:
		c.reportEmptySecret(d, p, r.SecretFile, optOut)
	}
}

// reportEmptySecret reports the secret of the entry at p, set but empty,
// at what made it empty: its file, the ${VAR} it names, or the value
// itself; why says what an empty secret would do.
func (c *Config) reportEmptySecret(d *decoder, p, file, why string) {
	switch {
	case file != "":
		c.report(d, p+".secretFile", "%s.secretFile: %s is empty; %s", p, file, why)
	case d.raw[p+".secret"] != "":
		c.report(d, p+".secret", "%s.secret: %s is empty; %s", p, d.raw[p+".secret"], why)
	default:
		c.report(d, p+".secret", "%s.secret is empty; %s", p, why)
	}
}

func (c *Config) checkRepository(d *decoder, p string, r Repository, seen, targets map[string]string) {
	if r.PushBranch != "" && r.PushBranch == r.Branch {
		c.report(d, p+".pushBranch", "%s.pushBranch equals branch; leave it empty to push to the branch", p)
	}
	c.checkName(d, p, "repository", r.Name, seen)
	if r.URL == "" {
		if !d.problems.Under(p + ".url") {
			c.report(d, p, "%s: url is missing", p)
		}
	} else if err := checkGitURL(r.URL); err != nil {
		c.report(d, p+".url", "%s.url: %v", p, err)
	} else {
		key := r.URL + "\x00" + r.TargetBranch()
		if other := targets[key]; other != "" {
			c.report(d, p+".url", "%s: commits to the same branch as %s; list each repository branch once", p, other)
		}
		targets[key] = p
	}
	for _, b := range []struct{ key, val string }{{"branch", r.Branch}, {"pushBranch", r.PushBranch}} {
		if b.val == "" && b.key == "pushBranch" {
			continue
		}
		if err := checkBranch(b.val); err != nil {
			c.report(d, p+"."+b.key, "%s.%s: %v", p, b.key, err)
		}
	}
	if len(r.Paths) == 0 {
		c.report(d, p+".paths", "%s.paths: list at least one folder (\".\" is the whole repository)", p)
	}
	for i, f := range r.Paths {
		if err := checkRepoPath(f); err != nil {
			c.report(d, fmt.Sprintf("%s.paths[%d]", p, i), "%s.paths: %v", p, err)
		}
	}
	for i, g := range r.Exclude {
		if err := checkExclude(g); err != nil {
			c.report(d, fmt.Sprintf("%s.exclude[%d]", p, i), "%s.exclude: %v", p, err)
		}
	}
	a := r.Auth
	c.checkReadable(d, p+".auth.sshKeyFile", a.SSHKeyFile)
	c.checkReadable(d, p+".auth.knownHostsFile", a.KnownHostsFile)
	if c.stages&StageCommit != 0 {
		c.checkCommit(d, p+".commit", r.Commit)
		c.checkPullRequest(d, p, r)
	}
}

// checkCommit checks a repository's commit section, which only the committer uses.
func (c *Config) checkCommit(d *decoder, p string, m Commit) {
	for _, s := range []struct{ key, val string }{
		{"authorName", m.AuthorName}, {"authorEmail", m.AuthorEmail},
		{"committerName", m.CommitterName}, {"committerEmail", m.CommitterEmail},
	} {
		if strings.ContainsAny(s.val, "<>\n") {
			c.report(d, p+"."+s.key, "%s.%s: %q may not contain '<', '>' or a line break", p, s.key, s.val)
		}
	}
	// Left out, they are the committer's defaults; set, they must say something.
	if m.AuthorName == "" && c.has(p+".authorName") {
		c.report(d, p+".authorName", "%s.authorName must not be empty", p)
	}
	if m.AuthorEmail == "" && c.has(p+".authorEmail") {
		c.report(d, p+".authorEmail", "%s.authorEmail must not be empty", p)
	}
	if m.MessageTemplate != "" {
		if _, err := template.New("message").Parse(m.MessageTemplate); err != nil {
			c.report(d, p+".messageTemplate", "%s.messageTemplate: %v", p, err)
		}
	}
	c.checkReadable(d, p+".signingKeyFile", m.SigningKeyFile)
}

// checkReadable reports a key naming a file that cannot be read.
func (c *Config) checkReadable(d *decoder, key, file string) {
	if file == "" {
		return
	}
	f, err := os.Open(file)
	if err != nil {
		c.report(d, key, "%s: cannot read %s: %v", key, file, unwrapPathError(err))
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

// checkNATSURL checks one server of nats.url: nats://, tls://, ws:// or
// wss:// with a host, or a bare host:port.
func checkNATSURL(s string) error {
	if s == "" {
		return fmt.Errorf("empty server in the list")
	}
	if strings.ContainsAny(s, " \t\r\n\x00") {
		return fmt.Errorf("%q contains a space or a control character", redact.URL(s))
	}
	i := strings.Index(s, "://")
	if i < 0 {
		if err := checkHostPort(s); err != nil {
			return fmt.Errorf("%q is not a URL (nats://host:port, tls://, ws://, wss://) or host:port", redact.URL(s))
		}
		return nil
	}
	switch strings.ToLower(s[:i]) {
	case "nats", "tls", "ws", "wss":
	default:
		return fmt.Errorf("%q: scheme must be nats://, tls://, ws:// or wss://", redact.URL(s))
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q: %v", redact.URL(s), urlError(err))
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%q has no host", redact.URL(s))
	}
	return checkPort(u, s)
}

// checkPort reports a port that is not a number from 1 to 65535.
func checkPort(u *url.URL, s string) error {
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q: port %q is not a number from 1 to 65535", redact.URL(s), p)
		}
	}
	return nil
}

// urlError is what url.Parse says, without the URL it quotes (which may hold a password).
func urlError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// scpRE matches git's scp-like syntax, user@host:path.
var scpRE = regexp.MustCompile(`^[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:.+`)

// checkGitURL accepts http(s)://, ssh:// and file:// URLs, git's scp-like
// user@host:path and local paths; a local path whose first segment holds a
// colon looks like a misspelt scheme (htp:/host/repo) and is refused, as is
// a space anywhere.
func checkGitURL(s string) error {
	const want = "write http(s)://, ssh://, file://, user@host:path or a local path"
	if i := strings.Index(s, "://"); i > 0 {
		switch strings.ToLower(s[:i]) {
		case "http", "https", "ssh", "file":
		default:
			return fmt.Errorf("%q: unknown scheme %q (%s)", redact.URL(s), s[:i], want)
		}
	} else if !scpRE.MatchString(s) {
		first, _, _ := strings.Cut(s, "/")
		if scheme, _, ok := strings.Cut(first, ":"); ok {
			return fmt.Errorf("%q: unknown scheme or host %q (%s)", redact.URL(s), scheme, want)
		}
	}
	if strings.ContainsAny(s, " \t\r\n\x00") {
		return fmt.Errorf("%q contains a space or a control character", redact.URL(s))
	}
	if !strings.Contains(s, "://") {
		return nil // scp-like or a local path; whether it exists is found when it is opened
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q: %v", redact.URL(s), urlError(err))
	}
	if u.Scheme == "file" {
		if u.Path == "" {
			return fmt.Errorf("%q has no path", redact.URL(s))
		}
		return nil
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%q has no host", redact.URL(s))
	}
	return checkPort(u, s)
}

// checkExclude checks a glob of repository-relative paths: '/' separates
// folders, "**" (a whole segment) spans any number of them, and each other
// segment is a path.Match pattern.
func checkExclude(g string) error {
	switch {
	case g == "":
		return fmt.Errorf("empty pattern")
	case strings.HasPrefix(g, "/"):
		return fmt.Errorf("%q: patterns are relative to the repository root", g)
	case strings.Contains(g, "\\"):
		return fmt.Errorf("%q: separate folders with '/'", g)
	}
	for _, seg := range strings.Split(g, "/") {
		switch {
		case seg == "**":
		case seg == "..":
			return fmt.Errorf("%q is outside the repository", g)
		case strings.Contains(seg, "**"):
			return fmt.Errorf("%q: ** must be a whole path segment (charts/**, **/templates/**)", g)
		default:
			if _, err := path.Match(seg, ""); err != nil {
				return fmt.Errorf("%q is not a valid glob (an unclosed '['?)", g)
			}
		}
	}
	return nil
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
