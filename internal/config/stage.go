package config

import (
	"fmt"
	"strings"
)

// Stages is a set of hoist's stages. Each stage resolves (${VAR}
// references, *File keys) and checks only the sections of hoist.yaml it
// uses, so a Deployment that injects only its own secrets can start: the
// ingest Deployment has no git password, the committer no registry secret.
type Stages uint8

// The stages, and all of them (what hoist serve runs and what config check
// checks without --stage).
const (
	StageIngest Stages = 1 << iota
	StageMatch
	StageCommit
	AllStages = StageIngest | StageMatch | StageCommit
)

// stageNames are the names of the stages, in pipeline order.
var stageNames = []struct {
	name string
	s    Stages
}{{"ingest", StageIngest}, {"match", StageMatch}, {"commit", StageCommit}}

// ParseStages reads stage names ("ingest", "match", "commit"), each
// argument one name or a comma-separated list; none means AllStages.
func ParseStages(args []string) (Stages, error) {
	var out Stages
	for _, a := range args {
		for _, name := range strings.Split(a, ",") {
			name = strings.TrimSpace(name)
			found := false
			for _, sn := range stageNames {
				if sn.name == name {
					out |= sn.s
					found = true
				}
			}
			if !found {
				return 0, fmt.Errorf("unknown stage %q (one of ingest, match, commit)", name)
			}
		}
	}
	if out == 0 {
		out = AllStages
	}
	return out, nil
}

// String lists the stage names, comma-separated.
func (s Stages) String() string {
	var names []string
	for _, sn := range stageNames {
		if s&sn.s != 0 {
			names = append(names, sn.name)
		}
	}
	return strings.Join(names, ",")
}

// uses reports whether one of the stages reads the key path
// ("repositories[0].commit.window"). Every stage uses nats, listen and log;
// ingest the ingest limits and the receivers; match the repositories but
// not their commit and pullRequest sections (the signing keys and the forge
// token are there), and the registries and images rules; commit dataDir and
// the whole of each repository; match and commit notify.
func (s Stages) uses(path string) bool {
	top := path
	if i := strings.IndexAny(path, ".["); i >= 0 {
		top = path[:i]
	}
	switch top {
	case "ingest", "receivers":
		return s&StageIngest != 0
	case "dataDir":
		return s&StageCommit != 0
	case "notify":
		return s&notifyStages != 0
	case "repositories":
		if s&StageCommit != 0 {
			return true
		}
		return s&StageMatch != 0 && !isCommitKey(path)
	case "registries", "images": // the matcher verifies pushed tags in registries
		return s&StageMatch != 0
	}
	return true // nats, listen, log, and keys the file should not have
}

// isCommitKey reports whether a path is inside a repository's commit or
// pullRequest section (the forge token is the committer's alone).
func isCommitKey(path string) bool {
	i := strings.Index(path, "].")
	if i < 0 {
		return false
	}
	rest := path[i+2:]
	for _, s := range []string{"commit", "pullRequest"} {
		if rest == s || strings.HasPrefix(rest, s+".") || strings.HasPrefix(rest, s+"[") {
			return true
		}
	}
	return false
}
