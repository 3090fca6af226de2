package ingest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imageref"
)

// gcrMessage is the Pub/Sub message data Container Registry and Artifact
// Registry publish on the "gcr" topic.
type gcrMessage struct {
	Action string `json:"action"`
	Digest string `json:"digest"`
	Tag    string `json:"tag"`
}

// parseGCR reads a Pub/Sub push delivery of a Container Registry or Artifact
// Registry notification: the envelope's message.data is base64 JSON whose
// action INSERT is a push; host, repository and tag come from "tag"
// ("host/path:tag"), the digest from "digest" ("host/path@sha256:..."). A body
// that is the decoded message itself (no envelope) is read the same way.
func parseGCR(in Input) ([]bus.PushEvent, error) {
	var env struct {
		Message *struct {
			Data        string   `json:"data"`
			MessageID   string   `json:"messageId"`
			PublishTime flexTime `json:"publishTime"`
		} `json:"message"`
		Action *string `json:"action"`
	}
	if err := decodeJSON(in.Body, &env); err != nil {
		return nil, err
	}
	var msg gcrMessage
	var ev bus.PushEvent
	switch {
	case env.Message != nil:
		data, err := base64.StdEncoding.DecodeString(env.Message.Data)
		if err != nil {
			return nil, fmt.Errorf("message.data: %w", err)
		}
		if err := json.Unmarshal(data, &msg); err != nil {
			return nil, fmt.Errorf("message.data: %w", err)
		}
		ev.PushedAt = env.Message.PublishTime.Time
		ev.DeliveryID = env.Message.MessageID
	case env.Action != nil:
		if err := decodeJSON(in.Body, &msg); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New(`not a Pub/Sub push: no "message"`)
	}
	if msg.Action != "INSERT" {
		return nil, nil
	}
	name, tag, _ := splitImageName(msg.Tag)
	dname, _, digest := splitImageName(msg.Digest)
	if name == "" {
		name = dname
	}
	ev.Registry, ev.Repository = imageref.SplitHost(name)
	if ev.Registry == "" {
		ev.Registry = in.Host
	}
	ev.Tag, ev.Digest = tag, digest
	return []bus.PushEvent{ev}, nil
}
