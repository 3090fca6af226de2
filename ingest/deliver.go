package ingest

import (
	"errors"
	"mime"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// outcome is what became of a delivery; it is the metrics label and the
// "outcome" of the answer and the log line.
type outcome string

// The outcomes of a delivery, with their status codes.
const (
	outcomeStored          outcome = "stored"                 // 202
	outcomeIgnored         outcome = "ignored"                // 200: understood, nothing to store
	outcomeMalformed       outcome = "malformed"              // 400
	outcomeUnauthorized    outcome = "unauthorized"           // 401
	outcomeUnknownReceiver outcome = "unknown_receiver"       // 404
	outcomeMethod          outcome = "method_not_allowed"     // 405
	outcomeTooLarge        outcome = "too_large"              // 413
	outcomeMediaType       outcome = "unsupported_media_type" // 415
	outcomeRateLimited     outcome = "rate_limited"           // 429
	outcomeTimeout         outcome = "timeout"                // 408: the body was not sent in time
	outcomeUnavailable     outcome = "unavailable"            // 503: JetStream did not store
	outcomeOverloaded      outcome = "overloaded"             // 503: no body memory free in time
)

// outcomes are every outcome above: each receiver's series are made for
// these ahead of time.
var outcomes = []outcome{outcomeStored, outcomeIgnored, outcomeMalformed, outcomeUnauthorized, outcomeUnknownReceiver,
	outcomeMethod, outcomeTooLarge, outcomeMediaType, outcomeRateLimited, outcomeTimeout, outcomeUnavailable, outcomeOverloaded}

// unknownReceiverLabel is the metrics label of deliveries to no receiver,
// so that arbitrary URLs cannot create series.
const unknownReceiverLabel = "_unknown"

// deliveryIDHeaders are the headers registries put their delivery id in.
// Spelt canonically, so that looking them up never rewrites them.
var deliveryIDHeaders = []string{"X-Github-Delivery", "X-Gitea-Delivery", "X-Forgejo-Delivery", "X-Nexus-Webhook-Delivery", "Ce-Id", "X-Request-Id"}

// delivery is the record of one webhook request, for the answer, the log line and the metrics.
type delivery struct {
	start      time.Time
	receiver   string
	series     *receiverSeries // of the receiver, or of deliveries to none
	kind       Kind
	status     int
	outcome    outcome
	err        string
	deliveryID string
	eventIDs   []string        // of the events, as stored (a duplicate's is the earlier copy's)
	notStored  []string        // on 503: the ids of the events not stored
	events     []bus.PushEvent // the tagged events, for the log line
	stored     int             // events JetStream acknowledged (duplicates included)
	duplicates int
	untagged   int
	clamped    int  // push times moved back to the receipt time
	closeConn  bool // answer with Connection: close (the body was not read to its end)
}

// fail records an unsuccessful end of the delivery.
func (d *delivery) fail(status int, o outcome, msg string) {
	d.status, d.outcome, d.err = status, o, msg
}

// response is the JSON body of every answer to a webhook.
type response struct {
	Outcome    outcome  `json:"outcome"`
	Events     int      `json:"events"`
	Duplicates int      `json:"duplicates,omitempty"`
	Untagged   int      `json:"untagged,omitempty"`
	EventIDs   []string `json:"eventIds,omitempty"`
	NotStored  []string `json:"notStored,omitempty"`
	Error      string   `json:"error,omitempty"`
}

// serveHook handles POST /hooks/<receiver>[/<secret>]: route, method,
// content type, size, authentication, rate limit, parse and validate, then
// publish; every step that fails answers with its own status.
func (s *Server) serveHook(w http.ResponseWriter, r *http.Request) {
	d := &delivery{start: s.now(), receiver: r.PathValue("receiver"), series: s.unknown}
	defer s.finish(w, r, d)
	rc := s.receivers[d.receiver]
	pathSecret := r.PathValue("secret")
	if rc == nil || (pathSecret != "" && !rc.auth.takesPathSecret()) {
		d.fail(http.StatusNotFound, outcomeUnknownReceiver, "no such receiver")
		return
	}
	d.series, d.kind = rc.series, rc.Kind
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		d.fail(http.StatusMethodNotAllowed, outcomeMethod, "use POST")
		return
	}
	if !jsonMediaType(r.Header.Get("Content-Type")) {
		d.fail(http.StatusUnsupportedMediaType, outcomeMediaType, "Content-Type must be application/json or application/*+json")
		return
	}
	if r.ContentLength > s.bodyLimit {
		d.fail(http.StatusRequestEntityTooLarge, outcomeTooLarge, "body over the limit")
		return
	}
	// Credentials sent as a header or in the path are checked before a byte
	// of the body is read, so that a client without them costs no body
	// memory; a signature over the body is checked once it is read.
	t := time.Now()
	check := accepted
	if !rc.InsecureNoAuth {
		check = rc.auth.checkHeaders(rc.secret, rc.AuthHeader, r.Header, pathSecret)
	}
	if check == rejected {
		d.fail(http.StatusUnauthorized, outcomeUnauthorized, "bad or missing credentials")
		d.closeConn = r.ContentLength != 0 // its body is never read
		return
	}
	if check == accepted && s.rateLimited(w, rc, d) {
		d.closeConn = r.ContentLength != 0
		return
	}
	tAuth := time.Now()
	authTime := tAuth.Sub(t)
	buf := takeBody()
	defer putBody(buf) // runs before finish, which never reads the body
	// A stalled or trickling body is cut off: the deadline closes the
	// connection's reads (the server's own ReadTimeout may be longer or unset).
	_ = http.NewResponseController(w).SetReadDeadline(tAuth.Add(s.readTimeout))
	err := buf.read(http.MaxBytesReader(w, r.Body, s.bodyLimit), r.ContentLength, s.bodyLimit, s.bodyMemory)
	body := buf.b
	if err != nil {
		d.closeConn = true
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			d.fail(http.StatusRequestEntityTooLarge, outcomeTooLarge, "body over the limit")
		case errors.Is(err, errBodyMemory):
			w.Header().Set("Retry-After", "1")
			d.fail(http.StatusServiceUnavailable, outcomeOverloaded, "reading body: "+err.Error())
		case errors.Is(err, os.ErrDeadlineExceeded):
			d.fail(http.StatusRequestTimeout, outcomeTimeout, "reading body: not sent within the read timeout")
		default:
			d.fail(http.StatusBadRequest, outcomeMalformed, "reading body: "+err.Error())
		}
		return
	}
	t = s.phase(phaseRead, tAuth)
	if check == needsBody {
		if !rc.auth.checkBody(rc.secret, r.Header, body) {
			d.fail(http.StatusUnauthorized, outcomeUnauthorized, "bad or missing credentials")
			return
		}
		if s.rateLimited(w, rc, d) {
			return
		}
		now := time.Now()
		authTime += now.Sub(t)
		t = now
	}
	s.metrics.phases[phaseAuth].Observe(authTime.Seconds())
	evs, err := Events(rc.Kind, Input{Body: body, Header: r.Header, Host: rc.Host})
	if err != nil {
		d.fail(http.StatusBadRequest, outcomeMalformed, err.Error())
		return
	}
	t = s.phase(phaseParse, t)
	d.deliveryID = deliveryID(r.Header, evs)
	tagged, untagged := splitUntagged(evs)
	d.untagged = untagged
	if len(tagged) == 0 {
		d.status, d.outcome = http.StatusOK, outcomeIgnored
		return
	}
	s.stamp(tagged, rc, d)
	d.events = tagged
	// Not tied to the request's context: a registry that hangs up does not
	// cancel storing what it announced, and its retry is then a duplicate.
	stored, dups, err := s.publish(tagged, d.eventIDs)
	s.phase(phasePublish, t)
	d.stored, d.duplicates = stored, dups
	if err != nil {
		d.fail(http.StatusServiceUnavailable, outcomeUnavailable, "cannot store events: "+err.Error())
		d.notStored = d.eventIDs[stored:]
		return
	}
	d.status, d.outcome = http.StatusAccepted, outcomeStored
}

