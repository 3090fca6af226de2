package notify

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/nicholas-fedor/shoutrrr/pkg/router"
	"github.com/nicholas-fedor/shoutrrr/pkg/services/chat/matrix"
	"github.com/nicholas-fedor/shoutrrr/pkg/types"

	"github.com/hoist-gitops/hoist/internal/redact"
)

// Target is one notify entry of hoist.yaml.
type Target struct {
	// URL is an http:// or https:// URL (hoist's JSON webhook) or a
	// shoutrrr service URL (slack://, teams://, discord://, matrix://,
	// smtp://, generic+https://, logger://, ...).
	URL string
	// Events are the kinds sent to it; empty: every kind.
	Events []Kind
	// Secret signs hoist's JSON webhook (X-Hoist-Signature-256); it has no
	// use with a shoutrrr URL, whose credentials are in the URL.
	Secret string
}

// Webhook reports whether the URL is hoist's own JSON webhook: a plain
// http:// or https:// URL. Shoutrrr's generic webhook, which posts the
// text, is written generic+https://host/path (or generic://host/path).
func (t Target) Webhook() bool {
	s := strings.ToLower(t.URL)
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// Scheme is the URL's scheme, lower-cased ("https", "slack", "generic+https").
func (t Target) Scheme() string {
	scheme, _, ok := strings.Cut(t.URL, "://")
	if !ok {
		return ""
	}
	return strings.ToLower(scheme)
}

// notifierName is how logs and metrics name the target: its index and scheme
// ("0-https", "1-slack"), never its URL, which may hold a token.
func notifierName(i int, t Target) string {
	s := t.Scheme()
	if s == "" {
		s = "invalid"
	}
	return fmt.Sprintf("%d-%s", i, s)
}

// Validate checks the URL without sending anything: a webhook URL needs a
// host; a shoutrrr URL must name a known service and parse as that
// service's configuration. An error never quotes the URL's credentials.
func (t Target) Validate() error {
	if t.URL == "" {
		return errors.New("url is empty")
	}
	if strings.ContainsAny(t.URL, " \t\r\n\x00") {
		return errors.New("the url contains a space or a control character")
	}
	for _, k := range t.Events {
		if !validKind(string(k)) {
			return fmt.Errorf("unknown event %q (one of %s)", k, kindList())
		}
	}
	u, err := url.Parse(t.URL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("the url does not parse: %v", err)
	}
	if u.Scheme == "" {
		return errors.New("the url has no scheme: write https://host/path for hoist's JSON webhook or a shoutrrr URL such as slack://token@channel")
	}
	if t.Webhook() {
		if u.Hostname() == "" {
			return fmt.Errorf("the %s:// url has no host", u.Scheme)
		}
		return nil
	}
	if t.Secret != "" {
		return fmt.Errorf("secret signs hoist's JSON webhook (an http:// or https:// URL); a %s:// URL carries its credentials itself", t.Scheme())
	}
	return checkShoutrrr(t.URL, u)
}

// checkShoutrrr parses a shoutrrr URL as its service's configuration.
// Matrix is parsed by its configuration alone: initialising its service
// logs in to the server.
func checkShoutrrr(raw string, u *url.URL) error {
	var r router.ServiceRouter
	scheme, _, _ := strings.Cut(strings.ToLower(u.Scheme), "+")
	if _, err := r.NewService(scheme); err != nil {
		return fmt.Errorf("unknown scheme %q: write http(s):// for hoist's JSON webhook or a shoutrrr service (slack, teams, discord, matrix, smtp, generic, logger, ...)", u.Scheme)
	}
	if scheme == "generic" && u.Hostname() == "" {
		return fmt.Errorf("the %s:// url has no host", u.Scheme)
	}
	if scheme == "matrix" {
		var c matrix.Config
		if err := c.SetURL(u); err != nil {
			return fmt.Errorf("the %s:// url: %s", u.Scheme, scrub(err.Error(), raw, u))
		}
		return nil
	}
	if err := initService(&r, scheme, u); err != nil {
		return fmt.Errorf("the %s:// url: %s", u.Scheme, scrub(err.Error(), raw, u))
	}
	return nil
}

// initService parses u as the configuration of its service, as the
// router's Locate does, but keeps the service's own error (Locate says only
// "failed to initialize service").
func initService(r *router.ServiceRouter, scheme string, u *url.URL) error {
	svc, err := r.NewService(scheme)
	if err != nil {
		return err
	}
	if !strings.EqualFold(u.Scheme, scheme) {
		cs, ok := svc.(types.CustomURLService)
		if !ok {
			return fmt.Errorf("%s has no %s+ form", scheme, scheme)
		}
		if u, err = cs.GetConfigURLFromCustom(u); err != nil {
			return err
		}
	}
	return svc.Initialize(u, nil)
}

// scrub takes the URL and its parts that may be tokens (the user
// information, the host, the path's segments) out of a library's message:
// notification URLs hold their credentials anywhere, not only before the @.
func scrub(msg, raw string, u *url.URL) string {
	msg = strings.ReplaceAll(msg, raw, "<url>")
	var parts []string
	if u != nil {
		if u.User != nil {
			parts = append(parts, u.User.String(), u.User.Username())
			if p, ok := u.User.Password(); ok {
				parts = append(parts, p)
			}
		}
		parts = append(parts, u.Host, u.Opaque)
		parts = append(parts, strings.Split(u.Path, "/")...)
	}
	for _, p := range parts {
		if len(p) >= 6 {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	return redact.Text(msg)
}

func kindList() string {
	var s []string
	for _, k := range Kinds() {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}
