package ingest

import (
	"errors"
	"io"
)

// minBodyBuffer is the capacity a body buffer starts with: registries'
// webhooks are a few KiB, so nearly every body is read into it without
// growing.
const minBodyBuffer = 4096

// body is a request body buffer.
type body struct {
	b        []byte
	mem      *budget // what reserved is taken from
	reserved int64   // bytes taken from mem to grow b; given back by release
}

// errBodyMemory is the error of a read whose buffer could not grow within
// the body memory budget.
var errBodyMemory = errors.New("too many large bodies being read at once")

// newBody is an empty body buffer of minBodyBuffer bytes.
func newBody() *body { return &body{b: make([]byte, 0, minBodyBuffer)} }

// release gives back the memory b reserved; its bytes must not be used
// afterwards.
func (b *body) release() {
	if b.reserved > 0 {
		b.mem.give(b.reserved)
		b.reserved = 0
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
	if length >= 0 && length <= int64(cap(b.b)) {
		b.b = b.b[:length] // nearly every delivery: its first buffer fits
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
		next = c + 1 // a limit below the first buffer: room for the byte that exceeds it
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
