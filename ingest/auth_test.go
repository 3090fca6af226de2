package ingest

import (
	"net/http"
	"testing"
)

func TestStaticHeader(t *testing.T) {
	cases := []struct {
		name, header, value string
		want                bool
	}{
		{"bare", "", "s3cret", true},
		{"bearer", "", "Bearer s3cret", true},
		{"bearer lower case", "", "bearer s3cret", true},
		{"basic", "", "Basic dXNlcjpzM2NyZXQ=", true}, // user:s3cret
		{"basic wrong password", "", "Basic dXNlcjpzM2NyZXQx", false},
		{"basic not base64", "", "Basic !!", false},
		{"prefix of secret", "", "s3cre", false},
		{"secret with suffix", "", "s3crets", false},
		{"empty", "", "", false},
		{"custom header", "X-Api-Key", "s3cret", true},
	}
	for _, c := range cases {
		name := c.header
		if name == "" {
			name = "Authorization"
		}
		h := http.Header{}
		h.Set(name, c.value)
		if got := staticHeaderOK(h, c.header, newSecret("s3cret")); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if staticHeaderOK(http.Header{"Authorization": {"s3cret"}}, "X-Api-Key", newSecret("s3cret")) {
		t.Error("secret accepted from Authorization when the receiver names another header")
	}
}

func TestEmptySecretNeverMatches(t *testing.T) {
	if equalSecret("", newSecret("")) || equalSecret("x", newSecret("")) || signatureOK(nil, "", nil, "00") {
		t.Error("an empty secret matched")
	}
}
