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
# The tests drive the engine through the Automation API with an inline program, which serves the
# Node.js language runtime in-process: no language host is needed. To run `pulumi preview/up` by hand
# on such a machine, also build a Node.js language host: PMGRANTS_PULUMI_LANGUAGE_HOST=v3.68.0 (the
# last version inside the sdk module; later ones are not served by the proxy). See docs/pulumi.md.
#
# Only the bin directory goes to stdout; progress goes to stderr. Exit 1 when it cannot be built.
# Environment: PMGRANTS_PULUMI_VERSION (default v3.259.0), PMGRANTS_PULUMI_CACHE (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/pmgrants/pulumi-<version>), PMGRANTS_PULUMI_REBUILD=1 to rebuild,
# PMGRANTS_PULUMI_LANGUAGE_HOST=<sdk version> to add pulumi-language-nodejs.
set -euo pipefail

version="${PMGRANTS_PULUMI_VERSION:-v3.259.0}"
host_version="${PMGRANTS_PULUMI_LANGUAGE_HOST:-}"
cache="${PMGRANTS_PULUMI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pmgrants/pulumi-$version}"
bin="$cache/bin"

say() { printf 'pulumi-engine: %s\n' "$*" >&2; }

write_launcher() {
  # The same text as @pulumi/pulumi's pulumi-resource-pulumi-nodejs, with "$@" quoted. The engine starts it
  # in the Pulumi program's directory; it runs that project's @pulumi/pulumi dynamic-provider host.
  cat >"$1/pulumi-resource-pulumi-nodejs" <<'EOF'
#!/bin/sh
PULUMI_DYNAMIC_PROVIDER_SCRIPT_PATH=$(node -e "console.log(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))")
if [ ! -z "$PULUMI_DYNAMIC_PROVIDER_SCRIPT_PATH" ]; then
    node "$PULUMI_DYNAMIC_PROVIDER_SCRIPT_PATH" "$@"
fi
EOF
  chmod 0755 "$1/pulumi-resource-pulumi-nodejs"
}

# go build <module@version> <package> <output>, from a throwaway wrapper module.
build() {
  local module="$1" package="$2" out="$3" ldflags="${4:-}" work
  work="$(mktemp -d "$cache/build.XXXXXX")"
  (
    cd "$work"
    go mod init pmgrants-pulumi-build >/dev/null 2>&1
    go get "$module" >get.log 2>&1 || { tail -n 20 get.log >&2; exit 1; }
    go build -trimpath -ldflags "-s -w $ldflags" -o "$work/out" "$package" >&2
  ) || { rm -rf "$work"; return 1; }
  mv "$work/out" "$out"
  rm -rf "$work"
}

need_go() {
  if ! command -v go >/dev/null 2>&1; then
    say "cannot build the Pulumi engine: Go is not installed (https://go.dev/dl/)"
    exit 1
  fi
}

mkdir -p "$bin"
[ "${PMGRANTS_PULUMI_REBUILD:-}" = 1 ] && rm -f "$bin/pulumi" "$bin/pulumi-language-nodejs" "$bin/.language-host-version"

if [ -x "$bin/pulumi" ] && [ "$("$bin/pulumi" version 2>/dev/null)" = "$version" ]; then
  say "reusing $bin/pulumi ($version)"
else
  need_go
  say "building github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$version from $(go env GOPROXY) (a few minutes with a cold module cache)"
  start=$(date +%s)
  build "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$version" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$bin/pulumi" \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" || { say "building the Pulumi engine failed (see above)"; exit 1; }
  say "built $bin/pulumi ($("$bin/pulumi" version)) in $(($(date +%s) - start))s"
fi

if [ -n "$host_version" ]; then
  if [ -x "$bin/pulumi-language-nodejs" ] && [ "$(cat "$bin/.language-host-version" 2>/dev/null)" = "$host_version" ]; then
    say "reusing $bin/pulumi-language-nodejs ($host_version)"
  else
    need_go
    say "building the Node.js language host from github.com/pulumi/pulumi/sdk/v3@$host_version"
    build "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs@$host_version" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs \
      "$bin/pulumi-language-nodejs" || { say "building the language host failed (see above)"; exit 1; }
    echo "$host_version" >"$bin/.language-host-version"
  fi
fi

write_launcher "$bin"
echo "$bin"
