package svc

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

const ns = "hoist"

func metrics(log zerolog.Logger) {
	prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "svc", Name: "things_total",
		Help: "Things " + "done.",
	}, []string{"repo", "outcome"})
	prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "hoist", Name: "wait_seconds"})
	prometheus.NewDesc("hoist_backlog_messages", "Messages waiting.", []string{"stream"}, nil)
	prometheus.NewDesc(ns+"_errors_total", "Errors.", nil, nil)
	log.Info().Str("event_id", "x").Int("count", 1).Err(nil).Msg("done")
}

func flags(fl interface {
	Bool(string, bool, string) *bool
}) {
	fl.Bool("write", false, "a flag, not a log field")
}
