package matcher

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/hoist-gitops/hoist/internal/gitauth"
)

// repoAuth is the auth for a repository URL, chosen as the committer chooses it.
func repoAuth(url string, a Auth) (transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return nil, fmt.Errorf("repository url: %w", err)
	}
	return gitauth.Method(ep, a)
}
