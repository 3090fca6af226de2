package registry

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// A docker config's entry is found however its key spells the host (a URL,
// Docker Hub's other names), in both file formats; a malformed file's error
// never echoes its content.
func TestRegistryDockerConfigLookup(t *testing.T) {
	const hub = `{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpodWItcGFzcw=="}}}`
	cfg, err := lookupDockerConfig([]byte(hub), "docker.io")
	if err != nil || cfg.Username != "user" || cfg.Password != "hub-pass" {
		t.Errorf("docker hub entry: %+v, %v", cfg, err)
	}
	const old = `{"registry.example.com:5000":{"username":"u","password":"p"}}`
	cfg, err = lookupDockerConfig([]byte(old), "Registry.Example.com:5000")
	if err != nil || cfg.Username != "u" || cfg.Password != "p" {
		t.Errorf(".dockercfg entry: %+v, %v", cfg, err)
	}
	if _, err := lookupDockerConfig([]byte(hub), "ghcr.io"); err == nil || !strings.Contains(err.Error(), "no entry for host ghcr.io") {
		t.Errorf("missing host: %v", err)
	}
	for _, bad := range []string{`{"auths":{"h":{"auth":"c2VjcmV0LXZhbHVl"`, `{"auths":{"h":{"auth":123}}}`, `{"auths":{"h":{"auth":"%%secret-value%%"}}}`} {
		_, err := lookupDockerConfig([]byte(bad), "h")
		if err == nil || strings.Contains(err.Error(), "secret-value") || strings.Contains(err.Error(), "c2VjcmV0") {
			t.Errorf("malformed %q: %v", bad, err)
		}
	}
}

// Retry-After is seconds or an HTTP date; anything else waits a second,
// and no registry makes hoist wait more than the cap.
func TestRegistryParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"7": 7 * time.Second,
		now.Add(time.Minute).Format(http.TimeFormat): time.Minute,
		"":        defaultRetryAfter,
		"soon":    defaultRetryAfter,
		"9999999": maxRetryAfter,
		now.Add(-time.Hour).Format(http.TimeFormat): 0,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("Retry-After %q: %s, want %s", v, got, want)
		}
	}
}

// No docker config, however malformed, makes the lookup panic or puts the
// secret it holds into an error.
func FuzzDockerConfigLookup(f *testing.F) {
	f.Add([]byte(`{"auths":{"h":{"auth":"dTpzZWNyZXQ="}}}`), "h")
	f.Add([]byte(`{"h":{"username":"u","password":"secret"}}`), "h")
	f.Add([]byte(`{"auths":{"h":{"auth":"secret"`), "h")
	f.Fuzz(func(t *testing.T, b []byte, host string) {
		_, err := lookupDockerConfig(b, host)
		if err != nil && strings.Contains(err.Error(), "secret") && !strings.Contains(host, "secret") {
			t.Fatalf("error shows the secret: %v", err)
		}
	})
}
