package bus

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// streamsAndBuckets is what ensureStreamsReplicated needs of a JetStream
// context: it creates streams and buckets, nothing else.
type streamsAndBuckets interface {
	jetstream.StreamManager
	jetstream.KeyValueManager
}

// PushStreamConfig is the JetStream stream for push events, shared by
// matcher replicas.
func PushStreamConfig() jetstream.StreamConfig {
	return workQueueStream(PushStream, PushSubjects)
}

// rewriteStreamConfig is the JetStream stream for rewrites, shared by
// committer replicas.
func rewriteStreamConfig() jetstream.StreamConfig {
	return workQueueStream(RewriteStream, rewriteSubjects)
}

// workQueueStream is what both of hoist's streams are: file storage,
// work-queue retention so replicas of the consuming stage share the work,
// and a dedupe window covering retried deliveries.
func workQueueStream(name, subjects string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:       name,
		Subjects:   []string{subjects},
		Replicas:   1,
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.WorkQueuePolicy,
		Duplicates: DedupeWindow,
		MaxAge:     StreamMaxAge,
	}
}

// fileBucket is a KV bucket kept on disk with the latest value of each key
// only (what every hoist bucket keeps).
func fileBucket(name, description string) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      name,
		Description: description,
		Storage:     jetstream.FileStorage,
		History:     1,
		Replicas:    1,
	}
}

// buckets are the KV buckets hoist uses.
func buckets() []jetstream.KeyValueConfig {
	return []jetstream.KeyValueConfig{
		fileBucket(TagTimesBucket, "first-seen time of each pushed tag, by canonical repository"),
		fileBucket(HoldsBucket, holdsDescription),
		fileBucket(ScanBucket, scanDescription),
	}
}

// ensureStreamsReplicated creates or updates every stream and bucket hoist
// uses, so any stage may start first, each kept in replicas copies (1 on a
// single server; on a cluster more, so losing a NATS node loses no push).
// Every stage applies the same number on start, so it must be configured
// alike for all of them (nats.replicas).
func ensureStreamsReplicated(ctx context.Context, js streamsAndBuckets, replicas int) error {
	if replicas < 1 {
		replicas = 1
	}
	for _, cfg := range []jetstream.StreamConfig{PushStreamConfig(), rewriteStreamConfig()} {
		cfg.Replicas = replicas
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("stream %s: %w", cfg.Name, err)
		}
	}
	for _, kv := range buckets() {
		kv.Replicas = replicas
		if _, err := js.CreateOrUpdateKeyValue(ctx, kv); err != nil {
			return fmt.Errorf("kv %s: %w", kv.Bucket, err)
		}
	}
	return nil
}
