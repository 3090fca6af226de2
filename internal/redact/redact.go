// Package redact takes credentials out of URLs and of messages that quote
// them, so that no password or token reaches a log, an error or an answer.
// It is the one definition every stage uses.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// redacted stands for a credential taken out of a URL.
const redacted = "xxxxx"

// tokenSchemes are the schemes whose user name without a password is
// usually a token (https://<token>@github.com, nats://<token>@host), so
// it is hidden too; ssh://git@host keeps its user name.
var tokenSchemes = map[string]bool{"http": true, "https": true, "nats": true, "tls": true, "ws": true, "wss": true}

// userinfoRE finds the credentials of a URL url.Parse refuses.
var userinfoRE = regexp.MustCompile(`://[^/?#]*@`)

// textUserinfoRE finds the credentials of URLs in free text.
var textUserinfoRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\s"']+@`)

// Text hides the credentials of every URL in a message (an error
// from a library that quotes the URL it was given), keeping ssh's user.
func Text(s string) string {
	return textUserinfoRE.ReplaceAllStringFunc(s, func(m string) string {
		scheme, _, _ := strings.Cut(m, "://")
		if strings.EqualFold(scheme, "ssh") && !strings.Contains(m[len(scheme)+3:], ":") {
			return m
		}
		return scheme + "://" + redacted + "@"
	})
}

// URL hides the password (and a token-like user name) in a URL or
// a comma-separated list of URLs, for messages and logs.
func URL(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = redactOne(p)
	}
	return strings.Join(parts, ",")
}

func redactOne(s string) string {
	if !strings.Contains(s, "://") {
		return s // user@host:path and host:port hold no password
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return userinfoRE.ReplaceAllString(s, "://"+redacted+"@")
	}
	if u.User == nil {
		return s
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		u.User = url.UserPassword(u.User.Username(), redacted)
	} else if tokenSchemes[strings.ToLower(u.Scheme)] {
		u.User = url.User(redacted)
	} else {
		return s
	}
	return u.String()
}
