package registry

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/hoist-gitops/hoist/internal/testregistry"
)

// noKeychain keeps the tests away from the user's ~/.docker/config.json.
var noKeychain = WithKeychain(authn.NewMultiKeychain())

func newClient(t *testing.T, hosts []Host, opts ...Option) *Client {
	t.Helper()
	c, err := New(hosts, append([]Option{noKeychain}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The digest of a tag is the one the registry holds, for an image and for
// a multi-arch index; a missing tag and a missing repository are NotFound.
func TestRegistryClientDigest(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	img := reg.PushImage(t, "team/app", "1.0")
	idx, _ := reg.PushIndex(t, "team/multi", "2.0", "linux/amd64", "linux/arm64")
	c := newClient(t, nil)
	ctx := context.Background()

	if d, err := c.Digest(ctx, reg.Host+"/team/app", "1.0"); err != nil || d != img {
		t.Errorf("image digest = %q, %v; want %s", d, err, img)
	}
	if d, err := c.Digest(ctx, reg.Host+"/team/multi", "2.0"); err != nil || d != idx {
		t.Errorf("index digest = %q, %v; want %s", d, err, idx)
	}
	for _, ref := range [][2]string{{"team/app", "9.9"}, {"team/nothing", "1.0"}} {
		_, err := c.Digest(ctx, reg.Host+"/"+ref[0], ref[1])
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s:%s: err = %v, want ErrNotFound", ref[0], ref[1], err)
		}
	}
}

// A HEAD answer without Docker-Content-Digest falls back to a GET, whose
// body gives the digest.
func TestRegistryClientDigestFallsBackToGet(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	want := reg.PushImage(t, "team/app", "1.0")
	p := testregistry.NewProxy(t, reg.Host, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodHead || !strings.Contains(r.URL.Path, "/manifests/") {
			return false
		}
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Header().Set("Content-Length", "10")
		w.WriteHeader(http.StatusOK) // and no Docker-Content-Digest
		return true
	})
	c := newClient(t, nil)
	d, err := c.Digest(context.Background(), p.Host+"/team/app", "1.0")
	if err != nil || d != want {
		t.Fatalf("digest = %q, %v; want %s", d, err, want)
	}
	var methods []string
	for _, s := range p.Requests("/manifests/") {
		methods = append(methods, s.Method)
	}
	if !slices.Equal(methods, []string{"HEAD", "GET"}) {
		t.Errorf("manifest requests = %v, want HEAD then GET", methods)
	}
}

// Tags come page by page, as the registry's n and Link paging hands them out.
func TestRegistryClientTagsPaged(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	reg.PushImage(t, "team/app", "t1")
	for _, tag := range []string{"t2", "t3", "t4", "t5"} {
		reg.Tag(t, "team/app", "t1", tag)
	}
	c := newClient(t, nil, WithPageSize(2))
	var sizes []int
	var all []string
	err := c.Tags(context.Background(), reg.Host+"/team/app", func(page []string) error {
		sizes = append(sizes, len(page))
		all = append(all, page...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(all)
	if !slices.Equal(all, []string{"t1", "t2", "t3", "t4", "t5"}) || !slices.Equal(sizes, []int{2, 2, 1}) {
		t.Errorf("tags %v in pages of %v, want t1..t5 in pages of 2, 2, 1", all, sizes)
	}

	stop := errors.New("enough")
	calls := 0
	err = c.Tags(context.Background(), reg.Host+"/team/app", func([]string) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Errorf("stopping after the first page: err %v after %d calls", err, calls)
	}
	err = c.Tags(context.Background(), reg.Host+"/team/nothing", func([]string) error { return nil })
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("tags of a missing repository: %v, want ErrNotFound", err)
	}
}

// A registry with htpasswd basic authentication: a password, a password
// file, or a docker config.json (a Kubernetes pull secret) logs in; a wrong
// or missing password is Unauthorized with an error that names the fix and
// never the password.
func TestRegistryClientBasicAuth(t *testing.T) {
	const user, password = "hoist", "correct-horse-battery"
	reg := testregistry.Start(t, testregistry.Options{Users: map[string]string{user: password}})
	want := reg.PushImage(t, "team/app", "1.0")
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dcFile := filepath.Join(dir, "config.json")
	dc, err := testregistry.DockerConfig("http://"+reg.Host+"/v1/", user, password)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dcFile, dc, 0o600); err != nil {
		t.Fatal(err)
	}
	repo := reg.Host + "/team/app"
	for name, h := range map[string]Host{
		"password":         {Host: reg.Host, Username: user, Password: password},
		"passwordFile":     {Host: reg.Host, Username: user, PasswordFile: pwFile},
		"dockerConfigFile": {Host: reg.Host, DockerConfigFile: dcFile},
	} {
		t.Run(name, func(t *testing.T) {
			d, err := newClient(t, []Host{h}).Digest(context.Background(), repo, "1.0")
			if err != nil || d != want {
				t.Errorf("digest = %q, %v; want %s", d, err, want)
			}
		})
	}

	const wrong = "wrong-password-do-not-log"
	for name, h := range map[string]Host{
		"wrong password": {Host: reg.Host, Username: user, Password: wrong},
		"no credentials": {Host: reg.Host},
		"missing file":   {Host: reg.Host, Username: user, PasswordFile: filepath.Join(dir, "absent")},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := newClient(t, []Host{h}).Digest(context.Background(), repo, "1.0")
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("err = %v, want ErrUnauthorized", err)
			}
			msg := err.Error()
			t.Log(msg)
			if strings.Contains(msg, wrong) || strings.Contains(msg, password) {
				t.Errorf("the error shows a password: %s", msg)
			}
			if !strings.Contains(msg, "registries[].auth") || !strings.Contains(msg, reg.Host) || !strings.Contains(msg, "verify: none") {
				t.Errorf("the error does not name the fix: %s", msg)
			}
		})
	}
}

