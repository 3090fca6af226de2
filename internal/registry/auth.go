package registry

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/hoist-gitops/hoist/internal/imageref"
)

// passwordAuth logs in with a user name and a password, or a password read
// from a file at each use, so a rotated secret is picked up without a restart.
type passwordAuth struct {
	username, password, passwordFile string
}

// Authorization implements authn.Authenticator.
func (a *passwordAuth) Authorization() (*authn.AuthConfig, error) {
	password := a.password
	if a.passwordFile != "" {
		b, err := os.ReadFile(a.passwordFile)
		if err != nil {
			return nil, &authError{fmt.Errorf("registry password file: %w", err)}
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	return &authn.AuthConfig{Username: a.username, Password: password}, nil
}

// dockerConfigAuth logs in with the entry for host in a docker config.json
// (the format of a Kubernetes dockerconfigjson pull secret), read at each
// use like passwordAuth.
type dockerConfigAuth struct {
	file, host string
}

// Authorization implements authn.Authenticator.
func (a *dockerConfigAuth) Authorization() (*authn.AuthConfig, error) {
	b, err := os.ReadFile(a.file)
	if err != nil {
		return nil, &authError{fmt.Errorf("registry docker config: %w", err)}
	}
	cfg, err := lookupDockerConfig(b, a.host)
	if err != nil {
		return nil, &authError{fmt.Errorf("registry docker config %s: %w", a.file, err)}
	}
	return cfg, nil
}

// lookupDockerConfig finds host's login in a docker config.json, or in the
// older .dockercfg format (the same entries without "auths"). Keys may be
// written as a host, a URL (https://host/v1/), or any of Docker Hub's names.
func lookupDockerConfig(b []byte, host string) (*authn.AuthConfig, error) {
	var file struct {
		Auths map[string]json.RawMessage `json:"auths"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		return nil, fmt.Errorf("not a docker config.json: %w", scrubJSONError(err))
	}
	entries := file.Auths
	if entries == nil {
		var old map[string]json.RawMessage
		if err := json.Unmarshal(b, &old); err != nil {
			return nil, fmt.Errorf("not a docker config.json: %w", scrubJSONError(err))
		}
		entries = old
	}
	want := imageref.CanonicalHost(host)
	for key, raw := range entries {
		if dockerConfigHost(key) != want {
			continue
		}
		var cfg authn.AuthConfig
		if err := json.Unmarshal(raw, &cfg); err != nil {
			return nil, fmt.Errorf("the entry for %s cannot be read: %w", key, scrubJSONError(err))
		}
		return &cfg, nil
	}
	return nil, fmt.Errorf("no entry for host %s", host)
}

// dockerConfigHost is the canonical host of a docker config key.
func dockerConfigHost(key string) string {
	key = strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
	if i := strings.IndexByte(key, '/'); i >= 0 {
		key = key[:i]
	}
	return imageref.CanonicalHost(key)
}

// scrubJSONError keeps a JSON error's kind but drops any quoted value it
// echoes: the file holds secrets.
func scrubJSONError(err error) error {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Errorf("JSON syntax error at byte %d", e.Offset)
	case *json.UnmarshalTypeError:
		return fmt.Errorf("a %s where %s belongs (field %q)", e.Value, e.Type, e.Field)
	}
	return fmt.Errorf("malformed")
}
