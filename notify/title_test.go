package notify

import "testing"

// A service without a title key refuses a title parameter (the send
// fails): such services get the title at the head of the text instead.
func TestNotifyTitleOnlyWhereTheServiceHasOne(t *testing.T) {
	for scheme, want := range map[string]bool{
		"slack": true, "teams": true, "discord": true, "matrix": true, "smtp": true, "telegram": true,
		"logger": false, "googlechat": false, "zulip": true, "nosuchservice": false,
	} {
		if got := takesTitle(scheme); got != want {
			t.Errorf("takesTitle(%q) = %v, want %v", scheme, got, want)
		}
	}
	ev := commitEvent()
	for u, inParams := range map[string]bool{
		"generic+https://hooks.example/x":                                          false,
		"generic+https://hooks.example/x?template=json":                            true,
		"googlechat://chat.googleapis.com/v1/spaces/A/messages?key=k&token=t":      false,
		"smtp://mail.example/?from=a@example.com&to=b@example.com&subject=Deploys": false,
	} {
		c, err := newChat(Target{URL: u}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		text, params := c.message(ev)
		_, hasTitle := params["title"]
		headed := len(text) > len(renderTitle(ev)) && text[:len(renderTitle(ev))] == renderTitle(ev)
		switch {
		case inParams && (!hasTitle || headed):
			t.Errorf("%s: want the title as a parameter: %q %v", u, text, params)
		case !inParams && hasTitle:
			t.Errorf("%s: a title parameter the service does not take: %v", u, params)
		}
	}
}
