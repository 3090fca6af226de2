package main

import (
	"strings"
	"testing"

	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testregistry"
)

// Under a signature rule an unsigned image is not written and the reason is
// reported; a signed image is written; an image signed a while after its
// push (as CI pipelines do) is written once the handed-back push is retried.
func TestSignatureRequiredEndToEnd(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	key := testregistry.NewCosignKey(t)
	s := startRegistryServe(t, reg, map[string]string{
		"apps/app.yaml": serveRelease,
		"apps/web.yaml": pinDeployment,
	}, `  - {match: "**/team/app", signature: {key: `+key.Pub+`, waitFor: 1ns}}
  - {match: "**/team/web", signature: {key: `+key.Pub+`}}`)

	// Unsigned, and the wait is over at once: dropped with its reason.
	unsigned := reg.PushImage(t, "team/app", "1.2.4")
	s.hook(t, "team/app", "1.2.4", unsigned)
	testenv.Eventually(t, "the unsigned push dropped", func() bool {
		return s.hasMetric(`hoist_matcher_registry_checks_total{result="unsigned"} 1`) &&
			s.hasMetric(`hoist_matcher_pushes_total{outcome="unsigned"} 1`)
	})
	if !strings.Contains(s.logs.String(), `"reason":"unsigned"`) {
		t.Errorf("no log line gives the reason unsigned:\n%s", s.logs.String())
	}

	// Signed (bundle referrer): written.
	signed := reg.PushImage(t, "team/app", "1.2.5")
	reg.Sign(t, key, "team/app", signed, false)
	s.hook(t, "team/app", "1.2.5", signed)
	testenv.Eventually(t, "the signed tag committed", func() bool {
		return strings.Contains(s.repo.Show(t, "main", "apps/app.yaml"), "tag: 1.2.5\n")
	})
	if strings.Contains(s.repo.Show(t, "main", "apps/app.yaml"), "1.2.4") {
		t.Fatal("the unsigned tag was written")
	}

	// Pushed first, signed (legacy .sig) once hoist has handed the push back.
	late := reg.PushImage(t, "team/web", "1.2.4")
	s.hook(t, "team/web", "1.2.4", late)
	testenv.Eventually(t, "the push waiting for its signature", func() bool {
		return s.hasMetric(`hoist_matcher_registry_checks_total{result="signature_pending"}`) &&
			!s.hasMetric(`hoist_matcher_registry_checks_total{result="signature_pending"} 0`)
	})
	if strings.Contains(s.repo.Show(t, "main", "apps/web.yaml"), "1.2.4") {
		t.Fatal("the image was written before it was signed")
	}
	reg.Sign(t, key, "team/web", late, true)
	testenv.Eventually(t, "the late-signed tag committed", func() bool {
		return strings.Contains(s.repo.Show(t, "main", "apps/web.yaml"), "/team/web:1.2.4 #")
	})
}
