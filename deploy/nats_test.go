package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/nats-io/nats.go"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// The official NATS chart at the version deploy/kustomize/nats/helmrelease.yaml pins is
// kept in testdata/charts (the tests run offline), so the HelmRelease's values are
// rendered by the chart they are written for.
var natsChartDir = filepath.Join("testdata", "charts")

// kustomizeBase builds deploy/kustomize.
func kustomizeBase(t *testing.T) Set {
	t.Helper()
	abs, err := filepath.Abs(kustomizeDir)
	if err != nil {
		t.Fatal(err)
	}
	return buildKustomize(t, filesys.MakeFsOnDisk(), abs)
}

// natsRelease returns the HelmRelease of the nats chart in s.
func natsRelease(t *testing.T, s Set) *helmv2.HelmRelease {
	t.Helper()
	for _, o := range s.Find("HelmRelease") {
		if hr := o.Value.(*helmv2.HelmRelease); hr.Spec.Chart != nil && hr.Spec.Chart.Spec.Chart == "nats" {
			return hr
		}
	}
	t.Fatal("no HelmRelease of the nats chart")
	return nil
}

// natsValues are the values Flux gives the NATS chart: those of the HelmRelease's
// valuesFrom ConfigMaps (found in s), then its inline values, merged in that order.
func natsValues(t *testing.T, s Set, hr *helmv2.HelmRelease) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, ref := range hr.Spec.ValuesFrom {
		if ref.Kind != "ConfigMap" {
			t.Fatalf("HelmRelease/%s valuesFrom %s/%s: only ConfigMaps are shipped", hr.Name, ref.Kind, ref.Name)
		}
		cm := findConfigMap(s, ref.Name)
		key := ref.ValuesKey
		if key == "" {
			key = "values.yaml"
		}
		if cm == nil || cm.Data[key] == "" {
			t.Fatalf("HelmRelease/%s valuesFrom ConfigMap %s key %s is not in the manifests", hr.Name, ref.Name, key)
		}
		var v map[string]any
		if err := yaml.Unmarshal([]byte(cm.Data[key]), &v); err != nil {
			t.Fatalf("ConfigMap %s %s: %v", ref.Name, key, err)
		}
		mergeValues(out, v)
	}
	mergeValues(out, hr.GetValues())
	return out
}

