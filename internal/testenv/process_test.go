package testenv

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A process that exits before it is ready is an error carrying its exit
// and the tail of its log, not a wait until the bound.
func TestStartProcessExitedBeforeReady(t *testing.T) {
	cmd := exec.Command("sh", "-c", "echo cannot bind; exit 3")
	_, err := StartProcess(t, "quitter", cmd, filepath.Join(t.TempDir(), "q.log"), func() bool { return false }, WaitLimit)
	if err == nil || !strings.Contains(err.Error(), "quitter exited: exit status 3") || !strings.Contains(err.Error(), "cannot bind") {
		t.Fatalf("error %v, want the exit and the log's tail", err)
	}
}

// A process that never gets ready is killed at the bound and named in
// the error.
func TestStartProcessNotReadyIsKilled(t *testing.T) {
	cmd := exec.Command("sh", "-c", "echo waiting; exec sleep 600")
	_, err := StartProcess(t, "sleeper", cmd, filepath.Join(t.TempDir(), "s.log"), func() bool { return false }, 0)
	if err == nil || !strings.Contains(err.Error(), "sleeper not answering after 0s") {
		t.Fatalf("error %v, want not answering", err)
	}
	if cmd.ProcessState == nil {
		t.Fatal("the process was not waited for after the kill")
	}
}

// A ready process runs until Stop, which returns its exit code.
func TestStartProcessStopReturnsExitCode(t *testing.T) {
	cmd := exec.Command("sh", "-c", `trap 'exit 7' TERM; echo up; while :; do sleep 1 & wait; done`)
	log := filepath.Join(t.TempDir(), "p.log")
	p, err := StartProcess(t, "looper", cmd, log, func() bool { return strings.Contains(TailFile(log, 1), "up") }, WaitLimit)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
		t.Fatal("exited before Stop")
	default:
	}
	if code := p.Stop(); code != 7 {
		t.Fatalf("Stop returned %d, want the exit code 7 (%v)", code, p.Err())
	}
	if code := p.Stop(); code != 7 {
		t.Fatalf("a second Stop returned %d, want 7", code)
	}
}
