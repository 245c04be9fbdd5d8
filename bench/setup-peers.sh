#!/bin/sh
# Installs the peer tools the benchmark compares pmgrants with, each in its own Python venv under
#   ${XDG_CACHE_HOME:-$HOME/.cache}/pmgrants/bench/
# and prints one line per tool for bench/run.ts:
#   PEER <name> ok <path to its executable> <version>
#   PEER <name> skipped <reason>
# Exit 0 even when a tool could not be installed (the runner reports it as skipped, with the reason).
#
# - pgbedrock 0.4.2 from PyPI.
# - ldap2pg 5.9 from PyPI (the Python line; v6 is a Go module that the Go proxy here does not serve).
#   It needs python-ldap, which builds from source against Debian's libldap2-dev and libsasl2-dev:
#   installed with apt-get when missing and running as root.
set -u

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/pmgrants/bench"
PGBEDROCK_VERSION=0.4.2
LDAP2PG_VERSION=5.9
PSYCOPG2_VERSION=2.9.13
PYTHON="${PYTHON:-python3}"
mkdir -p "$CACHE"
log="$CACHE/setup.log"
: >"$log"

say() { echo "setup-peers: $*" >&2; }

# install_tool NAME EXECUTABLE VERSION PIP-SPEC... -> prints the PEER line
install_tool() {
  name=$1 exe=$2 version=$3
  shift 3
  venv="$CACHE/$name-$version"
  if [ -x "$venv/bin/$exe" ] && [ -f "$venv/.installed" ] && "$venv/bin/$exe" --help >/dev/null 2>&1; then
    echo "PEER $name ok $venv/bin/$exe $version"
    return 0
  fi
  say "installing $* into $venv (log: $log)"
  rm -rf "$venv"
  if ! "$PYTHON" -m venv "$venv" >>"$log" 2>&1; then
    echo "PEER $name skipped cannot create a Python venv with $PYTHON (see $log)"
    return 0
  fi
  if ! "$venv/bin/pip" install --disable-pip-version-check --no-input "$@" >>"$log" 2>&1; then
    echo "PEER $name skipped pip install $* failed (see $log)"
    return 0
  fi
  if ! "$venv/bin/$exe" --help >>"$log" 2>&1; then
    echo "PEER $name skipped $exe --help failed after install (see $log)"
    return 0
  fi
  touch "$venv/.installed"
  echo "PEER $name ok $venv/bin/$exe $version"
}

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "PEER pgbedrock skipped no $PYTHON on PATH"
  echo "PEER ldap2pg skipped no $PYTHON on PATH"
  exit 0
fi

install_tool pgbedrock pgbedrock "$PGBEDROCK_VERSION" "pgbedrock==$PGBEDROCK_VERSION"

# python-ldap's build needs the OpenLDAP and SASL headers (and a C compiler).
have_headers() { [ -f /usr/include/ldap.h ] && [ -f /usr/include/sasl/sasl.h ]; }
if ! have_headers && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "installing libldap2-dev and libsasl2-dev with apt-get (python-ldap builds against them)"
  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libldap2-dev libsasl2-dev; } >>"$log" 2>&1 || true
fi
venv="$CACHE/ldap2pg-$LDAP2PG_VERSION"
if have_headers || [ -f "$venv/.installed" ]; then
  # ldap2pg 5.x leaves the PostgreSQL driver to the installer (its docs: pip install ldap2pg psycopg2-binary).
  install_tool ldap2pg ldap2pg "$LDAP2PG_VERSION" "ldap2pg==$LDAP2PG_VERSION" "psycopg2-binary==$PSYCOPG2_VERSION"
else
  echo "PEER ldap2pg skipped python-ldap needs libldap2-dev and libsasl2-dev (apt-get install them as root)"
fi
