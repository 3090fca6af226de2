// Package config reads hoist.yaml: strict decoding (an unknown key is a
// mistake), ${ENV} expansion in every string, secrets from files (relative
// paths from the file's folder), defaults, and a Check that names the line
// of every mistake. A file is resolved for a set of stages: each resolves
// and checks only the sections it uses.
package config

import (
	"strings"
	"time"
)

// Config is the whole of hoist.yaml.
type Config struct {
	// NATS says where the bus is.
	NATS NATS `yaml:"nats"`
	// Listen is the address of the HTTP server: webhooks, /metrics, /healthz, /readyz.
	Listen string `yaml:"listen"`
	// DataDir holds hoist's own state: the committer's local clones
	// (<dataDir>/git/<repository>). The embedded NATS server keeps its
	// storage in nats.dataDir.
	DataDir string `yaml:"dataDir"`
	// Log sets the log level.
	Log Log `yaml:"log"`
	// Ingest holds limits shared by every receiver.
	Ingest Ingest `yaml:"ingest"`
	// Receivers are the webhook endpoints, one per registry.
	Receivers []Receiver `yaml:"receivers"`
	// Repositories are the GitOps repositories watched and committed to.
	Repositories []Repository `yaml:"repositories"`
	// Registries say how hoist reaches registry hosts (registries.go).
	Registries []Registry `yaml:"registries"`
	// Images are rules per image repository; the first match applies (registries.go).
	Images []ImageRule `yaml:"images"`
	// Notify are the targets told of commits, holds, failures and rejected pushes.
	Notify []Notify `yaml:"notify"`
	// Scan says how often hoist lists image repositories' tags itself (scan.go).
	Scan Scan `yaml:"scan"`

	// file is the path the config was read from; lines maps a key path
	// ("receivers[0].kind") to its line, for mistakes found after decoding;
	// stages are the stages it was resolved for.
	file   string
	lines  map[string]int
	stages Stages
}

