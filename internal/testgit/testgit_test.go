package testgit

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// pushOneCommit clones branch of r, commits a file and pushes it with the
// git binary, returning the new head.
func pushOneCommit(t *testing.T, r *Repo, branch string) string {
	t.Helper()
	work := r.Clone(t, branch)
	if err := os.WriteFile(filepath.Join(work, "added.txt"), []byte("added\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	Git(t, work, "add", "added.txt")
	Git(t, work, "commit", "--quiet", "-m", "Add a file")
	Git(t, work, "push", "--quiet", "origin", branch)
	return strings.TrimSpace(Git(t, work, "rev-parse", "HEAD"))
}

func TestHTTPServerCloneAndPush(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"open", nil},
		{"basic-auth", []Option{WithBasicAuth("hoist", "s3cret")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewServer(t, tc.opts...)
			r := s.NewRepo(t, "gitops")
			seed := r.SeedFiles(t, "main", map[string]string{"apps/a.yaml": "a: 1\n"})
			head := pushOneCommit(t, r, "main")
			if got := r.Head(t, "main"); got != head {
				t.Fatalf("server head %s, pushed %s", got, head)
			}
			h := r.Log(t, "main")
			if len(h.Commits) != 2 || h.Commits[1] != seed || len(h.Merges) != 0 {
				t.Fatalf("history %+v, want seed then one commit", h)
			}
			if got := r.Tree(t, "main"); strings.Join(got, ",") != "added.txt,apps/a.yaml" {
				t.Fatalf("tree %v", got)
			}
			r.Fsck(t)
			r.ReflogFastForwardOnly(t, "main")
		})
	}
}

func TestHTTPServerRefusesMissingCredentials(t *testing.T) {
	s := NewServer(t, WithBasicAuth("hoist", "s3cret"))
	r := s.NewRepo(t, "gitops")
	r.SeedFiles(t, "main", map[string]string{"a.yaml": "a: 1\n"})
	_, err := Run("", "ls-remote", r.URL)
	if err == nil || !strings.Contains(err.Error(), "401") && !strings.Contains(err.Error(), "Authentication failed") && !strings.Contains(err.Error(), "could not read Username") {
		t.Fatalf("ls-remote without credentials: %v, want an authentication failure", err)
	}
	wrong := strings.Replace(r.CloneURL, "s3cret", "wrong", 1)
	if _, err := Run("", "ls-remote", wrong); err == nil {
		t.Fatal("ls-remote with a wrong password succeeded")
	}
}

func TestServerRefusesForcePush(t *testing.T) {
	s := NewServer(t)
	r := s.NewRepo(t, "gitops")
	r.SeedFiles(t, "main", map[string]string{"a.yaml": "a: 1\n"})
	work := r.Clone(t, "main")
	pushOneCommit(t, r, "main")
	Git(t, work, "commit", "--quiet", "--allow-empty", "-m", "diverge")
	if _, err := Run(work, "push", "--force", "origin", "main"); err == nil {
		t.Fatal("force push accepted; the test server must refuse non-fast-forward updates")
	}
}

func TestImportManyFiles(t *testing.T) {
	r := NewLocalRepo(t)
	head := r.Import(t, "main", func(add func(string, []byte)) {
		for i := range 300 {
			add("d"+string(rune('a'+i%3))+"/f"+strconv.Itoa(i)+".yaml", []byte("n: "+strconv.Itoa(i)+"\n"))
		}
	})
	if n := len(r.Tree(t, head)); n != 300 {
		t.Fatalf("imported %d files, want 300", n)
	}
	if got := r.Show(t, head, "da/f0.yaml"); got != "n: 0\n" {
		t.Fatalf("content %q", got)
	}
	r.Fsck(t)
}

func TestSSHServerCloneAndPush(t *testing.T) {
	s := NewServer(t)
	r := s.NewRepo(t, "gitops")
	r.SeedFiles(t, "main", map[string]string{"a.yaml": "a: 1\n"})
	sshd := NewSSHServer(t, s.Root)
	sshCmd := "ssh -F /dev/null -i " + sshd.ClientKeyFile + " -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=" + sshd.KnownHostsFile
	work := filepath.Join(t.TempDir(), "work")
	clone := Command("", "clone", "--quiet", sshd.URL("gitops"), work)
	clone.Env = append(clone.Env, "GIT_SSH_COMMAND="+sshCmd)
	if _, err := RunCmd(clone); err != nil {
		t.Fatal(err)
	}
	Git(t, work, "commit", "--quiet", "--allow-empty", "-m", "over ssh")
	push := Command(work, "push", "--quiet", "origin", "main")
	push.Env = append(push.Env, "GIT_SSH_COMMAND="+sshCmd)
	if _, err := RunCmd(push); err != nil {
		t.Fatal(err)
	}
	if got := r.Log(t, "main").Subjects[r.Head(t, "main")]; got != "over ssh" {
		t.Fatalf("head subject %q", got)
	}

	// A client that does not know the host key must refuse to connect.
	other := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(other, nil, 0o600)
	bad := Command("", "ls-remote", sshd.URL("gitops"))
	bad.Env = append(bad.Env, "GIT_SSH_COMMAND=ssh -F /dev/null -i "+sshd.ClientKeyFile+" -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="+other)
	if _, err := RunCmd(bad); err == nil {
		t.Fatal("ssh client connected to an unknown host")
	}
}