// mergeValues merges src into dst the way Helm merges values: maps key by key, anything
// else replaced.
func mergeValues(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeValues(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// renderNATS renders the pinned NATS chart with values (and extra helm arguments), as
// Flux would for the HelmRelease, and decodes the result strictly.
func renderNATS(t *testing.T, hr *helmv2.HelmRelease, values map[string]any, args ...string) Set {
	t.Helper()
	chart := filepath.Join(natsChartDir, "nats-"+hr.Spec.Chart.Spec.Version+".tgz")
	if _, err := os.Stat(chart); err != nil {
		t.Fatalf("HelmRelease/%s pins nats chart %s, which is not in %s (keep the chart the values are tested against there): %v", hr.Name, hr.Spec.Chart.Spec.Version, natsChartDir, err)
	}
	vf := filepath.Join(t.TempDir(), "values.json")
	b, err := json.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vf, b, 0o600); err != nil {
		t.Fatal(err)
	}
	name := hr.Spec.ReleaseName
	if name == "" {
		name = hr.Name
	}
	helm := tool(t, "helm")
	out := run(t, ".", helm, append([]string{"template", name, chart, "--namespace", "hoist", "--skip-tests", "--values", vf}, args...)...)
	objs, err := DecodeAll("helm template nats", out)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func natsStatefulSet(t *testing.T, s Set) *appsv1.StatefulSet {
	t.Helper()
	sts := s.Find("StatefulSet")
	if len(sts) != 1 {
		t.Fatalf("%d StatefulSets rendered by the nats chart, want 1", len(sts))
	}
	return sts[0].Value.(*appsv1.StatefulSet)
}

// TestNATSChartVersionExact: the NATS chart is pinned to one version, not a range, so
// the values (written for one chart's layout) and the tested rendering are what runs.
func TestNATSChartVersionExact(t *testing.T) {
	hr := natsRelease(t, kustomizeBase(t))
	v := hr.Spec.Chart.Spec.Version
	if !regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`).MatchString(v) {
		t.Fatalf("HelmRelease/%s chart version %q is not one exact version", hr.Name, v)
	}
	helm := tool(t, "helm")
	out := run(t, ".", helm, "show", "chart", filepath.Join(natsChartDir, "nats-"+v+".tgz"))
	if !strings.Contains(string(out), "\nversion: "+v+"\n") {
		t.Fatalf("testdata chart nats-%s.tgz is not version %s:\n%s", v, v, out)
	}
}

// TestNATSPodsPassRestricted: the namespace enforces the restricted Pod Security
// Standard and the official NATS chart sets no securityContext, so the HelmRelease's
// values must; this renders the chart with them and checks the NATS pods against the
// restricted rules (and that the rules catch the chart's defaults).
func TestNATSPodsPassRestricted(t *testing.T) {
	s := kustomizeBase(t)
	for _, o := range s.Find("Namespace") {
		if ns := o.Value.(*corev1.Namespace); ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
			t.Errorf("Namespace/%s does not enforce the restricted Pod Security Standard", ns.Name)
		}
	}
	hr := natsRelease(t, s)
	sts := natsStatefulSet(t, renderNATS(t, hr, natsValues(t, s, hr)))
	if err := CheckRestricted(podSpecWithClaims(sts)); err != nil {
		t.Errorf("StatefulSet/%s would be refused by the restricted Pod Security Standard:\n%v", sts.Name, err)
	}
	if len(sts.Spec.Template.Spec.Containers) < 2 {
		t.Errorf("StatefulSet/%s has %d containers; want nats and its config reloader", sts.Name, len(sts.Spec.Template.Spec.Containers))
	}
	for c, d := range s.Deployments() {
		if err := CheckRestricted(d.Spec.Template.Spec); err != nil {
			t.Errorf("Deployment of %s: %v", c, err)
		}
	}
	// The check can fail: the chart's own defaults do not pass.
	bare := natsStatefulSet(t, renderNATS(t, hr, map[string]any{}))
	if err := CheckRestricted(bare.Spec.Template.Spec); err == nil || !strings.Contains(err.Error(), "runAsNonRoot") {
		t.Errorf("CheckRestricted accepted the NATS chart's defaults: %v", err)
	}
}

// natsServer is a nats-server running the NATS chart's rendered nats.conf.
type natsServer struct {
	url string
	// passwords of the users, from the Secrets the NATS container reads
	env []string
}

// startNATS runs nats-server with the nats.conf the pinned chart renders from the
// HelmRelease's values, with the environment its container gets from fakeSecrets. Only
// what cannot run on one machine differs: a single server (no cluster routes) and
// local ports and directories (command-line flags).
func startNATS(t *testing.T, s Set) *natsServer {
	t.Helper()
	hr := natsRelease(t, s)
	rendered := renderNATS(t, hr, natsValues(t, s, hr), "--set", "config.cluster.enabled=false")
	sts := natsStatefulSet(t, rendered)
	var natsC *corev1.Container
	for i := range sts.Spec.Template.Spec.Containers {
		if c := &sts.Spec.Template.Spec.Containers[i]; c.Name == "nats" {
			natsC = c
		}
	}
	if natsC == nil {
		t.Fatal("no nats container in the StatefulSet")
	}
	p := layOut(t, rendered, podSpecWithClaims(sts), *natsC, fakeSecrets)
	conf := ""
	for i, a := range natsC.Args {
		if a == "--config" && i+1 < len(natsC.Args) {
			conf = p.host(natsC.Args[i+1])
		}
	}
	if conf == "" {
		t.Fatalf("nats container args %q name no --config", natsC.Args)
	}
	// The paths in nats.conf that lie on the container's mounts (JetStream's /data, the
	// pid file) move to where the mounts were laid out.
	data, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, m := range natsC.VolumeMounts {
		for _, q := range []string{`"`, `/`} {
			text = strings.ReplaceAll(text, `"`+m.MountPath+q, `"`+p.host(m.MountPath)+q)
		}
	}
	conf = filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	dir := t.TempDir()
	cmd := exec.Command(tool(t, "nats-server"), "--config", conf,
		"--addr", "127.0.0.1", "--port", fmt.Sprint(port), "--http_port", fmt.Sprint(freePort(t)))
	cmd.Env = p.env
	logf, err := os.Create(filepath.Join(dir, "nats.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			log, _ := os.ReadFile(logf.Name())
			t.Logf("nats-server log:\n%s", log)
		}
	})
	ns := &natsServer{url: fmt.Sprintf("nats://127.0.0.1:%d", port), env: p.env}
	// Ready when it answers on its port (an authorization error is an answer).
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("nats-server exited: %v\n%s", waitErr, log)
		default:
		}
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return ns
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server not listening after 30s: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // polling a port; not a synchronisation
	}
}

