package testregistry

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Proxy is a 127.0.0.1 HTTP server in front of a registry that records
// every request and lets a test answer some of them itself (a 429, a 503,
// a HEAD without its digest).
type Proxy struct {
	// Host is host:port on 127.0.0.1: image references through the proxy start with it.
	Host string
	mu   sync.Mutex
	seen []Seen
	hook func(w http.ResponseWriter, r *http.Request) bool
}

// Seen is one request the proxy received, and when.
type Seen struct {
	Method, Path string
	At           time.Time
}

// NewProxy serves until the test ends, passing to target (host:port) every
// request that hook (nil: none) does not answer itself by returning true.
func NewProxy(t testing.TB, target string, hook func(w http.ResponseWriter, r *http.Request) bool) *Proxy {
	t.Helper()
	return newProxy(t, target, hook, false)
}

// NewTLSProxy is NewProxy serving HTTPS with a certificate no client trusts.
func NewTLSProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	return newProxy(t, target, nil, true)
}

func newProxy(t testing.TB, target string, hook func(w http.ResponseWriter, r *http.Request) bool, tls bool) *Proxy {
	t.Helper()
	u, err := url.Parse("http://" + target)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{hook: hook}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen = append(p.seen, Seen{Method: r.Method, Path: r.URL.Path, At: time.Now()})
		p.mu.Unlock()
		if p.hook != nil && p.hook(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // probes in plain HTTP are expected
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	p.Host = strings.TrimPrefix(strings.TrimPrefix(srv.URL, "http://"), "https://")
	return p
}

// Requests are the requests seen so far whose path contains part, in order.
func (p *Proxy) Requests(part string) []Seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Seen
	for _, s := range p.seen {
		if strings.Contains(s.Path, part) {
			out = append(out, s)
		}
	}
	return out
}
