package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/config"
	"github.com/hoist-gitops/hoist/internal/redact"
)

func init() {
	register("hold", "list the sites held after a person's rollback, or release one (against a running deployment's NATS)", runHold)
}

// holdTimeout bounds a hold command's whole conversation with NATS.
const holdTimeout = 30 * time.Second

func runHold(args []string, stdout, stderr io.Writer) int {
	usage := func(w io.Writer) {
		fmt.Fprintln(w, "usage: hoist hold list [--config hoist.yaml] [--all] [--output table|json]")
		fmt.Fprintln(w, "       hoist hold release [--config hoist.yaml] [--branch B] [--file F] REPO RESOURCE CONTAINER")
		fmt.Fprintln(w, "\nA site a person set back to an older tag than hoist wrote there is held: tags up to the")
		fmt.Fprintln(w, "one rolled back from are not written again until a newer one is pushed. list shows the")
		fmt.Fprintln(w, "held sites (--all: every site hoist wrote); release forgets a site's hold. Both talk to the")
		fmt.Fprintln(w, "NATS server that nats.* of --config names (hoist serve's embedded one only with nats.listen).")
	}
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return 0
	case "list":
		return runHoldList(args[1:], stdout, stderr)
	case "release":
		return runHoldRelease(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "hoist hold: unknown subcommand %q (list or release)\n", args[0])
	return 2
}

func runHoldList(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("hoist hold list", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := fl.String("config", defaultConfigPath, "configuration file (its nats section)")
	all := fl.Bool("all", false, "list every site hoist wrote, held or not")
	output := fl.String("output", "table", "output format: table or json")
	pos, err := parseArgs(fl, args)
	if err != nil {
		return parseFailed(err)
	}
	if len(pos) > 0 || (*output != "table" && *output != "json") {
		fmt.Fprintln(stderr, "usage: hoist hold list [--config hoist.yaml] [--all] [--output table|json]")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), holdTimeout)
	defer cancel()
	holds, closeBus, err := openHoldsFromConfig(ctx, *cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "hoist hold list: %v\n", err)
		return 1
	}
	defer closeBus()
	recs, err := holds.List(ctx, *all)
	if err != nil {
		fmt.Fprintf(stderr, "hoist hold list: %v\n", err)
		return 1
	}
	if *output == "json" {
		if recs == nil {
			recs = []bus.SiteRecord{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(recs); err != nil {
			fmt.Fprintf(stderr, "hoist hold list: %v\n", err)
			return 1
		}
		return 0
	}
	writeHoldsTable(stdout, recs)
	return 0
}

// writeHoldsTable lists site records for people, one line each.
func writeHoldsTable(w io.Writer, recs []bus.SiteRecord) {
	if len(recs) == 0 {
		fmt.Fprintln(w, "no site is held")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REPO\tBRANCH\tFILE\tRESOURCE\tCONTAINER\tWRITTEN\tREADS\tSTATE")
	for _, r := range recs {
		reads, state := r.Written, "written "+r.WrittenAt.UTC().Format(time.RFC3339)
		if r.Held {
			reads = r.RolledBackTo
			state = "held since " + r.HeldSince.UTC().Format(time.RFC3339) + ": tags up to " + r.Written + " are not applied again"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Repo, r.Branch, r.File, r.Resource, r.Container, r.Written, reads, state)
	}
	tw.Flush()
}

func runHoldRelease(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("hoist hold release", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := fl.String("config", defaultConfigPath, "configuration file (its nats section)")
	branch := fl.String("branch", "", "the branch, when the repository's site is held on several")
	file := fl.String("file", "", "the file, when the resource is held in several")
	pos, err := parseArgs(fl, args)
	if err != nil {
		return parseFailed(err)
	}
	if len(pos) != 3 {
		fmt.Fprintln(stderr, "usage: hoist hold release [--config hoist.yaml] [--branch B] [--file F] REPO RESOURCE CONTAINER")
		fmt.Fprintln(stderr, "(RESOURCE as hoist hold list shows it, e.g. apps:helmrelease/web)")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), holdTimeout)
	defer cancel()
	holds, closeBus, err := openHoldsFromConfig(ctx, *cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "hoist hold release: %v\n", err)
		return 1
	}
	defer closeBus()
	recs, err := holds.List(ctx, false)
	if err != nil {
		fmt.Fprintf(stderr, "hoist hold release: %v\n", err)
		return 1
	}
	var match []bus.SiteRecord
	for _, r := range recs {
		if r.Repo == pos[0] && r.Resource == pos[1] && r.Container == pos[2] &&
			(*branch == "" || r.Branch == *branch) && (*file == "" || r.File == *file) {
			match = append(match, r)
		}
	}
	switch len(match) {
	case 0:
		fmt.Fprintf(stderr, "hoist hold release: no held site %s %s %s (hoist hold list shows the held ones)\n", pos[0], pos[1], pos[2])
		return 1
	case 1:
	default:
		fmt.Fprintf(stderr, "hoist hold release: %d held sites match; name the one with --branch and --file:\n", len(match))
		writeHoldsTable(stderr, match)
		return 1
	}
	if err := holds.Release(ctx, match[0].Site); err != nil {
		fmt.Fprintf(stderr, "hoist hold release: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "released %s %s %s %s %s: its next push is decided as usual\n", match[0].Repo, match[0].Branch, match[0].File, match[0].Resource, match[0].Container)
	return 0
}

// openHoldsFromConfig connects to the NATS server the configuration names
// (hoist serve's embedded one through nats.listen) and opens the holds.
func openHoldsFromConfig(ctx context.Context, path string) (*bus.Holds, func(), error) {
	_, h, closeBus, _, err := openBusFromConfig(ctx, path)
	return h, closeBus, err
}

// openBusFromConfig connects as openHoldsFromConfig does and also returns
// the configuration and the buckets of the JetStream context.
func openBusFromConfig(ctx context.Context, path string) (*config.Config, *bus.Holds, func(), jetstream.KeyValueManager, error) {
	cfg, problems := loadConfig(path, config.StageMatch)
	if len(problems) > 0 {
		return nil, nil, nil, nil, problems
	}
	n := cfg.NATS
	url := n.URL
	if url == "" {
		if n.Listen == "" {
			return nil, nil, nil, nil, fmt.Errorf("%s: nats.url is empty and the embedded server does not listen (set nats.listen to reach hoist serve's NATS)", path)
		}
		url = "nats://" + n.Listen
	}
	conn, err := bus.Connect(ctx, bus.Options{URL: url, Name: "hoist-cli", Replicas: n.Replicas, Auth: natsAuth(n), Log: zerolog.Nop()})
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("connect to NATS: %s", redact.Text(err.Error())) // never a password
	}
	h, err := bus.OpenHolds(ctx, conn.JS)
	if err != nil {
		conn.Close()
		return nil, nil, nil, nil, err
	}
	return cfg, h, conn.Close, conn.JS, nil
}
