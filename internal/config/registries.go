package config

import (
	"fmt"
	"regexp"
	"time"

	"github.com/hoist-gitops/hoist/internal/imageref"
	"github.com/hoist-gitops/hoist/internal/imagerules"
)

// Registry is how hoist reaches one container registry host, to verify
// pushed tags and to list tags.
type Registry struct {
	// Host is host[:port] as image references write it; docker.io for Docker Hub.
	Host string `yaml:"host"`
	// Insecure allows plain HTTP and certificates that do not verify (local registries).
	Insecure bool `yaml:"insecure"`
	// Auth is hoist's login; empty: the docker config keychain (~/.docker/config.json, $DOCKER_CONFIG).
	Auth RegistryAuth `yaml:"auth"`
	// RateLimit is the requests per second to this host (429 Retry-After is
	// honoured as well); 0: registry.DefaultRateLimit.
	RateLimit float64 `yaml:"rateLimit"`
}

// RegistryAuth is a registry login: a user name with a password (or a
// password file), or a docker config.json file, which is also the format of
// a Kubernetes dockerconfigjson image pull secret. Files are read at each
// use, so a rotated secret is picked up without a restart.
type RegistryAuth struct {
	Username         string `yaml:"username"`
	Password         string `yaml:"password"`
	PasswordFile     string `yaml:"passwordFile"`
	DockerConfigFile string `yaml:"dockerConfigFile"`
}

// ImageRule is what hoist does for the image repositories its glob
// matches; the first matching entry of images applies.
type ImageRule struct {
	// Match is a glob on the canonical repository (host/path, Docker Hub
	// as docker.io/library/x): * within a path component, ** across them.
	Match string `yaml:"match"`
	// Verify is tag (the tag must exist in the registry, which gives its
	// digest) or none (trust the webhook).
	Verify string `yaml:"verify"`
	// PinDigest writes tag@digest and keeps the digest current.
	PinDigest bool `yaml:"pinDigest"`
	// Signature admits only images with a valid cosign signature.
	Signature ImageSignature `yaml:"signature"`
	// MinAge is how long hoist must have known a tag (its first-seen
	// time) before it is used; a container's hoist.dev/min-age.<container>
	// annotation overrides it.
	MinAge time.Duration `yaml:"minAge"`
	// Scan lists the repository's tags periodically (default true).
	Scan bool `yaml:"scan"`
}

// ImageSignature is a cosign public key, or a keyless identity.
type ImageSignature struct {
	// Key is a PEM public key file.
	Key string `yaml:"key"`
	// Keyless is a Fulcio certificate identity verified against a Sigstore trusted root.
	Keyless KeylessSignature `yaml:"keyless"`
	// WaitFor is how long an image without a signature yet is retried
	// before it is dropped as unsigned (CI signs after it pushes); 0:
	// matcher.DefaultSignatureWait.
	WaitFor time.Duration `yaml:"waitFor"`
}

// KeylessSignature is a Sigstore keyless signing identity.
type KeylessSignature struct {
	// Issuer is the OIDC issuer, e.g. https://token.actions.githubusercontent.com.
	Issuer string `yaml:"issuer"`
	// Identity is a regular expression the certificate identity must match.
	Identity string `yaml:"identity"`
	// TrustedRootFile is a Sigstore trusted root JSON file.
	TrustedRootFile string `yaml:"trustedRootFile"`
}

// setDefaults fills an images entry before its keys are decoded.
func (r *ImageRule) setDefaults() {
	r.Verify = string(imagerules.VerifyTag)
	r.Scan = true
}

// ImageRules maps images onto the rules the matcher applies, in order.
func (c *Config) ImageRules() []imagerules.Rule {
	var out []imagerules.Rule
	for _, r := range c.Images {
		out = append(out, imagerules.Rule{
			Match:     r.Match,
			Verify:    imagerules.Verify(r.Verify),
			PinDigest: r.PinDigest,
			Signature: imagerules.Signature{
				Key: r.Signature.Key,
				Keyless: imagerules.Keyless{
					Issuer:          r.Signature.Keyless.Issuer,
					Identity:        r.Signature.Keyless.Identity,
					TrustedRootFile: r.Signature.Keyless.TrustedRootFile,
				},
				WaitFor: r.Signature.WaitFor,
			},
			MinAge: r.MinAge,
			Scan:   r.Scan,
		})
	}
	return out
}

// resolveRegistryFiles applies rel (relative to the configuration file's
// folder) to every file named in registries and images.
func (c *Config) resolveRegistryFiles(rel func(*string)) {
	for i := range c.Registries {
		a := &c.Registries[i].Auth
		rel(&a.PasswordFile)
		rel(&a.DockerConfigFile)
	}
	for i := range c.Images {
		s := &c.Images[i].Signature
		rel(&s.Key)
		rel(&s.Keyless.TrustedRootFile)
	}
}

// registryProblem records a mistake about a key of registries or images
// at the key's line; the one place these checks meet the decoder.
func (c *Config) registryProblem(d *decoder, key, format string, args ...any) {
	c.report(d, key, format, args...)
}

