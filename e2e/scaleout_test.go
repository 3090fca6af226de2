package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

// The scale-out run: how many image sites the GitOps repository holds, the tags
// pushed for each, and how many webhook deliveries repeat an earlier one.
const (
	scaleSites      = 800
	scaleDuplicates = 400
	scaleRegistry   = "127.0.0.1:5000"
	scaleSecret     = "scale-out-secret"
	// scaleRate is how many webhooks per second the senders start: 2,000 take 20 s.
	scaleRate = 100
	// scaleDeadline bounds the wait for the pipeline to settle. It must exceed the
	// rewrite stream's ack wait (bus.RewriteAckWait): the rewrites a killed
	// committer held come back only then.
	scaleDeadline = 6 * time.Minute
)

// scaleTags are the tags every site goes through, oldest first; the seed holds the first.
var scaleTags = []string{"1.0.0", "1.0.1", "1.0.2"}

// TestScaleOut runs hoist as separate services on one machine, the way Kubernetes runs
// deploy/kustomize: one external nats-server with JetStream, two `hoist ingest`, two
// `hoist match` and two `hoist commit` processes. It sends 2,000 webhooks (including
// duplicates, and pushes arriving newer-first) spread over both ingest processes,
// SIGKILLs and restarts one process of each stage mid-run, and then checks with the
// git binary that every expected change is in git exactly once: each site moved
// forward only, never twice to the same tag, and ends at its newest tag; no commit is
// empty; the branch only ever fast-forwarded.
func TestScaleOut(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 7 processes and sends 2,000 webhooks")
	}
	natsBin := testenv.Tool(t, "nats-server")
	hoistBin := hoistBinary(t) // harness_test.go: built once per run, as `make build` does
	scaleRequireCommands(t, hoistBin, "ingest", "match", "commit")
	work := t.TempDir()

	// The git remote, served by git http-backend, seeded with the sites at 1.0.0.
	gitSrv := testgit.NewServer(t)
	repo := gitSrv.NewRepo(t, "gitops")
	repo.SeedFiles(t, "main", scaleManifests())
	seed := repo.Head(t, "main")

	// One external NATS server with JetStream.
	natsURL, js, _ := scaleStartNATS(t, natsBin, filepath.Join(work, "nats"))

	// Two processes of each stage, each with its own HTTP port and config file.
	procs := map[string][]*scaleProc{}
	for _, stage := range []string{"ingest", "match", "commit"} {
		for i := range 2 {
			procs[stage] = append(procs[stage], newScaleProc(t, hoistBin, work, fmt.Sprintf("%s-%d", stage, i+1), stage, func(listen string) string {
				return scaleConfig(natsURL, listen, repo.URL)
			}))
		}
	}
	all := slices.Concat(procs["ingest"], procs["match"], procs["commit"])
	runScaleProcs(t, all)

	// 1,600 distinct pushes in a shuffled order (so a site's newer tag often arrives
	// before its older one), and 400 repeats of earlier deliveries, as registries retry.
	deliveries := scaleDeliveries()
	unique := scaleSites * (len(scaleTags) - 1)
	if len(deliveries) != 2000 {
		t.Fatalf("%d deliveries, want 2,000", len(deliveries))
	}

	// Milestones: after this many deliveries have been answered, SIGKILL the first
	// process of a stage and start it again. Senders keep going meanwhile.
	kills := []struct {
		after int
		stage string
	}{{400, "ingest"}, {900, "match"}, {1400, "commit"}}
	milestones := map[int]chan struct{}{}
	for _, k := range kills {
		milestones[k.after] = make(chan struct{})
	}
	var answered atomic.Int64
	sendErrs := make(chan error, len(deliveries))
	sendDone := make(chan struct{})
	go func() {
		defer close(sendDone)
		scaleSend(deliveries, procs["ingest"], func() {
			if ch, ok := milestones[int(answered.Add(1))]; ok {
				close(ch)
			}
		}, sendErrs)
	}()
	start := time.Now()
	var restarted sync.WaitGroup
	readyErrs := make(chan error, len(kills))
	for _, k := range kills {
		select {
		case <-milestones[k.after]:
		case <-sendDone:
			t.Fatalf("senders stopped before %d deliveries were answered", k.after)
		}
		p := procs[k.stage][0]
		p.kill(t)
		t.Logf("%6.1fs SIGKILLed %s after %d deliveries; restarting it", time.Since(start).Seconds(), p.name, answered.Load())
		p.start(t)
		restarted.Add(1)
		go func() { // the schedule goes on while it starts up
			defer restarted.Done()
			readyErrs <- p.ready(time.Minute)
		}()
	}
	<-sendDone
	t.Logf("%6.1fs all %d deliveries answered", time.Since(start).Seconds(), answered.Load())
	close(sendErrs)
	for err := range sendErrs {
		t.Error(err)
	}
	restarted.Wait()
	close(readyErrs)
	for err := range readyErrs {
		if err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	scaleSettleAndCheck(t, repo, js, all, seed, unique, true, start)
	t.Logf("%6.1fs history checked", time.Since(start).Seconds())

	// Graceful shutdown: SIGTERM to all at once, and each process exits 0.
	stopAllCleanly(t, all)
	t.Logf("%6.1fs all processes stopped", time.Since(start).Seconds())
}

