package ingest

import (
	"io"
	"sync"
)

// maxPooledBody is the largest body buffer kept for reuse; a rare large
// delivery is not worth holding on to.
const maxPooledBody = 64 << 10

// bodyPool recycles request body buffers. A body is dead once its delivery
// is answered: auth only reads it, and parsers copy what they keep into
// strings (both JSON decoders copy string values).
var bodyPool = sync.Pool{New: func() any { return &body{b: make([]byte, 0, 4096)} }}

// body is a pooled request body buffer.
type body struct{ b []byte }

// takeBody takes a body buffer from the pool; putBody gives it back.
func takeBody() *body { return bodyPool.Get().(*body) }

// putBody returns b to the pool; its bytes must not be used afterwards.
func putBody(b *body) {
	if cap(b.b) <= maxPooledBody {
		b.b = b.b[:0]
		bodyPool.Put(b)
	}
}

// read fills b with r's bytes, in the buffer it has when length (the
// request's Content-Length, -1 when unknown) fits.
func (b *body) read(r io.Reader, length int64) error {
	if length >= 0 {
		if int64(cap(b.b)) < length {
			b.b = make([]byte, length)
		}
		b.b = b.b[:length]
		_, err := io.ReadFull(r, b.b)
		return err
	}
	b.b = b.b[:0]
	for {
		if len(b.b) == cap(b.b) {
			b.b = append(b.b, 0)[:len(b.b)]
		}
		n, err := r.Read(b.b[len(b.b):cap(b.b)])
		b.b = b.b[:len(b.b)+n]
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
