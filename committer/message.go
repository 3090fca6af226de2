package committer

import (
	"fmt"
	"sort"
	"strings"
	"text/template"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// DefaultMessageTemplate is the commit message of SPEC §6: subject
// "Update images", then one line per change.
const DefaultMessageTemplate = `Update images
{{range .Changes}}
- {{.File}}: {{.Resource}} {{.Container}}: {{.Old}} → {{.New}}{{end}}
`

// EventIDsTrailer is the git trailer that lists the push events a commit carries.
const EventIDsTrailer = "Hoist-Event-Ids"

// MessageData is what a message template is executed on.
type MessageData struct {
	// Repo is the configured repository name; Branch the branch pushed to.
	Repo, Branch string
	// Changes are the applied rewrites, sorted by file, resource and container.
	Changes []Change
	// EventIDs are the push events behind the changes, sorted, without duplicates.
	EventIDs []string
}

// Change is one site's update in a commit.
type Change struct {
	File, Resource, Container, Image string
	// Old and New are the image as written before and after.
	Old, New    string
	Tag, Digest string
	EventIDs    []string
}

// newMessageData collects the applied rewrites of a batch for the template.
func newMessageData(repo, branch string, applied []bus.Rewrite) MessageData {
	d := MessageData{Repo: repo, Branch: branch}
	ids := map[string]bool{}
	for _, rw := range applied {
		d.Changes = append(d.Changes, Change{
			File: rw.File, Resource: rw.Resource, Container: rw.Container, Image: rw.Image,
			Old: rw.Old, New: rw.New, Tag: rw.Tag, Digest: rw.Digest, EventIDs: rw.EventIDs,
		})
		for _, id := range rw.EventIDs {
			ids[id] = true
		}
	}
	sort.SliceStable(d.Changes, func(i, j int) bool {
		a, b := d.Changes[i], d.Changes[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Resource != b.Resource {
			return a.Resource < b.Resource
		}
		return a.Container < b.Container
	})
	for id := range ids {
		d.EventIDs = append(d.EventIDs, id)
	}
	sort.Strings(d.EventIDs)
	return d
}

// renderMessage executes the template and appends the event-id trailer in
// its own paragraph, so `git interpret-trailers --parse` finds it.
func renderMessage(tmpl *template.Template, d MessageData) (string, error) {
	var b strings.Builder
	if err := tmpl.Execute(&b, d); err != nil {
		return "", fmt.Errorf("message template: %w", err)
	}
	msg := strings.TrimRight(b.String(), "\n \t")
	if msg == "" {
		msg = "Update images"
	}
	if len(d.EventIDs) > 0 {
		msg += "\n\n" + EventIDsTrailer + ": " + strings.Join(d.EventIDs, ", ")
	}
	return msg + "\n", nil
}
