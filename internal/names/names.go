// Package names holds the one rule for the names hoist.yaml gives
// receivers and repositories: config checks the file with it, and ingest
// validates its receivers with it.
package names

import "regexp"

// validRE: a letter or digit, then up to 62 letters, digits, '.', '_' or '-'.
var validRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// Allowed says in words what Valid accepts, for error messages.
const Allowed = "letters, digits, '.', '_' and '-'"

// Valid reports whether s can name a receiver or a repository: one URL
// path segment, one metric label value, one NATS consumer name part.
func Valid(s string) bool { return validRE.MatchString(s) }
