package main

import "io"

func init() {
	register("ingest", "run the webhook receivers alone, against nats.url", func(args []string, stdout, stderr io.Writer) int {
		return runService("ingest", stages{ingest: true}, args, stdout, stderr)
	})
}
