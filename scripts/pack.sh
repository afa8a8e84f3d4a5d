#!/usr/bin/env bash
# Packs the src/ libraries (VpcCni.Abstractions, .Ipam, .Aws, .Aws.Emulation, .Linux, .Hosting) into the local feed artifacts/feed,
# with package validation and each package's README. Prints the version as the last line and writes it to
# artifacts/feed/VERSION, where samples/MinimalCniPlugin and samples/IpamEmbedder (restoring from this feed) read it.
#
#   bash scripts/pack.sh                      version 0.1.0-local.<UTC time>.<pid>: new on every run
#   VPCCNI_PACKAGE_VERSION=1.2.3 bash scripts/pack.sh
#
# NuGet keeps a package in its global cache (~/.nuget/packages) by id and version and never looks at the feed again
# for that pair, so a fixed version would hand a consumer the bits of an earlier run. Each run therefore gets its
# own version, and every cached "-local" copy of a VpcCni.* package is removed so none can be picked up stale.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

version="${VPCCNI_PACKAGE_VERSION:-0.1.0-local.$(date -u +%Y%m%d%H%M%S).$$}"
feed=artifacts/feed
rm -rf "$feed"
mkdir -p "$feed"

# One pack of a solution filter holding every src/ project (one restore and one parallel build instead of five).
# Only the package version changes: the assemblies are the ones `dotnet build -c Release` makes (no rebuild).
filter=artifacts/pack/src.slnf
mkdir -p "$(dirname "$filter")"
{
  echo '{"solution":{"path":"../../VpcCni.sln","projects":['
  first=1
  for project in src/*/*.csproj; do
    [ $first = 1 ] || echo ','
    first=0
    printf '"%s"' "$project"
  done
  echo ']}}'
} > "$filter"
dotnet pack "$filter" -c Release -nologo -v:q -o "$feed" -p:PackageVersion="$version" >&2
echo "$version" > "$feed/VERSION"

cache="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
for package in "$cache"/vpccni.*; do
  [ -d "$package" ] || continue
  for cached in "$package"/*-local*; do
    if [ -d "$cached" ]; then rm -rf "$cached"; fi
  done
done

echo "$version"
