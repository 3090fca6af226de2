package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDecodeStrict(t *testing.T) {
	tests := []struct {
		file    string
		wantErr string // empty: must decode
		kinds   []string
	}{
		{file: "good-deployment.yaml", kinds: []string{"Deployment"}},
		{file: "servicemonitor.yaml", kinds: []string{"ServiceMonitor"}},
		{file: "multi.yaml", kinds: []string{"ConfigMap", "ServiceAccount"}},
		{file: "unknown-field.yaml", wantErr: `unknown field "spec.replica"`},
		{file: "wrong-case.yaml", wantErr: `unknown field "spec.Replicas"`},
		{file: "duplicate-key.yaml", wantErr: `"name" already set`},
		{file: "unknown-kind.yaml", wantErr: `no API type known for apiVersion "apps/v1" kind "Deploymnet"`},
		{file: "no-kind.yaml", wantErr: "no apiVersion or kind"},
		{file: "flux-helmrelease-typo.yaml", wantErr: `unknown field "spec.valueFrom"`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "decode", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			objs, err := DecodeAll(tt.file, data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, o := range objs {
				kinds = append(kinds, o.Kind)
			}
			if strings.Join(kinds, ",") != strings.Join(tt.kinds, ",") {
				t.Fatalf("kinds = %v, want %v", kinds, tt.kinds)
			}
		})
	}
}
