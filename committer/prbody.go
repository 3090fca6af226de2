package committer

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// prChange is one change a pull request carries, as its body records it
// (machine-readable, so the next update of the same pull request keeps
// the changes of earlier batches).
type prChange struct {
	File      string    `json:"file"`
	Resource  string    `json:"resource"`
	Container string    `json:"container"`
	Image     string    `json:"image"`
	Old       string    `json:"old"`
	New       string    `json:"new"`
	Tag       string    `json:"tag"`
	Digest    string    `json:"digest,omitempty"`
	EventIDs  []string  `json:"eventIds,omitempty"`
	PushedAt  time.Time `json:"pushedAt,omitzero"`
}

// site is the site the change is for, in the pull request's repository branch.
func (c prChange) site() bus.Site {
	return bus.Site{File: c.File, Resource: c.Resource, Container: c.Container}
}

// stateRE finds the record of changes hoist keeps in a pull request's body.
var stateRE = regexp.MustCompile(`(?s)<!-- hoist:changes (.*?) -->`)

// bodyChanges reads the changes recorded in a body hoist wrote; nil when
// there is no record (a body a person replaced).
func bodyChanges(body string) []prChange {
	m := stateRE.FindStringSubmatch(body)
	if m == nil {
		return nil
	}
	var out []prChange
	if json.Unmarshal([]byte(m[1]), &out) != nil {
		return nil
	}
	return out
}

// isHoistBody reports whether hoist wrote the body (its record is there).
func isHoistBody(body string) bool { return stateRE.MatchString(body) }

// mergeChanges adds the batch's rewrites to the changes a pull request
// already carries: a newer change of a site replaces the earlier one but
// keeps its Old (the value on the tracked branch), and its event ids.
func mergeChanges(prev []prChange, rws []bus.Rewrite) []prChange {
	bySite := map[bus.Site]int{}
	out := append([]prChange(nil), prev...)
	for i, c := range out {
		bySite[c.site()] = i
	}
	for _, rw := range rws {
		c := prChange{File: rw.File, Resource: rw.Resource, Container: rw.Container, Image: rw.Image,
			Old: rw.Old, New: rw.New, Tag: rw.Tag, Digest: rw.Digest, EventIDs: rw.EventIDs, PushedAt: rw.PushedAt}
		i, ok := bySite[c.site()]
		if !ok {
			bySite[c.site()] = len(out)
			out = append(out, c)
			continue
		}
		old := out[i]
		if old.New == c.New {
			c.EventIDs = unionIDs(old.EventIDs, c.EventIDs)
		}
		c.Old = old.Old
		out[i] = c
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].site().Compare(out[j].site()) < 0 })
	return out
}

func unionIDs(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range append(append([]string(nil), a...), b...) {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// titleData is what the title template sees for changes on prBranch.
func titleData(repo, branch, prBranch string, cs []prChange) TitleData {
	d := TitleData{Repo: repo, Branch: branch, PRBranch: prBranch}
	images, tags := map[string]bool{}, map[string]bool{}
	for _, c := range cs {
		d.Changes = append(d.Changes, Change{File: c.File, Resource: c.Resource, Container: c.Container, Image: c.Image,
			Old: c.Old, New: c.New, Tag: c.Tag, Digest: c.Digest, EventIDs: c.EventIDs})
		images[c.Image], tags[c.Tag] = true, true
	}
	if len(images) == 1 && len(tags) == 1 && len(cs) > 0 {
		d.Image, d.Tag = cs[0].Image, cs[0].Tag
	}
	return d
}

// maxBodyRunes is the longest body hoist writes: GitHub refuses a pull
// request body beyond 65,536 characters (GitLab's limit is higher, Gitea
// has none); a little is left for what a forge adds.
const maxBodyRunes = 65000

// renderBody is a pull request's description: every change (file,
// resource, container, old → new, digest, event ids), the checks hoist
// made, and the record of the changes for the next update. A pull request
// of so many changes that this would not fit maxBodyRunes lists as many
// rows as fit and says how many more there are; the record then holds no
// changes (the next update lists its own batch, the commits hold the rest)
// but still marks the body as hoist's.
func renderBody(branch, prBranch string, cs []prChange) string {
	body := bodyText(branch, prBranch, cs, len(cs), true)
	if len([]rune(body)) <= maxBodyRunes {
		return body
	}
	for rows := len(cs) / 2; ; rows /= 2 {
		body = bodyText(branch, prBranch, cs, rows, false)
		if len([]rune(body)) <= maxBodyRunes || rows == 0 {
			return body
		}
	}
}

// bodyText renders the first rows changes of cs, and the record of all of
// them when record is set.
func bodyText(branch, prBranch string, cs []prChange, rows int, record bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "hoist proposes these image updates for `%s`.\n\n", branch)
	b.WriteString("| File | Resource | Container | Old → New | Digest | Events |\n|---|---|---|---|---|---|\n")
	var ids []string
	for _, c := range cs[:rows] {
		digest := c.Digest
		if digest == "" {
			digest = "—"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | `%s` | `%s` → `%s` | %s | %s |\n",
			cell(c.File), cell(c.Resource), cell(c.Container), cell(c.Old), cell(c.New), cell(digest), cell(strings.Join(c.EventIDs, ", ")))
		ids = unionIDs(ids, c.EventIDs)
	}
	if rows < len(cs) {
		fmt.Fprintf(&b, "\n… and %d more changes, in the commits of `%s`.\n", len(cs)-rows, prBranch)
	}
	b.WriteString("\n### Checks\n\n")
	fmt.Fprintf(&b, "- Re-checked at the head of `%s` and of `%s` before each push: every site still exists, "+
		"reads the same image, is automated, not locked or ignored, the tag matches the site's filter and is newer than the tag there.\n", branch, prBranch)
	seen := map[string]bool{}
	for _, c := range cs[:rows] {
		key := c.Image + ":" + c.Tag + "@" + c.Digest
		if seen[key] {
			continue
		}
		seen[key] = true
		if !c.PushedAt.IsZero() {
			fmt.Fprintf(&b, "- `%s:%s` pushed to the registry at %s.\n", cell(c.Image), cell(c.Tag), c.PushedAt.UTC().Format(time.RFC3339))
		}
		if c.Digest != "" {
			fmt.Fprintf(&b, "- `%s:%s` pinned to the pushed digest `%s`.\n", cell(c.Image), cell(c.Tag), cell(c.Digest))
		}
	}
	b.WriteString("- Registry verification and signature: not recorded by this version of hoist.\n")
	if len(ids) > 0 {
		fmt.Fprintf(&b, "\n%s: %s\n", EventIDsTrailer, strings.Join(ids, ", "))
	}
	// The record without the changes ("null") still marks the body as hoist's.
	rec := []byte("null")
	if record {
		rec, _ = json.Marshal(cs)
	}
	fmt.Fprintf(&b, "\n<!-- hoist:changes %s -->\n", rec)
	return b.String()
}

// cell keeps a value from breaking a Markdown table or code span.
func cell(s string) string {
	return strings.NewReplacer("|", "\\|", "`", "'", "\n", " ", "\r", " ").Replace(s)
}
