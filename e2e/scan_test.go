package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
	"github.com/hoist-gitops/hoist/internal/testregistry"
)

// scanInterval is the scan interval of TestScanSharedByMatchers: short, so
// the test sees several.
const scanInterval = 2 * time.Second

// Item "distributed": two `hoist match` processes share the scanning
// through NATS. Each repository is listed by one of them per interval
// (never twice within one), and when the replica holding a scan is
// SIGKILLed in the middle of it, the other takes the repository over once
// the claim lapses, and goes on listing every repository.
func TestScanSharedByMatchers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server, the registry and two hoist processes")
	}
	natsBin := testenv.Tool(t, "nats-server")
	hoistBin := hoistBinary(t)
	work := t.TempDir()

	reg := testregistry.Start(t, testregistry.Options{})
	repos := []string{"team/r0", "team/r1", "team/r2", "team/slow"}
	for _, r := range repos {
		reg.PushImage(t, r, "1.0.0")
	}
	// The first listing of team/slow never answers while its process lives:
	// the replica that claimed it is in the middle of the scan when killed.
	var hungOnce sync.Once
	hung := make(chan struct{})
	p := testregistry.NewProxy(t, reg.Host, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/v2/team/slow/tags/list" {
			return false
		}
		first := false
		hungOnce.Do(func() { first = true })
		if !first {
			return false
		}
		close(hung)
		<-r.Context().Done() // the client went away: its process was killed
		return true
	})

	files := map[string]string{}
	for i, r := range repos {
		files[fmt.Sprintf("apps/%d.yaml", i)] = testenv.HelmRelease(fmt.Sprintf("app-%d", i), p.Host+"/"+r+":1.0.0", "semver:>=1.0")
	}
	gitSrv := testgit.NewServer(t)
	repo := gitSrv.NewRepo(t, "gitops")
	repo.SeedFiles(t, "main", files)

	natsURL, js, _ := scaleStartNATS(t, natsBin, filepath.Join(work, "nats"))

	var procs []*scaleProc
	for i := range 2 {
		procs = append(procs, newScaleProc(t, hoistBin, work, fmt.Sprintf("match-%d", i+1), "match", func(listen string) string {
			return fmt.Sprintf(`nats: {url: %s}
listen: %s
scan: {interval: %s}
repositories:
  - {name: gitops, url: %s, branch: main}
`, natsURL, listen, scanInterval, repo.URL)
		}))
	}
	runScaleProcs(t, procs)

	// Which replica holds the hanging scan: the claim names it, and each
	// process logs its replica name at start.
	select {
	case <-hung:
	case <-time.After(time.Minute):
		t.Fatal("team/slow was never listed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store, err := bus.OpenScanStore(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	slow := p.Host + "/team/slow"
	rec, _, err := store.Record(ctx, slow)
	if err != nil || rec.Owner == "" {
		t.Fatalf("claim of team/slow: %+v %v", rec, err)
	}
	var owner, other *scaleProc
	for _, mp := range procs {
		if strings.Contains(readLogs(t, mp), `"replica":"`+rec.Owner+`"`) {
			owner = mp
		} else {
			other = mp
		}
	}
	if owner == nil || other == nil {
		t.Fatalf("no process logged the replica %s", rec.Owner)
	}

	// Both replicas run a while; then the owner dies in the middle of its scan.
	before := len(p.Requests("/v2/team/r0/tags/list"))
	if !scalePoll(ctx, 50*time.Millisecond, func() bool { return len(p.Requests("/v2/team/r0/tags/list")) >= before+2 }) {
		t.Fatal("team/r0 not listed again")
	}
	owner.kill(t)
	killed := time.Now()

	if !scalePoll(ctx, 50*time.Millisecond, func() bool { return len(p.Requests("/v2/team/slow/tags/list")) >= 2 }) {
		t.Fatal("team/slow was not taken over after its replica was killed")
	}
	if !scalePoll(ctx, 50*time.Millisecond, func() bool {
		for _, r := range repos {
			lists := p.Requests("/v2/" + r + "/tags/list")
			if len(lists) == 0 || !lists[len(lists)-1].At.After(killed) {
				return false
			}
		}
		return true
	}) {
		t.Fatal("the surviving replica does not list every repository")
	}
	if !regexp.MustCompile(`"previous_owner":"` + regexp.QuoteMeta(rec.Owner) + `".*taking the repository over`).MatchString(readLogs(t, other)) {
		t.Error("the takeover is not logged")
	}
	for _, r := range repos {
		lists := p.Requests("/v2/" + r + "/tags/list")
		for i := 1; i < len(lists); i++ {
			if gap := lists[i].At.Sub(lists[i-1].At); gap < scanInterval/2 {
				t.Errorf("%s listed twice within %s (interval %s)", r, gap, scanInterval)
			}
		}
	}
}

// readLogs is everything the process wrote, over all its starts.
func readLogs(t *testing.T, p *scaleProc) string {
	t.Helper()
	p.mu.Lock()
	paths := append([]string(nil), p.logs...)
	p.mu.Unlock()
	var b strings.Builder
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}
