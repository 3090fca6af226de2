package deploy

import (
	"reflect"
	"testing"
)

func TestConfigKeys(t *testing.T) {
	got, err := ConfigKeys("testdata/gosource/config", "Config")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"items[].every", "items[].name", "listen", "opt.deep.every", "opt.deep.name", "tags"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ConfigKeys = %q, want %q", got, want)
	}
	if _, err := ConfigKeys("testdata/gosource/config", "Missing"); err == nil {
		t.Fatal("ConfigKeys of a missing struct: no error")
	}
}

func TestMetricsFromSource(t *testing.T) {
	got, err := Metrics("testdata/gosource")
	if err != nil {
		t.Fatal(err)
	}
	want := []Metric{
		{Name: "hoist_backlog_messages", Type: "gauge", Labels: []string{"stream"}, Help: "Messages waiting.", File: "svc/metrics.go"},
		{Name: "hoist_errors_total", Type: "counter", Help: "Errors.", File: "svc/metrics.go"},
		{Name: "hoist_svc_things_total", Type: "counter", Labels: []string{"repo", "outcome"}, Help: "Things done.", File: "svc/metrics.go"},
		{Name: "hoist_wait_seconds", Type: "histogram", File: "svc/metrics.go"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Metrics =\n%+v\nwant\n%+v", got, want)
	}
}

func TestLogFieldsFromSource(t *testing.T) {
	got, err := LogFields("testdata/gosource")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"event_id": {"svc/metrics.go"}, "count": {"svc/metrics.go"}, "error": {"svc/metrics.go"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("LogFields = %v, want %v", got, want)
	}
}
