// Package deploy holds the checks behind hoist's Kubernetes manifests, Helm chart and
// container image: every document under deploy/ decodes strictly into its API type.
// It is its own Go module so the Kubernetes API types stay out of hoist's main module.
package deploy
