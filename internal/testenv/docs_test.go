package testenv

import (
	"testing"
	"time"
)

func TestSpoken(t *testing.T) {
	for d, want := range map[time.Duration]string{
		50 * time.Millisecond: "50 ms", 30 * time.Second: "30 s", 90 * time.Second: "90 s",
		2 * time.Minute: "2 min", 2 * time.Hour: "2 hours",
	} {
		if got := Spoken(d); got != want {
			t.Errorf("Spoken(%s) = %q, want %q", d, got, want)
		}
	}
}
