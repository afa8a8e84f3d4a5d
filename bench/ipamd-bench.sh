#!/usr/bin/env bash
# vpc-cni-ipamd resident memory and RPC load, in a scratch namespace this script creates (the root namespace is
# never touched; simulated cloud, nothing reaches IMDS). Prints one line per phase:
#   idle         after the daemon is ready and has been idle for --settle seconds
#   after-load   right after `rpc-load` (only with --pairs N)
#   after-rest   --settle seconds after the load
# with VmRSS, VmHWM, RssAnon and RssFile from /proc/PID/status, plus the rpc-load line itself.
#   bash bench/ipamd-bench.sh [--bin DIR] [--load-bin DIR] [--instance-type m5.large] [--settle 10] [--callers 64]
#                             [--pairs 0] [--warmup N] [--cloud-emulator]
# --cloud-emulator runs the daemon with --cloud aws (the real EC2 and IMDS clients) against the loopback cloud emulator
# (artifacts/cloud, built by scripts/test.sh or scripts/lab.sh) inside the namespace instead of --cloud simulated.
# --load-bin runs rpc-load from another build (default: --bin), to drive an older daemon with the same client.
# Environment passes through (e.g. MINIMUM_IP_TARGET=120 IP_COOLDOWN_PERIOD=0 for rpc-load); socket and checkpoint
# go under $TMPDIR (default /tmp; TMPDIR=/dev/shm puts the journal on tmpfs, as /var/run is on a node). Root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN="$PWD/artifacts/lab-bin"; LOADBIN=""; TYPE=m5.large; SETTLE=10; CALLERS=64; PAIRS=0; WARMUP=(); EMULATOR=
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN="$(cd "$2" && pwd)"; shift 2 ;;
    --load-bin) LOADBIN="$(cd "$2" && pwd)"; shift 2 ;;
    --warmup) WARMUP=(--warmup "$2"); shift 2 ;;
    --cloud-emulator) EMULATOR=1; shift ;;
    --instance-type) TYPE="$2"; shift 2 ;;
    --settle) SETTLE="$2"; shift 2 ;;
    --callers) CALLERS="$2"; shift 2 ;;
    --pairs) PAIRS="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
LOADBIN="${LOADBIN:-$BIN}"
export AWS_EC2_METADATA_DISABLED=true
NS="vcp$$-node"; WORK="$(mktemp -d "${TMPDIR:-/tmp}/vcp.XXXXXX")"; PID=""; CLOUDPID=""
cleanup() {
  for p in $PID $CLOUDPID; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true; rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
ip netns add "$NS"; ip -n "$NS" link set lo up
CLOUD=(--cloud simulated --instance-type "$TYPE")
if [ -n "$EMULATOR" ]; then
  export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-west-2 \
    AWS_ENDPOINT_URL_EC2=http://127.0.0.1:18080/ AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:18080/
  ip netns exec "$NS" dotnet "$PWD/artifacts/cloud/vpc-cni-cloud.dll" --listen 127.0.0.1:18080 --instance-type "$TYPE" \
    > "$WORK/cloud.log" 2>&1 & CLOUDPID=$!
  CLOUD=(--cloud aws)
fi
AWS_VPC_K8S_CNI_LOG_FILE=stdout AWS_VPC_K8S_CNI_LOGLEVEL=info ip netns exec "$NS" "$BIN/vpc-cni-ipamd" run "${CLOUD[@]}" --no-host-network \
  --socket "$WORK/ipamd.sock" --checkpoint "$WORK/ipam.json" > "$WORK/ipamd.log" 2>&1 & PID=$!
ready=""
for _ in $(seq 1 100); do
  if "$BIN/vpc-cni-ipamd" health --socket "$WORK/ipamd.sock" --timeout 1s >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.2
done
[ -n "$ready" ] || { echo "daemon did not become ready:" >&2; cat "$WORK/ipamd.log" >&2; exit 1; }
mem() {
  awk -v phase="$1" '/^(VmRSS|VmHWM|RssAnon|RssFile|Threads):/{v[$1]=$2}
    END{printf "%-10s VmRSS %.1f MB  VmHWM %.1f MB  RssAnon %.1f MB  RssFile %.1f MB  threads %d\n", phase,
      v["VmRSS:"]/1024, v["VmHWM:"]/1024, v["RssAnon:"]/1024, v["RssFile:"]/1024, v["Threads:"]}' "/proc/$PID/status"
}
echo "$TYPE${EMULATOR:+ (--cloud aws, emulator)}, $(uptime | sed 's/.*load average/load average/')"
sleep "$SETTLE"; mem idle
if [ "$PAIRS" -gt 0 ]; then
  ip netns exec "$NS" "$LOADBIN/vpc-cni-ipamd" rpc-load --socket "$WORK/ipamd.sock" --callers "$CALLERS" --pairs "$PAIRS" "${WARMUP[@]}"
  mem after-load
  sleep "$SETTLE"; mem after-rest
fi
