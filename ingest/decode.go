package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	fastjson "github.com/goccy/go-json"
)

// fastJSON makes ingest decode webhooks and encode events and answers with
// goccy/go-json rather than encoding/json. It pays: in the paired A/B of
// BENCHMARKS.md's ingest section ("What the hand-written fast paths buy"),
// in-process ingest's CPU per webhook was 1.208 times as high without it
// (median, 30 of 30 rounds) and 1.207 (30 of 30), in two runs of 6 Dec 2026
// whose A/A control's middle 80% lay within 0.958–1.024 and 0.951–1.059.
// Before the bench emptied the stream before each load, it met the criterion
// in 7 of 10 runs (1.02 to 1.25). `make bench` weighs it again each time; only
// that bench and the differential fuzz test (FuzzFastJSONAgrees) turn it off.
var fastJSON = true

// marshalJSON encodes v with goccy/go-json (see fastJSON), whose output is
// encoding/json's (TestEventEncodingMatchesStandardLibrary).
func marshalJSON(v any) ([]byte, error) {
	if fastJSON {
		return fastjson.Marshal(v)
	}
	return json.Marshal(v)
}

// decodeJSON decodes the first JSON value of body into v. Bytes after that
// value are ignored, as Go's json.Decoder does: a real Pub/Sub capture
// carries a stray trailing "}" and is accepted.
//
// goccy/go-json decodes first (see fastJSON). Whatever it rejects is
// decoded again, into a fresh value, by encoding/json, which alone decides
// what is an error and how it reads.
func decodeJSON[T any](body []byte, v *T) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errors.New("empty body")
	}
	if fastJSON && fastjson.Unmarshal(body, v) == nil {
		return nil
	}
	var zero T
	*v = zero
	err := json.Unmarshal(body, v)
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		*v = zero
		err = json.NewDecoder(bytes.NewReader(body)).Decode(v)
	}
	if err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	return nil
}

// stripLineComments drops lines whose first non-blank characters are "//",
// the way Harbor's documentation annotates its CloudEvents sample.
func stripLineComments(body []byte) []byte {
	lines := bytes.Split(body, []byte("\n"))
	out := lines[:0]
	for _, l := range lines {
		if bytes.HasPrefix(bytes.TrimSpace(l), []byte("//")) {
			continue
		}
		out = append(out, l)
	}
	return bytes.Join(out, []byte("\n"))
}

// flexTime decodes whatever a registry calls a time: Unix seconds as an
// integer or a float (1.417566161e+09), a numeric string, or an RFC 3339-like
// string. Anything else, or a zero year, decodes to the zero time (the
// receipt time is used then) instead of failing the delivery.
type flexTime struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler; it never fails.
func (f *flexTime) UnmarshalJSON(b []byte) error {
	f.Time = time.Time{}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return nil
	}
	if b[0] == '"' {
		// Registries' times are plain ASCII; only a string with an escape
		// or anything else in it needs a JSON decoder to read it.
		if s, ok := plainString(b); ok {
			f.Time = parseTime(s)
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return nil
		}
		f.Time = parseTime(s)
		return nil
	}
	f.Time = unixTime(string(b))
	return nil
}

// plainString is the JSON string b when it holds printable ASCII only, no
// escapes: then its bytes are its value.
func plainString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	for _, c := range b[1 : len(b)-1] {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return "", false
		}
	}
	return string(b[1 : len(b)-1]), true
}

// timeLayouts are the string time formats registries send.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999-0700", // Nexus: 2020-04-05T21:49:44.219+0000
	"2006-01-02T15:04:05-0700",
	"2006-01-02 15:04:05.999999999 -0700 MST",
	"2006-01-02T15:04:05.999999999", // no zone: read as UTC
}

// parseTime parses a time string in any of the layouts registries use, or a
// numeric string of Unix seconds; zero when it cannot.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return saneTime(t)
		}
	}
	return unixTime(s)
}

// unixTime reads Unix seconds (integer or float) from s; zero when it cannot.
func unixTime(s string) time.Time {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f > 1e11 {
		return time.Time{}
	}
	sec, frac := math.Modf(f)
	return saneTime(time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC())
}

// saneTime turns placeholder times (GitHub's 0001-01-01) into zero.
func saneTime(t time.Time) time.Time {
	if t.Year() <= 1970 || t.Year() > 9999 {
		return time.Time{}
	}
	return t.UTC()
}

// firstTime returns the first non-zero time.
func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// urlHost returns the host[:port] of an absolute URL, or "" when s is not one.
func urlHost(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Host
}

// splitImageName splits "host/path[:tag][@digest]" leniently into the name
// (host/path) and what follows; no validation, which comes later.
func splitImageName(s string) (name, tag, digest string) {
	name = strings.TrimSpace(s)
	name = strings.TrimPrefix(strings.TrimPrefix(name, "https://"), "http://")
	if i := strings.IndexByte(name, '@'); i >= 0 {
		digest = name[i+1:]
		name = name[:i]
	}
	if i := strings.LastIndexByte(name, ':'); i >= 0 && i > strings.LastIndexByte(name, '/') {
		tag = name[i+1:]
		name = name[:i]
	}
	return name, tag, digest
}
