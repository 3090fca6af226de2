package ingest

import (
	"errors"
	"io"
	"sync"
)

// maxPooledBody is the largest body buffer kept for reuse; a rare large
// delivery is not worth holding on to.
const maxPooledBody = 64 << 10

// minBodyBuffer is the capacity of a new pooled buffer: registries' webhooks
// are a few KiB, so nearly every body is read into it without growing.
const minBodyBuffer = 4096

// bodyPool recycles request body buffers. A body is dead once its delivery
// is answered: auth only reads it, and parsers copy what they keep into
// strings (both JSON decoders copy string values).
// Kept: the pools pay on their own (left out of the set: 1.057 times the
// CPU per webhook without them, 27 of 30 rounds; 1.053 (27 of 30)). See fastPaths
// and BENCHMARKS.md, ingest.
var bodyPool = sync.Pool{New: func() any { return &body{b: make([]byte, 0, minBodyBuffer)} }}

// body is a pooled request body buffer.
type body struct {
	b        []byte
	mem      *budget // what reserved is taken from
	reserved int64   // bytes taken from mem to grow b; given back by putBody
}

// errBodyMemory is the error of a read whose buffer could not grow within
// the body memory budget.
var errBodyMemory = errors.New("too many large bodies being read at once")

// takeBody takes a body buffer from the pool; putBody gives it back.
func takeBody() *body {
	if !fastPaths.pools {
		return &body{b: make([]byte, 0, minBodyBuffer)}
	}
	return bodyPool.Get().(*body)
}

// putBody gives back the memory b reserved and returns b to the pool; its
// bytes must not be used afterwards.
func putBody(b *body) {
	if b.reserved > 0 {
		b.mem.give(b.reserved)
		b.reserved = 0
	}
	if fastPaths.pools && cap(b.b) <= maxPooledBody {
		b.b = b.b[:0]
		bodyPool.Put(b)
	}
}

// read fills b with r's bytes, length of them when known (the request's
// Content-Length, -1 when unknown), never more than limit+1 (r is limited
// to limit and needs room for one more byte to say so).
//
// The buffer grows only with bytes actually read, never from the length a
// client announces, and every growth is first taken from mem: an announced
// length costs nothing until its bytes arrive, and all deliveries together
// hold at most mem's size beyond minBodyBuffer each. A growth that mem
// cannot grant in time fails with errBodyMemory.
func (b *body) read(r io.Reader, length, limit int64, mem *budget) error {
	if extra := int64(cap(b.b)) - minBodyBuffer; extra > 0 && b.reserved == 0 {
		// A buffer grown by an earlier delivery: what it holds beyond a new
		// one's size counts as that delivery's did, or it is not used.
		if mem.takeNow(extra) {
			b.mem, b.reserved = mem, extra
		} else {
			b.b = make([]byte, 0, minBodyBuffer)
		}
	}
	if length >= 0 && length <= int64(cap(b.b)) {
		b.b = b.b[:length] // nearly every delivery: its pooled buffer fits
		_, err := io.ReadFull(r, b.b)
		return err
	}
	b.b = b.b[:0]
	for {
		if length >= 0 && int64(len(b.b)) >= length {
			return nil
		}
		if len(b.b) == cap(b.b) {
			if err := b.grow(length, limit, mem); err != nil {
				return err
			}
		}
		n, err := r.Read(b.b[len(b.b):cap(b.b)])
		b.b = b.b[:len(b.b)+n]
		if err == io.EOF {
			if length >= 0 && int64(len(b.b)) < length {
				return io.ErrUnexpectedEOF
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// grow doubles b's capacity, up to the announced length or limit+1,
// taking the new bytes from mem.
func (b *body) grow(length, limit int64, mem *budget) error {
	c := int64(cap(b.b))
	next := max(2*c, minBodyBuffer)
	if length >= 0 {
		next = min(next, length)
	}
	next = min(next, limit+1)
	if next <= c {
		next = c + 1 // a limit below the pooled buffer: room for the byte that exceeds it
	}
	if !mem.take(next - c) {
		return errBodyMemory
	}
	b.mem, b.reserved = mem, b.reserved+next-c
	nb := make([]byte, len(b.b), next)
	copy(nb, b.b)
	b.b = nb
	return nil
}
