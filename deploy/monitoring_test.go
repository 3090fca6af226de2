package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"
)

var monitoringDir = filepath.Join(repoRoot, "deploy", "monitoring")

// prometheusRule decodes deploy/monitoring/prometheusrule.yaml strictly.
func prometheusRule(t *testing.T) *monitoringv1.PrometheusRule {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(monitoringDir, "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := DecodeAll("prometheusrule.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].Kind != "PrometheusRule" {
		t.Fatalf("prometheusrule.yaml holds %d objects, want one PrometheusRule", len(objs))
	}
	return objs[0].Value.(*monitoringv1.PrometheusRule)
}

// documentedMetrics are the metric names of operations.md's metrics table
// (TestOperationsDocMetrics ties them to the Go source), with the series a
// histogram adds.
func documentedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, m := range Must(Metrics(repoRoot, "deploy")) {
		out[m.Name] = true
		if m.Type == "histogram" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				out[m.Name+s] = true
			}
		}
	}
	for name := range firstColumn(docSection(t, operationsDoc, "Metrics")) {
		if !out[name] {
			t.Errorf("metric %s documented but not in the source", name)
		}
	}
	return out
}

// Must panics on err; for test set-up only.
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// promqlWords are the PromQL functions, operators and keywords hoist's
// queries use: any other word of an expression must be a metric hoist exports.
var promqlWords = map[string]bool{
	"sum": true, "max": true, "min": true, "avg": true, "count": true, "topk": true, "rate": true, "irate": true,
	"increase": true, "delta": true, "deriv": true, "time": true, "histogram_quantile": true, "clamp_min": true,
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "label_replace": true, "vector": true,
	"abs": true, "sort_desc": true, "changes": true, "timestamp": true, "last_over_time": true, "max_over_time": true,
}

var (
	promqlStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promqlMatchers  = regexp.MustCompile(`\{[^}]*\}`)
	promqlRanges    = regexp.MustCompile(`\[[^\]]*\]`)
	promqlGrouping  = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlGroupWord = regexp.MustCompile(`\b(group_left|group_right)\b`)
	promqlWord      = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	promqlNumber    = regexp.MustCompile(`\b\d+(\.\d+)?(e[+-]?\d+)?\b`)
)

// metricNames are the metric names an expression reads, and the words of it
// that are neither a metric nor PromQL's.
func metricNames(expr string, known map[string]bool) (metrics, unknown []string) {
	e := promqlStrings.ReplaceAllString(expr, " ")
	e = promqlMatchers.ReplaceAllString(e, " ")
	e = promqlRanges.ReplaceAllString(e, " ")
	e = promqlGrouping.ReplaceAllString(e, " ")
	e = promqlGroupWord.ReplaceAllString(e, " ")
	e = promqlNumber.ReplaceAllString(e, " ")
	for _, w := range promqlWord.FindAllString(e, -1) {
		switch {
		case promqlWords[w]:
		case known[w]:
			metrics = append(metrics, w)
		default:
			unknown = append(unknown, w)
		}
	}
	return metrics, unknown
}

// TestMetricsPeopleAlertOnPrometheusRule checks the alerts: the
// PrometheusRule decodes strictly, promtool accepts its rules and its unit
// tests pass (each alert fires when it should and not when it should not),
// every alert has a test and a row in operations.md, and every expression
// reads only metrics hoist exports.
func TestMetricsPeopleAlertOnPrometheusRule(t *testing.T) {
	pr := prometheusRule(t)
	known := documentedMetrics(t)
	var alerts []string
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts = append(alerts, r.Alert)
			ms, unknown := metricNames(r.Expr.String(), known)
			if len(ms) == 0 || len(unknown) > 0 {
				t.Errorf("alert %s: reads metrics %v; unknown words %v", r.Alert, ms, unknown)
			}
			if r.Labels["severity"] != "warning" && r.Labels["severity"] != "critical" {
				t.Errorf("alert %s: severity %q", r.Alert, r.Labels["severity"])
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s: summary or description missing", r.Alert)
			}
		}
	}
	sort.Strings(alerts)
	if len(alerts) < 8 {
		t.Fatalf("alerts %v: fewer than the issue asks for", alerts)
	}
	compareSets(t, "alert", alerts, firstColumn(docSection(t, operationsDoc, "Alerts")))

	tests, err := os.ReadFile(filepath.Join(monitoringDir, "alerts_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		if !strings.Contains(string(tests), "alertname: "+a+"\n") {
			t.Errorf("alert %s has no case in alerts_test.yaml", a)
		}
	}

	promtool := tool(t, "promtool")
	dir := t.TempDir()
	rules, err := yaml.Marshal(pr.Spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), rules, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts_test.yaml"), tests, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, dir, promtool, "check", "rules", "rules.yaml")
	run(t, dir, promtool, "test", "rules", "alerts_test.yaml")
}

