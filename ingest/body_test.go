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
			b := newBody()
			// OneByteReader: a chunked body arrives in pieces.
			if err := b.read(iotest.OneByteReader(bytes.NewReader(want)), length, 1<<20, newBudget(1<<20, 0)); err != nil {
				t.Fatalf("%d bytes (known length %v): %v", n, known, err)
			}
			if !bytes.Equal(b.b, want) {
				t.Errorf("%d bytes (known length %v): read %d bytes, not the body", n, known, len(b.b))
			}
			b.release()
		}
	}
}

func TestBodyReadErrors(t *testing.T) {
	b := newBody()
	defer b.release()
	if err := b.read(bytes.NewReader([]byte("short")), 10, 1<<20, newBudget(1<<20, 0)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("body shorter than its Content-Length: %v, want unexpected EOF", err)
	}
	boom := errors.New("connection reset")
	if err := b.read(iotest.ErrReader(boom), -1, 1<<20, newBudget(1<<20, 0)); !errors.Is(err, boom) {
		t.Errorf("reader error: %v, want %v", err, boom)
	}
}

// Every byte a body holds beyond minBodyBuffer is taken from the budget and
// given back when the body is released; a growth the budget cannot grant
// fails the read.
func TestBodyMemoryBudget(t *testing.T) {
	mem := newBudget(16<<10, 0)
	b := newBody()
	if err := b.read(bytes.NewReader(make([]byte, 10000)), -1, 1<<20, mem); err != nil {
		t.Fatal(err)
	}
	if held := 16<<10 - mem.free; held != int64(cap(b.b))-minBodyBuffer || held == 0 {
		t.Errorf("budget holds %d for a buffer of %d", held, cap(b.b))
	}
	b.release()
	if mem.free != 16<<10 {
		t.Errorf("budget free %d after the body was released, want all of it", mem.free)
	}
	// A body needing more than the budget fails, holding nothing after.
	huge := newBody()
	if err := huge.read(bytes.NewReader(make([]byte, 64<<10)), 64<<10, 1<<20, mem); !errors.Is(err, errBodyMemory) {
		t.Errorf("body over the budget: %v, want errBodyMemory", err)
	}
	huge.release()
	if mem.free != 16<<10 {
		t.Errorf("budget free %d after a failed read, want all of it", mem.free)
	}
}
