package notify

import (
	"net/url"
	"strings"
)

// CommitURL is the web page of a commit in the repository at repoURL, when
// the repository is on a forge whose page layout is known; "" otherwise:
//   - github.com: https://github.com/<owner>/<repo>/commit/<sha>
//   - gitlab.com (groups may nest): https://gitlab.com/<group>/.../<repo>/-/commit/<sha>
//   - bitbucket.org: https://bitbucket.org/<owner>/<repo>/commits/<sha>
//   - any other https:// or http:// URL of exactly two path segments,
//     https://host/<owner>/<repo> (Gitea, Forgejo, GitHub Enterprise):
//     the same URL + /commit/<sha>.
//
// The three named forges are recognised in https://, ssh:// and
// git@host:path URLs; other hosts only in http(s):// URLs, since their web
// address cannot be told from an ssh one. Credentials in the URL and a
// trailing ".git" are dropped.
func CommitURL(repoURL, sha string) string {
	if sha == "" {
		return ""
	}
	scheme, host, path, ok := splitRepoURL(repoURL)
	if !ok {
		return ""
	}
	path = strings.TrimSuffix(strings.Trim(path, "/"), ".git")
	segs := strings.Split(path, "/")
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return ""
		}
	}
	switch strings.ToLower(host) {
	case "github.com":
		if len(segs) == 2 {
			return "https://github.com/" + path + "/commit/" + sha
		}
	case "gitlab.com":
		if len(segs) >= 2 {
			return "https://gitlab.com/" + path + "/-/commit/" + sha
		}
	case "bitbucket.org":
		if len(segs) == 2 {
			return "https://bitbucket.org/" + path + "/commits/" + sha
		}
	default:
		if (scheme == "https" || scheme == "http") && len(segs) == 2 {
			return scheme + "://" + host + "/" + path + "/commit/" + sha
		}
	}
	return ""
}

// splitRepoURL reads the scheme, host (with port) and path of a git URL:
// scheme://[user@]host/path or user@host:path (scheme "ssh").
func splitRepoURL(s string) (scheme, host, path string, ok bool) {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return "", "", "", false
		}
		scheme = strings.ToLower(u.Scheme)
		switch scheme {
		case "http", "https":
			host = u.Host
		case "ssh", "git+ssh":
			host = u.Hostname() // an ssh port says nothing of the web's
		default:
			return "", "", "", false
		}
		return scheme, host, u.Path, true
	}
	at := strings.IndexByte(s, '@')
	colon := strings.IndexByte(s, ':')
	if at <= 0 || colon < at {
		return "", "", "", false
	}
	return "ssh", s[at+1 : colon], s[colon+1:], true
}
