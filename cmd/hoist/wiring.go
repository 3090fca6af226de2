package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/committer"
	"github.com/hoist-gitops/hoist/ingest"
	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/config"
	"github.com/hoist-gitops/hoist/internal/redact"
	"github.com/hoist-gitops/hoist/matcher"
)

// stages says which of hoist's stages a service command runs.
type stages struct {
	ingest, match, commit bool
	// embedded allows an in-process NATS server when nats.url is empty.
	embedded bool
}

// config is the set of stages whose sections of hoist.yaml are resolved and checked.
func (st stages) config() config.Stages {
	var s config.Stages
	if st.ingest {
		s |= config.StageIngest
	}
	if st.match {
		s |= config.StageMatch
	}
	if st.commit {
		s |= config.StageCommit
	}
	return s
}

// shutdownTimeout bounds how long in-flight webhooks get to finish.
const shutdownTimeout = 15 * time.Second

// Every connection to the HTTP server is bounded in time: its headers, the
// whole request (ingest cuts a webhook's body off sooner, at its read
// timeout), and an idle keep-alive connection (registries' HTTP clients
// drop theirs at about that age).
const (
	httpHeaderTimeout  = 10 * time.Second
	httpRequestTimeout = 30 * time.Second
	httpIdleTimeout    = 90 * time.Second
)

// runService is the body of serve, ingest, match and commit: load the
// config, connect to NATS (or start the embedded server), run the stages
// and the HTTP server until SIGTERM or SIGINT, then shut down in pipeline
// order: stop taking webhooks, let the matcher finish the pushes it holds,
// let the committer finish its push or hand its batches back, close NATS.
func runService(name string, st stages, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hoist "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", defaultConfigPath, "configuration file")
	what := "/metrics, /healthz and /readyz"
	if st.ingest {
		what = "webhooks (/hooks/...), " + what
	}
	listen := fs.String("listen", "", "address for "+what+" (overrides listen in the config)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: hoist %s [--config hoist.yaml] [--listen ADDR]\n\n%s.\n\nflags:\n", name, commands[name].summary)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return parseFailed(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hoist %s: unexpected arguments %q\n", name, fs.Args())
		return 2
	}
	cfg, problems := loadConfig(*cfgPath, st.config())
	if len(problems) > 0 {
		fmt.Fprintln(stderr, problems.Error())
		return 1
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	log := newLogger(stderr, cfg.Log.Level).With().Str("service", name).Logger()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serveStages(ctx, name, st, cfg, log); err != nil {
		// Libraries quote the URLs they were given, passwords and all.
		log.Error().Str("error", redact.Text(err.Error())).Msg("hoist " + name + " failed")
		return 1
	}
	return 0
}

