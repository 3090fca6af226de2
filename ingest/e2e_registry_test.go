package ingest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testregistry"
)

// faults sits between the registry and ingest and injects the two failures
// a registry's retry must survive: JetStream unable to store (the push
// stream is deleted before the first push; ingest's real 503 makes this
// wrapper recreate it), and an answer lost after the events were stored
// (ingest stored and said 202; the registry is told 503).
type faults struct {
	next http.Handler
	js   jetstream.JetStream

	mu            sync.Mutex
	recreated     chan struct{} // closed once the stream is back after a real 503
	recreateErr   error
	loseNextAck   bool
	realUnavail   int
	lostAcks      int
	unauthorized  int
	storedAnswers int
}

func (f *faults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	f.next.ServeHTTP(rec, r)
	status := rec.Code
	f.mu.Lock()
	switch status {
	case http.StatusServiceUnavailable:
		f.realUnavail++
		if f.realUnavail == 1 {
			_, f.recreateErr = f.js.CreateStream(r.Context(), bus.PushStreamConfig())
			close(f.recreated)
		}
	case http.StatusAccepted:
		f.storedAnswers++
		if f.loseNextAck {
			f.loseNextAck = false
			f.lostAcks++
			status = http.StatusServiceUnavailable
		}
	case http.StatusUnauthorized:
		f.unauthorized++
	}
	f.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(rec.Body.Bytes())
}

// A real CNCF registry posts its notifications to ingest: a tag, a second
// tag on the same digest, a multi-arch index, a delete. Exactly the three
// tagged pushes (and the closing sentinel) are in JetStream, once each, although
// the first was refused with 503 and the second's 202 was lost.
func TestRealRegistryEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the registry")
	}
	js := startJetStream(t)
	cfg := Config{PublishTimeout: 5 * time.Second, Receivers: []Receiver{{Name: "registry", Kind: KindDistribution, Secret: testSecret, SecretSet: true}}}
	ts := newTestServerOn(t, cfg, js)
	f := &faults{next: ts.Handler(), js: js, recreated: make(chan struct{})}
	front := httptest.NewServer(f)
	defer front.Close()
	reg := testregistry.Start(t, testregistry.Options{
		NotifyURL:     front.URL + "/hooks/registry",
		NotifyHeaders: map[string]string{"Authorization": "Bearer " + testSecret},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// 1. A tag, while JetStream cannot store.
	if err := js.DeleteStream(ctx, bus.PushStream); err != nil {
		t.Fatal(err)
	}
	d1 := reg.PushImage(t, "team/app", "1.0.0")
	select {
	case <-f.recreated:
		f.mu.Lock()
		err := f.recreateErr
		f.mu.Unlock()
		if err != nil {
			t.Fatalf("recreate the push stream: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("ingest never answered 503 while the stream was missing")
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, bus.PushStream, jetstream.ConsumerConfig{
		Durable: "e2e", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 10 * time.Minute, FilterSubject: bus.PushSubjects,
	})
	if err != nil {
		t.Fatal(err)
	}
	next := func(what string) bus.PushEvent {
		t.Helper()
		m, err := cons.Next(jetstream.FetchMaxWait(time.Minute))
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		var ev bus.PushEvent
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		return ev
	}
	expect := func(ev bus.PushEvent, tag, digest string) {
		t.Helper()
		if ev.Registry != reg.Host || ev.Repository != "team/app" || ev.Tag != tag || ev.Digest != digest || ev.Receiver != "registry" || ev.ID == "" {
			t.Fatalf("event %+v, want %s/team/app:%s@%s", ev, reg.Host, tag, digest)
		}
	}
	expect(next("1.0.0"), "1.0.0", d1)

	// 2. A second tag on the same digest, whose 202 is lost on the way back.
	f.mu.Lock()
	f.loseNextAck = true
	f.mu.Unlock()
	reg.Tag(t, "team/app", "1.0.0", "latest")
	expect(next("latest"), "latest", d1)

	// 3. A multi-arch index: untagged children, then the tagged index.
	idx, _ := reg.PushIndex(t, "team/app", "2.0.0", "linux/amd64", "linux/arm64")
	expect(next("2.0.0"), "2.0.0", idx)

	// 4. A delete, then a sentinel: the registry delivers in order, so once
	// the sentinel is stored every earlier notification has been answered.
	reg.Delete(t, "team/app", d1)
	d2 := reg.PushImage(t, "team/app", "sentinel")
	expect(next("sentinel"), "sentinel", d2)

	evs, msgs := storedEvents(t, js)
	want := []string{"1.0.0@" + d1, "latest@" + d1, "2.0.0@" + idx, "sentinel@" + d2}
	if len(evs) != len(want) {
		t.Fatalf("stream holds %d events, want %d: %+v", len(evs), len(want), evs)
	}
	for i, ev := range evs {
		if got := ev.Tag + "@" + ev.Digest; got != want[i] {
			t.Errorf("stored event %d = %s, want %s", i, got, want[i])
		}
		if msgs[i].Header.Get("Nats-Msg-Id") != ev.DedupeID() {
			t.Errorf("event %d stored without its dedupe id", i)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.realUnavail != 1 || f.lostAcks != 1 || f.unauthorized != 0 {
		t.Errorf("faults: %d real 503, %d lost acks, %d 401; want 1, 1, 0", f.realUnavail, f.lostAcks, f.unauthorized)
	}
	if f.storedAnswers != len(want)+1 {
		t.Errorf("ingest answered 202 %d times, want %d (the lost ack was retried)", f.storedAnswers, len(want)+1)
	}
	if got := counterValue(t, ts.reg, "hoist_ingest_events_total", "registry", "duplicate"); got != 1 {
		t.Errorf("duplicate events = %v, want 1 (the retried second tag)", got)
	}
	if got := counterValue(t, ts.reg, "hoist_ingest_events_total", "registry", "untagged"); got < 2 {
		t.Errorf("untagged events = %v, want at least the index's 2 children", got)
	}
}
