package ingest

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// wantEvent is a normalised event as the fixtures' README states it; at is
// RFC 3339 or "" for "no time in the payload".
type wantEvent struct {
	host, repo, tag, digest, at string
}

// fixtureCase is one fixture body and what Events must make of it.
type fixtureCase struct {
	file    string
	kind    Kind
	header  map[string]string // request headers beyond Content-Type
	host    string            // the receiver's configured host
	want    []wantEvent       // parsed events (untagged ones included)
	wantErr string            // substring of the error; "" = no error
	note    string
}

const (
	dig0864  = "sha256:0864a15508ae6618993f5a8aba0d17b860671c8184071eb5cf79b2d23f2fcd11"
	dig91d7  = "sha256:91d7f27223692a353656441b587b0301d4b4b0a30b08f57471d53ffb896c50c3"
	dig43a0  = "sha256:43a09f793bdb5e213d6c70407dc2d62dfd1ca070c356e4550df28c1736560157"
	dig954b  = "sha256:954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4"
	digHoist = "sha256:e7b235014cd5e20ca6992680b738dcc573c461c23102383de2fe4c7c2ba9587b"
)

// fixtureCases covers every file of testdata/webhooks (the shared fixtures,
// expectations from their README) and testdata/synthetic.
var fixtureCases = []fixtureCase{
	// Docker Hub
	{file: "webhooks/dockerhub-push-multiarch-kobold.json", kind: KindDockerHub,
		want: []wantEvent{{"docker.io", "bluebrown/busybox", "latest", "", "2022-12-17T20:06:02Z"}}},
	{file: "webhooks/dockerhub-push-docs-kobold.json", kind: KindDockerHub,
		want: []wantEvent{{"docker.io", "svendowideit/testhook", "stable", "", "2014-12-03T00:22:41Z"}}},
	{file: "webhooks/dockerhub-push-legacy-images-fluxrecv.json", kind: KindDockerHub, note: "float pushed_at",
		want: []wantEvent{{"docker.io", "svendowideit/testhook", "latest", "", "2014-12-03T00:22:41Z"}}},
	// Harbor
	{file: "webhooks/harbor-v2-push-artifact-kobold.json", kind: KindHarbor,
		want: []wantEvent{{"harbor.mydomain.lan", "mynamespace/myapp", "master-491-6bac849", "sha256:fd49e9a1a36d28c54520d89bb23f07365802c5c75108c7eaca4400ed60bb19a5", "2024-04-14T11:44:46Z"}}},
	{file: "webhooks/harbor-v2-push-artifact-fluxrecv.json", kind: KindHarbor,
		want: []wantEvent{{"hub.harbor.com", "test-webhook/debian", "latest", "sha256:8a9e9863dbb6e10edb5adfe917c00da84e1700fa76e7ed02476aa6e6fb8ee0d8", "2020-04-15T03:45:08Z"}}},
	{file: "webhooks/harbor-v1-pushimage-fluxrecv.json", kind: KindHarbor,
		want: []wantEvent{{"demo.goharbor.io", "test123/alpine", "3.10", "sha256:e4355b66995c96b4b468159fc5c7e3540fcef961189ca13fee877798649f531a", "2020-04-02T16:50:34Z"}}},
	{file: "webhooks/harbor-v2-push-artifact-by-digest-docs.json", kind: KindHarbor, note: "tag equals the digest: untagged",
		want: []wantEvent{{"localhost", "harbor/alpine", "", dig954b, "2023-04-03T06:04:53Z"}}},
	{file: "webhooks/harbor-v2-cloudevents-push-by-digest-docs.json", kind: KindHarbor, note: "// comments stripped",
		header: map[string]string{"Content-Type": "application/cloudevents+json"},
		want:   []wantEvent{{"localhost", "harbor/alpine", "", dig954b, "2023-04-03T06:04:46Z"}}},
	{file: "webhooks/harbor-v2-cloudevents-pull-sourcecomment.json", kind: KindHarbor,
		header: map[string]string{"Content-Type": "application/cloudevents+json"}},
	{file: "webhooks/harbor-v2-delete-artifact-docs.json", kind: KindHarbor},
	{file: "webhooks/harbor-v2-scanning-completed-docs.json", kind: KindHarbor},
	// Quay
	{file: "webhooks/quay-repo-push-fluxrecv.json", kind: KindQuay,
		want: []wantEvent{{"quay.io", "hiddeco/foo", "3.10", "", ""}}},
	// GitHub
	{file: "webhooks/ghcr-package-published-multiarch-homelab.json", kind: KindGitHub,
		header: map[string]string{"X-GitHub-Event": "package"},
		want:   []wantEvent{{"ghcr.io", "theryangeary/www", "0e2a89b", "sha256:89160c587d0c36bf54090497a465445c14980ba48efbcf3b0d03c49b76f3feb8", "2025-11-03T13:50:26Z"}}},
	{file: "webhooks/ghcr-package-published-untagged-octokit.json", kind: KindGitHub, note: "lenient: ecosystem docker; untagged; 40-hex digest unknown",
		header: map[string]string{"X-GitHub-Event": "package"},
		want:   []wantEvent{{"ghcr.io", "codertocat/hello-world", "", "", "2019-05-09T23:28:29Z"}}},
	{file: "webhooks/ghcr-registry-package-published-untagged-octokit.json", kind: KindGitHub,
		header: map[string]string{"X-GitHub-Event": "registry_package"},
		want:   []wantEvent{{"ghcr.io", "codertocat/hello-world", "", "", "2019-05-09T23:28:29Z"}}},
	// CNCF distribution
	{file: "webhooks/distribution-gitlab-push-tag-keel.json", kind: KindDistribution,
		want: []wantEvent{{"registry.git.erxes.io", "foo/bar", "1.6.1", "sha256:4afff550708506c5b8b7384ad10d401a02b29ed587cb2730cb02753095b5178d", "2018-10-11T13:53:21.859222576Z"}}},
	{file: "webhooks/distribution-push-envelope-docs.json", kind: KindDistribution, note: "layer pushes ignored",
		want: []wantEvent{{"registrycluster.local", "library/test", "", "sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf", "2006-01-02T15:04:05Z"}}},
	{file: "webhooks/distribution-push-envelope-v3-eventtest.json", kind: KindDistribution, note: "invalid digest unknown",
		want: []wantEvent{{"registrycluster.local", "library/test", "", "", "2006-01-02T15:04:05Z"}}},
	{file: "webhooks/distribution-pull-docs.json", kind: KindDistribution},
	{file: "webhooks/distribution-captured-delete-digest-untag.json", kind: KindDistribution},
	{file: "webhooks/distribution-captured-delete-digest.json", kind: KindDistribution},
	{file: "webhooks/distribution-captured-delete-tag.json", kind: KindDistribution},
	{file: "webhooks/distribution-captured-firehose-blob-mount.json", kind: KindDistribution},
	{file: "webhooks/distribution-captured-firehose-blob-push.json", kind: KindDistribution},
	{file: "webhooks/distribution-captured-firehose-manifest-pull.json", kind: KindDistribution},
	{file: "webhooks/distribution-captured-multiarch-child-amd64-untagged.json", kind: KindDistribution,
		note: "README: ignore. Parsed as an untagged push, which is never stored",
		want: []wantEvent{{"127.0.0.1:5000", "team/app", "", "sha256:2a2a52d081de21253ea76c54a78a3c06e4e17c4ee95371c29940036c96bc2789", "2026-11-23T19:37:41.061136222Z"}}},
	{file: "webhooks/distribution-captured-multiarch-child-arm64-untagged.json", kind: KindDistribution,
		note: "README: ignore. Parsed as an untagged push, which is never stored",
		want: []wantEvent{{"127.0.0.1:5000", "team/app", "", "sha256:8d71d217c4016e356c23589e9e0971c4ab238a727b5ffa08b4cd7f14211933b8", "2026-11-23T19:37:41.0579406Z"}}},
	{file: "webhooks/distribution-captured-multiarch-index-push.json", kind: KindDistribution,
		want: []wantEvent{{"127.0.0.1:5000", "team/app", "2.0.0", dig43a0, "2026-11-23T19:37:41.068158241Z"}}},
	{file: "webhooks/distribution-captured-repush-same-tag-same-digest.json", kind: KindDistribution,
		want: []wantEvent{{"127.0.0.1:5000", "team/app", "1.2.3", dig0864, "2026-11-23T19:38:14.832761213Z"}}},
	{file: "webhooks/distribution-captured-retry-after-500-final-delivery.json", kind: KindDistribution,
		want: []wantEvent{{"127.0.0.1:5000", "team/app", "stable", dig0864, "*"}}},
	{file: "webhooks/distribution-captured-second-tag-same-digest.json", kind: KindDistribution,
		want: []wantEvent{{"127.0.0.1:5000", "team/app", "latest", dig0864, "*"}}},
	{file: "webhooks/distribution-captured-tag-push-authenticated-actor.json", kind: KindDistribution,
		want: []wantEvent{{"127.0.0.1:5002", "team/app", "1.2.3", dig0864, "2026-11-23T19:45:14.660532574Z"}}},
	{file: "webhooks/distribution-captured-tag-push-oci.json", kind: KindDistribution,
		want: []wantEvent{{"127.0.0.1:5000", "team/app", "1.3.0", dig91d7, "2026-11-23T19:37:34.368325327Z"}}},
	{file: "webhooks/distribution-captured-tag-push.json", kind: KindDistribution,
		want: []wantEvent{{"127.0.0.1:5000", "team/app", "1.2.3", dig0864, "2026-11-23T19:37:20.243096083Z"}}},
	{file: "webhooks/distribution-captured-request-headers.json", kind: KindDistribution,
		note: "not a body: the recorded headers (server tests use them); read as a body it is no envelope", wantErr: "no \"events\""},
	// ACR
	{file: "webhooks/acr-push-argocd-test.json", kind: KindACR,
		want: []wantEvent{{"mojrodevops.azurecr.io", "hello-world", "test-v1", "sha256:c766679d161d4ffe3dc4503b4c9f90b978f0d363fcedb02d1ae0cd271e645c0a", "2026-06-01T12:22:07.0958813Z"}}},
	{file: "webhooks/acr-push-docs.json", kind: KindACR,
		want: []wantEvent{{"myregistry.azurecr.io", "hello-world", "v1", "sha256:80f0d5c8786bb9e621a45ece0db56d11cdc624ad20da9fe62e9d25490f331d7d", "2017-11-17T16:52:01.343145347Z"}}},
	{file: "webhooks/acr-delete-docs.json", kind: KindACR},
	{file: "webhooks/acr-chart-push-docs.json", kind: KindACR},
	// GCR / Artifact Registry
	{file: "webhooks/gcr-pubsub-push-envelope-fluxrecv.json", kind: KindGCR, note: "stray trailing }",
		want: []wantEvent{{"us.gcr.io", "am/am.kebab.api", "test", "", "2020-01-30T04:18:04.805Z"}}},
	{file: "webhooks/gcr-pubsub-message-data-fluxrecv.json", kind: KindGCR, note: "bare message data",
		want: []wantEvent{{"us.gcr.io", "am/am.kebab.api", "test", "", ""}}},
	{file: "webhooks/gar-pubsub-message-insert-tagged-docs.json", kind: KindGCR, note: "placeholder digest unknown",
		want: []wantEvent{{"us-west1-docker.pkg.dev", "my-project/my-repo/hello-world", "1.1", "", ""}}},
	{file: "webhooks/gar-pubsub-message-delete-docs.json", kind: KindGCR},
	// ECR
	{file: "webhooks/ecr-eventbridge-push-untagged-nudgebee.json", kind: KindECR,
		want: []wantEvent{{"123456789012.dkr.ecr.us-east-1.amazonaws.com", "nudgebee_runbook_sidecar_agent", "", "sha256:778645862e8bba7ad64eabc8f6b51158e47124c12864ed42d7baf744b6329542", "2025-06-11T06:43:44Z"}}},
	{file: "webhooks/ecr-eventbridge-push-docs.json", kind: KindECR, note: "60-hex digest unknown",
		want: []wantEvent{{"123456789012.dkr.ecr.us-west-2.amazonaws.com", "my-repository-name", "latest", "", "2019-11-16T01:54:34Z"}}},
	{file: "webhooks/ecr-eventbridge-delete-docs.json", kind: KindECR},
	{file: "webhooks/ecr-eventbridge-scan-docs.json", kind: KindECR},
	// JFrog
	{file: "webhooks/jfrog-docker-pushed-multiarch-keel.json", kind: KindJFrog,
		want: []wantEvent{{"example.jfrog.io", "docker-remote-cache/library/ubuntu", "latest", "sha256:35c4a2c15539c6c1e4e5fa4e554dac323ad0107d8eb5c582d6ff386b383b7dce", ""}}},
	// Nexus
	{file: "webhooks/nexus-component-created-docker-fluxrecv.json", kind: KindNexus, host: "container.example.com",
		want: []wantEvent{{"container.example.com", "app1/alpine", "3.4", "", "2020-04-05T21:49:44.219Z"}}},
	// CDEvents
	{file: "webhooks/cdevents-artifact-published-v0.4.1-conformance.json", kind: KindCloudEvents, note: "pkg:golang, not an image"},
	// Synthetic
	{file: "synthetic/gitea-package-created-container.json", kind: KindGitea,
		header: map[string]string{"X-Gitea-Event": "package"},
		want:   []wantEvent{{"gitea.example.com", "team/app", "1.4.0", "", "2024-05-02T08:11:12Z"}}},
	{file: "synthetic/gitea-package-created-untagged.json", kind: KindGitea, host: "registry.example.com",
		header: map[string]string{"X-Forgejo-Event": "package"},
		want:   []wantEvent{{"registry.example.com", "team/app", "", "", "2024-05-02T08:11:12Z"}}},
	{file: "synthetic/gitea-package-deleted-container.json", kind: KindGitea, header: map[string]string{"X-Gitea-Event": "package"}},
	{file: "synthetic/gitea-package-created-npm.json", kind: KindGitea, header: map[string]string{"X-Gitea-Event": "package"}},
	{file: "synthetic/generic-image-tag-digest.json", kind: KindGeneric,
		want: []wantEvent{{"registry.example.com", "team/app", "1.4.0", digHoist, "2026-01-02T03:04:05Z"}}},
	{file: "synthetic/generic-image-no-host.json", kind: KindGeneric, host: "registry.example.com",
		want: []wantEvent{{"registry.example.com", "team/app", "1.4.0", digHoist, ""}}},
	{file: "synthetic/generic-untagged.json", kind: KindGeneric,
		want: []wantEvent{{"registry.example.com", "team/app", "", digHoist, ""}}},
	{file: "synthetic/generic-tag-injection.json", kind: KindGeneric, wantErr: "invalid tag"},
	{file: "synthetic/dockerhub-tag-injection.json", kind: KindDockerHub, wantErr: "invalid tag"},
	{file: "synthetic/distribution-tag-injection.json", kind: KindDistribution, wantErr: "invalid tag"},
	{file: "synthetic/harbor-repo-injection.json", kind: KindHarbor, wantErr: "invalid repository path"},
	{file: "synthetic/cloudevents-structured-oci.json", kind: KindCloudEvents,
		header: map[string]string{"Content-Type": "application/cloudevents+json"},
		want:   []wantEvent{{"ghcr.io", "team/app", "1.4.0", digHoist, "2026-01-02T03:04:05Z"}}},
	{file: "synthetic/cloudevents-binary-oci.json", kind: KindCloudEvents,
		header: map[string]string{"Ce-Specversion": "1.0", "Ce-Type": "dev.cdevents.artifact.published.0.2.0", "Ce-Id": "5c0e7f3a"},
		want:   []wantEvent{{"registry.example.com:5000", "team/app", "v2.0.0", digHoist, "2026-01-02T03:04:05.5Z"}}},
}

