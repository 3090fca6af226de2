package ingest

import (
	"encoding/json"
	"sort"
	"testing"
	"time"
)

func TestFlexTime(t *testing.T) {
	cases := []struct {
		in   string
		want string // RFC 3339, "" = zero
	}{
		{`1417566161`, "2014-12-03T00:22:41Z"},
		{`1.417566161e+09`, "2014-12-03T00:22:41Z"},
		{`1586922308.5`, "2020-04-15T03:45:08.5Z"},
		{`"1417566161"`, "2014-12-03T00:22:41Z"},
		{`"2016-03-09T14:44:26.402973972-08:00"`, "2016-03-09T22:44:26.402973972Z"},
		{`"2020-04-05T21:49:44.219+0000"`, "2020-04-05T21:49:44.219Z"},
		{`"2020\u002d04-05T21:49:44Z"`, "2020-04-05T21:49:44Z"}, // an escape: read by the JSON decoder
		{`"2020-04-05T21:49:44Z\""`, ""},
		{`""`, ""},
		{`"0001-01-01T00:00:00Z"`, ""},
		{`"yesterday"`, ""},
		{`null`, ""},
		{`-5`, ""},
		{`1e300`, ""},
		{`{"a":1}`, ""},
	}
	for _, c := range cases {
		var v struct {
			T flexTime `json:"t"`
		}
		if err := json.Unmarshal([]byte(`{"t":`+c.in+`}`), &v); err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if c.want == "" {
			if !v.T.IsZero() {
				t.Errorf("%s = %v, want zero", c.in, v.T)
			}
			continue
		}
		want, _ := time.Parse(time.RFC3339Nano, c.want)
		if !v.T.Equal(want) {
			t.Errorf("%s = %v, want %v", c.in, v.T.Time, want)
		}
	}
}

func TestEventIDs(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var ids []string
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		id := newEventID(base.Add(time.Duration(i) * time.Millisecond))
		if len(id) != 26 || seen[id] {
			t.Fatalf("id %q: bad length or repeated", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if !sort.StringsAreSorted(ids) {
		t.Errorf("ids of increasing times do not sort: %v", ids[:5])
	}
}

func TestParseOCIPurl(t *testing.T) {
	cases := []struct {
		in           string
		ok           bool
		repo, tag, d string
	}{
		{"pkg:oci/debian@sha256%3A244f?repository_url=docker.io/library/debian&arch=amd64&tag=latest", true, "docker.io/library/debian", "latest", "sha256:244f"},
		{"pkg:oci/hello-wasm@sha256%3A244f?tag=v1", true, "hello-wasm", "v1", "sha256:244f"},
		{"pkg:OCI/static?repository_url=https://gcr.io/distroless/static/#sub", true, "gcr.io/distroless/static", "", ""},
		{"pkg:golang/mygit.com/myorg/myapp@234fd47e", false, "", "", ""},
		{"https://example.com", false, "", "", ""},
	}
	for _, c := range cases {
		p, ok, err := parseOCIPurl(c.in)
		if err != nil || ok != c.ok || p.repository != c.repo || p.tag != c.tag || p.digest != c.d {
			t.Errorf("%s = %+v %v %v", c.in, p, ok, err)
		}
	}
}
