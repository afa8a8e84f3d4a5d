#!/usr/bin/env bash
# Builds the node image from Debian's packages and this tree, without pulling from any registry, into the local
# containers storage (podman and buildah share it), and prints the image reference as its last line.
#
#   deploy/build-image.sh                    # publishes both executables to artifacts/lab-bin first
#   VPC_CNI_BIN_DIR=artifacts/lab-bin deploy/build-image.sh   # uses executables published already (scripts/test.sh)
#   VPC_CNI_IMAGE=localhost/vpc-cni:dev deploy/build-image.sh  # another reference (default localhost/vpc-cni:<short sha>)
#
# The root filesystem (mmdebstrap, Debian 12: iptables, nftables, ca-certificates, containernetworking-plugins' portmap,
# bandwidth and loopback) is cached as artifacts/image/rootfs-<key>.tar, keyed by the mmdebstrap arguments, so only the
# first build downloads packages. Run as root. Debian packages needed: mmdebstrap, buildah (installed when missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

log() { echo "build-image: $*" >&2; }

need=()
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v buildah >/dev/null || need+=(buildah)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"; } >/dev/null
fi

# The executables link against the build machine's glibc: the root filesystem is the same Debian release (12).
suite=bookworm
work=artifacts/image
mkdir -p "$work"

# 1. Root filesystem. Documentation, manuals and locales are left out, and of the reference plugins only the ones the
# conflist chains (portmap, bandwidth) plus loopback and host-local (egress-cni's IPAM); the merged-usr hook instead of the usrmerge package keeps perl out.
rootfs_args=(--variant=essential --format=tar --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
  --include=iptables,nftables,ca-certificates,containernetworking-plugins
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/lib/cni/*' --dpkgopt='path-include=/usr/lib/cni/portmap'
  --dpkgopt='path-include=/usr/lib/cni/bandwidth' --dpkgopt='path-include=/usr/lib/cni/loopback'
  --dpkgopt='path-include=/usr/lib/cni/host-local'
  "$suite")
key=$(printf '%s\n' "${rootfs_args[@]}" | sha256sum | cut -c1-16)
rootfs="$work/rootfs-$suite-$key.tar"
if [ ! -s "$rootfs" ]; then
  log "root filesystem: mmdebstrap $suite (first build only; cached as $rootfs)"
  rm -rf "$work"/rootfs-*.tar "$rootfs.partial"
  mmdebstrap --quiet "${rootfs_args[@]}" "$rootfs.partial" >"$work/mmdebstrap.log" 2>&1 \
    || { tail -30 "$work/mmdebstrap.log" >&2; exit 1; }
  mv "$rootfs.partial" "$rootfs"
else
  log "root filesystem: cached $rootfs"
fi

# 2. Executables: the Native AOT plugin and daemon, published as scripts/test.sh and scripts/lab.sh do.
bin="${VPC_CNI_BIN_DIR:-}"
if [ -z "$bin" ]; then
  bin=artifacts/lab-bin
  log "publishing samples/VpcCni.CniPlugin, samples/VpcCni.EgressPlugin and samples/VpcCni.Daemon (Native AOT) to $bin"
  dotnet publish samples/VpcCni.CniPlugin -c Release -nologo -v:q -o "$bin" >&2
  dotnet publish samples/VpcCni.EgressPlugin -c Release -nologo -v:q -o "$bin" >&2
  dotnet publish samples/VpcCni.Daemon -c Release -nologo -v:q -o "$bin" >&2
fi
for exe in vpc-cni egress-cni vpc-cni-ipamd; do
  [ -x "$bin/$exe" ] || { log "$bin/$exe is missing"; exit 1; }
done

# 3. The image: deploy/Containerfile over a context of hard links (no copy of the tarball).
context="$work/context"
rm -rf "$context"
mkdir -p "$context"
ln "$rootfs" "$context/rootfs.tar" 2>/dev/null || cp "$rootfs" "$context/rootfs.tar"
cp "$bin/vpc-cni" "$bin/egress-cni" "$bin/vpc-cni-ipamd" "$context/"

revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || revision="$revision-dirty"
image="${VPC_CNI_IMAGE:-localhost/vpc-cni:$revision}"
previous=$(buildah images --noheading --quiet "$image" 2>/dev/null || true)
log "buildah build $image"
buildah build --quiet --pull=false --layers=false -f deploy/Containerfile \
  --label org.opencontainers.image.title=vpc-cni --label "org.opencontainers.image.revision=$revision" \
  -t "$image" "$context" >&2
rm -rf "$context"
# A rebuild under the same reference leaves the former image untagged: remove it rather than pile them up.
current=$(buildah images --noheading --quiet "$image")
if [ -n "$previous" ] && [ "$previous" != "$current" ]; then
  buildah rmi "$previous" >/dev/null 2>&1 || true
fi
echo "$image"
