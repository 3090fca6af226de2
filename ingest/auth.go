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

// authScheme is how a kind's registry proves it knows the receiver's secret.
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

// authVerdict is what a delivery's headers and URL alone say of its credentials.
type authVerdict int

const (
	// rejected: no valid credentials; the body need not be read.
	rejected authVerdict = iota
	// accepted: the secret itself was presented.
	accepted
	// needsBody: a well-formed signature over the body, checked once it is read.
	needsBody
)

// authenticate reports whether the delivery proves knowledge of secret:
// checkHeaders, then checkBody when the headers carry a signature.
func (s authScheme) authenticate(sec secret, authHeader string, c credentials) bool {
	switch s.checkHeaders(sec, authHeader, c.header, c.pathSecret) {
	case accepted:
		return true
	case needsBody:
		return s.checkBody(sec, c.header, c.body)
	}
	return false
}

// checkHeaders decides what it can before the body is read: every secret
// sent as a header value or path segment is compared here, and a signature
// that is missing or not of its algorithm's hex length is rejected, so an
// unauthenticated client never gets its body read. Every comparison is
// constant-time in the secret. authHeader names the header static schemes
// read ("" = Authorization).
func (s authScheme) checkHeaders(sec secret, authHeader string, h http.Header, pathSecret string) authVerdict {
	switch s {
	case authStatic:
		return verdictOf(staticHeaderOK(h, authHeader, sec))
	case authWholeAuthorization:
		return verdictOf(equalSecret(h.Get("Authorization"), sec))
	case authJFrog:
		v := h.Get("X-JFrog-Event-Auth")
		if equalSecret(v, sec) {
			return accepted
		}
		return signatureShaped(v, sha256.Size)
	case authHubSignature:
		return hubSignatureShaped(h)
	case authGiteaSignature:
		if v := headerOf(h, "X-Gitea-Signature", "X-Forgejo-Signature"); v != "" {
			return signatureShaped(v, sha256.Size)
		}
		return hubSignatureShaped(h)
	case authNexusSignature:
		return signatureShaped(h.Get("X-Nexus-Webhook-Signature"), sha1.Size)
	case authPath:
		return verdictOf(pathSecret != "" && equalSecret(pathSecret, sec))
	case authPathOrStatic:
		if pathSecret != "" {
			return verdictOf(equalSecret(pathSecret, sec))
		}
		return verdictOf(staticHeaderOK(h, authHeader, sec))
	case authSignatureOrStatic:
		if h.Get("X-Hub-Signature-256") != "" {
			return hubSignatureShaped(h)
		}
		return verdictOf(staticHeaderOK(h, authHeader, sec))
	}
	return rejected
}

// checkBody checks the signature checkHeaders found well-formed against the body.
func (s authScheme) checkBody(sec secret, h http.Header, body []byte) bool {
	switch s {
	case authJFrog:
		return signatureOK(sha256.New, sec.s, body, h.Get("X-JFrog-Event-Auth"))
	case authHubSignature, authSignatureOrStatic:
		return hubSignatureOK(h, sec.s, body)
	case authGiteaSignature:
		if v := headerOf(h, "X-Gitea-Signature", "X-Forgejo-Signature"); v != "" {
			return signatureOK(sha256.New, sec.s, body, v)
		}
		return hubSignatureOK(h, sec.s, body)
	case authNexusSignature:
		return signatureOK(sha1.New, sec.s, body, h.Get("X-Nexus-Webhook-Signature"))
	}
	return false
}

func verdictOf(ok bool) authVerdict {
	if ok {
		return accepted
	}
	return rejected
}

// hubSignatureShaped looks at X-Hub-Signature-256: sha256=<hex>.
func hubSignatureShaped(h http.Header) authVerdict {
	sig, ok := strings.CutPrefix(h.Get("X-Hub-Signature-256"), "sha256=")
	if !ok {
		return rejected
	}
	return signatureShaped(sig, sha256.Size)
}

// signatureShaped is needsBody when v is size bytes in hex, else rejected.
func signatureShaped(v string, size int) authVerdict {
	v = strings.TrimSpace(v)
	if len(v) != 2*size {
		return rejected
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return rejected
		}
	}
	return needsBody
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
