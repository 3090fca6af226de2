package ingest

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/benchmd"
	"github.com/hoist-gitops/hoist/internal/bus/bustest"
	"github.com/hoist-gitops/hoist/internal/testenv"
)

// benchBody is a distribution tag push whose tag is "b<i>", so every
// request is a new event (no dedupe shortcut).
func benchBody(t testing.TB) func(i int64) []byte {
	tmpl := readFixture(t, "webhooks/distribution-captured-tag-push.json")
	if !bytes.Contains(tmpl, []byte(`"tag": "1.2.3"`)) {
		t.Fatal("fixture changed")
	}
	return func(i int64) []byte {
		return bytes.Replace(tmpl, []byte(`"tag": "1.2.3"`), []byte(`"tag": "b`+strconv.FormatInt(i, 10)+`"`), 1)
	}
}

// loadResult is what one load run measured.
type loadResult struct {
	accepted int64
	failed   int64
	elapsed  time.Duration
	latency  time.Duration // sum over accepted requests
	cpu      time.Duration // CPU time of the whole process (user + system)
}

// cpuPerRequest is the process's CPU time per accepted webhook: unlike the
// rate, it hardly moves when other programs load the machine.
func (r loadResult) cpuPerRequest() time.Duration {
	if r.accepted == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.accepted)
}

// processCPU is the CPU time this process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// plus is r and q as one load run.
func (r loadResult) plus(q loadResult) loadResult {
	return loadResult{accepted: r.accepted + q.accepted, failed: r.failed + q.failed, elapsed: r.elapsed + q.elapsed,
		latency: r.latency + q.latency, cpu: r.cpu + q.cpu}
}

func (r loadResult) perSecond() float64 { return float64(r.accepted) / r.elapsed.Seconds() }
func (r loadResult) meanLatency() time.Duration {
	if r.accepted == 0 {
		return 0
	}
	return r.latency / time.Duration(r.accepted)
}

// load posts webhooks to url from conc goroutines for dur and counts the 202s.
func load(client *http.Client, url string, conc int, dur time.Duration, body func(int64) []byte, seq *atomic.Int64) loadResult {
	var accepted, failed, latency atomic.Int64
	cpu0 := processCPU()
	start := time.Now()
	deadline := start.Add(dur)
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body(seq.Add(1))))
				req.Header.Set("Content-Type", "application/vnd.docker.distribution.events.v2+json")
				req.Header.Set("Authorization", "Bearer "+testSecret)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					failed.Add(1)
					continue
				}
				accepted.Add(1)
				latency.Add(int64(time.Since(t0)))
			}
		}()
	}
	wg.Wait()
	return loadResult{accepted: accepted.Load(), failed: failed.Load(), elapsed: time.Since(start),
		latency: time.Duration(latency.Load()), cpu: processCPU() - cpu0}
}

// bareHandler is the baseline: answers 202 without doing anything.
var bareHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusAccepted)
})

// benchServers starts ingest (JetStream file storage) and the bare handler
// on 127.0.0.1. ingest publishes on connections of its own, as many as
// hoist gives it: over TCP, or through the embedded server's in-process pipe.
func benchServers(t testing.TB, inProcess bool) (ingestURL, bareURL string, ts *testServer, b *bustest.Bus) {
	b = bustest.Start(t)
	conn := b.Conn
	if inProcess {
		conn = b.InProcess(t)
	}
	pubs, err := conn.Publishers()
	if err != nil {
		t.Fatal(err)
	}
	bare := httptest.NewServer(bareHandler)
	t.Cleanup(bare.Close)
	ts = benchIngest(t, pubs, conn.JS)
	return ts.http.URL + "/hooks/reg", bare.URL, ts, b
}

