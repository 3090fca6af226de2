package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imageref"
	"github.com/hoist-gitops/hoist/internal/policy"
	"github.com/hoist-gitops/hoist/matcher"
)

func init() {
	register("explain", "say what a push of IMAGE would do to each site (--write: do it)", runExplain)
}

// explainRow is one site in `hoist explain --output json`: the fields docs/cli.md documents.
type explainRow struct {
	File      string `json:"file"`
	Line      int    `json:"line"`
	Resource  string `json:"resource"`
	Container string `json:"container"`
	Current   string `json:"current"`
	New       string `json:"new"`
	Decision  string `json:"decision"`
	Reason    string `json:"reason"`
	// HeldUntil is when a tag held for its minimum age may be used (RFC 3339).
	HeldUntil string `json:"heldUntil,omitempty"`
}

func runExplain(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("hoist explain", flag.ContinueOnError)
	fl.SetOutput(stderr)
	write := fl.Bool("write", false, "write the updates into the files, as the committer would")
	output := fl.String("output", "table", "output format: table or json")
	cfgPath := fl.String("config", "", "a deployment's hoist.yaml: read its images[] rules, and the tags' first-seen times and the holds from its NATS")
	repoName := fl.String("repo", "", "with --config, the configured repository PATH belongs to (needed when it configures several)")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: hoist explain [--write] [--output table|json] [--config hoist.yaml [--repo NAME]] IMAGE [PATH...]")
		fmt.Fprintln(stderr, "\nSays, for every site of IMAGE's repository under PATH (default .), what a push")
		fmt.Fprintln(stderr, "of IMAGE ([host/]path:tag[@digest]) would do. With no push history, the pushed")
		fmt.Fprintln(stderr, "tag counts as the newest for glob and regexp filters.")
		fl.PrintDefaults()
	}
	pos, err := parseArgs(fl, args)
	if err != nil {
		return parseFailed(err)
	}
	if *output != "table" && *output != "json" {
		fmt.Fprintf(stderr, "hoist explain: --output must be table or json, not %q\n", *output)
		return 2
	}
	if len(pos) == 0 {
		fl.Usage()
		return 2
	}
	ref, err := imageref.Parse(pos[0])
	if err == nil && ref.Tag == "" {
		err = fmt.Errorf("image %q has no tag: explain needs [host/]path:tag[@digest]", pos[0])
	}
	if err != nil {
		fmt.Fprintf(stderr, "hoist explain: %v\n", err)
		return 2
	}
	tree, err := loadManifests(pos[1:])
	if err != nil {
		fmt.Fprintf(stderr, "hoist explain: %v\n", err)
		return 1
	}
	defer tree.close()

	ev := bus.PushEvent{Registry: ref.Host, Repository: ref.Path, Tag: ref.Tag, Digest: ref.Digest, PushedAt: time.Now().UTC()}
	var dep *deployment
	var times policy.TagTimes
	if *cfgPath != "" {
		ctx, cancel := context.WithTimeout(context.Background(), holdTimeout)
		dep, err = openDeployment(ctx, *cfgPath, *repoName)
		cancel()
		if err != nil {
			fmt.Fprintf(stderr, "hoist explain: %v\n", err)
			return 1
		}
		defer dep.close()
		times = dep.times
	}
	// The first-seen and hold lookups of all sites share one bound, as a
	// hold command's conversation with NATS does.
	lookups, cancelLookups := context.WithTimeout(context.Background(), holdTimeout)
	defer cancelLookups()
	outcomes := matcher.Match(lookups, tree.idx, ev, times)
	explainGates(lookups, dep, ev, outcomes)
	rows := make([]explainRow, 0, len(outcomes))
	for _, o := range outcomes {
		r := explainRow{
			File: o.Site.File, Line: o.Site.Line, Resource: o.Site.Resource.String(), Container: o.Site.Container,
			Current: o.Decision.Current.String(), Decision: decisionWord(o), Reason: o.Decision.Reason,
		}
		if !o.HeldUntil.IsZero() {
			r.HeldUntil = o.HeldUntil.UTC().Format(time.RFC3339)
		}
		if o.Decision.Update {
			r.Decision, r.New = "update", o.Decision.New.String()
		}
		rows = append(rows, r)
	}

	var written []string
	if *write {
		results, err := writeUpdates(tree, ev, outcomes)
		if err != nil {
			fmt.Fprintf(stderr, "hoist explain: %v\n", err)
			return 1
		}
		// The files were re-checked as the committer would; a dropped
		// rewrite turns its row into a skip with the committer's reason.
		for i, o := range outcomes {
			if res, ok := results[matcher.SiteOf("", "", o.Site)]; ok && !res.Applied {
				rows[i].Decision, rows[i].New, rows[i].Reason = "skip", "", res.Reason
			}
		}
		for f := range results.files() {
			written = append(written, f)
		}
		slices.Sort(written)
	}

	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			fmt.Fprintf(stderr, "hoist explain: %v\n", err)
			return 1
		}
		return 0
	}
	if len(rows) == 0 {
		fmt.Fprintf(stdout, "no image site of %s found\n", ref.Canonical())
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tRESOURCE\tCONTAINER\tCURRENT\tDECISION\tNEW\tREASON")
	updates := 0
	for _, r := range rows {
		n := r.New
		if n == "" {
			n = "-"
		} else {
			updates++
		}
		fmt.Fprintf(tw, "%s:%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.File, r.Line, r.Resource, r.Container, shortDigest(r.Current), r.Decision, shortDigest(n), r.Reason)
	}
	tw.Flush()
	switch {
	case *write:
		fmt.Fprintf(stdout, "\n%s written to %s\n", plural(updates, "update"), plural(len(written), "file"))
		for _, f := range written {
			fmt.Fprintln(stdout, "  "+f)
		}
	default:
		fmt.Fprintf(stdout, "\n%s, %s (run with --write to apply)\n", plural(updates, "update"), plural(len(rows)-updates, "skip"))
	}
	return 0
}

// writeResults are the committer's results by site, and the files changed.
type writeResults map[bus.Site]policy.Result

func (w writeResults) files() map[string]bool {
	out := map[string]bool{}
	for _, r := range w {
		if r.Applied {
			out[r.Rewrite.File] = true
		}
	}
	return out
}

// writeUpdates turns the approved outcomes into rewrites and applies them
// file by file with policy.ApplyRewrites — the committer's own code path, so
// the files read exactly what a commit would make them read.
func writeUpdates(tree *manifestTree, ev bus.PushEvent, outcomes []matcher.Outcome) (writeResults, error) {
	byFile := map[string][]bus.Rewrite{}
	var files []string
	for _, o := range outcomes {
		if !o.Decision.Update {
			continue
		}
		f := o.Site.File
		if _, ok := byFile[f]; !ok {
			files = append(files, f)
		}
		// The matcher's own rewrite, so the files read what a commit of it would make them read.
		byFile[f] = append(byFile[f], matcher.NewRewrite("", "", ev, o))
	}
	out := writeResults{}
	for _, f := range files {
		data, err := tree.read(f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		edited, results, err := policy.ApplyRewrites(context.Background(), f, data, byFile[f], nil) // no history: no lookups
		if err != nil {
			return nil, err
		}
		for _, r := range results {
			out[r.Rewrite.Site()] = r
		}
		if string(edited) != string(data) {
			if err := tree.write(f, edited); err != nil {
				return nil, fmt.Errorf("write %s: %w", f, err)
			}
		}
	}
	return out, nil
}
