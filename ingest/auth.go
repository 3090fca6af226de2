package ingest

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"strings"
)

// authScheme is how a kind's registry proves it knows the receiver's secret (SPEC §7).
type authScheme int

const (
	// authStatic: the secret in a header (Authorization: <secret>,
	// Authorization: Bearer <secret>, Basic with the secret as password).
	authStatic authScheme = iota
	// authWholeAuthorization: the whole Authorization value is the secret (Harbor).
	authWholeAuthorization
	// authJFrog: X-JFrog-Event-Auth is the secret or the body's HMAC-SHA256.
	authJFrog
	// authHubSignature: X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body> (GitHub).
	authHubSignature
	// authGiteaSignature: X-Gitea-Signature / X-Forgejo-Signature: hex HMAC-SHA256.
	authGiteaSignature
	// authNexusSignature: X-Nexus-Webhook-Signature: hex HMAC-SHA1.
	authNexusSignature
	// authPath: the secret is the last URL path segment (Docker Hub, Quay).
	authPath
	// authPathOrStatic: a path secret or a static header (Pub/Sub push cannot set headers).
	authPathOrStatic
	// authSignatureOrStatic: X-Hub-Signature-256 when sent, else a static header (generic).
	authSignatureOrStatic
)

// kindAuth is the scheme of each kind.
var kindAuth = map[Kind]authScheme{
	KindDistribution: authStatic,
	KindDockerHub:    authPath,
	KindHarbor:       authWholeAuthorization,
	KindQuay:         authPath,
	KindGitHub:       authHubSignature,
	KindACR:          authStatic,
	KindGCR:          authPathOrStatic,
	KindECR:          authStatic,
	KindJFrog:        authJFrog,
	KindNexus:        authNexusSignature,
	KindGitea:        authGiteaSignature,
	KindCloudEvents:  authStatic,
	KindGeneric:      authSignatureOrStatic,
}

// takesPathSecret reports whether /hooks/<name>/<secret> is a valid URL for the scheme.
func (s authScheme) takesPathSecret() bool { return s == authPath || s == authPathOrStatic }

// credentials is what a delivery presents: its headers, body and the
// secret path segment ("" when the URL has none).
type credentials struct {
	header     http.Header
	body       []byte
	pathSecret string
}

// authenticate reports whether the delivery proves knowledge of secret.
// Every comparison is constant-time in the secret; it runs before the body
// is parsed. authHeader names the header static schemes read ("" = Authorization).
func (s authScheme) authenticate(sec secret, authHeader string, c credentials) bool {
	switch s {
	case authStatic:
		return staticHeaderOK(c.header, authHeader, sec)
	case authWholeAuthorization:
		return equalSecret(c.header.Get("Authorization"), sec)
	case authJFrog:
		v := c.header.Get("X-JFrog-Event-Auth")
		return equalSecret(v, sec) || signatureOK(sha256.New, sec.s, c.body, v)
	case authHubSignature:
		return hubSignatureOK(c.header, sec.s, c.body)
	case authGiteaSignature:
		if v := headerOf(c.header, "X-Gitea-Signature", "X-Forgejo-Signature"); v != "" {
			return signatureOK(sha256.New, sec.s, c.body, v)
		}
		return hubSignatureOK(c.header, sec.s, c.body)
	case authNexusSignature:
		return signatureOK(sha1.New, sec.s, c.body, c.header.Get("X-Nexus-Webhook-Signature"))
	case authPath:
		return c.pathSecret != "" && equalSecret(c.pathSecret, sec)
	case authPathOrStatic:
		if c.pathSecret != "" {
			return equalSecret(c.pathSecret, sec)
		}
		return staticHeaderOK(c.header, authHeader, sec)
	case authSignatureOrStatic:
		if c.header.Get("X-Hub-Signature-256") != "" {
			return hubSignatureOK(c.header, sec.s, c.body)
		}
		return staticHeaderOK(c.header, authHeader, sec)
	}
	return false
}

// secret is a receiver's shared secret with its SHA-256, computed once
// rather than on every comparison.
type secret struct {
	s   string
	sum [sha256.Size]byte
}

// newSecret prepares s for equalSecret.
func newSecret(s string) secret { return secret{s: s, sum: sha256.Sum256([]byte(s))} }

// equalSecret compares in constant time, also in the length of either
// side: both are hashed to 32 bytes first.
func equalSecret(given string, sec secret) bool {
	if given == "" || sec.s == "" {
		return false
	}
	g := sha256.Sum256([]byte(given))
	return subtle.ConstantTimeCompare(g[:], sec.sum[:]) == 1
}

// staticHeaderOK accepts "<secret>", "Bearer <secret>" or HTTP Basic with
// the secret as password in the named header.
func staticHeaderOK(h http.Header, name string, sec secret) bool {
	if name == "" {
		name = "Authorization"
	}
	v := strings.TrimSpace(h.Get(name))
	if equalSecret(v, sec) {
		return true
	}
	scheme, rest, ok := strings.Cut(v, " ")
	if !ok {
		return false
	}
	switch strings.ToLower(scheme) {
	case "bearer":
		return equalSecret(strings.TrimSpace(rest), sec)
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return false
		}
		_, password, found := strings.Cut(string(raw), ":")
		return found && equalSecret(password, sec)
	}
	return false
}

// hubSignatureOK checks X-Hub-Signature-256: sha256=<hex HMAC-SHA256>.
func hubSignatureOK(h http.Header, secret string, body []byte) bool {
	sig, ok := strings.CutPrefix(h.Get("X-Hub-Signature-256"), "sha256=")
	return ok && signatureOK(sha256.New, secret, body, sig)
}

// signatureOK checks a hex HMAC of body keyed with secret.
func signatureOK(alg func() hash.Hash, secret string, body []byte, sigHex string) bool {
	if secret == "" || sigHex == "" {
		return false
	}
	given, err := hex.DecodeString(strings.TrimSpace(sigHex))
	if err != nil {
		return false
	}
	m := hmac.New(alg, []byte(secret))
	m.Write(body)
	return hmac.Equal(m.Sum(nil), given)
}
