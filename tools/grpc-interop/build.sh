#!/usr/bin/env bash
# Builds grpc-interop-server (this directory) offline against Debian's grpc-go 1.33 and protobuf-go, in GOPATH mode,
# into artifacts/tools/grpc-interop-server of the repository (gitignored) and prints that path as the last line.
# Installs what is missing first (as root): golang-go, golang-google-grpc-dev, golang-google-protobuf-dev.
#   bash tools/grpc-interop/build.sh [--out PATH]
set -euo pipefail
src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$src/../../artifacts/tools/grpc-interop-server"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    *) echo "build.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
out="$(realpath -m "$out")"
exec bash "$src/../go-offline-build.sh" "$src" "$out" \
  /usr/share/gocode/src/google.golang.org/grpc=golang-google-grpc-dev \
  /usr/share/gocode/src/google.golang.org/protobuf/encoding/protowire=golang-google-protobuf-dev