// scaleSettleAndCheck waits until every site is at its newest tag at the head and
// both streams are empty — every push handled and every rewrite acknowledged,
// including those redelivered after the kills (which must then have been no-ops) —
// then checks that JetStream stored each of the unique distinct pushes (exactly once
// when storedOnce) and that git's history is linear, fast-forward only, intact, and
// holds every change exactly once. A process in procs that exits on its own fails the
// test.
func scaleSettleAndCheck(t *testing.T, repo *testgit.Repo, js jetstream.JetStream, procs []*scaleProc, seed string, unique int, storedOnce bool, start time.Time) {
	t.Helper()
	want := map[string]string{}
	for _, s := range scaleSiteNames() {
		want[s] = scaleTags[len(scaleTags)-1]
	}
	ctx, cancel := context.WithTimeout(context.Background(), scaleDeadline)
	defer cancel()
	var last, checkedHead, headMissing string
	var gitDone time.Time
	blobs := newScaleBlobs(t, repo.Dir)
	settled := scalePoll(ctx, 250*time.Millisecond, func() bool {
		for _, p := range procs {
			if p.exited() {
				last = p.name + " exited on its own"
				return true
			}
		}
		head, err := testgit.Run(repo.Dir, "rev-parse", "refs/heads/main")
		if err != nil {
			last = err.Error()
			return false
		}
		if head = strings.TrimSpace(head); head != checkedHead {
			got, err := scaleSitesAt(repo.Dir, blobs, head)
			if err != nil {
				last = err.Error()
				return false
			}
			checkedHead, headMissing = head, scaleDiff(got, want)
		}
		if headMissing != "" {
			last = "git: " + headMissing
			return false
		}
		if gitDone.IsZero() {
			gitDone = time.Now()
			t.Logf("%6.1fs every site at its newest tag in git", gitDone.Sub(start).Seconds())
		}
		for _, name := range []string{bus.PushStream, bus.RewriteStream} {
			info, err := scaleStreamInfo(ctx, js, name)
			if err != nil {
				last = err.Error()
				return false
			}
			if info.State.Msgs != 0 {
				last = fmt.Sprintf("stream %s still holds %d messages", name, info.State.Msgs)
				return false
			}
		}
		last = ""
		return true
	})
	if !settled || last != "" {
		t.Fatalf("the pipeline did not settle within %s: %s", scaleDeadline, last)
	}
	t.Logf("%6.1fs both streams drained: every push handled, every rewrite acknowledged", time.Since(start).Seconds())

	// JetStream stored each distinct push exactly once, whichever ingest got it and
	// however often it was delivered.
	info, err := scaleStreamInfo(ctx, js, bus.PushStream)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case storedOnce && info.State.LastSeq != uint64(unique):
		t.Errorf("stream %s stored %d push events, want the %d distinct pushes", bus.PushStream, info.State.LastSeq, unique)
	case info.State.LastSeq < uint64(unique):
		t.Errorf("stream %s stored %d push events, fewer than the %d distinct pushes", bus.PushStream, info.State.LastSeq, unique)
	default:
		t.Logf("stream %s stored %d push events for %d distinct pushes", bus.PushStream, info.State.LastSeq, unique)
	}

	// Git: linear, fast-forward only, intact, and every change exactly once.
	repo.Fsck(t)
	repo.ReflogFastForwardOnly(t, "main")
	hist := repo.Log(t, "main")
	if len(hist.Merges) > 0 {
		t.Errorf("merge commits in hoist's history: %v", hist.Merges)
	}
	scaleCheckHistory(t, repo.Dir, blobs, seed)
	t.Logf("%d distinct pushes, %d commits", unique, len(hist.Commits)-1)
}

