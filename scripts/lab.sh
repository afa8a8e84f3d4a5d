#!/usr/bin/env bash
# The README's main command: builds what the lab needs (the Native AOT plugin and daemon, the lab, and the libcni
# driver tools/cnidriver), installs missing Debian packages, then runs `vpc-cni-lab` (default: `run`). Run as root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 AWS_EC2_METADATA_DISABLED=true

need=()
command -v ip >/dev/null || need+=(iproute2)
command -v iptables-restore >/dev/null || need+=(iptables)
command -v nft >/dev/null || need+=(nftables)
command -v clang >/dev/null || need+=(clang)
[ -e /usr/include/zlib.h ] || need+=(zlib1g-dev)
[ -x /usr/lib/cni/portmap ] || need+=(containernetworking-plugins)
if [ ${#need[@]} -gt 0 ]; then
  echo "lab.sh: installing ${need[*]}" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

echo "lab.sh: building the plugins, the daemon (Native AOT) and the lab..." >&2
dotnet publish samples/VpcCni.CniPlugin -c Release -nologo -v:q -o artifacts/lab-bin >&2
dotnet publish samples/VpcCni.EgressPlugin -c Release -nologo -v:q -o artifacts/lab-bin >&2
dotnet publish samples/VpcCni.Daemon -c Release -nologo -v:q -o artifacts/lab-bin >&2
dotnet build samples/VpcCni.Lab -c Release -nologo -v:q -o artifacts/lab >&2
bash tools/cnidriver/build.sh >/dev/null

exec dotnet artifacts/lab/vpc-cni-lab.dll "${@:-run}"
