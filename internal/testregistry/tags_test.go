package testregistry

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

// LinkTags gives a repository tags the registry lists, in the repository
// the manifest was pushed to and in another one.
func TestLinkTags(t *testing.T) {
	r := Start(t, Options{})
	r.PushImage(t, "base/app", "1.0.0")
	r.LinkTags(t, "base/app", "1.0.0", "base/app", []string{"1.0.1"})
	r.LinkTags(t, "base/app", "1.0.0", "team/other", []string{"2.0.0", "2.0.1"})
	for repo, want := range map[string][]string{"base/app": {"1.0.0", "1.0.1"}, "team/other": {"2.0.0", "2.0.1"}} {
		resp, err := http.Get("http://" + r.Host + "/v2/" + repo + "/tags/list")
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Tags []string }
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s %v", repo, resp.Status, err)
		}
		slices.Sort(body.Tags)
		if !slices.Equal(body.Tags, want) {
			t.Errorf("%s lists %v, want %v", repo, body.Tags, want)
		}
	}
}