// scaleSiteNames are the site names: app-000 ... app-799.
func scaleSiteNames() []string {
	out := make([]string, scaleSites)
	for i := range out {
		out[i] = fmt.Sprintf("app-%03d", i)
	}
	return out
}

// scaleManifests is the seed of the GitOps repository: 100 files of 8 documents,
// Deployments and HelmReleases (`image: {repository, tag}`) alternating, every one
// automated with a semver filter, at the first tag.
func scaleManifests() map[string]string {
	files := map[string]string{}
	names := scaleSiteNames()
	for f := 0; f*8 < len(names); f++ {
		var b strings.Builder
		for i, name := range names[f*8 : min(len(names), f*8+8)] {
			if i > 0 {
				b.WriteString("---\n")
			}
			if i%2 == 0 {
				fmt.Fprintf(&b, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  namespace: scale
  annotations:
    fluxcd.io/automated: "true"
    filter.fluxcd.io/app: semver:^1.0
spec:
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
        - name: app
          image: %[2]s/scale/%[1]s:%[3]s
`, name, scaleRegistry, scaleTags[0])
			} else {
				fmt.Fprintf(&b, `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: %[1]s
  namespace: scale
  annotations:
    fluxcd.io/automated: "true"
    filter.fluxcd.io/chart-image: semver:^1.0
spec:
  interval: 10m
  chart:
    spec:
      chart: app
      sourceRef: {kind: HelmRepository, name: charts}
  values:
    image:
      repository: %[2]s/scale/%[1]s
      tag: "%[3]s"
`, name, scaleRegistry, scaleTags[0])
			}
		}
		files[fmt.Sprintf("apps/apps-%02d.yaml", f)] = b.String()
	}
	return files
}

var (
	scaleDeploymentRE  = regexp.MustCompile(`(?m)^\s+image: ` + regexp.QuoteMeta(scaleRegistry) + `/scale/(app-\d+):(\S+)$`)
	scaleHelmReleaseRE = regexp.MustCompile(`(?m)^\s+repository: ` + regexp.QuoteMeta(scaleRegistry) + `/scale/(app-\d+)\n\s+tag: "([^"]+)"$`)
)

// scaleParseSites reads site → tag from one manifest file's content.
func scaleParseSites(content string, into map[string]string) {
	for _, re := range []*regexp.Regexp{scaleDeploymentRE, scaleHelmReleaseRE} {
		for _, m := range re.FindAllStringSubmatch(content, -1) {
			into[m[1]] = m[2]
		}
	}
}

// scaleBlobs reads file contents at revisions through one `git cat-file --batch`
// process, instead of one git process per file.
type scaleBlobs struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func newScaleBlobs(t *testing.T, gitDir string) *scaleBlobs {
	t.Helper()
	cmd := testgit.Command(gitDir, "cat-file", "--batch")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &scaleBlobs{cmd: cmd, in: in, out: bufio.NewReader(out)}
	t.Cleanup(func() {
		in.Close()
		_ = cmd.Wait()
	})
	return b
}

// read returns the content of path at rev. Not safe for concurrent use.
func (b *scaleBlobs) read(rev, path string) (string, error) {
	if _, err := fmt.Fprintf(b.in, "%s:%s\n", rev, path); err != nil {
		return "", err
	}
	header, err := b.out.ReadString('\n')
	if err != nil {
		return "", err
	}
	f := strings.Fields(header)
	if len(f) != 3 || f[1] != "blob" {
		return "", fmt.Errorf("git cat-file %s:%s: %s", rev, path, strings.TrimSpace(header))
	}
	var size int
	if _, err := fmt.Sscan(f[2], &size); err != nil {
		return "", err
	}
	buf := make([]byte, size+1) // the content and a line feed
	if _, err := io.ReadFull(b.out, buf); err != nil {
		return "", err
	}
	return string(buf[:size]), nil
}

// scaleSitesAt reads every site's tag at a commit of the bare repository.
func scaleSitesAt(gitDir string, blobs *scaleBlobs, rev string) (map[string]string, error) {
	out := map[string]string{}
	files, err := testgit.Run(gitDir, "ls-tree", "-r", "--name-only", rev, "apps")
	if err != nil {
		return nil, err
	}
	for _, f := range testgit.Lines(files) {
		content, err := blobs.read(rev, f)
		if err != nil {
			return nil, err
		}
		scaleParseSites(content, out)
	}
	return out, nil
}

// scaleDiff describes how got falls short of want ("" when equal).
func scaleDiff(got, want map[string]string) string {
	var bad []string
	for site, tag := range want {
		if got[site] != tag {
			bad = append(bad, fmt.Sprintf("%s at %q", site, got[site]))
		}
	}
	if len(got) != len(want) {
		bad = append(bad, fmt.Sprintf("%d sites, want %d", len(got), len(want)))
	}
	if len(bad) == 0 {
		return ""
	}
	slices.Sort(bad)
	return fmt.Sprintf("%d sites not at their newest tag, e.g. %s", len(bad), strings.Join(bad[:min(5, len(bad))], ", "))
}

// scaleCheckHistory walks every commit after the seed with the git binary: each one
// changes at least one site and nothing but site tags, each change moves a site to a
// newer tag, and no site is ever moved to the same tag twice.
func scaleCheckHistory(t *testing.T, gitDir string, blobs *scaleBlobs, seed string) {
	t.Helper()
	rank := map[string]int{}
	for i, tag := range scaleTags {
		rank[tag] = i
	}
	before, err := scaleSitesAt(gitDir, blobs, seed)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string][]string{} // site → tags it was moved to, in order
	commits := testgit.Lines(testgit.Git(t, gitDir, "rev-list", "--reverse", "--topo-order", seed+"..refs/heads/main"))
	if len(commits) == 0 {
		t.Fatal("hoist made no commit")
	}
	for _, c := range commits {
		author := strings.TrimSpace(testgit.Git(t, gitDir, "log", "-1", "--format=%an", c))
		if author != "hoist" {
			t.Errorf("commit %s by %q, want hoist", c, author)
		}
		after := map[string]string{}
		for site, tag := range before {
			after[site] = tag
		}
		files := testgit.Lines(testgit.Git(t, gitDir, "diff-tree", "--no-commit-id", "-r", "--name-only", c))
		for _, f := range files {
			if !strings.HasPrefix(f, "apps/") {
				t.Errorf("commit %s changes %s, outside the manifests", c, f)
				continue
			}
			content, err := blobs.read(c, f)
			if err != nil {
				t.Fatal(err)
			}
			scaleParseSites(content, after)
		}
		changed := 0
		for site, tag := range after {
			old := before[site]
			if tag == old {
				continue
			}
			changed++
			if rank[tag] <= rank[old] {
				t.Errorf("commit %s moves %s backwards, %s → %s", c, site, old, tag)
			}
			if slices.Contains(seen[site], tag) {
				t.Errorf("commit %s moves %s to %s a second time", c, site, tag)
			}
			seen[site] = append(seen[site], tag)
		}
		if changed == 0 {
			t.Errorf("commit %s changes no image", c)
		}
		// Only the tags changed: the file bytes equal the parent's with the tags swapped.
		for _, f := range files {
			parent, err := blobs.read(c+"^", f)
			if err != nil {
				t.Fatal(err)
			}
			now, err := blobs.read(c, f)
			if err != nil {
				t.Fatal(err)
			}
			if scaleMaskTags(parent) != scaleMaskTags(now) {
				t.Errorf("commit %s changes %s beyond the image tags", c, f)
			}
		}
		before = after
	}
	for _, site := range scaleSiteNames() {
		if n := len(seen[site]); n == 0 || seen[site][n-1] != scaleTags[len(scaleTags)-1] {
			t.Errorf("%s was moved to %v; want its last move to %s", site, seen[site], scaleTags[len(scaleTags)-1])
		}
	}
}

var scaleTagRE = regexp.MustCompile(`\d+\.\d+\.\d+`)

// scaleMaskTags blanks every version in a manifest, to compare files modulo tags.
func scaleMaskTags(s string) string { return scaleTagRE.ReplaceAllString(s, "X") }

// scaleDelivery is one webhook: hoist's generic JSON payload for one pushed tag.
type scaleDelivery struct {
	body []byte
}

// scaleDeliveries builds the 2,000 webhooks: one per (site, tag after the first), in
// a fixed shuffled order, plus repeats of earlier ones placed after their original.
func scaleDeliveries() []scaleDelivery {
	rng := rand.New(rand.NewPCG(2026, 6))
	var unique []scaleDelivery
	for _, site := range scaleSiteNames() {
		for _, tag := range scaleTags[1:] {
			image := fmt.Sprintf("%s/scale/%s:%s", scaleRegistry, site, tag)
			sum := sha256.Sum256([]byte(image))
			body := fmt.Sprintf(`{"image":%q,"digest":"sha256:%s"}`, image, hex.EncodeToString(sum[:]))
			unique = append(unique, scaleDelivery{body: []byte(body)})
		}
	}
	rng.Shuffle(len(unique), func(i, j int) { unique[i], unique[j] = unique[j], unique[i] })
	out := slices.Clone(unique)
	for range scaleDuplicates {
		// A repeat of delivery i goes somewhere after it.
		i := rng.IntN(len(unique))
		at := i + 1 + rng.IntN(len(out)-i)
		out = slices.Insert(out, at, unique[i])
	}
	return out
}

// scaleSend posts every delivery with 8 concurrent senders, delivery i first to ingest
// i%2. Like a registry, a sender whose delivery fails (connection refused or reset by a
// killed process, or a 5xx) delivers it again to the other ingest. answered is called
// once per delivery that got a 2xx.
func scaleSend(deliveries []scaleDelivery, ingests []*scaleProc, answered func(), errs chan<- error) {
	// Registries deliver over time, not all at once: pace the deliveries so that the
	// kills land while pushes, rewrites and commits are all in flight.
	scaleSendPaced(len(deliveries), scaleRate, func(client *http.Client, i int) error {
		var failures []string
		for attempt := range 4 {
			p := ingests[(i+attempt)%len(ingests)]
			status, err := scalePost(client, "http://"+p.addr+"/hooks/ci", deliveries[i].body)
			if err == nil && status/100 == 2 {
				return nil
			}
			failures = append(failures, fmt.Sprintf("%s: status %d, %v", p.name, status, err))
			if err == nil && status/100 == 4 {
				break // a 4xx is a bug, not an outage: retrying will not help
			}
		}
		return fmt.Errorf("delivery %d (%s) failed: %s", i, deliveries[i].body, strings.Join(failures, "; "))
	}, answered, errs)
}

// scaleSendPaced has 8 concurrent senders deliver deliveries 0..n-1, starting rate a
// second; answered is called once per delivery deliver made, errs gets the error of
// each it gave up on.
func scaleSendPaced(n, rate int, deliver func(client *http.Client, i int) error, answered func(), errs chan<- error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	work := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range work {
				if err := deliver(client, i); err != nil {
					errs <- err
					continue
				}
				answered()
			}
		})
	}
	pace := time.NewTicker(time.Second / time.Duration(rate))
	defer pace.Stop()
	for i := range n {
		<-pace.C
		work <- i
	}
	close(work)
	wg.Wait()
}

