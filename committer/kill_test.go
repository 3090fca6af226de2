package committer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testgit"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Environment of the committer child process the crash test runs.
const (
	envChild     = "HOIST_COMMITTER_CHILD"
	envNATS      = "HOIST_COMMITTER_CHILD_NATS"
	envGit       = "HOIST_COMMITTER_CHILD_GIT"
	envData      = "HOIST_COMMITTER_CHILD_DATA"
	envFailpoint = "HOIST_COMMITTER_CHILD_FAILPOINT"
)

func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "1" {
		os.Exit(childMain())
	}
	os.Exit(m.Run())
}

// childMain runs a committer as its own process. At the failpoint named by
// the environment it prints "FAILPOINT <point>" and freezes, so the parent
// can SIGKILL it exactly there.
func childMain() int {
	log := zerolog.New(os.Stderr).With().Timestamp().Str("pid", fmt.Sprint(os.Getpid())).Logger()
	nc, err := nats.Connect(os.Getenv(envNATS))
	if err != nil {
		log.Error().Err(err).Msg("connect")
		return 1
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Error().Err(err).Msg("jetstream")
		return 1
	}
	fp := os.Getenv(envFailpoint)
	repo := Repo{Name: "gitops", URL: os.Getenv(envGit), Branch: "main"}
	prChildRepo(&repo)
	c, err := New(Config{
		Repos:   []Repo{repo},
		DataDir: os.Getenv(envData),
		Editor:  testEditor(),
		AckWait: time.Second,
		Failpoint: func(point string) {
			if point == fp {
				fmt.Printf("FAILPOINT %s\n", point)
				os.Stdout.Sync()
				select {} // frozen until killed
			}
		},
	}, js, nil, log)
	if err != nil {
		log.Error().Err(err).Msg("new")
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	fmt.Println("RUNNING")
	if err := c.Run(ctx); err != nil {
		log.Error().Err(err).Msg("run")
		return 1
	}
	return 0
}

// child is a running committer process.
type child struct {
	cmd   *exec.Cmd
	lines chan string
}

func startChild(t *testing.T, b *testBus, r *testgit.Repo, dataDir, failpoint string) *child {
	t.Helper()
	return startChildAt(t, b, r.URL, dataDir, failpoint)
}

// startChildAt runs a committer process on the repository at url; env adds
// to its environment.
func startChildAt(t *testing.T, b *testBus, url, dataDir, failpoint string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), envChild+"=1", envNATS+"="+b.url, envGit+"="+url, envData+"="+dataDir, envFailpoint+"="+failpoint), env...)
	logFile, err := os.Create(filepath.Join(t.TempDir(), "child.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logFile
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 100)}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		c.cmd.Wait()
		if t.Failed() {
			logFile.Seek(0, io.SeekStart)
			logs, _ := io.ReadAll(logFile)
			t.Logf("child %d log:\n%s", c.cmd.Process.Pid, logs)
		}
		logFile.Close()
	})
	return c
}

// waitLine waits for the child to print line.
func (c *child) waitLine(t *testing.T, line string) {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("child exited before printing %q", line)
			}
			if l == line {
				return
			}
		case <-deadline:
			t.Fatalf("child did not print %q", line)
		}
	}
}

// kill SIGKILLs the child and reaps it.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := c.cmd.Wait()
	if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL", err)
	}
}

// stop SIGTERMs the child and fails the test unless it exits cleanly.
func (c *child) stop(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("committer after SIGTERM: %v", err)
	}
}

// TestCommitterCrashBeforeAckCommitsEachChangeOnce kills a real committer
// process with SIGKILL after it wrote its commit but before the push, and
// after the push was accepted but before any message was acknowledged; a
// restarted committer gets the messages again and every change is in the
// branch exactly once, on a linear history.
func TestCommitterCrashBeforeAckCommitsEachChangeOnce(t *testing.T) {
	for _, point := range []string{"after-commit", "after-push"} {
		t.Run(point, func(t *testing.T) {
			const n = 5
			srv := testgit.NewServer(t)
			r := srv.NewRepo(t, "gitops")
			seed := seedApps(t, r, n)
			b := startBus(t)
			var rws []bus.Rewrite
			for i := range n {
				rws = append(rws, appRewrite("gitops", i, "1.0.0", "1.1.0", fmt.Sprintf("ev-%d", i)))
			}
			b.publish(t, rws...)
			dataDir := t.TempDir()

			first := startChild(t, b, r, dataDir, point)
			first.waitLine(t, "FAILPOINT "+point)
			first.kill(t)
			hoistCommits := len(testgit.Lines(testgit.Git(t, r.Dir, "log", "--format=%H", "--author=hoist", "main")))
			switch point {
			case "after-commit":
				if got := r.Head(t, "main"); got != seed {
					t.Fatalf("head %s after a crash before the push, want the seed", got)
				}
			case "after-push":
				if hoistCommits != 1 {
					t.Fatalf("%d hoist commits after a crash after the push, want 1", hoistCommits)
				}
			}

			second := startChild(t, b, r, dataDir, "")
			second.waitLine(t, "RUNNING")
			b.waitSettled(t, "gitops", "main", 2*time.Minute)
			second.stop(t)

			for i := range n {
				commits := testgit.Lines(testgit.Git(t, r.Dir, "log", "--format=%H", "--author=hoist", "main", "--", appFile(i)))
				if len(commits) != 1 {
					t.Errorf("%s changed by %d hoist commits, want exactly 1", appFile(i), len(commits))
				}
				if !strings.Contains(r.Show(t, "main", appFile(i)), ":1.1.0\n") {
					t.Errorf("%s does not read the new tag", appFile(i))
				}
			}
			if m := testgit.Git(t, r.Dir, "rev-list", "--min-parents=2", "main"); m != "" {
				t.Fatalf("merge commits: %s", m)
			}
			r.Fsck(t)
			r.ReflogFastForwardOnly(t, "main")
		})
	}
}