// checkRegistries finds the mistakes in registries and images.
func (c *Config) checkRegistries(d *decoder) {
	hosts := map[string]string{}
	for i, r := range c.Registries {
		c.checkRegistry(d, fmt.Sprintf("registries[%d]", i), r, hosts)
	}
	matches := map[string]string{}
	for i, r := range c.Images {
		c.checkImageRule(d, fmt.Sprintf("images[%d]", i), r, matches)
	}
}

func (c *Config) checkRegistry(d *decoder, p string, r Registry, hosts map[string]string) {
	switch {
	case r.Host == "":
		c.registryProblem(d, p, "%s: host is missing", p)
	case imageref.ValidateHost(r.Host) != nil:
		c.registryProblem(d, p+".host", "%s.host: %v", p, imageref.ValidateHost(r.Host))
	default:
		key := imageref.CanonicalHost(r.Host)
		if other := hosts[key]; other != "" {
			c.registryProblem(d, p+".host", "%s.host: %s is already configured in %s", p, r.Host, other)
		}
		hosts[key] = p
	}
	if r.RateLimit < 0 {
		c.registryProblem(d, p+".rateLimit", "%s.rateLimit must not be negative (0 means the default, 10 per second)", p)
	}
	a := r.Auth
	switch {
	case a.DockerConfigFile != "" && (a.Username != "" || a.Password != "" || a.PasswordFile != ""):
		c.registryProblem(d, p+".auth.dockerConfigFile", "%s.auth: set dockerConfigFile or username and password, not both", p)
	case a.Password != "" && a.PasswordFile != "":
		c.registryProblem(d, p+".auth.passwordFile", "%s.auth: set password or passwordFile, not both", p)
	case a.Username == "" && (a.Password != "" || a.PasswordFile != ""):
		c.registryProblem(d, p+".auth", "%s.auth: username is missing", p)
	case a.Username != "" && a.Password == "" && a.PasswordFile == "":
		c.registryProblem(d, p+".auth", "%s.auth: password or passwordFile is missing", p)
	}
	c.checkReadable(d, p+".auth.passwordFile", a.PasswordFile)
	c.checkReadable(d, p+".auth.dockerConfigFile", a.DockerConfigFile)
}

func (c *Config) checkImageRule(d *decoder, p string, r ImageRule, matches map[string]string) {
	switch _, err := imagerules.CompileGlob(r.Match); {
	case r.Match == "" && !c.has(p+".match"):
		c.registryProblem(d, p, "%s: match is missing (a glob on the repository, e.g. \"ghcr.io/team/**\")", p)
	case err != nil:
		c.registryProblem(d, p+".match", "%s.match: %v", p, err)
	case matches[r.Match] != "":
		c.registryProblem(d, p+".match", "%s.match: %q is already matched by %s, which comes first and wins", p, r.Match, matches[r.Match])
	default:
		matches[r.Match] = p
	}
	switch imagerules.Verify(r.Verify) {
	case imagerules.VerifyTag, imagerules.VerifyNone:
	default:
		c.registryProblem(d, p+".verify", "%s.verify: %q is not one of tag, none", p, r.Verify)
	}
	s := r.Signature
	k := s.Keyless
	switch {
	case s.Key != "" && k != (KeylessSignature{}):
		c.registryProblem(d, p+".signature", "%s.signature: set key or keyless, not both", p)
	case k != (KeylessSignature{}):
		if k.Issuer == "" {
			c.registryProblem(d, p+".signature.keyless", "%s.signature.keyless: issuer is missing", p)
		}
		if k.TrustedRootFile == "" {
			c.registryProblem(d, p+".signature.keyless", "%s.signature.keyless: trustedRootFile is missing (a Sigstore trusted root JSON file; hoist does not fetch one from the internet)", p)
		}
		if k.Identity == "" {
			c.registryProblem(d, p+".signature.keyless", "%s.signature.keyless: identity is missing (a regular expression)", p)
		} else if _, err := regexp.Compile(k.Identity); err != nil {
			c.registryProblem(d, p+".signature.keyless.identity", "%s.signature.keyless.identity: %v", p, err)
		}
	}
	if s.WaitFor > 0 && s.Key == "" && k == (KeylessSignature{}) {
		c.registryProblem(d, p+".signature.waitFor", "%s.signature: waitFor without key or keyless requires no signature; add key or keyless", p)
	}
	c.checkReadable(d, p+".signature.key", s.Key)
	c.checkReadable(d, p+".signature.keyless.trustedRootFile", k.TrustedRootFile)
	if (s.Key != "" || k != (KeylessSignature{})) && r.Verify == string(imagerules.VerifyNone) {
		c.registryProblem(d, p+".verify", "%s: a signature is checked in the registry; verify: none cannot be used with signature", p)
	}
	if r.MinAge > imagerules.MaxMinAge {
		c.registryProblem(d, p+".minAge", "%s.minAge: %s is longer than %s, the longest hoist can hold a push (the push stream keeps a push a day longer)", p, r.MinAge, imagerules.MaxMinAge)
	}
}
