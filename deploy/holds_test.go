package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestHoldCommandWorksAsTheMatchUser: after a commit made by the stages of
// the kustomize base, each as its own NATS user, `hoist hold list --all`
// run with the match stage's configuration (as an operator would, in its
// pod) lists the site the committer recorded: the commit user may write
// the hoist_holds bucket and the match user may list it.
func TestHoldCommandWorksAsTheMatchUser(t *testing.T) {
	bin := hoist(t)
	s, ns, repo, before := runBaseStages(t, bin, "1.0.2", "b")

	// The match stage's own configuration and environment, as in its pod.
	spec, c := stageContainer(t, s, "match")
	p := layOut(t, s, spec, c, fakeSecrets)
	cfg := p.hoistConfig(t, func(cfg map[string]any) {
		nc := cfg["nats"].(map[string]any)
		nc["url"], nc["replicas"] = ns.url, 1
		for _, r := range cfg["repositories"].([]any) {
			r.(map[string]any)["url"] = repo
		}
	})
	list := func() (string, string, error) {
		cmd := exec.Command(bin, "hold", "list", "--all", "--output", "json", "--config", cfg)
		cmd.Env = append(append([]string{}, p.env...), "PATH="+os.Getenv("PATH"))
		cmd.Dir = p.workDir(t)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, errOut, err := list()
		if err != nil {
			t.Fatalf("hoist hold list as the match user: %v\n%s", err, errOut)
		}
		var recs []struct {
			File    string `json:"file"`
			Written string `json:"written"`
		}
		if err := json.Unmarshal([]byte(out), &recs); err != nil {
			t.Fatalf("hoist hold list: %v\n%s", err, out)
		}
		if len(recs) == 1 && recs[0].Written == "1.0.2" && gitRun(t, repo, "rev-parse", "main") != before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the committed site is not listed 90s after the webhook: %s", out)
		}
		time.Sleep(100 * time.Millisecond) // polling the bucket; not a synchronisation
	}
}
