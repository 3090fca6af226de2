package testregistry

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// writeHtpasswd writes the registry's htpasswd file: one user:bcrypt line
// per user, the only hash the registry accepts.
func writeHtpasswd(path string, users map[string]string) error {
	var b strings.Builder
	for _, u := range sortedUsers(users) {
		h, err := bcrypt.GenerateFromPassword([]byte(users[u]), bcrypt.MinCost)
		if err != nil {
			return fmt.Errorf("htpasswd for %s: %w", u, err)
		}
		fmt.Fprintf(&b, "%s:%s\n", u, h)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// writeDockerConfig writes a docker config.json that logs crane in to host
// as the first user (in name order).
func writeDockerConfig(path, host string, users map[string]string) error {
	u := sortedUsers(users)[0]
	b, err := DockerConfig(host, u, users[u])
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// DockerConfig is a docker config.json (the format of a Kubernetes
// dockerconfigjson pull secret) holding one login for host.
func DockerConfig(host, user, password string) ([]byte, error) {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	return json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"auth": auth}}})
}

func sortedUsers(users map[string]string) []string {
	var names []string
	for u := range users {
		names = append(names, u)
	}
	sort.Strings(names)
	return names
}
