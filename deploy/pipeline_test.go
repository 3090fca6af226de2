package deploy

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gitRun runs git in dir, failing the test on an error.
func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// gitopsRepo is a bare repository whose branch main holds, under dir, a Deployment of
// registry.example.com/team/app:1.0.0 that hoist may update within semver ^1.
func gitopsRepo(t *testing.T, dir string) string {
	t.Helper()
	work, bare := t.TempDir(), filepath.Join(t.TempDir(), "gitops.git")
	gitRun(t, work, "init", "-q", "-b", "main")
	manifest := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  annotations:
    fluxcd.io/automated: "true"
    filter.fluxcd.io/app: semver:^1
spec:
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
        - name: app
          image: registry.example.com/team/app:1.0.0
`
	if err := os.MkdirAll(filepath.Join(work, dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, dir, "app.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	gitRun(t, work, "add", ".")
	gitRun(t, work, "commit", "-q", "-m", "app 1.0.0")
	gitRun(t, work, "clone", "-q", "--bare", work, bare)
	return bare
}

// startStage runs `hoist <stage>` as its rendered container would: exactly its env and
// mounted files, against the test's NATS server and git repository (the config's URLs
// and listen address point here; nothing else changes). PATH is added because a
// local-path remote needs git's programs (the image talks https and needs none).
// It returns the stage's HTTP address once /readyz answers 200.
func startStage(t *testing.T, bin string, s Set, stage string, ns *natsServer, repo string) string {
	t.Helper()
	spec, c := stageContainer(t, s, stage)
	p := layOut(t, s, spec, c, fakeSecrets)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := p.hoistConfig(t, func(cfg map[string]any) {
		nc := cfg["nats"].(map[string]any)
		nc["url"], nc["replicas"] = ns.url, 1
		cfg["listen"] = addr
		for _, r := range cfg["repositories"].([]any) {
			r.(map[string]any)["url"] = repo
		}
		// The test's webhook announces a tag of registry.example.com, which
		// exists nowhere: trust it rather than ask that registry, and list
		// none of its tags (tests reach only 127.0.0.1).
		cfg["images"] = []any{map[string]any{"match": "**", "verify": "none", "scan": false}}
	})
	args := append([]string{}, c.Args...)
	for i, a := range args {
		if a == "--config" && i+1 < len(args) {
			args[i+1] = cfg
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append([]string{}, p.env...), "PATH="+os.Getenv("PATH"))
	cmd.Dir = p.workDir(t)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("hoist %s log:\n%s", stage, logs.String())
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("hoist %s exited:\n%s", stage, logs.String())
		default:
		}
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("hoist %s not ready after 90s (last: %v)", stage, err)
		}
		time.Sleep(50 * time.Millisecond) // polling /readyz; not a synchronisation
	}
}

// TestStagesWorkAsTheirNATSUsers runs the three stages of the kustomize base, each
// with only its own Deployment's env and files, against the NATS server the base's
// HelmRelease configures (with its users and permissions): a webhook must end as a
// commit, so each user is allowed every subject its stage needs.
func TestStagesWorkAsTheirNATSUsers(t *testing.T) {
	bin := hoist(t)
	_, _, repo, before := runBaseStages(t, bin, "1.0.1", "a")
	deadline := time.Now().Add(90 * time.Second)
	for gitRun(t, repo, "rev-parse", "main") == before {
		if time.Now().After(deadline) {
			t.Fatal("no commit 90s after the webhook")
		}
		time.Sleep(100 * time.Millisecond) // polling the remote; not a synchronisation
	}
	if got := gitRun(t, repo, "show", "main:clusters/production/app.yaml"); !strings.Contains(got, "registry.example.com/team/app:1.0.1") {
		t.Fatalf("the commit does not move app to 1.0.1:\n%s", got)
	}
}

// runBaseStages runs the three stages of the kustomize base, each as its own
// NATS user with only its own env and files, against the NATS server the
// base configures and a GitOps repository, and posts one registry webhook
// for team/app:tag (digest of the hex digit fill) to ingest. It returns the
// base, the NATS server, the repository and its head before the webhook.
func runBaseStages(t *testing.T, bin, tag, fill string) (Set, *natsServer, string, string) {
	t.Helper()
	s := kustomizeBase(t)
	ns := startNATS(t, s)
	repo := gitopsRepo(t, "clusters/production")
	before := gitRun(t, repo, "rev-parse", "main")
	ingest := startStage(t, bin, s, "ingest", ns, repo)
	startStage(t, bin, s, "match", ns, repo)
	startStage(t, bin, s, "commit", ns, repo)

	body := `{"events":[{"id":"e1","timestamp":"2026-01-02T03:04:05Z","action":"push",
	  "target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + strings.Repeat(fill, 64) + `",
	  "repository":"team/app","tag":"` + tag + `"},"request":{"host":"registry.example.com"}}]}`
	req, err := http.NewRequest(http.MethodPost, "http://"+ingest+"/hooks/registry", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+fakeSecrets["hoist-receivers"]["registry"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("webhook: %s", resp.Status)
	}
	return s, ns, repo, before
}
