package registry

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// proxy is a 127.0.0.1 HTTP server in front of a registry that records
// every request and lets a test answer some of them itself.
type proxy struct {
	Host string
	mu   sync.Mutex
	seen []seen
	// hook answers a request itself when it returns true.
	hook func(w http.ResponseWriter, r *http.Request) bool
}

// seen is one request the proxy received, and when.
type seen struct {
	method, path string
	at           time.Time
}

func newProxy(t *testing.T, target string, hook func(w http.ResponseWriter, r *http.Request) bool) *proxy {
	t.Helper()
	u, err := url.Parse("http://" + target)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{hook: hook}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen = append(p.seen, seen{method: r.Method, path: r.URL.Path, at: time.Now()})
		p.mu.Unlock()
		if p.hook != nil && p.hook(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.Host = strings.TrimPrefix(srv.URL, "http://")
	return p
}

// requests are the requests seen whose path contains part.
func (p *proxy) requests(part string) []seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []seen
	for _, s := range p.seen {
		if strings.Contains(s.path, part) {
			out = append(out, s)
		}
	}
	return out
}
