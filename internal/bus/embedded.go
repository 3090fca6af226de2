package bus

import (
	"fmt"
	"net"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedOptions configures the in-process NATS server hoist runs when no
// external NATS URL is configured.
type EmbeddedOptions struct {
	// StoreDir is where JetStream keeps its file storage.
	StoreDir string
	// Host and Port to listen on; Port -1 picks a free port. Host defaults to 127.0.0.1.
	Host string
	Port int
	// DontListen serves in-process connections only.
	DontListen bool
}

// StartEmbedded starts a NATS server with JetStream in this process and
// waits until it accepts connections. It has no authentication, so it
// listens on a loopback address only (or on none, with DontListen).
func StartEmbedded(o EmbeddedOptions) (*server.Server, error) {
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if ip := net.ParseIP(o.Host); !o.DontListen && o.Host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("embedded nats: host %q is not a loopback address", o.Host)
	}
	opts := &server.Options{
		ServerName: "hoist-embedded",
		Host:       o.Host,
		Port:       o.Port,
		DontListen: o.DontListen,
		JetStream:  true,
		StoreDir:   o.StoreDir,
		NoSigs:     true,
		NoLog:      true,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("embedded nats: not ready for connections")
	}
	return s, nil
}
