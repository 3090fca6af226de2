package manifest

import (
	"strconv"
	"strings"
	"time"

	"github.com/hoist-gitops/hoist/internal/suggest"
)

// prefixHoist is the one annotation prefix of hoist's own annotations (Flux
// has no equivalent for them): hoist.dev/<name>.
const prefixHoist = "hoist.dev"

// minAgeName prefixes the per-container minimum age annotation:
// hoist.dev/min-age.<container>: 24h.
const minAgeName = "min-age."

// ageDef is the minimum age annotation chosen for one container.
type ageDef struct {
	value string
	key   string
	line  int
}

// hoistAnnotation reads one hoist.dev/ annotation; unknown names are
// reported with the name they probably meant.
func (d *doc) hoistAnnotation(p *policies, name, value string, line int) {
	key := prefixHoist + "/" + name
	c, ok := strings.CutPrefix(name, minAgeName)
	if !ok {
		hint := " (hoist reads " + prefixHoist + "/" + minAgeName + "<container> only)"
		if head, rest, dot := strings.Cut(name, "."); dot && rest != "" && suggest.Distance(strings.ToLower(head), "min-age") <= 2 {
			hint = ": did you mean " + prefixHoist + "/" + minAgeName + rest + "?"
		} else if suggest.Distance(strings.ToLower(name), "min-age") <= 2 {
			hint = ": did you mean " + prefixHoist + "/" + minAgeName + "<container>?"
		}
		d.problem(line, "unknown annotation %s%s", key, hint)
		return
	}
	if c == "" {
		d.problem(line, "annotation %s names no container", key)
		return
	}
	if _, err := ParseAge(value); err != nil {
		d.problem(line, "annotation %s: %v; the container's updates are held until it is fixed", key, err)
	}
	if p.ages == nil {
		p.ages = map[string]ageDef{}
	}
	if old, dup := p.ages[c]; dup && old.value != value {
		d.problem(line, "conflicting minimum ages for container %s: %s: %q and %s: %q; the last is used", c, old.key, old.value, key, value)
	}
	p.ages[c] = ageDef{value: value, key: key, line: line}
}

// ParseAge reads a minimum age: a Go duration (90s, 30m, 24h, 1h30m) or a
// whole number of days (7d). It must not be negative; 0 means no minimum.
func ParseAge(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(t, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, &ageError{s}
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(t)
	if err != nil || d < 0 {
		return 0, &ageError{s}
	}
	return d, nil
}

type ageError struct{ value string }

func (e *ageError) Error() string {
	return strconv.Quote(e.value) + " is not a minimum age (write a duration such as 90s, 30m, 24h or 7d)"
}

// checkAges reports minimum ages for containers the resource does not have.
func (d *doc) checkAges(p *policies, containers map[string]bool) {
	for _, c := range sortedKeys(p.ages) {
		if containers[c] {
			continue
		}
		a := p.ages[c]
		msg := "minimum age " + a.key + " is for container " + quote(c) + ", which this resource does not have"
		best, bestD := "", 3
		for _, n := range sortedKeys(containers) {
			if dist := suggest.Distance(c, n); dist < bestD {
				best, bestD = n, dist
			}
		}
		if best != "" {
			msg += ": did you mean " + quote(best) + "?"
		}
		d.problem(a.line, "%s", msg)
	}
}
