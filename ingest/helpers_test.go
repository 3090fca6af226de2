package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/bus/bustest"
	"github.com/hoist-gitops/hoist/internal/testenv"
)

// startJetStream runs an embedded NATS server with file storage in a temp
// dir and returns a JetStream context with hoist's streams created.
func startJetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	return bustest.Start(t).JS
}

// testServer is an ingest Server on 127.0.0.1 with its JetStream, registry and log.
type testServer struct {
	*Server
	js   jetstream.JetStream
	http *httptest.Server
	reg  *prometheus.Registry
	logs *testenv.LogBuffer
}

// newTestServer starts ingest with cfg on a fresh embedded JetStream.
func newTestServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	return newTestServerOn(t, cfg, startJetStream(t))
}

// newTestServerOn starts ingest with cfg publishing to js.
func newTestServerOn(t testing.TB, cfg Config, js jetstream.JetStream) *testServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	if cfg.Gatherer == nil {
		cfg.Gatherer = reg
	}
	logs := &testenv.LogBuffer{}
	s, err := New(cfg, js, reg, zerolog.New(logs).Level(zerolog.DebugLevel))
	if err != nil {
		t.Fatal(err)
	}
	h := httptest.NewServer(s.Handler())
	t.Cleanup(h.Close)
	return &testServer{Server: s, js: js, http: h, reg: reg, logs: logs}
}

// post sends a webhook and returns the status and decoded answer.
func (ts *testServer) post(t testing.TB, path string, body []byte, header http.Header) (int, response) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.http.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := ts.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var r response
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, b)
	}
	return resp.StatusCode, r
}

// storedEvents reads every message of the push stream, in order.
func storedEvents(t testing.TB, js jetstream.JetStream) ([]bus.PushEvent, []*jetstream.RawStreamMsg) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, bus.PushStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var evs []bus.PushEvent
	var msgs []*jetstream.RawStreamMsg
	if info.State.Msgs == 0 {
		return nil, nil
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get msg %d: %v", seq, err)
		}
		var ev bus.PushEvent
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatalf("msg %d: %v", seq, err)
		}
		evs = append(evs, ev)
		msgs = append(msgs, m)
	}
	return evs, msgs
}

// zeroLogger discards logs.
func zeroLogger() zerolog.Logger { return zerolog.Nop() }

// zeroLoggerTo logs JSON to w.
func zeroLoggerTo(w io.Writer) zerolog.Logger { return zerolog.New(w) }

// counterValue reads a counter with labels receiver and outcome/result from reg.
func counterValue(t testing.TB, reg *prometheus.Registry, name, receiver, second string) float64 {
	t.Helper()
	for _, label := range []string{"outcome", "result"} {
		if v, ok := testenv.MetricValue(t, reg, name, map[string]string{"receiver": receiver, label: second}); ok {
			return v
		}
	}
	return 0
}
