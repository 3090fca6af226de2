package bus

import (
	"strings"
	"time"
)

// Stream, subject and bucket names shared by every stage.
const (
	// PushStream stores push events from ingest until the matcher has handled them.
	PushStream = "HOIST_PUSHES"
	// PushSubjects is the subject filter of PushStream.
	PushSubjects = "hoist.push.>"
	// RewriteStream stores rewrites until a committer has pushed them.
	RewriteStream = "HOIST_REWRITES"
	// rewriteSubjects is the subject filter of RewriteStream.
	rewriteSubjects = "hoist.rewrite.>"
	// headSubjectPrefix prefixes the subject on which committers announce new heads.
	headSubjectPrefix = "hoist.head."
	// TagTimesBucket is the KV bucket of tag first-seen times.
	TagTimesBucket = "hoist_tag_times"
	// DedupeWindow is how long JetStream remembers a message id; registries
	// retry within minutes, so this covers a retry storm after an outage.
	DedupeWindow = 2 * time.Hour
	// StreamMaxAge is how long the push and rewrite streams keep a message
	// nobody acknowledged; the longest minimum age (imagerules.MaxMinAge)
	// stays a day below it.
	StreamMaxAge = 7 * 24 * time.Hour
)

// PushSubject is the subject a push event for host/repository is published on.
func PushSubject(host, repository string) string {
	// In one allocation: ingest makes one per event.
	var b strings.Builder
	b.Grow(len("hoist.push.") + len(host) + 1 + len(repository))
	b.WriteString("hoist.push.")
	writeToken(&b, host)
	b.WriteByte('.')
	writeToken(&b, repository)
	return b.String()
}

// RewriteSubject is the subject rewrites for a repository's branch are published on.
func RewriteSubject(repo, branch string) string {
	return "hoist.rewrite." + subjectToken(repo) + "." + subjectToken(branch)
}

// headSubject is the subject new heads of a repository's branch are announced on.
func headSubject(repo, branch string) string {
	return headSubjectPrefix + subjectToken(repo) + "." + subjectToken(branch)
}
