package ingest

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// JetStream is the part of a JetStream context ingest uses: its connection
// to publish on, and the push stream to check readiness with.
// jetstream.JetStream satisfies it.
type JetStream interface {
	Conn() *nats.Conn
	Stream(ctx context.Context, name string) (jetstream.Stream, error)
}

// Server serves the webhook receivers, /healthz, /readyz and (optionally) /metrics.
type Server struct {
	js             JetStream
	conns          []*replies            // publish on these connections, in turn
	jss            []jetstream.JetStream // conns' JetStream contexts, for publishLibrary
	next           atomic.Uint32         // the connection of the next delivery
	receivers      map[string]*receiver
	bodyLimit      int64
	bodyMemory     *budget // bounds the body bytes of all deliveries being read
	readTimeout    time.Duration
	publishTimeout time.Duration
	gatherer       prometheus.Gatherer
	log            zerolog.Logger
	metrics        *metrics
	unknown        *receiverSeries // of deliveries to no receiver
	now            func() time.Time
}

// receiver is a configured Receiver with its parser, auth scheme and limiter.
type receiver struct {
	Receiver
	auth    authScheme
	secret  secret
	limiter *rate.Limiter // nil = unlimited
	series  *receiverSeries
}

// New checks cfg and builds a Server that publishes to js (whose push
// stream must exist: a bus.Conn creates it) and registers its metrics on reg
// (nil: not registered). Receivers without authentication are logged as a
// warning here.
func New(cfg Config, js JetStream, reg prometheus.Registerer, log zerolog.Logger) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("ingest config: %w", err)
	}
	if js == nil {
		return nil, fmt.Errorf("ingest: no JetStream")
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	s := &Server{
		js:             js,
		receivers:      map[string]*receiver{},
		bodyLimit:      cfg.BodyLimit,
		publishTimeout: cfg.PublishTimeout,
		gatherer:       cfg.Gatherer,
		log:            log,
		metrics:        m,
		unknown:        m.seriesFor(unknownReceiverLabel, []outcome{outcomeUnknownReceiver}),
		now:            time.Now,
	}
	if len(cfg.Conns) == 0 {
		cfg.Conns = []*nats.Conn{js.Conn()}
	}
	for _, nc := range cfg.Conns {
		js, err := jetstream.New(nc)
		if err != nil {
			return nil, fmt.Errorf("ingest: jetstream: %w", err)
		}
		s.conns, s.jss = append(s.conns, newReplies(nc)), append(s.jss, js)
	}
	if s.bodyLimit == 0 {
		s.bodyLimit = DefaultBodyLimit
	}
	if s.publishTimeout == 0 {
		s.publishTimeout = DefaultPublishTimeout
	}
	if s.readTimeout = cfg.ReadTimeout; s.readTimeout == 0 {
		s.readTimeout = DefaultReadTimeout
	}
	memory := cfg.BodyMemory
	if memory == 0 {
		memory = max(DefaultBodyMemory, 2*s.bodyLimit)
	}
	s.bodyMemory = newBudget(memory, bodyMemoryWait)
	if len(cfg.Receivers) == 0 {
		log.Warn().Msg("ingest has no receivers: every webhook will get 404")
	}
	for _, r := range cfg.Receivers {
		rc := &receiver{Receiver: r, auth: kindAuth[r.Kind], secret: newSecret(r.Secret), series: m.seriesFor(r.Name, outcomes, resultStored, resultDuplicate, resultUntagged)}
		if r.RateLimit > 0 {
			burst := r.RateBurst
			if burst == 0 {
				burst = max(1, int(r.RateLimit))
			}
			rc.limiter = rate.NewLimiter(rate.Limit(r.RateLimit), burst)
		}
		if r.InsecureNoAuth {
			log.Warn().Str("receiver", r.Name).Str("kind", string(r.Kind)).
				Msg("receiver runs without authentication (insecureNoAuth): anyone who can reach it can announce pushes")
		}
		s.receivers[r.Name] = rc
	}
	return s, nil
}

// Handler serves POST /hooks/<receiver>[/<secret>], GET /healthz, GET
// /readyz and, when Config.Gatherer is set, GET /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/hooks/{receiver}", s.serveHook)
	mux.HandleFunc("/hooks/{receiver}/{secret}", s.serveHook)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.serveReady)
	if s.gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{}))
	}
	return mux
}

// Ready reports whether JetStream answers and holds the push stream.
func (s *Server) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := s.js.Stream(ctx, bus.PushStream); err != nil {
		return fmt.Errorf("jetstream stream %s: %w", bus.PushStream, err)
	}
	return nil
}

// serveReady answers 200 when Ready, else 503 with the reason.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.Ready(r.Context()); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintf(w, "not ready: %v\n", err)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}
