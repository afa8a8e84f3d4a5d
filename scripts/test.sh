#!/usr/bin/env bash
# Runs the whole test suite: warnings-as-errors build, the Native AOT gate, every test project,
# then prints one aggregate line "N passed, N failed[, N skipped]". Exits non-zero on any failure.
# Run as root: privileged tests create their own network namespaces.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export AWS_EC2_METADATA_DISABLED=true DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
results="artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

# What the tests drive besides .NET (as scripts/lab.sh does): installed from Debian's packages when missing, so this
# command works on a fresh machine too. tools/cnidriver/build.sh brings Go and libcni itself, tools/grpc-interop/build.sh
# Debian's grpc-go and protobuf-go.
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v iptables-restore >/dev/null || need+=(iptables)
command -v nft >/dev/null || need+=(nftables)
command -v clang >/dev/null || need+=(clang)
command -v pgrep >/dev/null || need+=(procps)
[ -e /usr/include/zlib.h ] || need+=(zlib1g-dev)
[ -x /usr/lib/cni/portmap ] || need+=(containernetworking-plugins)
# kubectl for the Kubernetes API emulator tests: Debian ships it as kubernetes-client (1.20); a newer kubectl on PATH is used as is.
command -v kubectl >/dev/null || need+=(kubernetes-client)
# The node image (deploy/build-image.sh) and its end-to-end tests: a Debian root filesystem, buildah, podman with runc.
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v buildah >/dev/null || need+=(buildah)
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || exit 1
fi

status=0
echo "== build (Release, warnings as errors)"
dotnet build VpcCni.sln -c Release -nologo -v:q || exit 1

echo "== AOT gate (tests/VpcCni.AotSmoke: Native AOT publish, trim/AOT warnings are errors)"
dotnet publish tests/VpcCni.AotSmoke/VpcCni.AotSmoke.csproj -c Release -nologo -v:q -o artifacts/aot-smoke || exit 1
artifacts/aot-smoke/VpcCni.AotSmoke || { echo "AOT smoke binary failed"; exit 1; }

echo "== executables for the end-to-end tests (Native AOT plugins and daemon, lab)"
dotnet publish samples/VpcCni.CniPlugin -c Release -nologo -v:q -o artifacts/lab-bin || exit 1
dotnet publish samples/VpcCni.EgressPlugin -c Release -nologo -v:q -o artifacts/lab-bin || exit 1
dotnet publish samples/VpcCni.Daemon -c Release -nologo -v:q -o artifacts/lab-bin || exit 1
dotnet build samples/VpcCni.Lab -c Release -nologo -v:q -o artifacts/lab || exit 1
dotnet build samples/VpcCni.CloudEmulator -c Release -nologo -v:q -o artifacts/cloud || exit 1

echo "== node image (deploy/build-image.sh from artifacts/lab-bin; tests/VpcCni.EndToEnd.Tests ImageTests run it)"
# A failure leaves VPCCNI_IMAGE naming no image, which fails the image tests at once; the rest of the suite still runs.
if image=$(VPC_CNI_BIN_DIR=artifacts/lab-bin bash deploy/build-image.sh | tail -1) && [ -n "$image" ]; then
  export VPCCNI_IMAGE="$image"
  echo "$image"
else
  echo "node image build failed"; status=1
  export VPCCNI_IMAGE=localhost/vpc-cni:build-failed
fi

echo "== libcni driver (tools/cnidriver, used by conformance and end-to-end tests)"
bash tools/cnidriver/build.sh >/dev/null || { echo "cnidriver build failed"; exit 1; }
echo "== grpc-go interop server (tools/grpc-interop, the plugin client's non-Kestrel peer)"
bash tools/grpc-interop/build.sh >/dev/null || { echo "grpc-interop build failed"; exit 1; }

echo "== SDK packages (scripts/pack.sh into artifacts/feed) and samples/MinimalCniPlugin and samples/IpamEmbedder built from them"
rm -rf artifacts/sample-minimal-cni artifacts/sample-ipam-embedder
# A failure here leaves the artifact missing, which fails the sample's end-to-end tests; the rest of the suite still runs.
if bash scripts/pack.sh >/dev/null; then
  dotnet build samples/MinimalCniPlugin -c Release -nologo -v:q -o artifacts/sample-minimal-cni \
    || { echo "samples/MinimalCniPlugin build failed"; status=1; }
  dotnet build samples/IpamEmbedder -c Release -nologo -v:q -o artifacts/sample-ipam-embedder \
    || { echo "samples/IpamEmbedder build failed"; status=1; }
else
  echo "pack failed"; status=1
fi

echo "== tests"
dotnet test VpcCni.sln -c Release --no-build -nologo -v:q \
  --logger "trx" --logger "console;verbosity=minimal" --results-directory "$results" || status=1

passed=0; failed=0; skipped=0; files=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  total=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  executed=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  skipped=$((skipped + ${total:-0} - ${executed:-0}))
done
if [ "$files" -eq 0 ] || [ "$passed" -eq 0 ]; then echo "no test results found"; status=1; fi
if [ "$failed" -gt 0 ]; then status=1; fi
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
exit $status