// rateLimited answers 429 when the receiver is over its rate limit. It runs
// after authentication, so an unauthenticated flood cannot use up the
// registry's budget.
func (s *Server) rateLimited(w http.ResponseWriter, rc *receiver, d *delivery) bool {
	if rc.limiter == nil || rc.limiter.Allow() {
		return false
	}
	w.Header().Set("Retry-After", "1")
	d.fail(http.StatusTooManyRequests, outcomeRateLimited, "over the receiver's rate limit")
	return true
}

// maxClockSkew is how far ahead of the receipt time a payload's push time
// may be. A registry's clock may run a little ahead of hoist's, but a push
// time in the future is otherwise impossible, and one far ahead (forged or a
// broken clock) would make every later tag of the repository look older
// than it to glob and regexp sites, which pick the newest push.
const maxClockSkew = time.Minute

// stamp fills in what the server knows of each event: its id, the
// receiver, the receipt time (also the push time when the payload had none,
// or one more than maxClockSkew ahead of it) and the host aliases.
func (s *Server) stamp(evs []bus.PushEvent, rc *receiver, d *delivery) {
	for i := range evs {
		ev := &evs[i]
		ev.ID = newEventID(d.start)
		ev.Receiver = rc.Name
		ev.ReceivedAt = d.start.UTC()
		if ev.PushedAt.IsZero() {
			ev.PushedAt = ev.ReceivedAt
		} else if ev.PushedAt.Sub(ev.ReceivedAt) > maxClockSkew {
			ev.PushedAt = ev.ReceivedAt
			d.clamped++
		}
		if ev.DeliveryID == "" {
			ev.DeliveryID = d.deliveryID
		}
		ev.HostAliases = rc.HostAliases
		d.eventIDs = append(d.eventIDs, ev.ID)
	}
}

