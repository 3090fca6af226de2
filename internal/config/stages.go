package config

import (
	"path/filepath"

	"github.com/hoist-gitops/hoist/committer"
	"github.com/hoist-gitops/hoist/ingest"
	"github.com/hoist-gitops/hoist/matcher"
)

// The stage packages never read hoist.yaml: these map it onto each
// stage's own configuration.

// IngestConfig maps the receivers and ingest limits onto ingest's configuration.
func (c *Config) IngestConfig() ingest.Config {
	out := ingest.Config{BodyLimit: c.Ingest.BodyLimit, PublishTimeout: c.Ingest.PublishTimeout}
	for _, r := range c.Receivers {
		out.Receivers = append(out.Receivers, c.ingestReceiver(r))
	}
	return out
}

func (c *Config) ingestReceiver(r Receiver) ingest.Receiver {
	secret, set := r.SecretValue()
	return ingest.Receiver{
		Name:        r.Name,
		Kind:        ingest.Kind(r.Kind),
		Secret:      secret,
		SecretSet:   set,
		AuthHeader:  r.AuthHeader,
		Host:        r.Host,
		HostAliases: r.HostAliases,
		RateLimit:   r.RateLimit,
		RateBurst:   r.RateBurst,
	}
}

// MatcherConfig maps the repositories onto the matcher's configuration.
func (c *Config) MatcherConfig() matcher.Config {
	var out matcher.Config
	for _, r := range c.Repositories {
		out.Repos = append(out.Repos, matcher.Repo{
			Name:          r.Name,
			URL:           r.URL,
			Branch:        r.Branch,
			Paths:         r.Paths,
			FetchInterval: r.FetchInterval,
			Auth: matcher.Auth{
				Username:         r.Auth.Username,
				Password:         r.Auth.Password,
				SSHKeyFile:       r.Auth.SSHKeyFile,
				SSHKeyPassphrase: r.Auth.SSHKeyPassphrase,
				KnownHostsFile:   r.Auth.KnownHostsFile,
			},
		})
	}
	return out
}

// CommitterConfig maps the repositories onto the committer's configuration;
// its clones live in <dataDir>/git.
func (c *Config) CommitterConfig() committer.Config {
	out := committer.Config{DataDir: filepath.Join(c.DataDir, "git")}
	for _, r := range c.Repositories {
		out.Repos = append(out.Repos, committer.Repo{
			Name:       r.Name,
			URL:        r.URL,
			Branch:     r.Branch,
			PushBranch: r.PushBranch,
			Auth: committer.Auth{
				Username:         r.Auth.Username,
				Password:         r.Auth.Password,
				SSHKeyFile:       r.Auth.SSHKeyFile,
				SSHKeyPassphrase: r.Auth.SSHKeyPassphrase,
				KnownHostsFile:   r.Auth.KnownHostsFile,
			},
			Commit: committer.Commit{
				AuthorName:           r.Commit.AuthorName,
				AuthorEmail:          r.Commit.AuthorEmail,
				CommitterName:        r.Commit.CommitterName,
				CommitterEmail:       r.Commit.CommitterEmail,
				MessageTemplate:      r.Commit.MessageTemplate,
				Window:               r.Commit.Window,
				MaxWait:              r.Commit.MaxWait,
				SigningKeyFile:       r.Commit.SigningKeyFile,
				SigningKeyPassphrase: r.Commit.SigningKeyPassphrase,
			},
		})
	}
	return out
}
