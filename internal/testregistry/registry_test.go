package testregistry

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The registry runs, crane pushes what the helpers say, and notifications
// reach the endpoint with the configured header.
func TestRegistryPushesAndNotifies(t *testing.T) {
	type note struct {
		auth, contentType, action, tag, digest, mediaType string
	}
	notes := make(chan note, 100)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var env struct {
			Events []struct {
				Action string `json:"action"`
				Target struct {
					MediaType, Digest, Tag string
				} `json:"target"`
			} `json:"events"`
		}
		if err := json.Unmarshal(b, &env); err != nil {
			t.Errorf("notification is not JSON: %v", err)
		}
		for _, e := range env.Events {
			notes <- note{r.Header.Get("Authorization"), r.Header.Get("Content-Type"), e.Action, e.Target.Tag, e.Target.Digest, e.Target.MediaType}
		}
	}))
	defer sink.Close()
	reg := Start(t, Options{NotifyURL: sink.URL, NotifyHeaders: map[string]string{"Authorization": "Bearer t"}, IgnoreActions: []string{"pull"}})

	d := reg.PushImage(t, "team/app", "1.0.0")
	if got := reg.Digest(t, "team/app", "1.0.0"); got != d {
		t.Fatalf("digest of 1.0.0 = %s, PushImage said %s", got, d)
	}
	idx, children := reg.PushIndex(t, "team/app", "2.0.0", "linux/amd64", "linux/arm64")
	if got := reg.Digest(t, "team/app", "2.0.0"); got != idx || len(children) != 2 || children[0] == children[1] {
		t.Fatalf("index %s (registry says %s), children %v", idx, got, children)
	}

	want := map[string]string{"1.0.0": d, "2.0.0": idx}
	deadline := time.After(60 * time.Second)
	for len(want) > 0 {
		select {
		case n := <-notes:
			if n.auth != "Bearer t" || n.contentType != "application/vnd.docker.distribution.events.v2+json" {
				t.Fatalf("notification headers: %+v", n)
			}
			if n.action == "push" && want[n.tag] == n.digest {
				delete(want, n.tag)
			}
		case <-deadline:
			t.Fatalf("no push notification for %v", want)
		}
	}
}