// newLogger is zerolog JSON on w at the configured level.
func newLogger(w io.Writer, level string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

// serveStages runs the chosen stages until ctx is cancelled or one fails.
// The HTTP server starts first: while NATS is waited for, /healthz answers
// (the process is alive), /readyz says what NATS is doing and webhooks are
// answered 503, so registries retry.
func serveStages(ctx context.Context, name string, st stages, cfg *config.Config, log zerolog.Logger) error {
	return serveStagesOn(ctx, name, st, cfg, log, nil)
}

// serveStagesOn is serveStages serving HTTP on ln, a listener the caller
// bound (tests bind 127.0.0.1:0 and so never race another process for a
// port); a nil ln listens on cfg.Listen.
func serveStagesOn(ctx context.Context, name string, st stages, cfg *config.Config, log zerolog.Logger, ln net.Listener) error {
	reg := prometheus.NewRegistry()
	ready := &readyGauge{}
	if err := registerProcessMetrics(reg, ready); err != nil {
		return err
	}
	backlog, err := registerBacklogMetrics(reg, st, cfg)
	if err != nil {
		return err
	}

	// One process per data directory: the embedded server's store is
	// locked before the server opens it, the committer's before it clones.
	locks := dirLocks{}
	defer locks.release()
	if st.embedded && cfg.NATS.URL == "" {
		if err := locks.lock(cfg.NATS.DataDir); err != nil {
			return err
		}
	}
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return fmt.Errorf("listen %s: %w", cfg.Listen, err)
		}
	}
	var root swapHandler
	waiting := &natsWait{since: time.Now()}
	var startingHooks http.Handler
	if st.ingest {
		startingHooks = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "starting: waiting for NATS", http.StatusServiceUnavailable)
		})
	}
	root.set(serviceMux(reg, startingHooks, []readiness{{"nats", waiting.check}}))
	ready.set([]readiness{{"nats", waiting.check}})
	srv := &http.Server{Handler: &root, ReadHeaderTimeout: httpHeaderTimeout, ReadTimeout: httpRequestTimeout, IdleTimeout: httpIdleTimeout}
	failed := make(chan error, 3)
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			failed <- fmt.Errorf("http: %w", err)
		}
	}()
	shutdownHTTP := func() {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			log.Warn().Err(err).Msg("webhooks still in flight at the shutdown deadline")
		}
	}

	conn, embedded, err := connectBus(ctx, name, st, cfg, log, waiting.retry)
	if err != nil {
		shutdownHTTP()
		if ctx.Err() != nil {
			log.Info().Msg("hoist " + name + " stopped while waiting for NATS")
			return nil
		}
		return err
	}
	defer func() {
		conn.Close()
		if embedded != nil {
			embedded.Shutdown()
			embedded.WaitForShutdown()
		}
	}()

	backlog.Attach(conn)
	checks := []readiness{{"nats", conn.Ready}}
	var hooks http.Handler
	if st.ingest {
		icfg := ingestConfig(cfg)
		if icfg.Conns, err = conn.Publishers(); err != nil {
			shutdownHTTP()
			return err
		}
		defer func() { // before the embedded server stops
			for _, nc := range icfg.Conns {
				bus.Drain(nc)
			}
		}()
		ing, err := ingest.New(icfg, conn.JS, reg, log.With().Str("component", "ingest").Logger())
		if err != nil {
			shutdownHTTP()
			return err
		}
		hooks = ing.Handler()
		checks = append(checks, readiness{"ingest", ing.Ready})
	}
	var (
		mat *matcher.Service
		com *committer.Committer
	)
	notifier, err := startNotify(st, cfg, reg, log)
	if err != nil {
		shutdownHTTP()
		return err
	}
	defer stopNotify(notifier) // after the stages stopped: their last events are sent
	mcfg, ccfg := matcherConfig(cfg), committerConfig(cfg)
	withNotifier(notifier, &mcfg, &ccfg)
	if (st.match || st.commit) && len(cfg.Repositories) == 0 {
		log.Warn().Msg("no repositories configured: nothing will be matched or committed")
	} else {
		if st.match {
			if mcfg, err = withRegistry(mcfg, cfg); err != nil {
				shutdownHTTP()
				return err
			}
			if mat, err = matcher.New(mcfg, conn.JS, reg, log); err != nil {
				shutdownHTTP()
				return err
			}
			checks = append(checks, readiness{"matcher", mat.Readiness})
		}
		if st.commit {
			if err := locks.lock(cfg.DataDir); err != nil {
				shutdownHTTP()
				return err
			}
			if com, err = committer.New(ccfg, conn.JS, reg, log); err != nil {
				shutdownHTTP()
				return err
			}
			checks = append(checks, readiness{"committer", boolReady(com.Ready, "repositories not cloned yet")})
		}
	}
	root.set(serviceMux(reg, hooks, checks))
	ready.set(checks)
	matDone := runStage(mat != nil, failed, "matcher", func(ctx context.Context) error { return mat.Run(ctx) })
	comDone := runStage(com != nil, failed, "committer", func(ctx context.Context) error { return com.Run(ctx) })
	started := log.Info().Str("listen", ln.Addr().String()).Str("version", version).Bool("embedded_nats", embedded != nil)
	if embedded == nil {
		started = started.Str("nats_url", redact.URL(cfg.NATS.URL)) // never a password in a log
	}
	started.Int("receivers", len(cfg.Receivers)).Int("repositories", len(cfg.Repositories)).Msg("hoist " + name + " started")

	var runErr error
	select {
	case <-ctx.Done():
		log.Info().Msg("shutting down: no new webhooks; finishing in-flight work")
	case runErr = <-failed:
	}
	shutdownHTTP()
	matDone()
	comDone()
	log.Info().Msg("hoist " + name + " stopped")
	return runErr
}

// serviceMux is the HTTP API of a service: webhooks (when hooks is set),
// metrics, health and readiness.
func serviceMux(reg *prometheus.Registry, hooks http.Handler, checks []readiness) *http.ServeMux {
	mux := http.NewServeMux()
	if hooks != nil {
		mux.Handle("/hooks/", hooks)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("GET /readyz", readyHandler(checks))
	return mux
}

// swapHandler serves with the handler set last: the start-up one while
// NATS is waited for, then the service's own.
type swapHandler struct{ h atomic.Pointer[http.ServeMux] }

func (s *swapHandler) set(m *http.ServeMux) { s.h.Store(m) }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.Load().ServeHTTP(w, r) }

