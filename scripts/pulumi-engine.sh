#!/usr/bin/env bash
# Build (or reuse) the Pulumi engine for pmgrants' end-to-end tests and print its bin directory.
#
#   PATH="$(scripts/pulumi-engine.sh):$PATH"
#
# No Pulumi release binary can be downloaded on the CI machines; the engine is a Go program and builds
# from the Go module proxy. It is built from a small wrapper module, because the pulumi module's own
# go.mod has replace directives that `go install pkg@version` refuses. The bin directory also gets
# `pulumi-resource-pulumi-nodejs`, the launcher the engine runs for dynamic providers.
#
# The Node.js language host (pulumi-language-nodejs) is NOT built: recent versions are not served by the
# module proxy, and pmgrants' tests drive the engine through the Automation API with an inline program,
# which serves the language runtime in-process (see docs/pulumi.md).
#
# Only the bin directory goes to stdout; progress goes to stderr. Exit 1 when it cannot be built.
# Environment: PMGRANTS_PULUMI_VERSION (default v3.259.0), PMGRANTS_PULUMI_CACHE (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/pmgrants/pulumi-<version>), PMGRANTS_PULUMI_REBUILD=1 to rebuild.
set -euo pipefail

version="${PMGRANTS_PULUMI_VERSION:-v3.259.0}"
cache="${PMGRANTS_PULUMI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pmgrants/pulumi-$version}"
bin="$cache/bin"

say() { printf 'pulumi-engine: %s\n' "$*" >&2; }

write_launcher() {
  # The same text as @pulumi/pulumi's pulumi-resource-pulumi-nodejs, with "$@" quoted. The engine starts it
  # in the Pulumi project's directory; it runs that project's @pulumi/pulumi dynamic-provider host.
  cat >"$1/pulumi-resource-pulumi-nodejs" <<'EOF'
#!/bin/sh
PULUMI_DYNAMIC_PROVIDER_SCRIPT_PATH=$(node -e "console.log(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))")
if [ ! -z "$PULUMI_DYNAMIC_PROVIDER_SCRIPT_PATH" ]; then
    node "$PULUMI_DYNAMIC_PROVIDER_SCRIPT_PATH" "$@"
fi
EOF
  chmod 0755 "$1/pulumi-resource-pulumi-nodejs"
}

usable() {
  [ -x "$bin/pulumi" ] && [ -x "$bin/pulumi-resource-pulumi-nodejs" ] &&
    [ "$("$bin/pulumi" version 2>/dev/null)" = "$version" ]
}

if [ "${PMGRANTS_PULUMI_REBUILD:-}" != 1 ] && usable; then
  say "reusing $bin/pulumi ($version)"
  echo "$bin"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  say "cannot build the Pulumi engine: Go is not installed (https://go.dev/dl/)"
  exit 1
fi

mkdir -p "$cache"
work="$(mktemp -d "$cache/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
say "building github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$version from $(go env GOPROXY) (a few minutes with a cold module cache)"
start=$(date +%s)
(
  cd "$work"
  go mod init pmgrants-pulumi-engine >/dev/null 2>&1
  go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$version" >get.log 2>&1 || { tail -n 20 get.log >&2; exit 1; }
  mkdir -p out
  go build -trimpath \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
    -o out/pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2
  write_launcher out
) || {
  say "building the Pulumi engine failed (see above)"
  exit 1
}
rm -rf "$bin"
mv "$work/out" "$bin"
say "built $bin/pulumi ($("$bin/pulumi" version)) in $(($(date +%s) - start))s"
echo "$bin"
