// Package notify tells the people who own a repository what hoist did: a
// side channel of the pipeline that sends events (a commit pushed, an update
// held, a batch that failed, a push rejected) to chat, e-mail and webhooks.
// Sending is asynchronous and bounded: each notifier has its own queue and
// worker, so a slow or failing target never holds up a commit.
package notify

import "time"

// Kind names what an event is about; the names are those of hoist.yaml's
// notify[].events.
type Kind string

// The kinds of event.
const (
	// KindCommit is a commit hoist pushed.
	KindCommit Kind = "commit"
	// KindHold is an update hoist holds back (a minimum age, a hold annotation).
	KindHold Kind = "hold"
	// KindFailure is work that failed and was handed back for a later try.
	KindFailure Kind = "failure"
	// KindRejected is a push hoist refused: its tag is not in the registry.
	KindRejected Kind = "rejected"
)

// Kinds are every kind of event, in the order the docs list them.
func Kinds() []Kind { return []Kind{KindCommit, KindHold, KindFailure, KindRejected} }

// validKind reports whether s names a kind of event.
func validKind(s string) bool {
	for _, k := range Kinds() {
		if string(k) == s {
			return true
		}
	}
	return false
}

// Event is one notification: its kind, where it happened and the section
// of its kind. It is also the body of hoist's JSON webhook.
type Event struct {
	// ID identifies the event; a webhook's retries carry the same one, so a
	// receiver can drop a duplicate. Notify fills it when empty.
	ID string `json:"id"`
	// Kind says which of the sections below is set.
	Kind Kind `json:"event"`
	// Time is when it happened; Notify fills it when zero.
	Time time.Time `json:"time"`
	// Repo and Branch name the repository branch (empty for a rejected push,
	// which concerns no repository yet).
	Repo   string `json:"repo,omitempty"`
	Branch string `json:"branch,omitempty"`

	Commit   *Commit   `json:"commit,omitempty"`
	Hold     *Hold     `json:"hold,omitempty"`
	Failure  *Failure  `json:"failure,omitempty"`
	Rejected *Rejected `json:"rejected,omitempty"`
}

// Commit is a pushed commit.
type Commit struct {
	// SHA is the commit's hash.
	SHA string `json:"sha"`
	// URL is the commit's page on a known forge (see CommitURL); empty otherwise.
	URL string `json:"url,omitempty"`
	// Changes are the image sites the commit updated.
	Changes []Change `json:"changes"`
	// EventIDs are the push events behind the changes.
	EventIDs []string `json:"eventIds,omitempty"`
}

// Change is one image site's update.
type Change struct {
	// File is the repository-relative path of the manifest.
	File string `json:"file"`
	// Resource is "<namespace>:<kind>/<name>"; Container the site's container.
	Resource  string `json:"resource"`
	Container string `json:"container"`
	// Image is the canonical repository name.
	Image string `json:"image,omitempty"`
	// Old and New are the image as written before and after.
	Old string `json:"old"`
	New string `json:"new"`
	// EventIDs are the push events behind this change.
	EventIDs []string `json:"eventIds,omitempty"`
}

// Hold is an update hoist holds back at one site.
type Hold struct {
	// File, Resource and Container name the site.
	File      string `json:"file"`
	Resource  string `json:"resource"`
	Container string `json:"container"`
	// Image and Tag are what is held.
	Image string `json:"image"`
	Tag   string `json:"tag,omitempty"`
	// Reason says why (a minimum age not reached, a hold annotation).
	Reason string `json:"reason"`
	// Until is when the hold ends; zero while a person must lift it.
	Until time.Time `json:"until,omitzero"`
	// EventIDs are the push events held.
	EventIDs []string `json:"eventIds,omitempty"`
}

// Failure is work that failed and was handed back to be tried again.
type Failure struct {
	// Stage is where it failed: "commit" (a batch whose push failed) or
	// "match" (a registry that could not be asked).
	Stage string `json:"stage"`
	// Reason is the error, without credentials.
	Reason string `json:"reason"`
	// Registry, Image and Tag name what a failing registry was asked about.
	Registry string `json:"registry,omitempty"`
	Image    string `json:"image,omitempty"`
	Tag      string `json:"tag,omitempty"`
	// Changes are the changes of a handed-back batch.
	Changes []Change `json:"changes,omitempty"`
	// EventIDs are the push events whose work was handed back.
	EventIDs []string `json:"eventIds,omitempty"`
	// RetryAt is about when hoist tries again; zero when unknown.
	RetryAt time.Time `json:"retryAt,omitzero"`
}

// Rejected is a push hoist refused to act on.
type Rejected struct {
	// Registry, Image, Tag and Digest are what the webhook claimed.
	Registry string `json:"registry"`
	Image    string `json:"image"`
	Tag      string `json:"tag,omitempty"`
	Digest   string `json:"digest,omitempty"`
	// Receiver is the ingest receiver that accepted the webhook.
	Receiver string `json:"receiver,omitempty"`
	// Reason says why ("the tag is not in the registry").
	Reason string `json:"reason"`
	// EventID is the push event.
	EventID string `json:"eventId,omitempty"`
}