// natsWait is the readiness of a service still waiting for NATS at start.
type natsWait struct {
	since time.Time
	mu    sync.Mutex
	last  error
}

// retry records a failed connection attempt (bus.Options.OnRetry).
func (n *natsWait) retry(err error, _ time.Duration) {
	n.mu.Lock()
	n.last = err
	n.mu.Unlock()
}

func (n *natsWait) check(context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	msg := "connecting since " + n.since.UTC().Format(time.RFC3339)
	if n.last != nil {
		msg += " (last attempt: " + n.last.Error() + ")"
	}
	return errors.New(msg)
}

// runStage starts a stage's Run in a goroutine and returns a function that
// cancels it and waits for it to return. A stage that returns an error
// before it is cancelled reports it on failed.
func runStage(enabled bool, failed chan<- error, name string, run func(context.Context) error) func() {
	if !enabled {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := run(ctx); err != nil && ctx.Err() == nil {
			failed <- fmt.Errorf("%s: %w", name, err)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// connectBus starts the embedded NATS server when the config names none
// (only where the command allows it) and connects to the bus. An external
// server is waited for (onRetry hears of each failed attempt) until ctx ends.
func connectBus(ctx context.Context, name string, st stages, cfg *config.Config, log zerolog.Logger, onRetry func(error, time.Duration)) (*bus.Conn, *server.Server, error) {
	n := cfg.NATS
	if n.URL != "" {
		conn, err := bus.Connect(ctx, bus.Options{
			URL:      n.URL,
			Name:     "hoist-" + name,
			Replicas: n.Replicas,
			Auth:     natsAuth(n),
			Log:      log.With().Str("component", "nats").Logger(),
			OnRetry:  onRetry,
		})
		return conn, nil, err
	}
	if !st.embedded {
		return nil, nil, fmt.Errorf("nats.url is empty: hoist %s runs against an external NATS server (hoist serve runs an embedded one)", name)
	}
	eo := bus.EmbeddedOptions{StoreDir: n.DataDir, DontListen: true}
	if n.Listen != "" {
		host, port, _ := net.SplitHostPort(n.Listen)
		p, _ := strconv.Atoi(port)
		eo = bus.EmbeddedOptions{StoreDir: n.DataDir, Host: host, Port: p}
	}
	if err := os.MkdirAll(n.DataDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("nats.dataDir: %w", err)
	}
	s, err := bus.StartEmbedded(eo)
	if err != nil {
		return nil, nil, err
	}
	conn, err := bus.ConnectEmbedded(ctx, s, "hoist-"+name)
	if err != nil {
		s.Shutdown()
		return nil, nil, err
	}
	conn.SetLog(log.With().Str("component", "nats").Logger())
	ev := log.Info().Str("data_dir", n.DataDir)
	if n.Listen != "" {
		ev = ev.Str("nats_url", s.ClientURL())
	}
	ev.Msg("embedded NATS server started")
	return conn, s, nil
}

// natsAuth is how the config says hoist authenticates to an external NATS;
// config has already read passwordFile and tokenFile into Password and Token.
func natsAuth(n config.NATS) bus.Auth {
	return bus.Auth{
		User:         n.User,
		Password:     n.Password,
		Token:        n.Token,
		CredsFile:    n.CredsFile,
		NkeySeedFile: n.NkeySeedFile,
		TLS:          bus.TLS{CAFile: n.TLS.CAFile, CertFile: n.TLS.CertFile, KeyFile: n.TLS.KeyFile},
	}
}

// readiness is one named check of /readyz.
type readiness struct {
	name  string
	check func(context.Context) error
}

func boolReady(ready func() bool, why string) func(context.Context) error {
	return func(context.Context) error {
		if !ready() {
			return errors.New(why)
		}
		return nil
	}
}

// readyHandler answers 200 when every check passes, else 503 naming those that fail.
func readyHandler(checks []readiness) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		var bad []string
		for _, c := range checks {
			if err := c.check(ctx); err != nil {
				bad = append(bad, c.name+": "+err.Error())
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if len(bad) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready:\n"+strings.Join(bad, "\n"))
			return
		}
		fmt.Fprintln(w, "ok")
	})
}
