package main

import (
	"fmt"

	"github.com/hoist-gitops/hoist/internal/config"
	"github.com/hoist-gitops/hoist/internal/imagerules"
	"github.com/hoist-gitops/hoist/internal/registry"
	"github.com/hoist-gitops/hoist/matcher"
)

// withRegistry gives the matcher what it needs to verify pushed tags: a
// registry client for the configured registries (other hosts through the
// docker config keychain) and the compiled images rules.
func withRegistry(mc matcher.Config, c *config.Config) (matcher.Config, error) {
	rules, err := imagerules.Compile(c.ImageRules())
	if err != nil {
		return mc, err
	}
	client, err := registry.New(registryHosts(c))
	if err != nil {
		return mc, fmt.Errorf("registries: %w", err)
	}
	mc.Verifier, mc.Signatures, mc.ImageRules = client, client, rules
	return mc, nil
}

// registryHosts maps registries onto the registry client's hosts.
func registryHosts(c *config.Config) []registry.Host {
	var out []registry.Host
	for _, r := range c.Registries {
		out = append(out, registry.Host{
			Host:             r.Host,
			Insecure:         r.Insecure,
			Username:         r.Auth.Username,
			Password:         r.Auth.Password,
			PasswordFile:     r.Auth.PasswordFile,
			DockerConfigFile: r.Auth.DockerConfigFile,
			RateLimit:        r.RateLimit,
		})
	}
	return out
}
