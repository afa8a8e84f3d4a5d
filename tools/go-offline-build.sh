#!/usr/bin/env bash
# Shared by the tools' build.sh scripts: builds the Go program in a directory offline, in GOPATH mode against Debian's
# Go packages under /usr/share/gocode, into OUT (atomically) and prints OUT as the last line. Installs the named Debian
# packages first (as root) when a path that proves them is missing.
#   bash tools/go-offline-build.sh SRC_DIR OUT [PATH=PACKAGE ...]
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: go-offline-build.sh SRC_DIR OUT [PATH=PACKAGE ...]" >&2; exit 2; }
src="$1"; out="$2"; shift 2
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

need=()
command -v go >/dev/null 2>&1 || need+=(golang-go)
for requirement in "$@"; do
  [ -e "${requirement%%=*}" ] || need+=("${requirement#*=}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "build: installing ${need[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

work="$repo/artifacts/tools/go"
mkdir -p "$work/gopath" "$(dirname "$out")"
export GO111MODULE=off GOPROXY=off GOFLAGS= CGO_ENABLED=0
export GOPATH="$work/gopath:/usr/share/gocode"
export GOCACHE="${GOCACHE:-$work/cache}"

cd "$src"
go vet . >&2
go build -trimpath -o "$out.tmp.$$" . >&2
mv -f "$out.tmp.$$" "$out"
echo "$out"
