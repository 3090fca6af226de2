package main

import "io"

func init() {
	register("match", "run the matcher alone, against nats.url", func(args []string, stdout, stderr io.Writer) int {
		return runService("match", stages{match: true}, args, stdout, stderr)
	})
}