func scalePost(client *http.Client, url string, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+scaleSecret)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// scaleConfig is the hoist.yaml every process reads; only listen differs.
func scaleConfig(natsURL, listen, repoURL string) string {
	return fmt.Sprintf(`nats:
  url: %s
listen: %s
receivers:
  - name: ci
    kind: generic
    secret: %s
# The generic pushes announce tags that exist in no registry: trust them,
# and list no registry.
images: [{match: "**", verify: none}]
scan: {interval: 0}
repositories:
  - name: gitops
    url: %s
    branch: main
    paths: ["apps"]
    commit:
      window: 200ms
      maxWait: 1s
`, natsURL, listen, scaleSecret, repoURL)
}

// scaleRequireCommands fails the test when the built hoist lacks a stage
// command: they all exist, so one missing is a regression.
func scaleRequireCommands(t *testing.T, bin string, names ...string) {
	t.Helper()
	var usage bytes.Buffer
	cmd := exec.Command(bin, "help")
	cmd.Stdout, cmd.Stderr = &usage, &usage
	_ = cmd.Run()
	have := map[string]bool{}
	for _, line := range strings.Split(usage.String(), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			have[f[0]] = true
		}
	}
	for _, n := range names {
		if !have[n] {
			t.Fatalf("hoist has no %q command:\n%s", n, usage.String())
		}
	}
}

