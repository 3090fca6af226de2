package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// StopGrace is how long Stop waits for a process to exit after SIGTERM
// before it kills it: far above what a clean shutdown takes, so that only
// a process that hangs on its way out is killed.
const StopGrace = time.Minute

// Process is an external program a test runs, its output kept in a log
// file the test shows when it fails.
type Process struct {
	log    string
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // cmd.Wait's, once exited is closed
}

// StartProcess starts cmd with its output in the file logPath, waits
// until ready holds (polled until within has passed), and stops it at the
// test's end, showing the tail of its log when the test failed. name names
// the program in messages. The error says why it is not running — it did
// not start, it exited, or it did not answer within the bound (it is then
// killed) — with the tail of its log, for a caller that tries again on
// another port.
func StartProcess(t testing.TB, name string, cmd *exec.Cmd, logPath string, ready func() bool, within time.Duration) (*Process, error) {
	t.Helper()
	p, err := start(name, cmd, logPath)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(within)
	for !ready() {
		if time.Now().After(deadline) {
			p.Kill()
			return nil, fmt.Errorf("%s not answering after %v\n%s", name, within, p.Tail(60))
		}
		select { // poll the external process's readiness, with a deadline
		case <-p.exited:
			return nil, fmt.Errorf("%s exited: %v\n%s", name, p.err, p.Tail(60))
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s log (%s):\n%s", name, logPath, p.Tail(60))
		}
	})
	return p, nil
}

func start(name string, cmd *exec.Cmd, logPath string) (*Process, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{log: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); f.Close(); close(p.exited) }()
	return p, nil
}

// Exited is closed once the process has ended.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Pid is the process's id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Err is how the process ended (cmd.Wait's error); only meaningful once
// Exited is closed.
func (p *Process) Err() error { return p.err }

// Stop sends SIGTERM, waits up to StopGrace for the process to exit (then
// kills it) and returns its exit code: -1 when it had to be killed or
// ended on a signal. Stopping a process that has ended returns its code.
func (p *Process) Stop() int {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(StopGrace):
			p.Kill()
			return -1
		}
	}
	return p.ExitCode()
}

// Kill sends SIGKILL and waits until the process is gone.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill() // fails only when it has ended already
	<-p.exited
}

// ExitCode is the code the process exited with (-1 when a signal ended
// it); only meaningful once Exited is closed.
func (p *Process) ExitCode() int {
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee):
		return ee.ExitCode()
	default:
		return -1
	}
}

// Tail is the last n lines of the process's log.
func (p *Process) Tail(n int) string { return TailFile(p.log, n) }

// TailFile is the last n lines of the file at path (the error's text when
// it cannot be read).
func TailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// OnFreeAddr calls start with a 127.0.0.1 address whose port was free a
// moment ago, up to three times while start fails (another process can
// bind the port between the probe and the program's own bind), and fails
// the test naming what did not start and the last error. It returns the
// address start succeeded on.
func OnFreeAddr(t testing.TB, what string, start func(addr string) error) string {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		addr := FreeAddr(t)
		if lastErr = start(addr); lastErr == nil {
			return addr
		}
	}
	t.Fatalf("%s did not start: %v", what, lastErr)
	return ""
}

// Dials reports whether something accepts TCP connections on addr: the
// readiness of a server with no health endpoint.
func Dials(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
