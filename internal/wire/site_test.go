package wire

import (
	"regexp"
	"testing"
)

// TestSiteKey: a rewrite's site has the key of the same site however it
// was built, the key is a valid NATS KV key, and two sites that differ in
// any part (even where the parts would join to the same text) have
// different keys.
func TestSiteKey(t *testing.T) {
	rw := Rewrite{Repo: "gitops", Branch: "main", File: "apps/a.yaml", Resource: "ns:deployment/a", Container: "app"}
	s := Site{Repo: "gitops", Branch: "main", File: "apps/a.yaml", Resource: "ns:deployment/a", Container: "app"}
	if rw.Site() != s || rw.Site().Key() != s.Key() {
		t.Fatalf("rewrite site %v (key %s), want %v (key %s)", rw.Site(), rw.Site().Key(), s, s.Key())
	}
	kvKey := regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)
	keys := map[string]Site{}
	for _, x := range []Site{
		s,
		{Repo: "gitops", Branch: "main", File: "apps/a.yaml", Resource: "ns:deployment/a", Container: "b"},
		{Repo: "gitops.main", Branch: "", File: "apps/a.yaml", Resource: "ns:deployment/a", Container: "app"},
		{Repo: "gitops", Branch: "main", File: "apps/a.yaml\x00ns:deployment/a", Resource: "", Container: "app"},
		{Repo: "gitops", Branch: "dev", File: "apps/a.yaml", Resource: "ns:deployment/a", Container: "app"},
	} {
		k := x.Key()
		if !kvKey.MatchString(k) {
			t.Errorf("key %q of %v is not a NATS KV key", k, x)
		}
		if other, dup := keys[k]; dup {
			t.Errorf("sites %v and %v share the key %q", other, x, k)
		}
		keys[k] = x
	}
}

// TestSiteCompare: sites sort by their parts in order, a shorter part first.
func TestSiteCompare(t *testing.T) {
	a := Site{Repo: "r", Branch: "main", File: "a", Resource: "z", Container: "z"}
	b := Site{Repo: "r", Branch: "main", File: "a.yaml", Resource: "a", Container: "a"}
	if a.Compare(b) >= 0 || b.Compare(a) <= 0 || a.Compare(a) != 0 {
		t.Fatalf("Compare: %d, %d, %d", a.Compare(b), b.Compare(a), a.Compare(a))
	}
}
