package deploy

import (
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// restrictedVolumeTypes are the only volume sources the restricted Pod Security Standard
// allows (a StatefulSet's volumeClaimTemplates become persistentVolumeClaim volumes).
func restrictedVolumeOK(v corev1.Volume) bool {
	s := v.VolumeSource
	return s.ConfigMap != nil || s.CSI != nil || s.DownwardAPI != nil || s.EmptyDir != nil ||
		s.Ephemeral != nil || s.PersistentVolumeClaim != nil || s.Projected != nil || s.Secret != nil
}

// CheckRestricted checks a pod spec against the rules of the `restricted` Pod Security
// Standard (which hoist's namespace enforces), the way the admission controller applies
// them: pod-level settings count for every container unless a container overrides them.
// It returns every violation, naming the container.
func CheckRestricted(spec corev1.PodSpec) error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		fail("hostNetwork, hostPID and hostIPC must be false")
	}
	for _, v := range spec.Volumes {
		if !restrictedVolumeOK(v) {
			fail("volume %s: only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected and secret volumes are allowed", v.Name)
		}
	}
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if psc.RunAsUser != nil && *psc.RunAsUser == 0 {
		fail("pod runAsUser must not be 0")
	}
	if psc.SeccompProfile != nil && !seccompOK(psc.SeccompProfile) {
		fail("pod seccompProfile must be RuntimeDefault or Localhost")
	}
	for _, s := range psc.Sysctls {
		fail("pod sysctl %s: the restricted profile allows only the safe set; hoist's pods need none", s.Name)
	}
	var all []corev1.Container
	all = append(all, spec.InitContainers...)
	all = append(all, spec.Containers...)
	for _, c := range all {
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		cf := func(format string, a ...any) { fail("container %s: "+format, append([]any{c.Name}, a...)...) }
		if sc.Privileged != nil && *sc.Privileged {
			cf("privileged must be false")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			cf("allowPrivilegeEscalation must be false")
		}
		nonRoot := sc.RunAsNonRoot
		if nonRoot == nil {
			nonRoot = psc.RunAsNonRoot
		}
		if nonRoot == nil || !*nonRoot {
			cf("runAsNonRoot must be true (in the pod or the container securityContext)")
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			cf("runAsUser must not be 0")
		}
		sp := sc.SeccompProfile
		if sp == nil {
			sp = psc.SeccompProfile
		}
		if sp == nil || !seccompOK(sp) {
			cf("seccompProfile must be RuntimeDefault or Localhost (in the pod or the container securityContext)")
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			cf("capabilities must drop ALL")
		}
		if sc.Capabilities != nil {
			for _, a := range sc.Capabilities.Add {
				if a != "NET_BIND_SERVICE" {
					cf("capability %s may not be added (only NET_BIND_SERVICE)", a)
				}
			}
		}
		if sc.ProcMount != nil && *sc.ProcMount != corev1.DefaultProcMount {
			cf("procMount must be Default")
		}
		for _, p := range c.Ports {
			if p.HostPort != 0 {
				cf("hostPort %d is not allowed", p.HostPort)
			}
		}
	}
	return errors.Join(errs...)
}

func seccompOK(p *corev1.SeccompProfile) bool {
	return p.Type == corev1.SeccompProfileTypeRuntimeDefault || p.Type == corev1.SeccompProfileTypeLocalhost
}
