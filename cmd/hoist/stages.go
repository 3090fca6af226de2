package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hoist-gitops/hoist/committer"
	"github.com/hoist-gitops/hoist/ingest"
	"github.com/hoist-gitops/hoist/internal/config"
	"github.com/hoist-gitops/hoist/internal/gitauth"
	"github.com/hoist-gitops/hoist/internal/suggest"
	"github.com/hoist-gitops/hoist/matcher"
)

// The stage packages never read hoist.yaml, and internal/config imports no
// stage package: this file maps the one onto the others and runs each
// stage's own validation, so config check reports what a stage would
// refuse at start, at the line of the key.

// loadConfig reads the file at path for the stages, then runs each stage's
// validation on its translated configuration. The Config is usable only
// when there are no problems.
func loadConfig(path string, st config.Stages) (*config.Config, config.Problems) {
	c, ps := config.Check(path, st)
	if c == nil {
		return nil, ps
	}
	ps = append(ps, checkStages(c, ps)...)
	return c, append(ps, checkNotify(c, ps)...).Sorted()
}

// checkStages runs the validation of each stage the configuration was
// resolved for on the entries that have no problems yet (found is what
// config found), placing each error at the key it names.
func checkStages(c *config.Config, found config.Problems) config.Problems {
	var ps config.Problems
	st := c.Stages()
	if st&config.StageIngest != 0 {
		kinds := ingest.Kinds()
		for i, r := range c.Receivers {
			p := fmt.Sprintf("receivers[%d]", i)
			switch {
			case found.Under(p) || r.Kind == "":
			case !slices.Contains(kinds, r.Kind):
				ps = append(ps, c.Problem(p+".kind", fmt.Sprintf("%s.kind: unknown kind %q%s (one of %s)",
					p, r.Kind, suggest.DidYouMean(r.Kind, kinds), strings.Join(kinds, ", "))))
			default:
				ps = appendErr(ps, c, p, ingestReceiver(r).Validate())
			}
		}
	}
	for i, r := range c.Repositories {
		p := fmt.Sprintf("repositories[%d]", i)
		if found.Under(p) {
			continue
		}
		if st&config.StageMatch != 0 {
			// The matcher validates its repositories where it offers it.
			if v, ok := any(matcherRepo(r)).(interface{ Validate() error }); ok {
				ps = appendErr(ps, c, p, v.Validate())
			}
		}
		if st&config.StageCommit != 0 {
			// The template first, so its mistake is placed at its own line.
			if err := committer.CheckMessageTemplate(r.Commit.MessageTemplate); err != nil {
				key := p + ".commit.messageTemplate"
				ps = append(ps, c.Problem(key, fmt.Sprintf("%s: %v", key, err)))
				continue
			}
			if tp := templateProblem(c, p, r.PullRequest); tp != nil {
				ps = append(ps, *tp)
				continue
			}
			ps = appendErr(ps, c, p, committerRepo(r).Validate())
		}
	}
	return ps
}

// appendErr adds a stage's validation error, placed at the key under
// prefix it names.
func appendErr(ps config.Problems, c *config.Config, prefix string, err error) config.Problems {
	if err == nil {
		return ps
	}
	key := c.KeyIn(prefix, err.Error())
	return append(ps, c.Problem(key, fmt.Sprintf("%s: %v", key, err)))
}

// ingestConfig maps the receivers and ingest limits onto ingest's configuration.
func ingestConfig(c *config.Config) ingest.Config {
	return ingest.Config{BodyLimit: c.Ingest.BodyLimit, PublishTimeout: c.Ingest.PublishTimeout, Receivers: mapAll(c.Receivers, ingestReceiver)}
}

// ingestReceiver maps one receiver. A receiver runs without authentication
// only with insecureNoAuth: config refuses an empty secret otherwise.
func ingestReceiver(r config.Receiver) ingest.Receiver {
	return ingest.Receiver{
		Name:           r.Name,
		Kind:           ingest.Kind(r.Kind),
		Secret:         r.Secret,
		SecretSet:      r.Secret != "",
		InsecureNoAuth: r.InsecureNoAuth,
		AuthHeader:     r.AuthHeader,
		Host:           r.Host,
		HostAliases:    r.HostAliases,
		RateLimit:      r.RateLimit,
		RateBurst:      r.RateBurst,
	}
}

