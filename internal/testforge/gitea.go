// Package testforge runs a real Gitea on 127.0.0.1 for tests (sqlite, no
// SSH, offline), with an admin user, an API token and helpers to make
// repositories and to read, merge and close their pull requests through
// Gitea's API. Gitea is built by `make tools`; without it the tests are
// skipped (or fail under CI), and with -short they are skipped.
package testforge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/testenv"
)

// GiteaVersion is the Gitea `make tools` builds (from the Go module proxy).
const GiteaVersion = "v1.27.3"

// Admin credentials of the test forge.
const (
	User     = "hoist"
	Password = "hoist-test-Passw0rd"
)

// Gitea is a running Gitea.
type Gitea struct {
	// URL is the server's root ("http://127.0.0.1:port/"); APIURL its API root.
	URL, APIURL string
	// Token is an API token of User with write:repository and write:issue.
	Token string
	dir   string
	http  *http.Client
}

// StartGitea runs Gitea until the test ends.
func StartGitea(t testing.TB) *Gitea {
	t.Helper()
	if testing.Short() {
		t.Skip("runs Gitea; skipped with -short")
	}
	bin := testenv.Tool(t, "gitea")
	root := staticRoot(t, bin)
	g := &Gitea{dir: t.TempDir(), http: &http.Client{Timeout: 30 * time.Second}}
	testenv.OnFreeAddr(t, "gitea", func(addr string) error { return g.run(t, bin, root, addr) })
	g.Token = g.newToken(t)
	return g
}

// staticRoot is Gitea's source folder, where it reads its locale and
// templates: named by gitea.root beside the binary (written by make
// tools), else the module cache's copy.
func staticRoot(t testing.TB, bin string) string {
	if b, err := os.ReadFile(bin + ".root"); err == nil {
		if dir := strings.TrimSpace(string(b)); dir != "" {
			return dir
		}
	}
	out, err := exec.Command("go", "mod", "download", "-json", "code.gitea.io/gitea@"+GiteaVersion).Output()
	if err != nil {
		t.Fatalf("gitea's source folder: %s.root is missing and go mod download failed: %v", bin, err)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		t.Fatalf("gitea's source folder: go mod download said %s", out)
	}
	return m.Dir
}

func (g *Gitea) appIni(root, addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	return fmt.Sprintf(`APP_NAME = hoist-test
RUN_MODE = prod
WORK_PATH = %[1]s
I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true

[server]
PROTOCOL = http
HTTP_ADDR = %[2]s
HTTP_PORT = %[3]s
ROOT_URL = http://%[2]s:%[3]s/
DISABLE_SSH = true
START_SSH_SERVER = false
OFFLINE_MODE = true
LFS_START_SERVER = false
STATIC_ROOT_PATH = %[4]s
APP_DATA_PATH = %[1]s/data

[database]
DB_TYPE = sqlite3
PATH = %[1]s/gitea.db

[repository]
ROOT = %[1]s/repos
DEFAULT_BRANCH = main

[security]
INSTALL_LOCK = true
SECRET_KEY = hoist-test-secret-key
PASSWORD_COMPLEXITY = off
MIN_PASSWORD_LENGTH = 8

[oauth2]
ENABLED = false

[service]
DISABLE_REGISTRATION = true

[mailer]
ENABLED = false

[cron]
ENABLED = false

[indexer]
ISSUE_INDEXER_TYPE = db
REPO_INDEXER_ENABLED = false

[log]
MODE = console
LEVEL = warn
ROOT_PATH = %[1]s/log
`, g.dir, host, port, root)
}

// gitea runs a gitea subcommand against the test configuration.
func (g *Gitea) gitea(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, append([]string{"--config", filepath.Join(g.dir, "app.ini"), "--work-path", g.dir}, args...)...)
	cmd.Dir = g.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + g.dir, "USER=" + currentUser(), "GITEA_WORK_DIR=" + g.dir}
	return cmd
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "root"
}

// run configures Gitea on addr, creates its database and admin, starts it
// and waits until its API answers.
func (g *Gitea) run(t testing.TB, bin, root, addr string) error {
	if err := os.WriteFile(filepath.Join(g.dir, "app.ini"), []byte(g.appIni(root, addr)), 0o600); err != nil {
		return err
	}
	if out, err := g.gitea(bin, "migrate").CombinedOutput(); err != nil {
		return fmt.Errorf("gitea migrate: %v\n%s", err, out)
	}
	if out, err := g.gitea(bin, "admin", "user", "create", "--admin", "--username", User, "--password", Password,
		"--email", User+"@example.test", "--must-change-password=false").CombinedOutput(); err != nil &&
		!bytes.Contains(out, []byte("already exists")) {
		return fmt.Errorf("gitea admin user create: %v\n%s", err, out)
	}
	g.URL = "http://" + addr + "/"
	g.APIURL = g.URL + "api/v1"
	_, err := testenv.StartProcess(t, "gitea on "+addr, g.gitea(bin, "web"), filepath.Join(g.dir, "gitea.log"), g.answers, testenv.WaitLimit)
	return err
}

func (g *Gitea) answers() bool {
	resp, err := g.http.Get(g.APIURL + "/version")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// newToken makes an API token for the admin with the scopes hoist needs.
func (g *Gitea) newToken(t testing.TB) string {
	var out struct {
		SHA1 string `json:"sha1"`
	}
	g.API(t, "POST", "/users/"+User+"/tokens", map[string]any{
		"name": "hoist", "scopes": []string{"write:repository", "write:issue"},
	}, &out, http.StatusCreated)
	if out.SHA1 == "" {
		t.Fatal("gitea gave an empty token")
	}
	return out.SHA1
}

// API calls Gitea's API as the admin (basic auth) and decodes the answer
// into out (nil: ignored); another status than want fails the test.
func (g *Gitea) API(t testing.TB, method, path string, in, out any, want int) {
	t.Helper()
	if err := g.Call(method, path, in, out, want); err != nil {
		t.Fatal(err)
	}
}

// Call is API returning the error, for use off the test goroutine.
func (g *Gitea) Call(method, path string, in, out any, want int) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, g.APIURL+path, body)
	if err != nil {
		return err
	}
	req.SetBasicAuth(User, Password)
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: HTTP %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}
