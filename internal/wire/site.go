package wire

import (
	"cmp"
	"encoding/base64"
	"strings"
)

// Site names one image site of a repository branch: the one definition of
// "which site" that rewrites, holds, gates and explain's results share.
type Site struct {
	Repo      string `json:"repo"`
	Branch    string `json:"branch"`
	File      string `json:"file"`
	Resource  string `json:"resource"`
	Container string `json:"container"`
}

// Key is the site's one key: repository, branch and the rest, each
// base64url-encoded, so it is also a valid key of a NATS KV bucket (keys
// allow neither '/' nor ':').
func (s Site) Key() string {
	return BranchKey(s.Repo, s.Branch) + "." + base64.RawURLEncoding.EncodeToString([]byte(s.File+"\x00"+s.Resource+"\x00"+s.Container))
}

// BranchKey is the part of a site's Key that names its repository branch,
// each base64url-encoded (NATS keys allow neither '/' nor ':').
func BranchKey(repo, branch string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(repo)) + "." + enc([]byte(branch))
}

// String renders the site as "repo branch file resource container".
func (s Site) String() string {
	return s.Repo + " " + s.Branch + " " + s.File + " " + s.Resource + " " + s.Container
}

// Compare orders sites by repository, branch, file, resource and
// container: -1, 0 or +1 as s sorts before, with or after o.
func (s Site) Compare(o Site) int {
	return cmp.Or(strings.Compare(s.Repo, o.Repo), strings.Compare(s.Branch, o.Branch),
		strings.Compare(s.File, o.File), strings.Compare(s.Resource, o.Resource), strings.Compare(s.Container, o.Container))
}

// Site is the site the rewrite is for.
func (r Rewrite) Site() Site {
	return Site{Repo: r.Repo, Branch: r.Branch, File: r.File, Resource: r.Resource, Container: r.Container}
}
