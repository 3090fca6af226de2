package notify

import (
	"strings"
	"testing"
)

func TestNotifyURLValidation(t *testing.T) {
	ok := []Target{
		{URL: "https://hooks.example/hoist", Secret: "s"},
		{URL: "http://127.0.0.1:9000/x"},
		{URL: "generic+https://hooks.example/text?template=json"},
		{URL: "generic://hooks.example/text"},
		{URL: "logger://"},
		{URL: "smtp://user:pass@mail.example:587/?from=hoist@example.com&to=ops@example.com"},
		{URL: "matrix://hoist:pa55@matrix.example/?rooms=!ops:matrix.example"},
		{URL: "slack://hook:T00000000-B00000000-XXXXXXXXXXXXXXXXXXXXXXXX@webhook", Events: []Kind{KindCommit, KindRejected}},
	}
	for _, tg := range ok {
		if err := tg.Validate(); err != nil {
			t.Errorf("%s: %v", tg.URL, err)
		}
	}
	bad := []struct {
		t    Target
		want string
	}{
		{Target{URL: ""}, "url is empty"},
		{Target{URL: "hooks.example/x"}, "no scheme"},
		{Target{URL: "https:///x"}, "no host"},
		{Target{URL: "slak://hook:T00000000-B00000000-XXXXXXXXXXXXXXXXXXXXXXXX@webhook"}, `unknown scheme "slak"`},
		{Target{URL: "slack://hook:T00000000-B00000000-XXXXXXXXXXXXXXXXXXXXXXXX@webhook", Secret: "s"}, "secret signs hoist's JSON webhook"},
		{Target{URL: "smtp://mail.example/?to=ops@example.com"}, "fromAddress missing"},
		{Target{URL: "https://hooks.example/x", Events: []Kind{"comit"}}, `unknown event "comit"`},
		{Target{URL: "discord://onlyatokenSECRET"}, "discord://"},
		{Target{URL: "generic+https:///x"}, "the generic+https:// url has no host"},
	}
	for _, c := range bad {
		err := c.t.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.t.URL, err, c.want)
			continue
		}
		for _, secret := range []string{"XXXXXXXXXXXXXXXXXXXXXXXX", "SECRET"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the error quotes a token: %v", c.t.URL, err)
			}
		}
	}
}

func TestNotifyCommitURLRules(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	cases := map[string]string{
		"https://github.com/acme/gitops.git":                "https://github.com/acme/gitops/commit/" + sha,
		"https://x-access-token:t0k@github.com/acme/gitops": "https://github.com/acme/gitops/commit/" + sha,
		"git@github.com:acme/gitops.git":                    "https://github.com/acme/gitops/commit/" + sha,
		"ssh://git@github.com:22/acme/gitops.git":           "https://github.com/acme/gitops/commit/" + sha,
		"https://gitlab.com/acme/platform/gitops.git":       "https://gitlab.com/acme/platform/gitops/-/commit/" + sha,
		"git@gitlab.com:acme/gitops.git":                    "https://gitlab.com/acme/gitops/-/commit/" + sha,
		"https://bitbucket.org/acme/gitops.git":             "https://bitbucket.org/acme/gitops/commits/" + sha,
		"https://git.example.org/acme/gitops.git":           "https://git.example.org/acme/gitops/commit/" + sha,
		"http://127.0.0.1:3000/acme/gitops":                 "http://127.0.0.1:3000/acme/gitops/commit/" + sha,
		"https://git.example.org/scm/acme/gitops.git":       "", // three segments: layout unknown
		"git@git.example.org:acme/gitops.git":               "", // ssh on an unknown host: web address unknown
		"https://github.com/acme":                           "",
		"file:///srv/git/gitops.git":                        "",
		"/srv/git/gitops.git":                               "",
		"http://127.0.0.1:8080/gitops.git":                  "",
	}
	for in, want := range cases {
		if got := CommitURL(in, sha); got != want {
			t.Errorf("CommitURL(%q) = %q, want %q", in, got, want)
		}
	}
	if CommitURL("https://github.com/acme/gitops", "") != "" {
		t.Error("a link without a commit")
	}
}

func TestNotifyTitlesAndTexts(t *testing.T) {
	// Each kind names what matters in its title and body.
	cases := []struct {
		ev          Event
		title, body string
	}{
		{Event{Kind: KindHold, Repo: "gitops", Branch: "main", Hold: &Hold{File: "apps/api.yaml", Resource: "apps:deployment/api", Container: "api",
			Image: "registry.example/team/api", Tag: "1.3.0", Reason: "minimum age 1h not reached"}},
			"hoist: holding registry.example/team/api:1.3.0 in gitops/main", "Why: minimum age 1h not reached\nUntil: a person lifts the hold"},
		{Event{Kind: KindFailure, Repo: "gitops", Branch: "main", Failure: &Failure{Stage: "commit", Reason: "push rejected", Changes: commitEvent().Commit.Changes}},
			"hoist: could not commit to gitops/main; will retry", "A batch of 2 changes for gitops main was handed back"},
		{Event{Kind: KindFailure, Failure: &Failure{Stage: "match", Registry: "registry.example", Image: "registry.example/team/api", Tag: "1.3.0", Reason: "503"}},
			"hoist: cannot ask the registry registry.example about registry.example/team/api:1.3.0", "Why: 503"},
		{Event{Kind: KindRejected, Rejected: &Rejected{Registry: "registry.example", Image: "registry.example/team/api", Tag: "6.6.6", Reason: "the tag is not in the registry", EventID: "ev-9"}},
			"hoist: rejected a push of registry.example/team/api:6.6.6", "Why: the tag is not in the registry"},
	}
	for _, c := range cases {
		if got := renderTitle(c.ev); got != c.title {
			t.Errorf("title %q, want %q", got, c.title)
		}
		if got := renderText(c.ev); !strings.Contains(got, c.body) {
			t.Errorf("%s text %q lacks %q", c.ev.Kind, got, c.body)
		}
	}
}
