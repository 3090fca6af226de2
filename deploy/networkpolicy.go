package deploy

import (
	"net"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Endpoint is one end of a connection NetworkPolicies decide on: a pod (Namespace set)
// or an address outside the cluster (IP set).
type Endpoint struct {
	// Name labels the endpoint in messages.
	Name string
	// Namespace and NamespaceLabels are the pod's namespace.
	Namespace       string
	NamespaceLabels map[string]string
	// Labels are the pod's labels.
	Labels map[string]string
	// Ports are the pod's named container ports.
	Ports map[string]int32
	// IP is an address outside the cluster (no policy selects it).
	IP string
}

// Allowed reports whether the policies let from open a connection to port/protocol
// of to, with the semantics of the NetworkPolicy API: a pod selected by no policy of a
// direction is open in that direction; a selected pod accepts only what one of the
// rules selecting it allows; both the sender's egress and the receiver's ingress must
// allow the connection.
func Allowed(pols []*networkingv1.NetworkPolicy, from, to Endpoint, port int32, proto corev1.Protocol) bool {
	return directionAllows(pols, from, to, to, port, proto, networkingv1.PolicyTypeEgress) &&
		directionAllows(pols, to, from, to, port, proto, networkingv1.PolicyTypeIngress)
}

// directionAllows decides for pod `self` (sending for egress, receiving for ingress)
// about its peer; dest holds the named ports a port rule refers to.
func directionAllows(pols []*networkingv1.NetworkPolicy, self, peer, dest Endpoint, port int32, proto corev1.Protocol, dir networkingv1.PolicyType) bool {
	if self.Namespace == "" {
		return true // outside the cluster: no policy applies
	}
	selected := false
	for _, p := range pols {
		if p.Namespace != self.Namespace || !hasType(p, dir) || !selects(&p.Spec.PodSelector, self.Labels) {
			continue
		}
		selected = true
		if dir == networkingv1.PolicyTypeEgress {
			for _, r := range p.Spec.Egress {
				if peersMatch(r.To, p.Namespace, peer) && portsMatch(r.Ports, dest, port, proto) {
					return true
				}
			}
		} else {
			for _, r := range p.Spec.Ingress {
				if peersMatch(r.From, p.Namespace, peer) && portsMatch(r.Ports, dest, port, proto) {
					return true
				}
			}
		}
	}
	return !selected
}

// hasType reports whether a policy governs a direction: its policyTypes, or by default
// Ingress always and Egress when it has egress rules.
func hasType(p *networkingv1.NetworkPolicy, dir networkingv1.PolicyType) bool {
	if len(p.Spec.PolicyTypes) == 0 {
		return dir == networkingv1.PolicyTypeIngress || len(p.Spec.Egress) > 0
	}
	for _, t := range p.Spec.PolicyTypes {
		if t == dir {
			return true
		}
	}
	return false
}

func selects(sel *metav1.LabelSelector, set map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set(set))
}

// peersMatch: no peers means every peer.
func peersMatch(peers []networkingv1.NetworkPolicyPeer, policyNS string, e Endpoint) bool {
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		switch {
		case p.IPBlock != nil:
			if e.IP != "" && inBlock(p.IPBlock, e.IP) {
				return true
			}
		case e.Namespace == "":
			// a pod or namespace selector never selects an address outside the cluster
		case p.NamespaceSelector != nil:
			if selects(p.NamespaceSelector, e.NamespaceLabels) && (p.PodSelector == nil || selects(p.PodSelector, e.Labels)) {
				return true
			}
		case p.PodSelector != nil:
			if e.Namespace == policyNS && selects(p.PodSelector, e.Labels) {
				return true
			}
		}
	}
	return false
}

func inBlock(b *networkingv1.IPBlock, ip string) bool {
	addr := net.ParseIP(ip)
	_, cidr, err := net.ParseCIDR(b.CIDR)
	if addr == nil || err != nil || !cidr.Contains(addr) {
		return false
	}
	for _, ex := range b.Except {
		if _, n, err := net.ParseCIDR(ex); err == nil && n.Contains(addr) {
			return false
		}
	}
	return true
}

// portsMatch: no ports means every port; a named port is the destination pod's.
func portsMatch(ports []networkingv1.NetworkPolicyPort, dest Endpoint, port int32, proto corev1.Protocol) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		pp := corev1.ProtocolTCP
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if pp != proto {
			continue
		}
		if p.Port == nil {
			return true
		}
		want := p.Port.IntVal
		if p.Port.StrVal != "" {
			named, ok := dest.Ports[p.Port.StrVal]
			if !ok {
				continue
			}
			want = named
		}
		end := want
		if p.EndPort != nil {
			end = *p.EndPort
		}
		if port >= want && port <= end {
			return true
		}
	}
	return false
}

// PodEndpoint is the Endpoint of a workload's pods in namespace ns (labelled nsLabels).
func PodEndpoint(name, ns string, nsLabels map[string]string, tmpl corev1.PodTemplateSpec) Endpoint {
	e := Endpoint{Name: name, Namespace: ns, NamespaceLabels: nsLabels, Labels: tmpl.Labels, Ports: map[string]int32{}}
	for _, c := range tmpl.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name != "" {
				e.Ports[p.Name] = p.ContainerPort
			}
		}
	}
	return e
}

// NetworkPolicies returns the NetworkPolicies of a set.
func (s Set) NetworkPolicies() []*networkingv1.NetworkPolicy {
	var out []*networkingv1.NetworkPolicy
	for _, o := range s.Find("NetworkPolicy") {
		out = append(out, o.Value.(*networkingv1.NetworkPolicy))
	}
	return out
}
