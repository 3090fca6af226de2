package main

import "io"

func init() {
	register("commit", "run the committer alone, against nats.url", func(args []string, stdout, stderr io.Writer) int {
		return runService("commit", stages{commit: true}, args, stdout, stderr)
	})
}
