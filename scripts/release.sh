#!/usr/bin/env bash
# `make release VERSION=vX.Y.Z`: names the release in CHANGELOG.md and writes its version into
# every file that names the released version, so that the git tag vX.Y.Z, the image tag X.Y.Z,
# the chart's version and appVersion, the kustomize base and the Flux example agree
# (deploy/release_test.go checks that they do). Every check runs before anything is written: on
# any error no file changes. It neither commits nor tags; it prints the commands that do.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "release: $*" >&2; exit 1; }
[ $# -eq 1 ] || { echo "usage: make release VERSION=vX.Y.Z" >&2; exit 2; }
tag=$1
# Only final versions: a pre-release (v1.3.0-rc.1) is just a tag that `make image` builds; the
# deploy files keep naming the last release, which is what a user should install.
[[ $tag =~ ^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$ ]] ||
  { echo "release: $tag is not vMAJOR.MINOR.PATCH (for example v0.2.0)" >&2; exit 2; }
version=${tag#v}
# hoist updates its own image within the release's minor version: ^0.1 is 0.1.x, ^1.2 is 1.x from 1.2.
filter="semver:^${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"

if git rev-parse -q --verify "refs/tags/$tag" >/dev/null 2>&1; then
  fail "tag $tag exists already: a release is never moved; release the next version"
fi
current=$(sed -nE 's/^appVersion: "?([^"]*)"?$/\1/p' deploy/chart/Chart.yaml)
[ -n "$current" ] || fail "deploy/chart/Chart.yaml has no appVersion line"
if [ "$current" != "$version" ] && [ "$(printf '%s\n%s\n' "$current" "$version" | sort -V | head -n1)" != "$current" ]; then
  fail "$tag is older than the current release $current"
fi

staged=$(mktemp -d)
trap 'rm -rf "$staged"' EXIT
files=()

# stage FILE: work on a copy until every edit has succeeded.
stage() {
  if [ ! -f "$staged/$1" ]; then
    [ -f "$1" ] || fail "$1 does not exist"
    mkdir -p "$staged/$(dirname "$1")"
    cp "$1" "$staged/$1"
    files+=("$1")
  fi
}

# set FILE PATTERN REPLACEMENT: replace the one line matching PATTERN (sed -E). A file with no
# such line, or several, has changed shape: stop rather than leave one place behind.
set_line() {
  stage "$1"
  local n
  n=$(grep -cE "$2" "$staged/$1" || true)
  [ "$n" -eq 1 ] || fail "$1: $n lines match '$2', want 1 (update scripts/release.sh with the file's new shape)"
  sed -E -i "s|$2|$3|" "$staged/$1"
}

# CHANGELOG.md: a section for the release. Written by hand, or else the Unreleased section
# becomes it (its entries stay where they are, under the release's heading; a new empty
# Unreleased goes above).
stage CHANGELOG.md
if ! grep -qE "^## $tag( |$)" CHANGELOG.md; then
  heading="## $tag - $(date -u +%Y-%m-%d)"
  rc=0
  awk -v heading="$heading" '
    !done && $0 == "## Unreleased" { print; print ""; print heading; done = 1; inside = 1; next }
    inside && /^## / { inside = 0 }
    inside && NF { entries++ }
    { print }
    END { if (!done) exit 3; if (!entries) exit 4 }' CHANGELOG.md >"$staged/CHANGELOG.md" || rc=$?
  case $rc in
    0) ;;
    3) fail "CHANGELOG.md has neither a '## $tag' section nor an '## Unreleased' one to name $tag" ;;
    4) fail "CHANGELOG.md's Unreleased section is empty: write what $tag changes first" ;;
    *) fail "CHANGELOG.md: awk failed ($rc)" ;;
  esac
fi

set_line deploy/chart/Chart.yaml '^version: .*$' "version: $version"
set_line deploy/chart/Chart.yaml '^appVersion: .*$' "appVersion: \"$version\""
set_line deploy/chart/values.yaml '^(  tag: ).*$' "\\1\"$version\""
for s in ingest match commit; do
  set_line "deploy/kustomize/$s.yaml" '^( +image: ghcr\.io/hoist-gitops/hoist:).*$' "\\1$version"
  set_line "deploy/kustomize/$s.yaml" '^( +filter\.fluxcd\.io/hoist: ).*$' "\\1$filter"
done
set_line deploy/flux/hoist-helmrelease.yaml '^(    tag: ).*$' "\\1$tag"
set_line deploy/flux/hoist-helmrelease.yaml '^(      tag: ).*$' "\\1\"$version\""
set_line deploy/flux/hoist-helmrelease.yaml '^( +filter\.fluxcd\.io/chart-image: ).*$' "\\1$filter"
set_line docs/operations.md '^(git clone --branch )v[^ ]*( .*)$' "\\1$tag\\2"

for f in "${files[@]}"; do
  cp "$staged/$f" "$f"
done

cat <<EOF
Release $tag prepared: CHANGELOG.md has its section, and the chart (version and appVersion), the
kustomize base, the Flux example and docs/operations.md name $version. Next:

  git diff                                    # review, then
  git commit -am "Release $tag"
  git tag -a $tag -m "hoist $tag"
  git push origin HEAD $tag
  make image && docker push ghcr.io/hoist-gitops/hoist:$version
EOF
