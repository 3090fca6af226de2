package names

import "testing"

func TestValid(t *testing.T) {
	for _, s := range []string{"a", "gitops", "reg-1.prod_x", "0"} {
		if !Valid(s) {
			t.Errorf("%q refused", s)
		}
	}
	long := "a"
	for len(long) < 64 {
		long += "b"
	}
	for _, s := range []string{"", "-a", ".a", "_a", "a/b", "a b", "a:b", long} {
		if Valid(s) {
			t.Errorf("%q accepted", s)
		}
	}
}