// A 429 with Retry-After makes the host wait that long, then the request
// is sent again and succeeds.
func TestRegistryClientHonoursRetryAfter(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	want := reg.PushImage(t, "team/app", "1.0")
	var mu sync.Mutex
	var answered time.Time // when the 429 went out
	p := testregistry.NewProxy(t, reg.Host, func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		if !strings.Contains(r.URL.Path, "/manifests/") || !answered.IsZero() {
			return false
		}
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		answered = time.Now()
		return true
	})
	d, err := newClient(t, nil).Digest(context.Background(), p.Host+"/team/app", "1.0")
	if err != nil || d != want {
		t.Fatalf("digest = %q, %v; want %s", d, err, want)
	}
	reqs := p.Requests("/manifests/")
	mu.Lock()
	defer mu.Unlock()
	if len(reqs) != 2 {
		t.Fatalf("manifest requests: %d, want the 429 and one more", len(reqs))
	}
	if earliest := answered.Add(time.Second); reqs[1].At.Before(earliest) {
		t.Errorf("sent again at %s, before the Retry-After of the 429 answered at %s", reqs[1].At, answered)
	}
}

// A Retry-After beyond the call's deadline fails the call at once as
// Temporary, saying how long to wait, and holds back the host's other
// calls too rather than sending them.
func TestRegistryClientRetryAfterBeyondDeadline(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	reg.PushImage(t, "team/app", "1.0")
	reg.PushImage(t, "team/other", "1.0")
	p := testregistry.NewProxy(t, reg.Host, func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.Contains(r.URL.Path, "/manifests/") {
			return false
		}
		w.Header().Set("Retry-After", "600")
		w.WriteHeader(http.StatusTooManyRequests)
		return true
	})
	c := newClient(t, nil, WithTimeout(5*time.Second))
	for _, repo := range []string{"team/app", "team/other"} {
		_, err := c.Digest(context.Background(), p.Host+"/"+repo, "1.0")
		if !errors.Is(err, ErrTemporary) || RetryAfter(err) <= 0 {
			t.Errorf("%s: err = %v (retry after %s), want ErrTemporary with a wait", repo, err, RetryAfter(err))
		}
		t.Log(err)
	}
	if n := len(p.Requests("/manifests/")); n != 1 {
		t.Errorf("manifest requests: %d, want only the first (the host asked to wait)", n)
	}
}

