//go:build tools

// Package tools pins the project's chosen dependencies in go.mod before every
// stage imports them, so parallel work never races to edit go.mod.
package tools

import (
	_ "github.com/Masterminds/semver/v3"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/gobwas/glob"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "github.com/nats-io/nats.go/jetstream"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/rs/zerolog"
	_ "go.yaml.in/yaml/v3"
)
