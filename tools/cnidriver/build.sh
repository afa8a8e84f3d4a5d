#!/usr/bin/env bash
# Builds cnidriver (this directory) offline against Debian's libcni, in GOPATH mode, into
# artifacts/tools/cnidriver of the repository (gitignored) and prints that path as the last line.
# Installs what is missing first (as root): golang-go, golang-github-appc-cni-dev (libcni sources under
# /usr/share/gocode) and containernetworking-plugins (the reference plugins the tests chain, e.g. portmap).
#   bash tools/cnidriver/build.sh [--out PATH]
set -euo pipefail
src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$src/../../artifacts/tools/cnidriver"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    *) echo "build.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
out="$(realpath -m "$out")"
exec bash "$src/../go-offline-build.sh" "$src" "$out" \
  /usr/share/gocode/src/github.com/containernetworking/cni/libcni=golang-github-appc-cni-dev \
  /usr/lib/cni/portmap=containernetworking-plugins
