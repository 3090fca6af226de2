package ingest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowClients is how many connections the memory tests open at once: the
// count that OOM-killed ingest under a 256 MiB limit, each announcing a
// 1 MiB body.
const slowClients = 300

// maxHeapGrowth is the memory bound the slow clients must stay under: far
// below slowClients × 1 MiB, the memory they could pin if a body's buffer
// were sized from its announced length.
const maxHeapGrowth = 64 << 20

// heapPeak samples the heap in use until stop is called, which returns the
// largest growth over the heap in use when it started.
func heapPeak() (stop func() uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		if peak < base {
			return 0
		}
		return peak - base
	}
}

// slowRequest opens a connection to addr and sends a POST's head announcing
// length body bytes, then sent bytes of the body, and stalls: it never sends
// the rest. It returns the answer, read while the connection stays open.
func slowRequest(addr, path string, header http.Header, length int, sent []byte) (*http.Response, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var head bytes.Buffer
	fmt.Fprintf(&head, "POST %s HTTP/1.1\r\nHost: hoist\r\nContent-Length: %d\r\n", path, length)
	_ = header.Write(&head)
	head.WriteString("\r\n")
	if _, err := conn.Write(head.Bytes()); err != nil {
		return nil, err
	}
	// The body is written alongside the read: an answer may come before
	// the server reads it (or instead of reading it).
	go func() { _, _ = conn.Write(sent) }()
	// Only a bound on a hung test: a server that waits for the unsent rest
	// of the body never answers.
	_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

// slowRequests runs n slowRequests at once and returns their answers' statuses.
func slowRequests(t *testing.T, n int, addr string, req func(i int) (path string, h http.Header), length int, sent []byte) []int {
	t.Helper()
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			path, h := req(i)
			resp, err := slowRequest(addr, path, h, length, sent)
			if err != nil {
				t.Errorf("client %d (%s): %v", i, path, err)
				return
			}
			statuses[i] = resp.StatusCode
			if !resp.Close {
				t.Errorf("client %d (%s): answer %d keeps the connection with its body unread", i, path, resp.StatusCode)
			}
		})
	}
	wg.Wait()
	return statuses
}

// Clients with wrong credentials in a header or the URL, each announcing a
// 1 MiB body and sending only its first KiB, are answered 401 without their
// bodies being read (they never send the rest), and the heap stays far
// below what their announced bodies would take.
func TestUnauthenticatedMemoryExhaustion(t *testing.T) {
	cfg := Config{Receivers: []Receiver{
		{Name: "distribution", Kind: KindDistribution, Secret: testSecret},
		{Name: "harbor", Kind: KindHarbor, Secret: testSecret},
		{Name: "jfrog", Kind: KindJFrog, Secret: testSecret},
		{Name: "dockerhub", Kind: KindDockerHub, Secret: testSecret},
		{Name: "gcr", Kind: KindGCR, Secret: testSecret},
		{Name: "github", Kind: KindGitHub, Secret: testSecret},
	}}
	ts := newTestServer(t, cfg)
	addr := strings.TrimPrefix(ts.http.URL, "http://")
	reqs := []func() (string, http.Header){
		func() (string, http.Header) {
			return "/hooks/distribution", hdr("Content-Type", "application/json", "Authorization", "Bearer wrong")
		},
		func() (string, http.Header) {
			return "/hooks/harbor", hdr("Content-Type", "application/json", "Authorization", "wrong")
		},
		func() (string, http.Header) {
			return "/hooks/jfrog", hdr("Content-Type", "application/json", "X-JFrog-Event-Auth", "wrong")
		},
		func() (string, http.Header) { return "/hooks/dockerhub/wrong", hdr("Content-Type", "application/json") },
		func() (string, http.Header) { return "/hooks/gcr", hdr("Content-Type", "application/json") },
		// A signature kind with no signature: nothing to check the body against.
		func() (string, http.Header) {
			return "/hooks/github", hdr("Content-Type", "application/json", "X-Hub-Signature-256", "sha256=not-hex")
		},
	}
	stop := heapPeak()
	statuses := slowRequests(t, slowClients, addr, func(i int) (string, http.Header) { return reqs[i%len(reqs)]() },
		DefaultBodyLimit, bytes.Repeat([]byte(" "), 1024))
	growth := stop()
	for i, st := range statuses {
		if st != http.StatusUnauthorized {
			t.Errorf("client %d: status %d, want 401", i, st)
		}
	}
	if growth > maxHeapGrowth {
		t.Errorf("heap grew by %d MiB for %d unauthenticated clients, want under %d MiB", growth>>20, slowClients, maxHeapGrowth>>20)
	}
	t.Logf("heap growth %.1f MiB", float64(growth)/(1<<20))
}

