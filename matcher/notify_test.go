package matcher

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testnotify"
	"github.com/hoist-gitops/hoist/notify"
)

// Item (gates and people): the matcher's notifications (a rejected push, a
// registry that cannot be asked, a hold) reach a real webhook with what a
// person needs: the image, the tag, why, and no credentials.
func TestNotifyMatcherEvents(t *testing.T) {
	sink := testnotify.Start(t, false)
	d, err := notify.New([]notify.Target{{URL: sink.URL}}, notify.Options{}, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(context.Background())
	s := &Service{cfg: Config{Notifier: d}}
	push := bus.PushEvent{ID: "ev-7", Registry: "registry.example", Repository: "team/api", Tag: "6.6.6", Digest: "sha256:abc", Receiver: "reg"}

	s.notifyRejected(push, "the tag is not in the registry")
	ev := sink.Next(t)
	if r := ev.Rejected; ev.Kind != notify.KindRejected || r == nil || r.Image != "registry.example/team/api" || r.Tag != "6.6.6" ||
		r.Receiver != "reg" || r.EventID != "ev-7" || r.Reason != "the tag is not in the registry" {
		t.Fatalf("rejected %+v", ev)
	}

	s.notifyRegistryFailure(push, errors.New(`GET "https://hoist:t0ken@registry.example/v2/": 503`), time.Minute)
	ev = sink.Next(t)
	if f := ev.Failure; ev.Kind != notify.KindFailure || f == nil || f.Stage != "match" || f.Registry != "registry.example" ||
		f.Tag != "6.6.6" || f.RetryAt.IsZero() || f.Reason != `GET "https://xxxxx@registry.example/v2/": 503` {
		t.Fatalf("failure %+v", ev.Failure)
	}

	s.notifyHold(Repo{Name: "gitops", Branch: "main"}, notify.Hold{File: "apps/api.yaml", Image: "registry.example/team/api", Tag: "1.3.0", Reason: "minimum age"})
	ev = sink.Next(t)
	if ev.Kind != notify.KindHold || ev.Repo != "gitops" || ev.Branch != "main" || ev.Hold == nil || ev.Hold.Tag != "1.3.0" {
		t.Fatalf("hold %+v", ev)
	}
}