// NATS is the bus configuration.
type NATS struct {
	// URL of an external NATS server or cluster; empty runs an embedded server.
	URL string `yaml:"url"`
	// DataDir is where the embedded server keeps JetStream's file storage.
	DataDir string `yaml:"dataDir"`
	// Listen, when set, makes the embedded server also accept network
	// clients on this loopback address (for the nats CLI); empty means
	// in-process only.
	Listen string `yaml:"listen"`
	// Replicas is how many copies of each stream and bucket an external
	// NATS cluster keeps (3 on a 3-node cluster); the embedded server keeps 1.
	Replicas int `yaml:"replicas"`
	// CredsFile is a NATS credentials file for an external server.
	CredsFile string `yaml:"credsFile"`
	// User and Password (or PasswordFile), or Token (or TokenFile),
	// authenticate to an external server.
	User         string `yaml:"user"`
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"passwordFile"`
	Token        string `yaml:"token"`
	TokenFile    string `yaml:"tokenFile"`
	// NkeySeedFile holds a user nkey seed that signs the server's challenge.
	NkeySeedFile string `yaml:"nkeySeedFile"`
	// TLS verifies an external server and authenticates hoist with a
	// client certificate.
	TLS NATSTLS `yaml:"tls"`
}

// NATSTLS names the files of a TLS connection to an external NATS server.
type NATSTLS struct {
	// CAFile holds the CA certificates the server's certificate must chain to.
	CAFile string `yaml:"caFile"`
	// CertFile and KeyFile are hoist's client certificate and key (mutual TLS).
	CertFile string `yaml:"certFile"`
	KeyFile  string `yaml:"keyFile"`
}

// Log is the logging configuration.
type Log struct {
	// Level is one of debug, info, warn, error.
	Level string `yaml:"level"`
}

// Ingest holds limits shared by every receiver.
type Ingest struct {
	// BodyLimit is the largest webhook body in bytes (413 beyond); 0: ingest.DefaultBodyLimit.
	BodyLimit int64 `yaml:"bodyLimit"`
	// PublishTimeout bounds the wait for JetStream to store events (503
	// beyond); 0: ingest.DefaultPublishTimeout, below the 5 s that registries commonly wait.
	PublishTimeout time.Duration `yaml:"publishTimeout"`
}

// Receiver is one webhook endpoint, POST /hooks/<name>.
type Receiver struct {
	// Name is the URL path segment.
	Name string `yaml:"name"`
	// Kind is the registry's webhook dialect (distribution, harbor, generic...).
	Kind string `yaml:"kind"`
	// Secret is the shared secret; it must not be empty.
	Secret string `yaml:"secret"`
	// SecretFile names a file holding the secret (trailing newline removed).
	SecretFile string `yaml:"secretFile"`
	// InsecureNoAuth runs the receiver without authentication, the only way
	// to do so; it excludes secret and secretFile.
	InsecureNoAuth bool `yaml:"insecureNoAuth"`
	// AuthHeader is the header static-header kinds read; empty: Authorization.
	AuthHeader string `yaml:"authHeader"`
	// Host is the registry host for payloads that do not name it (nexus needs it).
	Host string `yaml:"host"`
	// HostAliases are other names this registry goes by in webhooks or manifests.
	HostAliases []string `yaml:"hostAliases"`
	// RateLimit is the sustained deliveries per second (429 beyond); 0: unlimited.
	RateLimit float64 `yaml:"rateLimit"`
	// RateBurst is how many deliveries may arrive at once; 0: max(1, rateLimit).
	RateBurst int `yaml:"rateBurst"`
}

// Repository is one GitOps repository branch hoist reads and commits to.
type Repository struct {
	// Name identifies the repository in messages, logs and metrics.
	Name string `yaml:"name"`
	// URL is http(s)://, ssh://, git@host:path, file:// or a local path.
	URL string `yaml:"url"`
	// Branch is the tracked branch.
	Branch string `yaml:"branch"`
	// PushBranch, when set, receives the commits instead of Branch.
	PushBranch string `yaml:"pushBranch"`
	// Paths are the folders searched for manifests, relative to the repository root.
	Paths []string `yaml:"paths"`
	// Exclude are globs of repository-relative paths never searched
	// ("charts/**", "**/templates/**"; ** spans folders).
	Exclude []string `yaml:"exclude"`
	// FetchInterval is how often the matcher fetches the branch to notice
	// commits made by people; 0 disables the periodic fetch; nil (not set):
	// the matcher's default (matcher.DefaultFetchInterval).
	FetchInterval *time.Duration `yaml:"fetchInterval"`
	// GitTimeout bounds each git call to the remote (the matcher's clone and
	// fetch, the committer's ref listing, fetch and push); 0: each stage's
	// default (matcher.DefaultGitTimeout, committer.DefaultGitTimeout).
	GitTimeout time.Duration `yaml:"gitTimeout"`
	// Auth is how hoist authenticates to the remote.
	Auth Auth `yaml:"auth"`
	// Commit shapes the commits.
	Commit Commit `yaml:"commit"`
	// PullRequest, when set, proposes the updates as pull requests instead
	// of committing to Branch.
	PullRequest *PullRequest `yaml:"pullRequest"`
}

// Auth is a repository's credentials.
type Auth struct {
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"passwordFile"`
	// SSHKeyFile is a private key for ssh:// and git@host:path URLs.
	SSHKeyFile string `yaml:"sshKeyFile"`
	// SSHKeyPassphrase (or SSHKeyPassphraseFile) unlocks an encrypted key.
	SSHKeyPassphrase     string `yaml:"sshKeyPassphrase"`
	SSHKeyPassphraseFile string `yaml:"sshKeyPassphraseFile"`
	// KnownHostsFile checks the server's key; empty: ~/.ssh/known_hosts.
	KnownHostsFile string `yaml:"knownHostsFile"`
}

