package matcher

import (
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imageref"
	"github.com/hoist-gitops/hoist/internal/redact"
	"github.com/hoist-gitops/hoist/notify"
)

// Notifier takes notifications of what the matcher decided (a
// notify.Dispatcher). Notify must return at once: it is called while a
// push is being handled.
type Notifier interface {
	Notify(notify.Event)
}

// The notifications the matcher sends. Each is a no-op without a Notifier.
//   - notifyRejected: where the matcher decides a pushed tag is not in its
//     registry (tag verification's "not in registry" verdict), so the push
//     changes nothing: a forged or mistaken webhook.
//   - notifyRegistryFailure: where a push is handed back because its
//     registry could not be asked (unavailable, unauthorized, failed).
//   - notifyHold: where an approved update is held back at a site (a
//     minimum age not reached, a hold annotation), with when it ends.

// notifyRejected tells of a push whose tag is not in the registry.
func (s *Service) notifyRejected(ev bus.PushEvent, reason string) {
	if s.cfg.Notifier == nil {
		return
	}
	s.cfg.Notifier.Notify(notify.Event{
		Kind: notify.KindRejected,
		Rejected: &notify.Rejected{
			Registry: ev.Registry, Image: imageref.Canonical(ev.Registry, ev.Repository), Tag: ev.Tag, Digest: ev.Digest,
			Receiver: ev.Receiver, Reason: reason, EventID: ev.ID,
		},
	})
}

// notifyRegistryFailure tells of a push handed back because its registry
// could not be asked; retryIn is the hand-back delay.
func (s *Service) notifyRegistryFailure(ev bus.PushEvent, err error, retryIn time.Duration) {
	if s.cfg.Notifier == nil || err == nil {
		return
	}
	s.cfg.Notifier.Notify(notify.Event{
		Kind: notify.KindFailure,
		Failure: &notify.Failure{
			Stage: "match", Reason: redact.Text(err.Error()), Registry: ev.Registry,
			Image: imageref.Canonical(ev.Registry, ev.Repository), Tag: ev.Tag,
			EventIDs: []string{ev.ID}, RetryAt: time.Now().Add(retryIn).UTC(),
		},
	})
}

// notifyHold tells of an update held back at a site of repo; until is
// zero while a person must lift the hold.
func (s *Service) notifyHold(repo Repo, site notify.Hold) {
	if s.cfg.Notifier == nil {
		return
	}
	s.cfg.Notifier.Notify(notify.Event{Kind: notify.KindHold, Repo: repo.Name, Branch: repo.Branch, Hold: &site})
}
