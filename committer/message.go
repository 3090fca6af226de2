package committer

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/template"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// DefaultMessageTemplate is the default commit message: subject
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

// sampleMessageData is a realistic batch (two changes, event ids) a message
// template is tried on before it is accepted.
var sampleMessageData = MessageData{
	Repo: "gitops", Branch: "main",
	Changes: []Change{
		{
			File: "apps/api.yaml", Resource: "apps:deployment/api", Container: "api",
			Image: "registry.example/team/api", Old: "registry.example/team/api:1.2.3", New: "registry.example/team/api:1.2.4",
			Tag: "1.2.4", EventIDs: []string{"8c0f3a6e-1b7d-4a8e-9c1f-2d3e4f5a6b7c"},
		},
		{
			File: "apps/web.yaml", Resource: "apps:helmrelease/web", Container: "chart-image",
			Image: "registry.example/team/web", Old: "registry.example/team/web:2.0.0",
			New: "registry.example/team/web:2.1.0@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
			Tag: "2.1.0", Digest: "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
			EventIDs: []string{"91d2e7b4-5c6a-4f0e-8b3d-7a9c1e2f3a4b"},
		},
	},
	EventIDs: []string{"8c0f3a6e-1b7d-4a8e-9c1f-2d3e4f5a6b7c", "91d2e7b4-5c6a-4f0e-8b3d-7a9c1e2f3a4b"},
}

// CheckMessageTemplate parses a commit message template and executes it
// on a sample batch of two changes, so unknown fields and functions and
// misuse of the data are reported at startup, not on the first commit.
// Empty text is the default template and always passes.
func CheckMessageTemplate(text string) error {
	_, err := parseMessageTemplate(text)
	return err
}

// parseMessageTemplate is CheckMessageTemplate returning the template.
func parseMessageTemplate(text string) (*template.Template, error) {
	if text == "" {
		text = DefaultMessageTemplate
	}
	tmpl, err := template.New("message").Parse(text)
	if err != nil {
		return nil, err
	}
	if err := tmpl.Execute(io.Discard, sampleMessageData); err != nil {
		return nil, fmt.Errorf("on a sample batch: %w", err)
	}
	return tmpl, nil
}

// defaultMessageTemplate is the parsed default, the fallback of a
// configured template that fails on a batch.
var defaultMessageTemplate = template.Must(template.New("message").Parse(DefaultMessageTemplate))

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