// Commit shapes the commits made to a repository. A key the file leaves
// out is the committer's default (committer.DefaultCommit): the committer
// owns its defaults, and cmd/hoist fills them in.
type Commit struct {
	// AuthorName and AuthorEmail name the author; empty: the committer's default.
	AuthorName  string `yaml:"authorName"`
	AuthorEmail string `yaml:"authorEmail"`
	// CommitterName and CommitterEmail name the committer; empty: the author.
	CommitterName  string `yaml:"committerName"`
	CommitterEmail string `yaml:"committerEmail"`
	// MessageTemplate is a Go text/template over the batch; empty: the default.
	MessageTemplate string `yaml:"messageTemplate"`
	// Window is the quiet time before a batch is committed (0: at once);
	// nil (not set): the committer's default.
	Window *time.Duration `yaml:"window"`
	// MaxWait is the longest a rewrite waits for its commit; nil (not set):
	// the committer's default.
	MaxWait *time.Duration `yaml:"maxWait"`
	// SigningKeyFile is an OpenPGP armored key or SSH private key that signs commits.
	SigningKeyFile string `yaml:"signingKeyFile"`
	// SigningKeyPassphrase (or SigningKeyPassphraseFile) unlocks it.
	SigningKeyPassphrase     string `yaml:"signingKeyPassphrase"`
	SigningKeyPassphraseFile string `yaml:"signingKeyPassphraseFile"`
}

// Defaults hoist uses for keys the file leaves out. The defaults of what
// a stage does (commit batching and authorship, fetching, timeouts, limits)
// are the stage package's own; cmd/hoist fills them in.
const (
	DefaultListen      = "127.0.0.1:8080"
	DefaultDataDir     = "./data"
	DefaultNATSDataDir = "./data/nats"
	DefaultBranch      = "main"
	DefaultLogLevel    = "info"
)

// setDefaults fills what an empty file leaves out; decoding overwrites it.
func (c *Config) setDefaults() {
	c.Listen = DefaultListen
	c.DataDir = DefaultDataDir
	c.NATS.DataDir = DefaultNATSDataDir
	c.NATS.Replicas = 1
	c.Log.Level = DefaultLogLevel
	c.Scan.setDefaults()
}

// setDefaults fills a repository entry before its keys are decoded.
func (r *Repository) setDefaults() {
	r.Branch = DefaultBranch
	r.Paths = []string{"."}
}

// File is the path the configuration was read from.
func (c *Config) File() string { return c.file }

// TargetBranch is the branch commits are pushed to.
func (r Repository) TargetBranch() string {
	if r.PushBranch != "" {
		return r.PushBranch
	}
	return r.Branch
}

// Stages are the stages the configuration was resolved and checked for.
func (c *Config) Stages() Stages { return c.stages }

// Line is the line of a key path ("repositories[0].commit.window"), or of
// its nearest parent the file sets; 0 when the file sets none.
func (c *Config) Line(key string) int { return c.line(key) }

// Problem is a mistake found after loading (by a stage's own validation)
// about a key path, placed at that key's line.
func (c *Config) Problem(key, message string) Problem {
	return Problem{File: c.file, Line: c.line(key), Key: key, Message: message}
}

// KeyIn is the key path under prefix ("receivers[0]") whose name a
// message mentions, the longest such name winning, or prefix when it names
// none: it places a stage's validation error at the key it is about.
func (c *Config) KeyIn(prefix, message string) string {
	best := prefix
	bestLen := 0
	for k := range c.lines {
		if !strings.HasPrefix(k, prefix+".") {
			continue
		}
		name := lastKey(k)
		if i := strings.IndexByte(name, '['); i >= 0 {
			name = name[:i]
		}
		if (len(name) > bestLen || len(name) == bestLen && k < best) && mentions(message, name) {
			best, bestLen = k, len(name)
		}
	}
	return best
}

// mentions reports whether word occurs in s as a whole word.
func mentions(s, word string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], word)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(word)
		if (j == 0 || !isWordByte(s[j-1])) && (end == len(s) || !isWordByte(s[end])) {
			return true
		}
		i = j + 1
	}
}

func isWordByte(b byte) bool {
	return b == '_' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}