// phase observes the time since t in phase p and returns now.
func (s *Server) phase(p phase, t time.Time) time.Time {
	now := time.Now()
	s.metrics.phases[p].Observe(now.Sub(t).Seconds())
	return now
}

// jsonContentType is the Content-Type of every answer, shared so that
// setting it allocates nothing (net/http never writes to header values).
var jsonContentType = []string{"application/json"}

// connectionClose makes net/http close the connection after the answer
// rather than read what is left of an unread body.
var connectionClose = []string{"close"}

// finish answers, logs one line and counts the delivery.
func (s *Server) finish(w http.ResponseWriter, r *http.Request, d *delivery) {
	w.Header()["Content-Type"] = jsonContentType
	if d.closeConn {
		w.Header()["Connection"] = connectionClose
	}
	w.WriteHeader(d.status)
	body, _ := marshalJSON(&response{
		Outcome: d.outcome, Events: d.stored, Duplicates: d.duplicates, Untagged: d.untagged,
		EventIDs: d.eventIDs, NotStored: d.notStored, Error: d.err,
	})
	_, _ = w.Write(body)
	_, _ = w.Write(newline)
	latency := s.now().Sub(d.start)
	d.series.delivered(d.outcome, latency)
	d.series.counted(resultStored, d.stored-d.duplicates)
	d.series.counted(resultDuplicate, d.duplicates)
	d.series.counted(resultUntagged, d.untagged)
	s.logDelivery(r, d, latency)
}

var newline = []byte{'\n'}

// logImages adds the image of each event, host/repository:tag: "image" for
// one event (built on the stack: nearly every delivery has one), "images"
// for several.
func logImages(e *zerolog.Event, evs []bus.PushEvent) *zerolog.Event {
	switch len(evs) {
	case 0:
		return e
	case 1:
		var buf [320]byte
		return e.Bytes("image", appendImage(buf[:0], &evs[0]))
	}
	images := make([]string, len(evs))
	for i := range evs {
		images[i] = string(appendImage(nil, &evs[i]))
	}
	return e.Strs("images", images)
}

// appendImage appends host/repository:tag.
func appendImage(b []byte, ev *bus.PushEvent) []byte {
	b = append(append(append(b, ev.Registry...), '/'), ev.Repository...)
	return append(append(b, ':'), ev.Tag...)
}

// logDelivery writes the delivery's one JSON log line.
func (s *Server) logDelivery(r *http.Request, d *delivery, latency time.Duration) {
	var e *zerolog.Event
	switch {
	case d.status >= 500:
		e = s.log.Error()
	case d.status >= 400:
		e = s.log.Warn()
	default:
		e = s.log.Info()
	}
	e = e.Str("receiver", truncate(d.receiver, 64)).Str("kind", string(d.kind)).
		Str("outcome", string(d.outcome)).Int("status", d.status).
		Int("events", d.stored).Int("duplicates", d.duplicates).Int("untagged", d.untagged).
		Float64("latency_ms", float64(latency.Microseconds())/1000).
		Str("remote", r.RemoteAddr)
	if d.deliveryID != "" {
		e = e.Str("delivery_id", truncate(d.deliveryID, 128))
	}
	if len(d.eventIDs) == 1 {
		e = e.Str("event_id", d.eventIDs[0])
	}
	if len(d.eventIDs) > 0 {
		e = e.Strs("event_ids", d.eventIDs)
	}
	if len(d.notStored) > 0 {
		e = e.Strs("not_stored", d.notStored)
	}
	e = logImages(e, d.events)
	if d.clamped > 0 {
		e = e.Int("pushed_at_clamped", d.clamped)
	}
	if d.err != "" {
		e = e.Str("error", truncate(d.err, 512))
	}
	e.Msg("webhook delivery")
}

// deliveryID is the registry's id for the delivery: a delivery header, else
// the first event's own id.
func deliveryID(h http.Header, evs []bus.PushEvent) string {
	if v := headerOf(h, deliveryIDHeaders...); v != "" {
		return v
	}
	for _, ev := range evs {
		if ev.DeliveryID != "" {
			return ev.DeliveryID
		}
	}
	return ""
}

// jsonMediaType reports whether a Content-Type is JSON: application/json or
// application/*+json (distribution's events types, CloudEvents).
func jsonMediaType(ct string) bool {
	if commonJSONTypes[ct] {
		return true // what registries send, known without parsing
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}

// commonJSONTypes are the Content-Type values registries send, spelt
// exactly; jsonMediaType accepts them without parsing (ParseMediaType
// allocates a parameter map on every call).
var commonJSONTypes = map[string]bool{
	"application/json":                                   true,
	"application/json; charset=utf-8":                    true,
	"application/vnd.docker.distribution.events.v1+json": true,
	"application/vnd.docker.distribution.events.v2+json": true,
	"application/cloudevents+json":                       true,
}

// truncate bounds attacker-chosen strings in logs.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
