#!/usr/bin/env bash
# `make run`: seed a local bare GitOps repository from examples/gitops/ (once)
# and start hoist serve on it with examples/hoist.yaml, ready for a webhook.
# Delete ./data to start over.
set -euo pipefail
cd "$(dirname "$0")/.."

repo=data/gitops.git
hoist=${HOIST_BIN:-bin/hoist}
[ -x "$hoist" ] || { echo "run-example: $hoist not built; run make run (or make build) first" >&2; exit 1; }

if [ ! -d "$repo" ]; then
  echo "run-example: creating $repo from examples/gitops/"
  mkdir -p data
  git init --quiet --bare "$repo"
  git --git-dir "$repo" symbolic-ref HEAD refs/heads/main
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp -R examples/gitops/. "$work/"
  git -C "$work" init --quiet
  git -C "$work" checkout --quiet -b main
  git -C "$work" add --all
  git -C "$work" -c user.name="hoist example" -c user.email=example@localhost -c commit.gpgsign=false \
    commit --quiet -m "Seed from examples/gitops"
  git -C "$work" push --quiet "$PWD/$repo" main
  rm -rf "$work"
  trap - EXIT
fi

cat <<'MSG'
hoist is starting on http://127.0.0.1:8080 (Ctrl-C stops it). In another terminal:

  curl -i http://127.0.0.1:8080/hooks/local \
    -H 'Authorization: Bearer demo-secret' \
    -H 'Content-Type: application/vnd.docker.distribution.events.v2+json' \
    -d '{"events":[{"id":"demo-1","action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":"team/app","tag":"1.2.4","digest":"sha256:0864a15508ae6618993f5a8aba0d17b860671c8184071eb5cf79b2d23f2fcd11"},"request":{"host":"127.0.0.1:5000"}}]}'

  git --git-dir data/gitops.git log -p -1

hoist's log then shows the commit notification (notify: logger:// in examples/hoist.yaml).

MSG
exec "$hoist" serve --config examples/hoist.yaml
