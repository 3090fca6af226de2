package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func init() {
	register("version", "print hoist's version", func(_ []string, stdout, _ io.Writer) int {
		rev := ""
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					rev = " (" + s.Value + ")"
				}
			}
		}
		fmt.Fprintf(stdout, "hoist %s%s\n", version, rev)
		return 0
	})
}
