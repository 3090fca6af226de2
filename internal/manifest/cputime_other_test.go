//go:build !unix

package manifest

import "time"

// cpuTime is unavailable here; reports then show no CPU time.
func cpuTime() time.Duration { return 0 }
