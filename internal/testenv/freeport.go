package testenv

import (
	"net"
	"strconv"
	"sync"
	"testing"
)

// FreePort is a 127.0.0.1 port nothing listened on a moment ago (bound,
// then released). Only for what must be given a port or an address in
// advance: a separate process, or a NATS server a test restarts on the same
// port. An in-process HTTP server is handed a listener bound to
// 127.0.0.1:0 instead, which no other test can take in between.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// FreeAddr is FreePort as host:port.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
}

// SilentAddr is a 127.0.0.1 address that accepts connections and never
// answers on them, until the test ends: a server that hangs, for tests of
// timeouts.
func SilentAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}