// TestGrafanaDashboard checks deploy/monitoring/dashboard.json: valid JSON
// with panels, and every query reads only metrics hoist exports (the
// metrics table of operations.md, which TestOperationsDocMetrics ties to
// the source).
func TestGrafanaDashboard(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(monitoringDir, "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("dashboard.json: %v", err)
	}
	if dash["title"] == "" || dash["uid"] == "" {
		t.Error("dashboard without title or uid")
	}
	known := documentedMetrics(t)
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "expr" {
					exprs = append(exprs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(dash)
	if len(exprs) < 10 {
		t.Fatalf("%d queries in the dashboard, want its panels' queries", len(exprs))
	}
	used := map[string]bool{}
	for _, e := range exprs {
		ms, unknown := metricNames(strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m").Replace(e), known)
		if len(ms) == 0 || len(unknown) > 0 {
			t.Errorf("query %q: reads metrics %v; unknown words %v (only metrics hoist exports)", e, ms, unknown)
		}
		for _, m := range ms {
			used[m] = true
		}
	}
	for _, m := range []string{"hoist_ready", "hoist_consumer_pending_messages", "hoist_committer_last_commit_timestamp_seconds",
		"hoist_matcher_last_indexed_timestamp_seconds", "hoist_ingest_deliveries_total", "hoist_end_to_end_latency_seconds_bucket"} {
		if !used[m] {
			t.Errorf("the dashboard shows nothing of %s", m)
		}
	}
}

// The query checker tells metrics from PromQL's own words and rejects a
// name hoist does not export.
func TestMetricNamesOfQueries(t *testing.T) {
	known := map[string]bool{"hoist_a_total": true, "hoist_b_seconds_bucket": true}
	ms, unknown := metricNames(`histogram_quantile(0.99, sum by (le, repo) (rate(hoist_b_seconds_bucket{repo=~"$repo"}[5m])))
		/ on (repo) group_left sum by (repo) (increase(hoist_a_total{outcome="x"}[1h])) > 1e3 or up`, known)
	if strings.Join(ms, ",") != "hoist_b_seconds_bucket,hoist_a_total" || strings.Join(unknown, ",") != "up" {
		t.Fatalf("metrics %v, unknown %v", ms, unknown)
	}
}

// The PrometheusRule ships three ways — deploy/monitoring, the kustomize
// component and the chart (prometheusRule.enabled) — with the same alerts.
func TestPrometheusRuleInChartAndKustomize(t *testing.T) {
	want := prometheusRule(t).Spec
	comp, err := os.ReadFile(filepath.Join(kustomizeDir, "components", "prometheusrule", "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(monitoringDir, "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(comp) != string(src) {
		t.Error("kustomize/components/prometheusrule/prometheusrule.yaml differs from deploy/monitoring/prometheusrule.yaml")
	}
	rules := overlay(t, "prometheusrule").Find("PrometheusRule")
	if len(rules) != 1 {
		t.Fatalf("the prometheusrule component adds %d PrometheusRules, want 1", len(rules))
	}
	if got := rules[0].Value.(*monitoringv1.PrometheusRule); !reflect.DeepEqual(got.Spec, want) {
		t.Error("kustomize's PrometheusRule differs from deploy/monitoring's")
	}

	if n := len(helmTemplate(t).Find("PrometheusRule")); n != 0 {
		t.Errorf("%d PrometheusRules rendered by default, want 0 (Prometheus Operator is optional)", n)
	}
	rules = helmTemplate(t, "--set", "prometheusRule.enabled=true", "--set", "prometheusRule.labels.release=prometheus").Find("PrometheusRule")
	if len(rules) != 1 {
		t.Fatalf("the chart renders %d PrometheusRules, want 1", len(rules))
	}
	got := rules[0].Value.(*monitoringv1.PrometheusRule)
	if !reflect.DeepEqual(got.Spec, want) {
		t.Error("the chart's PrometheusRule differs from deploy/monitoring/prometheusrule.yaml: edit chart/files/prometheusrule-spec.yaml too")
	}
	if got.Labels["release"] != "prometheus" {
		t.Errorf("chart PrometheusRule labels %v, want prometheusRule.labels among them", got.Labels)
	}
	helm := tool(t, "helm")
	out := run(t, ".", helm, "lint", "--strict", chartDir, "--set", "prometheusRule.enabled=true")
	if !strings.Contains(string(out), "0 chart(s) failed") {
		t.Fatalf("helm lint with the PrometheusRule:\n%s", out)
	}
}
