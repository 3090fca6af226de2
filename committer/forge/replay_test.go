package forge

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// exchange is one recorded API call: the request hoist must send and the
// answer the forge's documentation gives for it.
type exchange struct {
	method, path string
	// query holds parameters the request must carry (others may be there too).
	query map[string]string
	// body holds JSON fields the request body must carry; whole, when
	// set, is the entire body (a JSON array, say).
	body  map[string]any
	whole any
	// status and response are the forge's answer.
	status   int
	response string
}

// replay is a forge on 127.0.0.1 that answers the recorded exchanges in
// order and fails the test on any other request or a missing token.
type replay struct {
	t    *testing.T
	mu   sync.Mutex
	want []exchange
	auth func(*http.Request) bool
	srv  *httptest.Server
}

func newReplay(t *testing.T, auth func(*http.Request) bool, want ...exchange) *replay {
	r := &replay{t: t, want: want, auth: auth}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(func() {
		r.srv.Close()
		r.mu.Lock()
		defer r.mu.Unlock()
		if len(r.want) > 0 {
			t.Errorf("%d recorded exchanges never requested, next: %s %s", len(r.want), r.want[0].method, r.want[0].path)
		}
	})
	return r
}

func (r *replay) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.want) == 0 {
		r.t.Errorf("unexpected request %s %s", req.Method, req.URL)
		http.Error(w, "unexpected", http.StatusTeapot)
		return
	}
	x := r.want[0]
	r.want = r.want[1:]
	fail := func(format string, args ...any) {
		r.t.Errorf("%s %s: "+format, append([]any{req.Method, req.URL}, args...)...)
		http.Error(w, "mismatch", http.StatusTeapot)
	}
	if req.Method != x.method || req.URL.Path != x.path {
		fail("want %s %s", x.method, x.path)
		return
	}
	if !r.auth(req) {
		fail("without the token")
		return
	}
	for k, v := range x.query {
		if got := req.URL.Query().Get(k); got != v {
			fail("query %s=%q, want %q", k, got, v)
			return
		}
	}
	if x.whole != nil {
		data, _ := io.ReadAll(req.Body)
		var got any
		if err := json.Unmarshal(data, &got); err != nil || !reflect.DeepEqual(got, x.whole) {
			fail("body %s, want %#v", data, x.whole)
			return
		}
	}
	if x.body != nil {
		data, _ := io.ReadAll(req.Body)
		var got map[string]any
		if err := json.Unmarshal(data, &got); err != nil {
			fail("body %q is not a JSON object: %v", data, err)
			return
		}
		for k, v := range x.body {
			if !reflect.DeepEqual(got[k], v) {
				fail("body %s = %#v, want %#v (body %s)", k, got[k], v, data)
				return
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(x.status)
	io.WriteString(w, x.response)
}

func (r *replay) url(path string) string { return r.srv.URL + path }

func bearer(token string) func(*http.Request) bool {
	return func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer "+token }
}

func giteaToken(token string) func(*http.Request) bool {
	return func(r *http.Request) bool { return r.Header.Get("Authorization") == "token "+token }
}

func gitlabToken(token string) func(*http.Request) bool {
	return func(r *http.Request) bool { return r.Header.Get("PRIVATE-TOKEN") == token }
}

// noToken checks that an error does not carry the token.
func noToken(t *testing.T, err error, token string) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), token) {
		t.Fatalf("the error carries the token: %v", err)
	}
}

// proposal is the write half of a driver's recorded exchanges: open a pull
// request, edit its title and body, close it with a comment, and turn on
// automerge for another one.
type proposal struct {
	create NewPR
	// number is the created pull request's number, as the forge answers;
	// created, when set, checks the rest of what Create returns.
	number      int64
	created     func(PR) bool
	title, body string // the edit
	comment     string // said when closing
	automerge   int64  // the pull request automerge is turned on for
}

// drive makes the proposal's calls on c in order, failing the test at the
// first error or unexpected answer.
func (p proposal) drive(t *testing.T, c Client) {
	t.Helper()
	ctx := context.Background()
	pr, err := c.Create(ctx, p.create)
	if err != nil || pr.Number != p.number || (p.created != nil && !p.created(pr)) {
		t.Fatalf("created %+v, %v", pr, err)
	}
	if err := c.Update(ctx, p.number, p.title, p.body); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx, p.number, p.comment); err != nil {
		t.Fatal(err)
	}
	if err := c.Automerge(ctx, p.automerge); err != nil {
		t.Fatal(err)
	}
}

// mustNew is New, failing the test on an error.
func mustNew(t *testing.T, cfg Config) Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
