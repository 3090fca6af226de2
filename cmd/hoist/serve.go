package main

import "io"

func init() {
	register("serve", "run everything in one process: ingest, matcher, committer and (when nats.url is empty) an embedded NATS",
		func(args []string, stdout, stderr io.Writer) int {
			return runService("serve", stages{ingest: true, match: true, commit: true, embedded: true}, args, stdout, stderr)
		})
}
