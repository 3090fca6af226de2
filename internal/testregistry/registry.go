// Package testregistry runs the real CNCF distribution registry on
// 127.0.0.1 for tests, optionally posting its notifications to a webhook,
// and drives it with crane: push random images and multi-arch indexes, tag,
// delete.
package testregistry

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/testenv"
)

// Options configures a registry run.
type Options struct {
	// NotifyURL is where the registry posts its notifications; "" = none.
	NotifyURL string
	// NotifyHeaders are static headers sent with every notification
	// (e.g. "Authorization": "Bearer <secret>").
	NotifyHeaders map[string]string
	// NotifyBackoff is the wait before a failed notification is retried
	// (default 50ms); the registry retries a failed one forever, in order.
	NotifyBackoff time.Duration
	// IgnoreActions are notification actions not sent (e.g. "pull").
	IgnoreActions []string
	// StartTimeout bounds the wait for the registry to answer (default 60s).
	StartTimeout time.Duration
	// Users, when set, turns on htpasswd basic authentication with these
	// user names and passwords; crane is given the first one (see User).
	Users map[string]string
}

// Registry is a running registry and the crane that talks to it.
type Registry struct {
	// Host is host:port on 127.0.0.1, as image references name it.
	Host  string
	dir   string
	crane string
}

// Start runs the registry built by `make tools` (skipped or failed per
// testenv.Tool when it is missing) until the test ends. With -short the
// test is skipped: it drives an external program.
func Start(t testing.TB, o Options) *Registry {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the CNCF registry; skipped with -short")
	}
	bin := testenv.Tool(t, "registry")
	r := &Registry{dir: t.TempDir(), crane: testenv.Tool(t, "crane")}
	if err := os.MkdirAll(filepath.Join(r.dir, "docker"), 0o755); err != nil {
		t.Fatal(err)
	}
	if len(o.Users) > 0 {
		if err := writeHtpasswd(filepath.Join(r.dir, "htpasswd"), o.Users); err != nil {
			t.Fatal(err)
		}
	}
	r.Host = testenv.OnFreeAddr(t, "registry", func(host string) error { return r.run(t, bin, host, o) })
	if len(o.Users) > 0 {
		if err := writeDockerConfig(filepath.Join(r.dir, "docker", "config.json"), r.Host, o.Users); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// run starts the registry on host and waits until /v2/ answers.
func (r *Registry) run(t testing.TB, bin, host string, o Options) error {
	cfgPath := filepath.Join(r.dir, "config.yml")
	if err := os.WriteFile(cfgPath, configYAML(r.dir, host, o), 0o644); err != nil {
		return err
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + r.dir, "OTEL_TRACES_EXPORTER=none", "OTEL_SDK_DISABLED=true"}
	timeout := o.StartTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	client := &http.Client{Timeout: time.Second}
	ready := func() bool { return answers(client, host) }
	_, err := testenv.StartProcess(t, "registry on "+host, cmd, filepath.Join(r.dir, "registry.log"), ready, timeout)
	return err
}

// configYAML is the registry's configuration; JSON is valid YAML.
func configYAML(dir, host string, o Options) []byte {
	cfg := map[string]any{
		"version": 0.1,
		"log":     map[string]any{"level": "warn", "accesslog": map[string]any{"disabled": true}},
		"storage": map[string]any{
			"filesystem":  map[string]any{"rootdirectory": filepath.Join(dir, "data")},
			"delete":      map[string]any{"enabled": true},
			"maintenance": map[string]any{"uploadpurging": map[string]any{"enabled": false}},
		},
		"http": map[string]any{"addr": host},
	}
	if len(o.Users) > 0 {
		cfg["auth"] = map[string]any{"htpasswd": map[string]any{"realm": "testregistry", "path": filepath.Join(dir, "htpasswd")}}
	}
	if o.NotifyURL != "" {
		backoff := o.NotifyBackoff
		if backoff == 0 {
			backoff = 50 * time.Millisecond
		}
		headers := map[string][]string{}
		for k, v := range o.NotifyHeaders {
			headers[k] = []string{v}
		}
		ep := map[string]any{
			"name": "hoist", "url": o.NotifyURL, "headers": headers,
			"timeout": "10s", "threshold": 1, "backoff": backoff.String(),
		}
		if len(o.IgnoreActions) > 0 {
			ep["ignore"] = map[string]any{"actions": o.IgnoreActions}
		}
		cfg["notifications"] = map[string]any{
			"events":    map[string]any{"includereferences": true},
			"endpoints": []any{ep},
		}
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		panic(err) // only maps of plain values
	}
	return b
}

// answers reports whether the registry's API root answers: 200, or 401
// when it asks for credentials.
func answers(client *http.Client, host string) bool {
	resp, err := client.Get("http://" + host + "/v2/")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized
}