// Clients with a well-formed but wrong signature must have their bodies
// read to be refused; each announces 1 MiB and sends half of it, then
// stalls. The bodies being read together hold no more than the body memory
// bound: those that cannot grow their buffer in time are answered 503, the
// others 408 when the read timeout cuts their stalled body off.
func TestUnauthenticatedMemoryExhaustionSignedKinds(t *testing.T) {
	cfg := Config{ReadTimeout: 3 * time.Second, BodyMemory: 8 << 20, Receivers: []Receiver{
		{Name: "github", Kind: KindGitHub, Secret: testSecret},
		{Name: "nexus", Kind: KindNexus, Secret: testSecret, Host: "nexus.example.com"},
	}}
	ts := newTestServer(t, cfg)
	addr := strings.TrimPrefix(ts.http.URL, "http://")
	stop := heapPeak()
	statuses := slowRequests(t, slowClients, addr, func(i int) (string, http.Header) {
		if i%2 == 0 {
			return "/hooks/github", hdr("Content-Type", "application/json", "X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64))
		}
		return "/hooks/nexus", hdr("Content-Type", "application/json", "X-Nexus-Webhook-Signature", strings.Repeat("0", 40))
	}, DefaultBodyLimit, bytes.Repeat([]byte(" "), DefaultBodyLimit/2))
	growth := stop()
	count := map[int]int{}
	for _, st := range statuses {
		count[st]++
	}
	if count[http.StatusServiceUnavailable]+count[http.StatusRequestTimeout] != slowClients || count[http.StatusServiceUnavailable] == 0 {
		t.Errorf("statuses %v, want only 503 (no body memory) and 408 (stalled body), some 503", count)
	}
	if growth > maxHeapGrowth {
		t.Errorf("heap grew by %d MiB for %d clients with wrong signatures, want under %d MiB", growth>>20, slowClients, maxHeapGrowth>>20)
	}
	if got := counterValue(t, ts.reg, "hoist_ingest_deliveries_total", "github", string(outcomeOverloaded)); got == 0 {
		t.Error("no overloaded delivery counted")
	}
	t.Logf("heap growth %.1f MiB, statuses %v", float64(growth)/(1<<20), count)
}

// A body that stops arriving is cut off by the read timeout: the answer is
// 408 and the connection is closed.
func TestStalledBodyClosedByReadTimeout(t *testing.T) {
	cfg := Config{ReadTimeout: 100 * time.Millisecond, Receivers: []Receiver{
		{Name: "ci", Kind: KindGeneric, Secret: testSecret},
	}}
	ts := newTestServer(t, cfg)
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.http.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Authenticated, so the body is read; 20 of its 100 bytes ever come.
	head := "POST /hooks/ci HTTP/1.1\r\nHost: hoist\r\nContent-Type: application/json\r\nAuthorization: Bearer " + testSecret +
		"\r\nContent-Length: 100\r\n\r\n" + `{"image":"127.0.0.1:`
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second)) // a bound on a hung test only
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
		t.Errorf("stalled body: %d (close %v), want 408 and the connection closed", resp.StatusCode, resp.Close)
	}
	if n, err := br.ReadByte(); err == nil {
		t.Errorf("connection still open after the answer: read %q", n)
	}
	if got := counterValue(t, ts.reg, "hoist_ingest_deliveries_total", "ci", string(outcomeTimeout)); got != 1 {
		t.Errorf("timeout deliveries = %v, want 1", got)
	}
}
