package config

import (
	"github.com/hoist-gitops/hoist/ingest"
)

// IngestConfig maps the receivers and ingest limits onto ingest's own
// configuration, so ingest never reads hoist.yaml itself.
func (c *Config) IngestConfig() ingest.Config {
	out := ingest.Config{BodyLimit: c.Ingest.BodyLimit, PublishTimeout: c.Ingest.PublishTimeout}
	for _, r := range c.Receivers {
		out.Receivers = append(out.Receivers, c.ingestReceiver(r))
	}
	return out
}

func (c *Config) ingestReceiver(r Receiver) ingest.Receiver {
	secret, set := r.SecretValue()
	return ingest.Receiver{
		Name:        r.Name,
		Kind:        ingest.Kind(r.Kind),
		Secret:      secret,
		SecretSet:   set,
		AuthHeader:  r.AuthHeader,
		Host:        r.Host,
		HostAliases: r.HostAliases,
		RateLimit:   r.RateLimit,
		RateBurst:   r.RateBurst,
	}
}
