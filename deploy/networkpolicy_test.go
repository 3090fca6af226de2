package deploy

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// conn is one connection and whether the policies must let it through.
type conn struct {
	from, to string
	port     int32
	proto    corev1.Protocol
	allowed  bool
}

// endpoints are the pods and addresses the NetworkPolicy tests reason about: hoist's
// three stages and the NATS servers as rendered, and around them a stranger pod in
// hoist's namespace, a pod in another namespace, Prometheus, cluster DNS, a git server
// and a client on the internet.
func endpoints(t *testing.T, hoist Set, nats Set) map[string]Endpoint {
	t.Helper()
	hoistNS := map[string]string{"kubernetes.io/metadata.name": "hoist"}
	out := map[string]Endpoint{
		"stranger":   {Name: "stranger", Namespace: "hoist", NamespaceLabels: hoistNS, Labels: map[string]string{"app": "stranger"}},
		"other-ns":   {Name: "other-ns", Namespace: "default", NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": "default"}, Labels: map[string]string{"app.kubernetes.io/name": "hoist"}},
		"prometheus": {Name: "prometheus", Namespace: "monitoring", NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": "monitoring"}, Labels: map[string]string{"app": "prometheus"}},
		"kube-dns":   {Name: "kube-dns", Namespace: "kube-system", NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}, Labels: map[string]string{"k8s-app": "kube-dns"}},
		"git":        {Name: "git", IP: "198.51.100.7"},
		"internet":   {Name: "internet", IP: "203.0.113.5"},
	}
	for c, d := range hoist.Deployments() {
		out[c] = PodEndpoint(c, "hoist", hoistNS, d.Spec.Template)
	}
	if nats != nil {
		sts := natsStatefulSet(t, nats)
		out["nats"] = PodEndpoint("nats", "hoist", hoistNS, sts.Spec.Template)
	}
	return out
}

func checkConns(t *testing.T, pols []*networkingv1.NetworkPolicy, eps map[string]Endpoint, conns []conn) {
	t.Helper()
	for _, c := range conns {
		from, ok1 := eps[c.from]
		to, ok2 := eps[c.to]
		if !ok1 || !ok2 {
			t.Fatalf("unknown endpoint in %+v", c)
		}
		proto := c.proto
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		if got := Allowed(pols, from, to, c.port, proto); got != c.allowed {
			t.Errorf("%s → %s:%d/%s allowed %v, want %v", c.from, c.to, c.port, proto, got, c.allowed)
		}
	}
}

// hoistConns are the connections every rendering decides alike for hoist's own pods.
var hoistConns = []conn{
	{"internet", "ingest", 8080, "", true},
	{"internet", "match", 8080, "", false},
	{"internet", "commit", 8080, "", false},
	{"other-ns", "match", 8080, "", false},
	{"prometheus", "match", 8080, "", true},
	{"prometheus", "commit", 8080, "", true},
	{"ingest", "nats", 4222, "", true},
	{"match", "nats", 4222, "", true},
	{"commit", "nats", 4222, "", true},
	{"match", "git", 443, "", true},
	{"commit", "git", 22, "", true},
	{"ingest", "git", 443, "", false},
	{"ingest", "internet", 80, "", false},
	{"match", "internet", 80, "", false},
	{"ingest", "kube-dns", 53, corev1.ProtocolUDP, true},
	{"commit", "kube-dns", 53, corev1.ProtocolTCP, true},
}

// TestKustomizeNetworkPolicies: NATS was open to every pod. The base denies everything
// in the namespace by default, and lets through exactly: webhooks to ingest from
// anywhere, scrapes from the monitoring namespace, hoist's pods (only) to NATS, NATS to
// its peers, match and commit to git, everyone to DNS.
func TestKustomizeNetworkPolicies(t *testing.T) {
	s := kustomizeBase(t)
	pols := s.NetworkPolicies()
	if len(pols) == 0 {
		t.Fatal("no NetworkPolicies in the kustomize base")
	}
	hr := natsRelease(t, s)
	eps := endpoints(t, s, renderNATS(t, hr, natsValues(t, s, hr)))
	checkConns(t, pols, eps, hoistConns)
	checkConns(t, pols, eps, []conn{
		{"stranger", "nats", 4222, "", false},
		{"other-ns", "nats", 4222, "", false},
		{"internet", "nats", 4222, "", false},
		{"nats", "nats", 6222, "", true},
		{"ingest", "nats", 6222, "", false},
		{"prometheus", "nats", 8222, "", true},
		{"stranger", "nats", 8222, "", false},
		{"nats", "internet", 443, "", false},
		{"nats", "kube-dns", 53, corev1.ProtocolUDP, true},
		{"stranger", "internet", 443, "", false},
		{"match", "ingest", 9999, "", false},
	})
}

// TestChartNetworkPolicies: the chart's NetworkPolicies (on by default) decide hoist's
// own pods' connections like the kustomize base; NATS's own policy is the NATS
// release's (the chart does not install NATS).
func TestChartNetworkPolicies(t *testing.T) {
	s := helmTemplate(t)
	pols := s.NetworkPolicies()
	if len(pols) == 0 {
		t.Fatal("the chart renders no NetworkPolicies by default")
	}
	for _, p := range pols {
		if p.Namespace == "" {
			p.Namespace = "hoist" // helm install puts it in the release's namespace
		}
	}
	k := kustomizeBase(t)
	hr := natsRelease(t, k)
	eps := endpoints(t, s, renderNATS(t, hr, natsValues(t, k, hr)))
	checkConns(t, pols, eps, hoistConns)
	if n := len(helmTemplate(t, "--set", "networkPolicy.enabled=false").NetworkPolicies()); n != 0 {
		t.Errorf("networkPolicy.enabled=false still renders %d NetworkPolicies", n)
	}
}
