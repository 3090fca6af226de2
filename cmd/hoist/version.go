package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=..." (make build
// takes it from `git describe --tags`, so a release tag v1.2.3 builds version v1.2.3).
var version = "dev"

// commit is the git commit built from, set by make build with -ldflags
// "-X main.commit=..."; when empty, the revision the Go toolchain stamped is used.
var commit = ""

// buildInfo is what `hoist version` reports: enough to tell which source built
// a binary and with which Go.
type buildInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit"`
	Modified bool   `json:"modified"`
	Date     string `json:"date"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// currentBuild reads the version stamped by the linker and the VCS settings the
// Go toolchain records in the binary.
func currentBuild() buildInfo {
	b := buildInfo{Version: version, Commit: commit, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				b.Date = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	return b
}

func init() {
	register("version", "print hoist's version, the commit it was built from and its Go version", runVersion)
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hoist version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	output := fs.String("output", "text", "text or json")
	if err := fs.Parse(args); err != nil {
		return parseFailed(err)
	}
	if fs.NArg() > 0 || (*output != "text" && *output != "json") {
		fmt.Fprintln(stderr, "usage: hoist version [--output text|json]")
		return 2
	}
	b := currentBuild()
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(b); err != nil {
			return 1
		}
		return 0
	}
	rev := orUnknown(b.Commit)
	if b.Modified {
		rev += " (modified)"
	}
	fmt.Fprintf(stdout, "hoist %s\ncommit  %s\nbuilt   %s\ngo      %s %s\n", b.Version, rev, orUnknown(b.Date), b.Go, b.Platform)
	return 0
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