// matcherConfig maps the repositories onto the matcher's configuration.
func matcherConfig(c *config.Config) matcher.Config {
	return matcher.Config{Repos: mapAll(c.Repositories, matcherRepo)}
}

func matcherRepo(r config.Repository) matcher.Repo {
	return matcher.Repo{
		Name:          r.Name,
		URL:           r.URL,
		Branch:        r.Branch,
		Paths:         r.Paths,
		FetchInterval: orDefault(r.FetchInterval, matcher.DefaultFetchInterval),
		Exclude:       r.Exclude,
		GitTimeout:    r.GitTimeout,
		Auth:          gitCredentials(r.Auth),
		MergedWrites:  r.PullRequest != nil || r.PushBranch != "" && r.PushBranch != r.Branch,
	}
}

// gitCredentials maps a repository's auth onto the credentials both the
// matcher (fetching) and the committer (fetching and pushing) use.
func gitCredentials(a config.Auth) gitauth.Credentials {
	return gitauth.Credentials{
		Username:         a.Username,
		Password:         a.Password,
		SSHKeyFile:       a.SSHKeyFile,
		SSHKeyPassphrase: a.SSHKeyPassphrase,
		KnownHostsFile:   a.KnownHostsFile,
	}
}

// committerConfig maps the repositories onto the committer's
// configuration; its clones live in <dataDir>/git.
func committerConfig(c *config.Config) committer.Config {
	return committer.Config{DataDir: filepath.Join(c.DataDir, "git"), Repos: mapAll(c.Repositories, committerRepo)}
}

func committerRepo(r config.Repository) committer.Repo {
	return committer.Repo{
		Name:       r.Name,
		URL:        r.URL,
		Branch:     r.Branch,
		PushBranch: r.PushBranch,
		GitTimeout: r.GitTimeout,
		Auth:       gitCredentials(r.Auth),
		Commit: committer.Commit{
			AuthorName:           r.Commit.AuthorName,
			AuthorEmail:          r.Commit.AuthorEmail,
			CommitterName:        r.Commit.CommitterName,
			CommitterEmail:       r.Commit.CommitterEmail,
			MessageTemplate:      r.Commit.MessageTemplate,
			Window:               orDefault(r.Commit.Window, committer.DefaultWindow),
			MaxWait:              orDefault(r.Commit.MaxWait, committer.DefaultMaxWait),
			SigningKeyFile:       r.Commit.SigningKeyFile,
			SigningKeyPassphrase: r.Commit.SigningKeyPassphrase,
		},
		PullRequest: committerPullRequest(r.PullRequest),
	}
}

// templateProblem is the first pullRequest template that fails on sample
// data, placed at its own key.
func templateProblem(c *config.Config, p string, pr *config.PullRequest) *config.Problem {
	if pr == nil {
		return nil
	}
	for _, t := range []struct {
		key, text string
		check     func(string) error
	}{{"branchTemplate", pr.BranchTemplate, committer.CheckBranchTemplate}, {"title", pr.Title, committer.CheckTitleTemplate}} {
		if err := t.check(t.text); err != nil {
			key := p + ".pullRequest." + t.key
			pb := c.Problem(key, fmt.Sprintf("%s: %v", key, err))
			return &pb
		}
	}
	return nil
}

// committerPullRequest maps a repository's pullRequest section (nil: none).
func committerPullRequest(p *config.PullRequest) *committer.PullRequest {
	if p == nil {
		return nil
	}
	return &committer.PullRequest{
		Provider:       p.Provider,
		APIURL:         p.APIURL,
		Token:          p.Token,
		BranchTemplate: p.BranchTemplate,
		TitleTemplate:  p.Title,
		Labels:         p.Labels,
		Automerge:      p.Automerge,
	}
}

// mapAll maps each configured entry onto a stage's type.
func mapAll[C, S any](entries []C, f func(C) S) []S {
	var out []S
	for _, e := range entries {
		out = append(out, f(e))
	}
	return out
}

// orDefault is what a key the file may leave out says: its value when
// set, otherwise the default of the stage that owns it.
func orDefault[T any](v *T, def T) T {
	if v != nil {
		return *v
	}
	return def
}
