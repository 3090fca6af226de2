package ingest

import (
	"errors"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// parseACR reads an Azure Container Registry webhook: a single
// distribution-shaped event; only action "push" is an image push (chart_push,
// delete, quarantine... yield none).
func parseACR(in Input) ([]bus.PushEvent, error) {
	var e distEvent
	if err := decodeJSON(in.Body, &e); err != nil {
		return nil, err
	}
	if e.Action == "" {
		return nil, errors.New(`not an ACR event: no "action"`)
	}
	if e.Action != "push" {
		return nil, nil
	}
	return []bus.PushEvent{e.event(in.Host)}, nil
}
