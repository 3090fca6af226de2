package notify

import (
	"fmt"
	"strings"
	"time"
)

// shortSHA is how much of a commit hash a title shows.
const shortSHA = 12

// renderTitle is the one-line summary of an event: a chat message's title, an
// e-mail's subject.
func renderTitle(ev Event) string {
	where := ev.Repo
	if ev.Branch != "" {
		where += "/" + ev.Branch
	}
	switch ev.Kind {
	case KindCommit:
		if c := ev.Commit; c != nil {
			return fmt.Sprintf("hoist: %s to %s (%s)", plural(len(c.Changes), "image update"), where, short(c.SHA))
		}
	case KindHold:
		if h := ev.Hold; h != nil {
			return fmt.Sprintf("hoist: holding %s in %s", imageTag(h.Image, h.Tag), where)
		}
	case KindFailure:
		if f := ev.Failure; f != nil && f.Stage == "match" {
			return fmt.Sprintf("hoist: cannot ask the registry %s about %s", f.Registry, imageTag(f.Image, f.Tag))
		}
		return fmt.Sprintf("hoist: could not commit to %s; will retry", where)
	case KindRejected:
		if r := ev.Rejected; r != nil {
			return fmt.Sprintf("hoist: rejected a push of %s", imageTag(r.Image, r.Tag))
		}
	}
	return "hoist: " + string(ev.Kind)
}

// renderText is the plain-text body of an event, for chat and e-mail: one line
// per change, the commit's link, the event ids.
func renderText(ev Event) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	switch ev.Kind {
	case KindCommit:
		c := ev.Commit
		if c == nil {
			break
		}
		line("Commit %s on %s %s", c.SHA, ev.Repo, ev.Branch)
		if c.URL != "" {
			line("%s", c.URL)
		}
		writeChanges(&b, c.Changes)
		writeIDs(&b, c.EventIDs)
	case KindHold:
		h := ev.Hold
		if h == nil {
			break
		}
		line("Holding %s at %s: %s %s (%s %s)", imageTag(h.Image, h.Tag), h.File, h.Resource, h.Container, ev.Repo, ev.Branch)
		line("Why: %s", h.Reason)
		if h.Until.IsZero() {
			line("Until: a person lifts the hold")
		} else {
			line("Until: %s", h.Until.UTC().Format(time.RFC3339))
		}
		writeIDs(&b, h.EventIDs)
	case KindFailure:
		f := ev.Failure
		if f == nil {
			break
		}
		if f.Stage == "match" {
			line("The registry %s could not be asked about %s; the push was handed back.", f.Registry, imageTag(f.Image, f.Tag))
		} else {
			line("A batch of %s for %s %s was handed back after its push failed.", plural(len(f.Changes), "change"), ev.Repo, ev.Branch)
		}
		line("Why: %s", f.Reason)
		if !f.RetryAt.IsZero() {
			line("Next try: about %s", f.RetryAt.UTC().Format(time.RFC3339))
		}
		writeChanges(&b, f.Changes)
		writeIDs(&b, f.EventIDs)
	case KindRejected:
		r := ev.Rejected
		if r == nil {
			break
		}
		line("A webhook said %s was pushed to %s; hoist changed nothing.", imageTag(r.Image, r.Tag), r.Registry)
		line("Why: %s", r.Reason)
		if r.Digest != "" {
			line("Claimed digest: %s", r.Digest)
		}
		if r.Receiver != "" {
			line("Receiver: %s", r.Receiver)
		}
		if r.EventID != "" {
			line("Event: %s", r.EventID)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func writeChanges(b *strings.Builder, cs []Change) {
	for _, c := range cs {
		fmt.Fprintf(b, "- %s: %s %s: %s → %s\n", c.File, c.Resource, c.Container, c.Old, c.New)
	}
}

func writeIDs(b *strings.Builder, ids []string) {
	if len(ids) > 0 {
		fmt.Fprintf(b, "Events: %s\n", strings.Join(ids, ", "))
	}
}

func imageTag(image, tag string) string {
	if tag == "" {
		return image
	}
	return image + ":" + tag
}

func short(sha string) string {
	if len(sha) > shortSHA {
		return sha[:shortSHA]
	}
	return sha
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