// A failing registry (503) and an unreachable one are Temporary; the call
// is not retried inside the client (the caller retries with its back-off).
func TestRegistryClientTemporary(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	reg.PushImage(t, "team/app", "1.0")
	p := testregistry.NewProxy(t, reg.Host, func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.Contains(r.URL.Path, "/manifests/") {
			return false
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	c := newClient(t, nil)
	_, err := c.Digest(context.Background(), p.Host+"/team/app", "1.0")
	if !errors.Is(err, ErrTemporary) {
		t.Errorf("503: err = %v, want ErrTemporary", err)
	}
	t.Log(err)
	if n := len(p.Requests("/manifests/")); n != 1 {
		t.Errorf("manifest requests after a 503: %d, want 1", n)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	_, err = c.Digest(context.Background(), closed+"/team/app", "1.0")
	if !errors.Is(err, ErrTemporary) {
		t.Errorf("unreachable: err = %v, want ErrTemporary", err)
	}
	t.Log(err)
}

// Requests to a host keep to its rate limit: at one request per 1000 s,
// the call's later requests cannot go within the deadline and are not
// sent; the call fails as Temporary. The same call under the default
// limit gets its answer.
func TestRegistryClientRateLimit(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	want := reg.PushImage(t, "team/app", "1.0")
	p := testregistry.NewProxy(t, reg.Host, nil)
	c := newClient(t, []Host{{Host: p.Host, RateLimit: 0.001}}, WithTimeout(5*time.Second))
	_, err := c.Digest(context.Background(), p.Host+"/team/app", "1.0")
	if !errors.Is(err, ErrTemporary) {
		t.Fatalf("err = %v, want ErrTemporary (rate limited)", err)
	}
	if n := len(p.Requests("/manifests/")); n != 0 {
		t.Errorf("manifest requests sent: %d, want none (the one request of the burst went to the first probe)", n)
	}
	if d, err := newClient(t, nil).Digest(context.Background(), p.Host+"/team/app", "1.0"); err != nil || d != want {
		t.Errorf("under the default limit: %q, %v", d, err)
	}
}

// VerifyTag asks the registry once per (repository, tag, claimed digest)
// it found: a different digest asks again, a missing tag is asked every
// time (a registry can announce a tag before it can be read), and the
// cache keeps at most its size, dropping the least recently used.
func TestRegistryClientVerifyTagCached(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	d1 := reg.PushImage(t, "team/app", "1.0")
	p := testregistry.NewProxy(t, reg.Host, nil)
	c := newClient(t, nil, WithCache(2, time.Hour))
	repo := p.Host + "/team/app"
	ctx := context.Background()
	heads := func() int { return len(p.Requests("/manifests/")) }
	verify := func(tag, claimed, want string) {
		t.Helper()
		if d, err := c.VerifyTag(ctx, repo, tag, claimed); err != nil || d != want {
			t.Fatalf("verify %s (%s) = %q, %v; want %s", tag, claimed, d, err, want)
		}
	}

	verify("1.0", d1, d1)
	verify("1.0", d1, d1)
	if heads() != 1 {
		t.Errorf("registry asked %d times for the same push, want 1", heads())
	}
	d2 := reg.PushImage(t, "team/app", "1.0") // the tag moves
	verify("1.0", d2, d2)
	verify("1.0", d1, d1) // cached: the answer for that push
	if heads() != 2 {
		t.Errorf("registry asked %d times, want 2 (one per pushed digest)", heads())
	}
	verify("1.0", "sha256:"+strings.Repeat("e", 64), d2) // a third entry drops the least recently used, d2's
	verify("1.0", d2, d2)
	if heads() != 4 || c.cache.len() != 2 {
		t.Errorf("registry asked %d times, want 4; cache holds %d, want its bound 2", heads(), c.cache.len())
	}
	for i := 0; i < 2; i++ {
		if _, err := c.VerifyTag(ctx, repo, "9.9", d1); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing tag: %v", err)
		}
	}
	verify("1.0", "", d2)
	verify("1.0", "", d2)
	if heads() != 8 {
		t.Errorf("registry asked %d times, want 8 (a missing tag and a push without a digest are never cached)", heads())
	}
}

// A registry whose certificate does not verify is refused, with an error
// that names insecure: true; with insecure: true it answers.
func TestRegistryClientInsecure(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	want := reg.PushImage(t, "team/app", "1.0")
	p := testregistry.NewTLSProxy(t, reg.Host)
	_, err := newClient(t, nil).Digest(context.Background(), p.Host+"/team/app", "1.0")
	if err == nil || errors.Is(err, ErrTemporary) || !strings.Contains(err.Error(), "insecure: true") {
		t.Errorf("untrusted certificate: %v, want an error naming insecure: true that is not temporary", err)
	}
	t.Log(err)
	d, err := newClient(t, []Host{{Host: p.Host, Insecure: true}}).Digest(context.Background(), p.Host+"/team/app", "1.0")
	if err != nil || d != want {
		t.Errorf("insecure: %q, %v; want %s", d, err, want)
	}
}

// Every call has a deadline: a registry that never answers fails the call
// as Temporary instead of holding it.
func TestRegistryClientTimeout(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	reg.PushImage(t, "team/app", "1.0")
	p := testregistry.NewProxy(t, reg.Host, func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.Contains(r.URL.Path, "/manifests/") {
			return false
		}
		<-r.Context().Done() // hang until the client gives up
		return true
	})
	_, err := newClient(t, nil, WithTimeout(200*time.Millisecond)).Digest(context.Background(), p.Host+"/team/app", "1.0")
	if !errors.Is(err, ErrTemporary) {
		t.Fatalf("err = %v, want ErrTemporary after the deadline", err)
	}
	t.Log(err)
}