// benchIngest starts ingest with a distribution receiver "reg" publishing
// on pubs, which close when the test ends.
func benchIngest(t testing.TB, pubs []*nats.Conn, js jetstream.JetStream) *testServer {
	for _, nc := range pubs {
		t.Cleanup(nc.Close)
	}
	cfg := Config{Conns: pubs, Receivers: []Receiver{{Name: "reg", Kind: KindDistribution, Secret: testSecret, SecretSet: true}}}
	ts := newTestServerOn(t, cfg, js)
	ts.log = zerolog.New(io.Discard).Level(zerolog.InfoLevel) // formatted as in production (info), written nowhere
	return ts
}

// benchClient is the one client both handlers are measured with.
func benchClient(conc int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conc
	tr.MaxConnsPerHost = conc
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func BenchmarkEvents(b *testing.B) {
	for _, c := range fixtureCases {
		if c.wantErr != "" || len(c.want) == 0 || !strings.HasPrefix(c.file, "webhooks/") {
			continue
		}
		in := Input{Body: readFixture(b, c.file), Header: fixtureHeader(c), Host: c.host}
		b.Run(strings.TrimSuffix(filepath.Base(c.file), ".json"), func(b *testing.B) {
			b.SetBytes(int64(len(in.Body)))
			for b.Loop() {
				if _, err := Events(c.kind, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchHTTP measures one handler with b.N requests over RunParallel.
func benchHTTP(b *testing.B, url string) {
	body := benchBody(b)
	client := benchClient(64)
	var seq atomic.Int64
	b.SetParallelism(16) // 16 clients per CPU: the server, not the client's waiting, is measured
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body(seq.Add(1))))
			req.Header.Set("Content-Type", "application/vnd.docker.distribution.events.v2+json")
			req.Header.Set("Authorization", "Bearer "+testSecret)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

func BenchmarkDeliveryIngest(b *testing.B) {
	url, _, _, _ := benchServers(b, false)
	benchHTTP(b, url)
}

func BenchmarkDeliveryIngestInProcessNATS(b *testing.B) {
	url, _, _, _ := benchServers(b, true)
	benchHTTP(b, url)
}

func BenchmarkDeliveryBare(b *testing.B) {
	_, url, _, _ := benchServers(b, false)
	benchHTTP(b, url)
}

// TestBenchReportIngest measures accepted webhooks per second of ingest
// (202 only after the JetStream file-storage ack) against a bare net/http
// handler answering 202, with the same client and concurrency in the same
// run, and writes the "ingest" section of BENCHMARKS.md. ingest is measured
// twice: with its NATS connections over TCP on 127.0.0.1 (as `hoist ingest`
// talks to a NATS server) and in-process (as `hoist serve` talks to its
// embedded one).
//
// The machine's speed drifts (a shared VM: by a third within a minute), so
// each round measures the three handlers back to back, in an order that
// turns every round, and a handler's ratio to the bare one is taken within
// a round, where the drift cancels; the figure is the median over the rounds.
//
// Then ingest's hand-written fast paths are weighed against the plain
// library path in a paired A/B (pairedAB), in process: as a set, each left
// out of the set, and goccy/go-json.
func TestBenchReportIngest(t *testing.T) {
	path := testenv.BenchReport(t)
	const conc, rounds, abRounds = 32, 16, 30
	dur := time.Second
	loadavg, _ := os.ReadFile("/proc/loadavg") // before the run: other programs' load
	tcpURL, bareURL, tcpTS, _ := benchServers(t, false)
	inprocURL, _, inprocTS, inprocBus := benchServers(t, true)
	plainTS := plainInProcessIngest(t, inprocBus)
	plainURL := plainTS.http.URL + "/hooks/reg"
	body := benchBody(t)
	client := benchClient(conc)
	var seq atomic.Int64
	streams := newBenchStreams(t, tcpTS.js, inprocTS.js)
	urls := []string{bareURL, tcpURL, inprocURL}
	for _, u := range urls { // warm up connections
		load(client, u, conc, 300*time.Millisecond, body, &seq)
	}
	before := map[*testServer]map[string]phaseSum{tcpTS: phaseSums(t, tcpTS), inprocTS: phaseSums(t, inprocTS)}

	res := make([][]loadResult, len(urls)) // by handler, then round
	for r := 0; r < rounds; r++ {
		for k := range urls {
			h := (r + k) % len(urls)
			streams.settle()
			res[h] = append(res[h], load(client, urls[h], conc, dur, body, &seq))
		}
	}
	after := map[*testServer]map[string]phaseSum{tcpTS: phaseSums(t, tcpTS), inprocTS: phaseSums(t, inprocTS)}
	ab := pairedAB(client, body, &seq, conc, benchPieces(inprocURL, plainURL), abRounds, dur, streams.settle)
	streams.settle()
	profPath := filepath.Join(t.TempDir(), "cpu.pprof") // of in-process load after the measured rounds
	if f, err := os.Create(profPath); err == nil && pprof.StartCPUProfile(f) == nil {
		load(client, inprocURL, conc, profileFor, body, &seq)
		pprof.StopCPUProfile()
		f.Close()
	}
	for _, rs := range res {
		for _, r := range rs {
			if r.failed > 0 || r.accepted == 0 {
				t.Fatalf("load run failed: %+v", r)
			}
		}
	}
	bare, tcp, inproc := res[0], res[1], res[2]
	abLoads := slices.Clone(inproc) // the A/B loads the in-process ingest too
	for _, p := range ab {
		for _, rs := range [][]loadResult{p.with, p.without} {
			for _, r := range rs {
				if r.failed > 0 || r.accepted == 0 {
					t.Fatalf("A/B load run of %s failed: %+v", p.name, r)
				}
			}
			abLoads = append(abLoads, rs...)
		}
	}
	for ts, rs := range map[*testServer][]loadResult{tcpTS: tcp, inprocTS: abLoads} {
		var accepted int64
		for _, r := range rs {
			accepted += r.accepted
		}
		if stored := streams.stored(ts.js); stored < accepted {
			t.Fatalf("JetStream holds %d events, fewer than the %d answered 202", stored, accepted)
		}
	}
	ratioTCP, ratioInproc := pairedRatio(tcp, bare), pairedRatio(inproc, bare)

	var md strings.Builder
	fmt.Fprintf(&md, "## ingest: accepted webhooks per second\n\n")
	fmt.Fprintf(&md, "Machine: %s; load average %s before the run (other programs on the machine move the ratios: compare runs made at a similar load).\n\n",
		benchmd.Machine(), strings.Join(strings.Fields(string(loadavg))[:3], " "))
	fmt.Fprintf(&md, "%d concurrent clients sharing one keep-alive `http.Client`, on 127.0.0.1, posting CNCF-registry tag-push "+
		"notifications (%d bytes, a new tag each, so each is a new event); %d rounds, each measuring the three handlers "+
		"for %v apiece, back to back, in an order that turns every round, all in one process, each load after the push streams "+
		"were emptied and the garbage collected (as in the A/B below). ingest answers 202 only after "+
		"JetStream (NATS server embedded in the process, file storage) acked the event; it publishes on NATS connections of "+
		"its own, as many as hoist gives it: %d over TCP on 127.0.0.1, %d through the embedded server's in-process pipe.\n\n",
		conc, len(body(1)), rounds, dur, len(tcpTS.conns), len(inprocTS.conns))
	fmt.Fprintf(&md, "The machine is a shared VM whose speed drifts (by a third within a minute), so a handler's ratio to the bare "+
		"handler is taken within each round, where the drift cancels, and the median over the rounds is the figure; the range "+
		"shows the rounds' spread.\n\n")
	cpuBare, cpuTCP, cpuInproc := medianCPU(bare), medianCPU(tcp), medianCPU(inproc)
	fmt.Fprintf(&md, "| handler | webhooks/s (median) | ratio to bare (median of rounds) | rounds' ratios | mean latency | CPU per webhook | CPU ratio |\n|---|---:|---:|---|---:|---:|---:|\n")
	row := func(name string, rs []loadResult, cpu time.Duration) {
		ratio, spread := "**1.00**", ""
		if &rs[0] != &bare[0] {
			rr := roundRatios(rs, bare)
			ratio, spread = fmt.Sprintf("**%.2f**", median(rr)), fmt.Sprintf("%.2f–%.2f", slices.Min(rr), slices.Max(rr))
		}
		m := medianRound(rs)
		fmt.Fprintf(&md, "| %s | %.0f | %s | %s | %v | %v | %.2f |\n", name, m.perSecond(), ratio, spread,
			m.meanLatency().Round(time.Microsecond), cpu.Round(time.Microsecond), float64(cpuBare)/float64(cpu))
	}
	row("bare `net/http` answering 202 (baseline)", bare, cpuBare)
	row("hoist ingest, NATS over TCP (`hoist ingest`)", tcp, cpuTCP)
	row("hoist ingest, NATS in-process (`hoist serve`)", inproc, cpuInproc)
	fmt.Fprintf(&md, "\nCPU per webhook is the whole process's CPU time (load client, HTTP server, ingest, NATS server) per "+
		"accepted webhook, median of the rounds; the CPU ratio (bare's CPU per webhook over the handler's) is what the rate ratio "+
		"tends to when the machine is saturated.\n\n")
	fmt.Fprintf(&md, "Target: at least 0.50 of the bare handler's rate. TCP: %s; in-process: %s.\n\n", verdict(ratioTCP), verdict(ratioInproc))
	writePairedAB(&md, ab, abRounds, dur)
	fmt.Fprintf(&md, "Where a delivery's time goes inside ingest's handler (mean per delivery over the measured rounds, from "+
		"`hoist_ingest_phase_duration_seconds`; publish is the wait for JetStream's ack, including queueing behind the other %d clients):\n\n", conc-1)
	fmt.Fprintf(&md, "| phase | NATS over TCP | NATS in-process |\n|---|---:|---:|\n")
	afterTCP, afterInproc := after[tcpTS], after[inprocTS]
	for _, p := range []string{"read", "auth", "parse", "publish"} {
		fmt.Fprintf(&md, "| %s | %v | %v |\n", p,
			afterTCP[p].sub(before[tcpTS][p]).mean().Round(100*time.Nanosecond),
			afterInproc[p].sub(before[inprocTS][p]).mean().Round(100*time.Nanosecond))
	}
	md.WriteString("\n")
	if groups, err := profileGroups(profPath); err == nil {
		fmt.Fprintf(&md, "CPU profile of %v of in-process load after the measured rounds (the whole process: load client, HTTP "+
			"server, ingest, embedded NATS server), share of CPU samples by part (nested rows are included in the row above):\n\n", profileFor)
		fmt.Fprintf(&md, "| component | share of CPU | per webhook, of the in-process %v |\n|---|---:|---:|\n", cpuInproc.Round(time.Microsecond))
		for _, g := range groups {
			fmt.Fprintf(&md, "| %s | %.1f%% | %v |\n", g.name, g.pct, share(cpuInproc, g.pct))
		}
		byName := map[string]float64{}
		for _, g := range groups {
			byName[g.key] = g.pct
		}
		own := byName["hook"] - byName["publish"]
		nats := byName["publish"] + byName["server"] + byName["client"]
		fmt.Fprintf(&md, "\nSo of the %v a webhook costs beyond the bare handler's %v (in process), about %v is the JetStream publish "+
			"(encoding the event, the client's send and wait, the NATS server's receive, file store and ack) and %v the rest of "+
			"ingest's own work (read, authenticate, decode, validate, answer, log, count); the garbage collector's and the "+
			"scheduler's share of both make up the remainder.\n\n", (cpuInproc - cpuBare).Round(time.Microsecond), cpuBare.Round(time.Microsecond),
			share(cpuInproc, nats), share(cpuInproc, own))
	} else {
		t.Logf("no profile summary: %v", err)
	}
	t.Log(md.String())
	if err := benchmd.Update(path, "ingest", md.String()); err != nil {
		t.Fatal(err)
	}
}

// abPiece is one of ingest's hand-written fast paths, weighed against the
// plain library path it replaces.
type abPiece struct {
	name string // as the report names it
	// url points ingest at the piece (with) or at the library path and
	// returns the URL to load; every piece is on again after each load.
	url func(with bool) string
}

// benchPieces are what the bench weighs, in process, after an A/A control
// that loads the same ingest on both sides. inprocURL is ingest publishing
// through bus's queuedConn, plainURL through nats.go's own in-process pipe
// (plainInProcessIngest); fastPaths and fastJSON switch the rest.
//
// The reply slots, queuedConn and the pools are weighed as a set against
// the library path (jetstream's PublishMsg, nats.go's pipe, no pools), then
// each is left out of the set in turn: its own verdict.
func benchPieces(inprocURL, plainURL string) []abPiece {
	libraryPath := func(with bool) string {
		fastPaths.replySlots, fastPaths.pools = with, with
		if with {
			return inprocURL
		}
		return plainURL
	}
	leaveOut := func(flag *bool) func(bool) string {
		return func(with bool) string {
			*flag = with
			return inprocURL
		}
	}
	return []abPiece{
		{"none: the same ingest on both sides (A/A control)", func(bool) string { return inprocURL }},
		{"**the set**: reply slots + `queuedConn` + `sync.Pool`s, against jetstream's `PublishMsg`, nats.go's in-process pipe (2 connections) and no pools", libraryPath},
		{"leave-one-out: reply slots (`ingest/replies.go`), the set against the set with `PublishMsg`", leaveOut(&fastPaths.replySlots)},
		{"leave-one-out: `queuedConn` (`internal/bus/inprocess.go`, 1 connection), the set against the set on nats.go's pipe (2 connections)", func(with bool) string {
			if with {
				return inprocURL
			}
			return plainURL
		}},
		{"leave-one-out: `sync.Pool`s (body buffers, outgoing messages, timers), the set against the set without them", leaveOut(&fastPaths.pools)},
		{"goccy/go-json (`fastJSON`, ingest/decode.go) against encoding/json", leaveOut(&fastJSON)},
	}
}

// allFastPaths turns every fast path back on.
func allFastPaths() {
	fastPaths.replySlots, fastPaths.pools, fastJSON = true, true, true
}

// plainInProcessIngest is ingest publishing on two connections through b's
// in-process pipe as nats.go makes them (nats.InProcessServer), without
// bus's queuedConn: the library side of the queuedConn A/B.
func plainInProcessIngest(t testing.TB, b *bustest.Bus) *testServer {
	var pubs []*nats.Conn
	for range 2 {
		nc, err := nats.Connect("", nats.InProcessServer(b.Server))
		if err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, nc)
	}
	return benchIngest(t, pubs, b.JS)
}

// abResult is a piece's load runs with it and without it, by round.
type abResult struct {
	abPiece
	with, without []loadResult
}

// abLeadIn is the unmeasured load before each of the A/B's measured ones.
const abLeadIn = 100 * time.Millisecond

// pairedAB measures every piece with and without it within each round, in
// four loads of dur/2, ABBA: the side measured first (turning with the
// round and the piece) is measured last too, so a drift of the machine's
// speed over the round weighs on both sides alike. settle runs before each
// load, which an unmeasured lead-in of the same side then precedes.
func pairedAB(client *http.Client, body func(int64) []byte, seq *atomic.Int64, conc int, pieces []abPiece, rounds int, dur time.Duration, settle func()) []abResult {
	out := make([]abResult, len(pieces))
	for i, p := range pieces {
		out[i].abPiece = p
	}
	for r := range rounds {
		for i, p := range pieces {
			first := (r+i)%2 == 0
			var with, without loadResult
			for _, side := range []bool{first, !first, !first, first} {
				settle()
				url := p.url(side)
				// The lead-in: a load leaves the process's state (the
				// garbage collector's heap goal, idle connections, pools)
				// to the next one, and without it the A/A control won 28
				// of 40 rounds, the side after the piece's "without".
				load(client, url, conc, abLeadIn, body, seq)
				res := load(client, url, conc, dur/2, body, seq)
				allFastPaths()
				if side {
					with = with.plus(res)
				} else {
					without = without.plus(res)
				}
			}
			out[i].with = append(out[i].with, with)
			out[i].without = append(out[i].without, without)
		}
	}
	return out
}

// signTestWins is the fewest wins out of n paired rounds that a piece
// making no difference (each round a coin toss) reaches with a probability
// below 5%.
func signTestWins(n int) int {
	tail := 0.0 // P(wins >= k)
	for k := n; k >= 0; k-- {
		tail += binom(n, k) / math.Pow(2, float64(n))
		if tail >= 0.05 {
			return k + 1
		}
	}
	return 0
}

// binom is n choose k.
func binom(n, k int) float64 {
	c := 1.0
	for i := 1; i <= k; i++ {
		c = c * float64(n-k+i) / float64(i)
	}
	return c
}

// cpuGains are the CPU per webhook without a piece over with it, round by
// round: above 1, the piece saved CPU.
func cpuGains(p abResult) []float64 {
	out := make([]float64, len(p.with))
	for i := range p.with {
		out[i] = float64(p.without[i].cpuPerRequest()) / float64(p.with[i].cpuPerRequest())
	}
	return out
}

// deviation is the median distance of xs from 1.
func deviation(xs []float64) float64 {
	var ds []float64
	for _, x := range xs {
		ds = append(ds, math.Abs(x-1))
	}
	return median(ds)
}

// middle80 is the range of the middle 80% of xs (10th to 90th percentile).
func middle80(xs []float64) (lo, hi float64) {
	ys := slices.Sorted(slices.Values(xs))
	k := len(ys) / 10
	return ys[k], ys[len(ys)-1-k]
}

// wins counts the rounds above 1.
func wins(xs []float64) int {
	n := 0
	for _, x := range xs {
		if x > 1 {
			n++
		}
	}
	return n
}

// writePairedAB writes the A/B table and each piece's verdict: a piece pays
// when it saved CPU per webhook in enough rounds for a sign test, its
// median gain is further from 1 than the A/A control's median, and it did
// not lose webhooks per second.
func writePairedAB(md *strings.Builder, ab []abResult, rounds int, dur time.Duration) {
	need := signTestWins(rounds)
	cpuNoise, rateNoise := deviation(cpuGains(ab[0])), deviation(roundRatios(ab[0].with, ab[0].without))
	controlGain := median(cpuGains(ab[0])) // what the median shows when nothing differs
	fmt.Fprintf(md, "### What the hand-written fast paths buy (paired A/B, in process)\n\n")
	lo, hi := middle80(cpuGains(ab[0]))
	fmt.Fprintf(md, "Each row measures in-process ingest with a piece and without it: %d rounds, each loading ingest for %v with "+
		"the piece and %v without it in four loads of %v, ABBA (the side measured first, turning every round, is measured last "+
		"too, so the machine's drift within a round weighs on both sides alike); before each load the push stream is deleted and "+
		"made anew and the garbage collected, then an unmeasured %v load of the same side leads in, so every load starts from "+
		"the same state. A round's figures are the piece's gains within it: CPU per webhook without the piece over with it, "+
		"and webhooks per second with it over without it. The first row loads the same ingest on both sides (an A/A control): "+
		"its rounds show what a paired round varies by when nothing differs. The middle 80%% of its rounds' CPU gains lie "+
		"within %.3f–%.3f (a range of %.1f%%), their median deviation from 1.00 is %.1f%% in CPU per webhook and %.1f%% in "+
		"webhooks per second: the rate, which other programs on the shared machine move from one second to the next, cannot "+
		"show a gain of a few per cent, so a piece is judged by the CPU it saves, which a saturated machine turns into rate.\n\n",
		rounds, dur, dur, dur/2, abLeadIn, lo, hi, 100*(hi-lo), 100*cpuNoise, 100*rateNoise)
	fmt.Fprintf(md, "Without emptying the stream (until 6 Dec 2026) the stream and JetStream's dedupe map, which remembers every "+
		"message id for two hours, grew to millions of events over the bench and the heap with them: CPU per webhook rose by "+
		"half as they grew, and a garbage collection over that heap falling in one load and not the next made the control's "+
		"rounds range from 0.30 to 3.13 (median deviation 29%%), too noisy to decide anything.\n\n")
	fmt.Fprintf(md, "The reply slots (`ingest/replies.go`), `queuedConn` (`internal/bus/inprocess.go`) and the `sync.Pool`s are "+
		"weighed as **a set** against the library path (jetstream's `PublishMsg`, nats.go's own in-process pipe on 2 "+
		"connections, no pools), and each is left out of the set in turn (the set against the set without that piece): a piece "+
		"stays if its own leave-one-out row pays; were none of them to pay alone while the set does, the set would stay whole. "+
		"goccy/go-json is weighed on its own, with the set in place.\n\n")
	fmt.Fprintf(md, "**Criterion.** A row pays in a run if it used less CPU per webhook in at least %d of the %d rounds (a piece "+
		"that makes no difference does so with a probability below 5%%, one-sided sign test), its median CPU gain is further "+
		"above 1.00 than the control's median is from 1.00 (%.3f), and its median rate gain is not below 1.00. ingest keeps "+
		"what pays in most runs.\n\n", need, rounds, controlGain)
	fmt.Fprintf(md, "| piece | CPU gain (median) | rounds' CPU gains | rounds with less CPU | rate gain (median) | rounds' rate gains | rounds faster | verdict |\n"+
		"|---|---:|---|---:|---:|---|---:|---|\n")
	for i, p := range ab {
		cg, rg := cpuGains(p), roundRatios(p.with, p.without)
		v := "pays"
		switch {
		case i == 0:
			v = "control"
		case wins(cg) < need || median(cg)-1 <= math.Abs(controlGain-1) || median(rg) < 1:
			v = "does not pay in this run"
		}
		fmt.Fprintf(md, "| %s | **%.3f** | %.2f–%.2f | %d of %d | %.3f | %.2f–%.2f | %d of %d | %s |\n", p.name,
			median(cg), slices.Min(cg), slices.Max(cg), wins(cg), len(cg),
			median(rg), slices.Min(rg), slices.Max(rg), wins(rg), len(rg), v)
	}
	fmt.Fprintf(md, "\nOne run's verdict can flip at this noise: what the code keeps is decided over several runs, and the "+
		"comment beside each piece gives its figures.\n\n")
}

// profileFor is how long the report's CPU profile runs.
const profileFor = 5 * time.Second

// verdict says whether a ratio meets the 0.50 target.
func verdict(ratio float64) string {
	if ratio >= 0.5 {
		return fmt.Sprintf("%.3f, meets it", ratio)
	}
	return fmt.Sprintf("%.3f, misses it", ratio)
}

// roundRatios are a handler's rate over the bare handler's, round by round.
func roundRatios(rs, bare []loadResult) []float64 {
	out := make([]float64, len(rs))
	for i := range rs {
		out[i] = rs[i].perSecond() / bare[i].perSecond()
	}
	return out
}

// pairedRatio is the median of roundRatios.
func pairedRatio(rs, bare []loadResult) float64 { return median(roundRatios(rs, bare)) }

// median is the middle of xs (the mean of the two middle ones when even).
func median(xs []float64) float64 {
	ys := slices.Sorted(slices.Values(xs))
	return (ys[len(ys)/2] + ys[(len(ys)-1)/2]) / 2
}

// medianRound is the round with the median rate.
func medianRound(rs []loadResult) loadResult {
	ys := slices.SortedFunc(slices.Values(rs), func(a, b loadResult) int { return cmp.Compare(a.perSecond(), b.perSecond()) })
	return ys[len(ys)/2]
}

// medianCPU is the median CPU time per webhook of the rounds.
func medianCPU(rs []loadResult) time.Duration {
	var ds []time.Duration
	for _, r := range rs {
		ds = append(ds, r.cpuPerRequest())
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// phaseSum is a histogram's count and sum.
type phaseSum struct {
	count uint64
	sum   float64
}

func (p phaseSum) sub(q phaseSum) phaseSum { return phaseSum{p.count - q.count, p.sum - q.sum} }
func (p phaseSum) mean() time.Duration {
	if p.count == 0 {
		return 0
	}
	return time.Duration(p.sum / float64(p.count) * float64(time.Second))
}

// phaseSums reads the phase histograms of the server's registry.
func phaseSums(t testing.TB, ts *testServer) map[string]phaseSum {
	mfs, err := ts.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]phaseSum{}
	for _, mf := range mfs {
		if mf.GetName() != "hoist_ingest_phase_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "phase" {
					out[l.GetValue()] = phaseSum{m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()}
				}
			}
		}
	}
	return out
}

// profileShare is a part of the process's share of a CPU profile.
type profileShare struct {
	key, name string
	pct       float64
}

// share is pct percent of d.
func share(d time.Duration, pct float64) time.Duration {
	return time.Duration(float64(d) * pct / 100).Round(100 * time.Nanosecond)
}

// profileParts are the parts of the bench process, as pprof focus
// expressions over the stack; indented names are inside the one above.
var profileParts = []struct{ key, name, focus string }{
	{"http", "HTTP server connections (`net/http` conn.serve, ingest's handler included)", `net/http\.\(\*conn\)\.serve`},
	{"hook", "&nbsp;&nbsp;ingest handler (`serveHook`)", `ingest\.\(\*Server\)\.serveHook`},
	{"parse", "&nbsp;&nbsp;&nbsp;&nbsp;parse and validate (`Events`)", `ingest\.Events`},
	{"publish", "&nbsp;&nbsp;&nbsp;&nbsp;publish: encode, send, wait for the ack", `ingest\.\(\*Server\)\.publish`},
	{"finish", "&nbsp;&nbsp;&nbsp;&nbsp;answer, log line, metrics (`finish`)", `ingest\.\(\*Server\)\.finish`},
	{"server", "NATS server (JetStream: receive, file store, ack)", `nats-server/v2/server`},
	{"client", "NATS client goroutines (read loop, flusher)", `nats-io/nats%2ego\.\(\*Conn\)\.(readLoop|flusher)`},
	{"load", "load client (`net/http` client and its connections)", `net/http\.\(\*persistConn\)|ingest\.load\.func`},
	{"gc", "garbage collector", `runtime\.gcBgMarkWorker`},
}

// profileGroups reports each part's share of a CPU profile (`go tool pprof -focus`).
func profileGroups(path string) ([]profileShare, error) {
	var out []profileShare
	for _, p := range profileParts {
		b, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=1000000", "-nodefraction=0", "-edgefraction=0", "-focus="+p.focus, path).Output()
		if err != nil {
			return nil, fmt.Errorf("go tool pprof: %w", err)
		}
		pct := 0.0
		for _, line := range strings.Split(string(b), "\n") {
			// "Showing nodes accounting for 0.20s, 2.64% of 7.58s total"
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "Showing nodes accounting for "); ok {
				if _, after, ok := strings.Cut(rest, ", "); ok {
					pctStr, _, _ := strings.Cut(after, "%")
					pct, _ = strconv.ParseFloat(pctStr, 64)
				}
			}
		}
		out = append(out, profileShare{p.key, p.name, pct})
	}
	return out, nil
}
