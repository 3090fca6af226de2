package config

import (
	"fmt"
	"regexp"
	"strings"
)

// envRE matches "${NAME}", "${NAME:-default}" and the escape "$${".
var envRE = regexp.MustCompile(`\$\$\{|\$\{([^}]*)\}`)

// envNameRE is what a variable name may be.
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// envError is one reference expandEnv could not resolve.
type envError struct {
	msg string
	// unset says the reference is well-formed but its variable is not set:
	// a mistake only where a stage uses the key.
	unset bool
}

// expandEnv replaces ${NAME} with the variable's value and ${NAME:-default}
// with the value or, when unset or empty, the default; "$${" is a literal
// "${". A variable that is not set (and has no default) is a mistake rather
// than an empty string, because a missing value must not pass unnoticed.
func expandEnv(s string, lookup func(string) (string, bool)) (string, []envError) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var errs []envError
	out := envRE.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$${" {
			return "${"
		}
		inner := m[2 : len(m)-1]
		name, def, hasDef := strings.Cut(inner, ":-")
		if !envNameRE.MatchString(name) {
			errs = append(errs, envError{msg: fmt.Sprintf("%q is not a valid environment variable reference (want ${NAME} or ${NAME:-default})", m)})
			return m
		}
		v, ok := lookup(name)
		switch {
		case hasDef && v == "":
			return def
		case !ok:
			errs = append(errs, envError{msg: fmt.Sprintf("environment variable %s is not set", name), unset: true})
			return ""
		}
		return v
	})
	return out, errs
}