// podSpecWithClaims is a StatefulSet's pod spec with its volume claim templates as the
// persistentVolumeClaim volumes its pods get.
func podSpecWithClaims(sts *appsv1.StatefulSet) corev1.PodSpec {
	spec := *sts.Spec.Template.Spec.DeepCopy()
	for _, pvc := range sts.Spec.VolumeClaimTemplates {
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: pvc.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: pvc.Name + "-" + sts.Name + "-0"},
		}})
	}
	return spec
}

// freePort is a 127.0.0.1 port that was free just now: the nats-server
// processes these tests start must be given a port, not a listener.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// connect connects as a stage's NATS user (its password from fakeSecrets); stage ""
// connects without credentials.
func (ns *natsServer) connect(stage string) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name("deploy-test"), nats.NoReconnect(), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})}
	if stage != "" {
		opts = append(opts, nats.UserInfo("hoist-"+stage, fakeSecrets["hoist-nats-"+stage]["password"]))
	}
	return nats.Connect(ns.url, opts...)
}

// mayPublish reports whether the server lets stage's user publish on subject: a
// violation is answered before the flush's PONG, so LastError holds it by then.
func (ns *natsServer) mayPublish(t *testing.T, stage, subject string) bool {
	t.Helper()
	nc, err := ns.connect(stage)
	if err != nil {
		t.Fatalf("connect as hoist-%s: %v", stage, err)
	}
	defer nc.Close()
	if err := nc.Publish(subject, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	err = nc.LastError()
	if err != nil && !errors.Is(err, nats.ErrPermissionViolation) {
		t.Fatalf("publish %s as hoist-%s: %v", subject, stage, err)
	}
	return err == nil
}

// TestNATSRequiresAuth: NATS was open — a 20-line program published to hoist.push.…
// and hoist committed a tag that does not exist. The reference NATS now refuses
// connections without a password, and each stage's user may publish only what that
// stage publishes.
func TestNATSRequiresAuth(t *testing.T) {
	ns := startNATS(t, kustomizeBase(t))
	if nc, err := ns.connect(""); err == nil {
		nc.Close()
		t.Fatal("nats-server accepted a connection without credentials")
	} else if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Fatalf("connect without credentials: %v, want an authorization error", err)
	}
	if nc, err := nats.Connect(ns.url, nats.UserInfo("hoist-ingest", "guess"), nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatal("nats-server accepted a wrong password")
	}
	for _, tt := range []struct {
		stage, subject string
		allowed        bool
	}{
		{"ingest", "hoist.push.registry_example_com.team_app", true},
		{"ingest", "hoist.rewrite.gitops.main", false},
		{"ingest", "hoist.head.gitops.main", false},
		{"ingest", "$JS.API.STREAM.DELETE.HOIST_PUSHES", false},
		{"ingest", "$JS.API.STREAM.PURGE.HOIST_PUSHES", false},
		{"ingest", "$JS.API.CONSUMER.MSG.NEXT.HOIST_PUSHES.hoist-matcher", false},
		{"ingest", "$KV.hoist_tag_times.x", false},
		{"ingest", "$KV.hoist_holds.x", false},
		{"match", "$KV.hoist_holds.x", true},
		{"commit", "$KV.hoist_holds.x", true},
		{"match", "hoist.push.registry_example_com.team_app", true}, // the push events of the tags a scan finds
		{"match", "$KV.hoist_scan.x", true},
		{"ingest", "$KV.hoist_scan.x", false},
		{"commit", "$KV.hoist_scan.x", false},
		{"match", "hoist.rewrite.gitops.main", true},
		{"match", "hoist.head.gitops.main", false},
		{"match", "$JS.API.STREAM.DELETE.HOIST_REWRITES", false},
		{"match", "$JS.API.CONSUMER.MSG.NEXT.HOIST_REWRITES.hoist-committer-gitops_main", false},
		{"commit", "hoist.push.registry_example_com.team_app", false},
		{"commit", "hoist.rewrite.gitops.main", false},
		{"commit", "hoist.head.gitops.main", true},
		{"commit", "$KV.hoist_tag_times.x", false},
		{"commit", "$JS.API.STREAM.DELETE.HOIST_REWRITES", false},
	} {
		if got := ns.mayPublish(t, tt.stage, tt.subject); got != tt.allowed {
			t.Errorf("hoist-%s may publish %s: %v, want %v", tt.stage, tt.subject, got, tt.allowed)
		}
	}
}
