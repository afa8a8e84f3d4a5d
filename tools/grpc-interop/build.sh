#!/usr/bin/env bash
# Builds grpc-interop-server (this directory) offline against Debian's grpc-go 1.33 and protobuf-go, in GOPATH mode,
# into artifacts/tools/grpc-interop-server of the repository (gitignored) and prints that path as the last line.
# Installs what is missing first (as root): golang-go, golang-google-grpc-dev, golang-google-protobuf-dev.
#   bash tools/grpc-interop/build.sh [--out PATH]
set -euo pipefail
src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$src/../.." && pwd)"
out="$repo/artifacts/tools/grpc-interop-server"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    *) echo "build.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

gocode=/usr/share/gocode/src
need=()
command -v go >/dev/null 2>&1 || need+=(golang-go)
[ -d "$gocode/google.golang.org/grpc" ] || need+=(golang-google-grpc-dev)
[ -d "$gocode/google.golang.org/protobuf/encoding/protowire" ] || need+=(golang-google-protobuf-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "build.sh: installing ${need[*]}" >&2
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