// readFixture reads a file under testdata.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureHeader builds the request headers of a case: JSON unless it says otherwise.
func fixtureHeader(c fixtureCase) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	if c.kind == KindDistribution {
		h.Set("Content-Type", "application/vnd.docker.distribution.events.v2+json")
	}
	for k, v := range c.header {
		h.Set(k, v)
	}
	return h
}

func TestEveryFixtureHasACase(t *testing.T) {
	cases := map[string]bool{}
	for _, c := range fixtureCases {
		if cases[c.file] {
			t.Errorf("%s: two cases", c.file)
		}
		cases[c.file] = true
	}
	for _, dir := range []string{"webhooks", "synthetic"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no fixtures in testdata/%s", dir)
		}
		for _, f := range files {
			if name := dir + "/" + filepath.Base(f); !cases[name] {
				t.Errorf("fixture %s has no case in fixtureCases", name)
			}
		}
	}
}

func TestFixtures(t *testing.T) {
	for _, c := range fixtureCases {
		t.Run(strings.TrimSuffix(c.file, ".json"), func(t *testing.T) {
			in := Input{Body: readFixture(t, c.file), Header: fixtureHeader(c), Host: c.host}
			got, err := Events(c.kind, in)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error = %v, want one containing %q (events %+v)", err, c.wantErr, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %d events %+v, want %d %+v", len(got), got, len(c.want), c.want)
			}
			for i, w := range c.want {
				checkEvent(t, got[i], w)
			}
			tagged, untagged := splitUntagged(got)
			wantTagged := 0
			for _, w := range c.want {
				if w.tag != "" {
					wantTagged++
				}
			}
			if len(tagged) != wantTagged || len(tagged)+untagged != len(got) {
				t.Errorf("splitUntagged: %d tagged, %d untagged; want %d tagged", len(tagged), untagged, wantTagged)
			}
		})
	}
}

// checkEvent compares one parsed event with its expectation; at "*" means
// "some time from the payload".
func checkEvent(t *testing.T, got bus.PushEvent, w wantEvent) {
	t.Helper()
	if got.Registry != w.host || got.Repository != w.repo || got.Tag != w.tag || got.Digest != w.digest {
		t.Errorf("event = %s/%s:%s@%s, want %s/%s:%s@%s", got.Registry, got.Repository, got.Tag, got.Digest, w.host, w.repo, w.tag, w.digest)
	}
	switch w.at {
	case "":
		if !got.PushedAt.IsZero() {
			t.Errorf("PushedAt = %v, want none", got.PushedAt)
		}
	case "*":
		if got.PushedAt.IsZero() {
			t.Errorf("PushedAt is zero, want the payload's time")
		}
	default:
		want, err := time.Parse(time.RFC3339Nano, w.at)
		if err != nil {
			t.Fatal(err)
		}
		if !got.PushedAt.Equal(want) || got.PushedAt.Location() != time.UTC {
			t.Errorf("PushedAt = %v, want %v (UTC)", got.PushedAt, want)
		}
	}
}