// scaleStartNATS runs nats-server with JetStream on 127.0.0.1 until the test ends and
// returns its URL once it accepts connections, a JetStream connection to it that
// reconnects for as long as the test runs (the server may be killed and restarted),
// and the process (to kill and restart: it keeps its port and store directory).
func scaleStartNATS(t *testing.T, bin, storeDir string) (string, jetstream.JetStream, *scaleProc) {
	t.Helper()
	addr := testenv.FreeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	p := &scaleProc{name: "nats-server", bin: bin, dir: filepath.Dir(storeDir),
		args: []string{"-a", host, "-p", port, "-js", "-sd", storeDir, "-n", "hoist-scale-out"}}
	p.start(t)
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			p.dumpLogs(t)
		}
	})
	url := "nats://" + addr
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if !scalePoll(ctx, 50*time.Millisecond, func() bool {
		if p.exited() {
			return true
		}
		nc, err := nats.Connect(url)
		if err != nil {
			return false
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return false
		}
		_, err = js.AccountInfo(ctx)
		return err == nil
	}) || p.exited() {
		t.Fatalf("nats-server did not accept JetStream requests on %s", url)
	}
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return url, js, p
}

func scaleStreamInfo(ctx context.Context, js jetstream.JetStream, name string) (*jetstream.StreamInfo, error) {
	s, err := js.Stream(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	return s.Info(ctx)
}

// scalePoll checks cond every interval until it holds or ctx ends; it reports
// whether cond held. Only for conditions on other processes, which cannot notify us.
func scalePoll(ctx context.Context, interval time.Duration, cond func() bool) bool {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if cond() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}

// newScaleProc is the hoist process name running stage, in a directory of its own
// under work, listening on a port of its own (fixed: a restarted process must listen
// where the senders send) with the hoist.yaml config gives for that address.
func newScaleProc(t *testing.T, bin, work, name, stage string, config func(listen string) string) *scaleProc {
	t.Helper()
	p := &scaleProc{name: name, bin: bin, addr: testenv.FreeAddr(t), dir: filepath.Join(work, name)}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(p.dir, "hoist.yaml")
	if err := os.WriteFile(cfg, []byte(config(p.addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	p.args = []string{stage, "--config", cfg}
	return p
}

// runScaleProcs starts procs and waits until each is ready; at the test's end it
// stops them and, when the test failed, shows their logs.
func runScaleProcs(t *testing.T, procs []*scaleProc) {
	t.Helper()
	t.Cleanup(func() {
		for _, p := range procs {
			p.stop(t)
		}
		if t.Failed() {
			for _, p := range procs {
				p.dumpLogs(t)
			}
		}
	})
	for _, p := range procs {
		p.start(t)
	}
	for _, p := range procs {
		p.waitReady(t, time.Minute)
	}
}

// stopAllCleanly sends SIGTERM to every process at once and fails the test for each
// that does not exit 0: graceful shutdown.
func stopAllCleanly(t *testing.T, procs []*scaleProc) {
	t.Helper()
	codes := make([]int, len(procs))
	var stopping sync.WaitGroup
	for i, p := range procs {
		stopping.Go(func() { codes[i] = p.stop(t) })
	}
	stopping.Wait()
	for i, p := range procs {
		if codes[i] != 0 {
			t.Errorf("%s exited %d on SIGTERM, want 0", p.name, codes[i])
		}
	}
}

// scaleProc is one process under test, restartable; its output goes to a log file
// per start, shown when the test fails.
type scaleProc struct {
	name, bin, addr, dir string
	args                 []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	err    error
	starts int
	logs   []string
	killed bool
}

func (p *scaleProc) start(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.starts++
	logPath := filepath.Join(p.dir, fmt.Sprintf("%s.%d.log", p.name, p.starts))
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Dir = p.dir
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", p.name, err)
	}
	p.cmd, p.done, p.killed = cmd, make(chan struct{}), false
	p.logs = append(p.logs, logPath)
	done := p.done
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
}

// exited reports whether the current process ended without the test stopping it.
func (p *scaleProc) exited() bool {
	p.mu.Lock()
	done, killed := p.done, p.killed
	p.mu.Unlock()
	select {
	case <-done:
		return !killed
	default:
		return false
	}
}

// kill SIGKILLs the process and waits for it to be gone.
func (p *scaleProc) kill(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	p.killed = true
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	<-done
}

// stop sends SIGTERM, waits up to a minute (then SIGKILLs), and returns the exit
// code; -1 when it had to be killed. Stopping a stopped process returns its code.
func (p *scaleProc) stop(t *testing.T) int {
	t.Helper()
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.killed = true
	p.mu.Unlock()
	if cmd == nil {
		return 0
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		t.Errorf("%s did not stop within a minute of SIGTERM", p.name)
		return -1
	}
	return cmd.ProcessState.ExitCode()
}

// waitReady polls the process's /readyz until it answers 200, failing the test otherwise.
func (p *scaleProc) waitReady(t *testing.T, within time.Duration) {
	t.Helper()
	if err := p.ready(within); err != nil {
		t.Fatal(err)
	}
}

// ready polls the process's /readyz until it answers 200; safe from any goroutine.
func (p *scaleProc) ready(within time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	client := &http.Client{Timeout: 5 * time.Second}
	var last string
	ok := scalePoll(ctx, 50*time.Millisecond, func() bool {
		if p.exited() {
			last = "exited"
			return true
		}
		resp, err := client.Get("http://" + p.addr + "/readyz")
		if err != nil {
			last = err.Error()
			return false
		}
		resp.Body.Close()
		last = resp.Status
		return resp.StatusCode == http.StatusOK
	})
	if !ok || last == "exited" {
		return fmt.Errorf("%s not ready within %s: %s", p.name, within, last)
	}
	return nil
}

// dumpLogs shows the last lines each start of the process wrote.
func (p *scaleProc) dumpLogs(t *testing.T) {
	p.mu.Lock()
	logs := slices.Clone(p.logs)
	p.mu.Unlock()
	for _, path := range logs {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		var lines []string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		f.Close()
		t.Logf("--- %s (last %d lines)\n%s", filepath.Base(path), min(40, len(lines)), strings.Join(lines[max(0, len(lines)-40):], "\n"))
	}
}
