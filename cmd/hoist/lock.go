package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockFileName is the lock file hoist keeps in each data directory it writes.
const lockFileName = "hoist.lock"

// dirLock is an exclusive flock on <dir>/hoist.lock, held while hoist runs.
// The kernel releases it when the process ends however it ends, so a lock
// file left behind by a killed process does not block the next start.
type dirLock struct{ f *os.File }

// lockDir creates dir and takes its lock; when another process holds it,
// the error names that process's pid (written into the lock file).
func lockDir(dir string) (*dirLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		holder := "another process"
		if b, err := os.ReadFile(path); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				holder = fmt.Sprintf("another hoist process (pid %d)", pid)
			}
		}
		return nil, fmt.Errorf("%s is in use by %s (lock %s): two processes must not share a data directory", dir, holder, path)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0) // the pid only improves the message of the next process
	}
	return &dirLock{f: f}, nil
}

// unlock releases the lock; the file stays, harmlessly.
func (l *dirLock) unlock() { l.f.Close() }

// dirLocks are the data directory locks a process holds, one per folder
// (the same folder named twice must not block its own process).
type dirLocks map[string]*dirLock

// lock takes dir's lock unless the process holds it already.
func (ls dirLocks) lock(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = filepath.Clean(dir)
	}
	if ls[abs] != nil {
		return nil
	}
	l, err := lockDir(dir)
	if err != nil {
		return err
	}
	ls[abs] = l
	return nil
}

// release lets every lock go.
func (ls dirLocks) release() {
	for k, l := range ls {
		l.unlock()
		delete(ls, k)
	}
}
