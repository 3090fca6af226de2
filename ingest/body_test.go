package ingest

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestBodyRead(t *testing.T) {
	for _, n := range []int{0, 1, 4095, 4096, 4097, 70000} {
		want := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
		for _, known := range []bool{true, false} {
			length := int64(n)
			if !known {
				length = -1
			}
			b := takeBody()
			b.b = append(b.b, "left over from an earlier delivery"...)
			// OneByteReader: a chunked body arrives in pieces.
			if err := b.read(iotest.OneByteReader(bytes.NewReader(want)), length, 1<<20, newBudget(1<<20, 0)); err != nil {
				t.Fatalf("%d bytes (known length %v): %v", n, known, err)
			}
			if !bytes.Equal(b.b, want) {
				t.Errorf("%d bytes (known length %v): read %d bytes, not the body", n, known, len(b.b))
			}
			putBody(b)
		}
	}
}

func TestBodyReadErrors(t *testing.T) {
	b := takeBody()
	defer putBody(b)
	if err := b.read(bytes.NewReader([]byte("short")), 10, 1<<20, newBudget(1<<20, 0)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("body shorter than its Content-Length: %v, want unexpected EOF", err)
	}
	boom := errors.New("connection reset")
	if err := b.read(iotest.ErrReader(boom), -1, 1<<20, newBudget(1<<20, 0)); !errors.Is(err, boom) {
		t.Errorf("reader error: %v, want %v", err, boom)
	}
}

// A buffer grown past maxPooledBody is dropped, not kept for the next delivery.
func TestBodyPoolDropsLargeBuffers(t *testing.T) {
	b := &body{}
	if err := b.read(bytes.NewReader(make([]byte, maxPooledBody+1)), -1, 1<<20, newBudget(1<<20, 0)); err != nil {
		t.Fatal(err)
	}
	putBody(b)
	if b.b == nil || len(b.b) != maxPooledBody+1 {
		t.Errorf("a dropped buffer was reset: len %d", len(b.b))
	}
	small := &body{b: make([]byte, 10, 100)}
	putBody(small)
	if len(small.b) != 0 {
		t.Errorf("a pooled buffer keeps its %d bytes", len(small.b))
	}
}

// Every byte a body holds beyond minBodyBuffer is taken from the budget and
// given back when the body is: a buffer grown by an earlier delivery is
// counted again when reused, or not used; a growth the budget cannot grant
// fails the read.
func TestBodyMemoryBudget(t *testing.T) {
	mem := newBudget(16<<10, 0)
	b := &body{b: make([]byte, 0, minBodyBuffer)}
	if err := b.read(bytes.NewReader(make([]byte, 10000)), -1, 1<<20, mem); err != nil {
		t.Fatal(err)
	}
	if held := 16<<10 - mem.free; held != int64(cap(b.b))-minBodyBuffer || held == 0 {
		t.Errorf("budget holds %d for a buffer of %d", held, cap(b.b))
	}
	putBody(b)
	if mem.free != 16<<10 {
		t.Errorf("budget free %d after the body was given back, want all of it", mem.free)
	}
	// A pooled buffer of 64 KiB: more than the budget has, so not used.
	big := &body{b: make([]byte, 0, maxPooledBody)}
	if err := big.read(bytes.NewReader(make([]byte, 100)), 100, 1<<20, mem); err != nil {
		t.Fatal(err)
	}
	if cap(big.b) != minBodyBuffer || mem.free != 16<<10 {
		t.Errorf("reused 64 KiB buffer over the budget: cap %d, budget free %d", cap(big.b), mem.free)
	}
	// A body needing more than the budget fails, holding nothing after.
	huge := &body{b: make([]byte, 0, minBodyBuffer)}
	if err := huge.read(bytes.NewReader(make([]byte, 64<<10)), 64<<10, 1<<20, mem); !errors.Is(err, errBodyMemory) {
		t.Errorf("body over the budget: %v, want errBodyMemory", err)
	}
	putBody(huge)
	if mem.free != 16<<10 {
		t.Errorf("budget free %d after a failed read, want all of it", mem.free)
	}
}
