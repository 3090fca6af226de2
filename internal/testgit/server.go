package testgit

import (
	"crypto/subtle"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Server serves the bare repositories under Root over git's smart HTTP
// protocol, with `git http-backend` run through net/http/cgi on 127.0.0.1.
type Server struct {
	// URL is the server's base, "http://127.0.0.1:<port>".
	URL string
	// Root holds the bare repositories, one "<name>.git" folder each.
	Root string
	// Username and Password are the basic-auth credentials every request
	// must carry; empty when the server is open.
	Username, Password string
}

// Option configures a Server.
type Option func(*Server)

// WithBasicAuth makes the server answer 401 to any request without these
// basic-auth credentials.
func WithBasicAuth(username, password string) Option {
	return func(s *Server) { s.Username, s.Password = username, password }
}

// NewServer starts a git HTTP server for the duration of the test.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	skipShort(t)
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git binary: %v", err)
	}
	s := &Server{Root: t.TempDir()}
	for _, o := range opts {
		o(s)
	}
	backend := &cgi.Handler{
		Path:   gitBin,
		Args:   []string{"http-backend"},
		Dir:    s.Root,
		Stderr: io.Discard, // rejected pushes are reported to the client too
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.Root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=/dev/null",
			"PATH=" + os.Getenv("PATH"),
		},
	}
	var h http.Handler = backend
	if s.Username != "" {
		h = s.requireAuth(backend)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln) //nolint:errcheck // Serve returns when the test closes the server.
	t.Cleanup(func() { srv.Close() })
	s.URL = "http://" + ln.Addr().String()
	return s
}

// requireAuth answers 401 unless the request carries the server's credentials.
func (s *Server) requireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(s.Username)) != 1 ||
			subtle.ConstantTimeCompare([]byte(p), []byte(s.Password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// NewRepo creates an empty bare repository "<name>.git" on the server.
func (s *Server) NewRepo(t testing.TB, name string) *Repo {
	t.Helper()
	r := initBare(t, filepath.Join(s.Root, name+".git"))
	r.Name = name
	r.URL = s.URL + "/" + name + ".git"
	r.CloneURL = r.URL
	if s.Username != "" {
		u, _ := url.Parse(r.URL)
		u.User = url.UserPassword(s.Username, s.Password)
		r.CloneURL = u.String()
	}
	return r
}
