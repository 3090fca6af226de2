package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hoist-gitops/hoist/internal/config"
	"github.com/hoist-gitops/hoist/internal/redact"
)

func init() {
	register("config", "check a configuration file: hoist config check [--config hoist.yaml] [--stage ingest|match|commit] [--output json]", runConfig)
}

// stageFlag collects --stage values: repeatable, each one name or a comma list.
type stageFlag []string

func (f *stageFlag) String() string     { return strings.Join(*f, ",") }
func (f *stageFlag) Set(v string) error { *f = append(*f, v); return nil }

// defaultConfigPath is the configuration file of every command's --config flag.
const defaultConfigPath = "hoist.yaml"

func runConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: hoist config check [--config hoist.yaml] [--stage ingest|match|commit]... [--output text|json]")
		return 2
	}
	fs := flag.NewFlagSet("hoist config check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", defaultConfigPath, "configuration file")
	output := fs.String("output", "text", "text or json")
	var stageNames stageFlag
	fs.Var(&stageNames, "stage", "check only what this stage uses: ingest, match or commit (repeatable, or a comma list; default: all)")
	if err := fs.Parse(args[1:]); err != nil {
		return parseFailed(err)
	}
	st, err := config.ParseStages(stageNames)
	if err != nil {
		fmt.Fprintf(stderr, "hoist config check: --stage: %v\n", err)
		return 2
	}
	if fs.NArg() == 1 && !flagSet(fs, "config") { // hoist config check FILE
		*path = fs.Arg(0)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hoist config check: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *output != "text" && *output != "json" {
		fmt.Fprintf(stderr, "hoist config check: --output must be text or json, not %q\n", *output)
		return 2
	}
	c, problems := loadConfig(*path, st)
	if *output == "json" {
		type item struct {
			File    string `json:"file"`
			Line    int    `json:"line"`
			Key     string `json:"key,omitempty"`
			Message string `json:"message"`
		}
		items := []item{}
		for _, p := range problems {
			items = append(items, item{p.File, p.Line, p.Key, p.Message})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(items); err != nil {
			return 1
		}
	} else {
		for _, p := range problems {
			fmt.Fprintln(stdout, p.String())
		}
		if len(problems) == 0 {
			fmt.Fprintf(stdout, "%s: ok%s (%s, %s, %s)\n", *path, forStages(st), countOf(len(c.Receivers), "receiver"),
				countOf(len(c.Repositories), "repository"), natsMode(c))
		}
	}
	if len(problems) > 0 {
		if *output == "text" {
			fmt.Fprintf(stderr, "%s: %s\n", *path, countOf(len(problems), "mistake"))
		}
		return 1
	}
	return 0
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func countOf(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if word == "repository" {
		return fmt.Sprintf("%d repositories", n)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// forStages says which stages were checked when not all were.
func forStages(st config.Stages) string {
	if st == config.AllStages {
		return ""
	}
	return " for " + st.String()
}

func natsMode(c *config.Config) string {
	if c.NATS.URL == "" {
		return "embedded NATS in " + c.NATS.DataDir
	}
	return "NATS at " + redact.URL(c.NATS.URL)
}
