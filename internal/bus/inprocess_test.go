package bus

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// Many writers at once, through a queue smaller than what they write and a
// reader that takes a few bytes at a time: every write arrives whole, each
// writer's in order, and nothing is lost or doubled.
func TestQueuedConnDeliversEveryWriteWholeAndInOrder(t *testing.T) {
	local, remote := net.Pipe()
	q := newQueuedConn(local, 64, closeFlushTimeout)
	const writers, writes = 8, 300
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range writes {
				if _, err := q.Write([]byte(testLine(w, i))); err != nil {
					t.Errorf("write: %v", err)
					return
				}
			}
		}()
	}
	got := make(chan map[int]int, 1)
	go func() {
		next := map[int]int{}
		sc := bufio.NewScanner(bufio.NewReaderSize(remote, 16))
		for sc.Scan() {
			var w int
			fmt.Sscanf(sc.Text(), "w%d", &w)
			if want := testLine(w, next[w]); sc.Text()+"\n" != want {
				t.Errorf("read %q, want %q", sc.Text(), want)
			}
			next[w]++
		}
		got <- next
	}()
	wg.Wait()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	next := <-got
	for w := range writers {
		if next[w] != writes {
			t.Errorf("writer %d: %d writes arrived, want %d", w, next[w], writes)
		}
	}
}

// Close hands over what is queued before it closes: nats.go flushes its
// buffer just before it closes the connection.
func TestQueuedConnCloseWritesWhatIsQueued(t *testing.T) {
	local, remote := net.Pipe()
	q := newQueuedConn(local, maxQueued, closeFlushTimeout)
	want := strings.Repeat("UNSUB 1\r\n", 1000)
	if _, err := q.Write([]byte(want)); err != nil {
		t.Fatal(err)
	}
	read := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(remote)
		read <- string(b)
	}()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if got := <-read; got != want {
		t.Errorf("the peer read %d bytes, want the %d queued before Close", len(got), len(want))
	}
	if _, err := q.Write([]byte("PING\r\n")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after Close: %v, want net.ErrClosed", err)
	}
	if err := q.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v, want net.ErrClosed", err)
	}
}

// A server that never reads does not keep Close waiting for ever.
func TestQueuedConnCloseGivesUpOnAPeerThatDoesNotRead(t *testing.T) {
	local, remote := net.Pipe()
	defer remote.Close()
	q := newQueuedConn(local, maxQueued, 0)
	if _, err := q.Write([]byte("PUB x 1\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	<-q.done
}

// Once a write to the pipe fails, every later Write returns that error, as
// a socket's writes do after the peer went away.
func TestQueuedConnWriteErrorSticks(t *testing.T) {
	local, remote := net.Pipe()
	q := newQueuedConn(local, maxQueued, closeFlushTimeout)
	remote.Close()
	if _, err := q.Write([]byte("PUB x 1\r\nx\r\n")); err != nil {
		t.Fatalf("first write is only queued, so it cannot fail: %v", err)
	}
	<-q.done // the writer stopped: its write to the pipe failed
	if _, err := q.Write([]byte("PING\r\n")); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("write after the peer closed: %v, want %v", err, io.ErrClosedPipe)
	}
	q.Close()
}

// testLine is writer w's write i: numbered, and of a length that varies.
func testLine(w, i int) string {
	return fmt.Sprintf("w%d %04d %s\n", w, i, strings.Repeat("x", i%50))
}
