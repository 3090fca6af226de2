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
