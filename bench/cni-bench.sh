#!/usr/bin/env bash
# Plugin ADD/DEL latency beside Debian's reference ptp+host-local, in the same run, with
# ../shared/tools/cni-refbench.sh, both driven by our libcni driver (tools/cnidriver, built if missing).
# Everything runs inside a node namespace this script creates
# (the plugins wire the node they run in; the machine's root namespace is never touched):
# the loopback cloud emulator, vpc-cni-ipamd on the real AWS provider, and the refbench itself.
# Needs: scripts/test.sh or scripts/lab.sh run once (publishes artifacts/lab-bin, artifacts/cloud). Root.
#   bash bench/cni-bench.sh [-n 50] [--json FILE] [--ipv6]
# --ipv6: the daemon in an IPv6 cluster (ENABLE_IPv6, prefix delegation): vpc-cni's pods get /128s; the reference stays
#         ptp+host-local over IPv4, so the same sitting compares the two families' ADD/DEL.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N=50; JSON=""; FAMILY=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n) N="$2"; shift 2 ;;
    --json) JSON="$2"; shift 2 ;;
    --ipv6) FAMILY=(ENABLE_IPv6=true ENABLE_IPv4=false ENABLE_PREFIX_DELEGATION=true WARM_PREFIX_TARGET=1); shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
BIN="$PWD/artifacts/lab-bin"; CLOUD="$PWD/artifacts/cloud/vpc-cni-cloud.dll"
DRIVER="$PWD/artifacts/tools/cnidriver"
[ -x "$DRIVER" ] || DRIVER="$(bash tools/cnidriver/build.sh | tail -n 1)"
NS="vcb$$-node"; WORK="$(mktemp -d /tmp/vcb.XXXXXX)"; PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  ip netns del "vcb$$-rss" 2>/dev/null || true; ip netns del "$NS" 2>/dev/null || true; rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
ip netns add "$NS"; ip -n "$NS" link set lo up
mkdir -p "$WORK"/{bin,net.d,log}
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-west-2 AWS_EC2_METADATA_DISABLED=true \
  AWS_ENDPOINT_URL_EC2=http://127.0.0.1:18080/ AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:18080/ \
  AWS_VPC_K8S_PLUGIN_LOG_FILE="$WORK/log/plugin.log" AWS_VPC_K8S_PLUGIN_LOG_LEVEL=Info \
  MINIMUM_IP_TARGET=$((N + 10)) WARM_IP_TARGET=10 IP_COOLDOWN_PERIOD=0
ip netns exec "$NS" dotnet "$CLOUD" --listen 127.0.0.1:18080 --instance-type m5.4xlarge > "$WORK/log/cloud.log" 2>&1 & PIDS+=($!)
ip netns exec "$NS" "$BIN/vpc-cni-ipamd" init --plugin-source "$BIN/vpc-cni" --cni-bin-dir "$WORK/bin" --skip-sysctls >/dev/null
sleep 2
env ${FAMILY[@]+"${FAMILY[@]}"} AWS_VPC_K8S_CNI_LOG_FILE=stdout AWS_VPC_K8S_CNI_LOGLEVEL=info ip netns exec "$NS" "$BIN/vpc-cni-ipamd" run --cloud aws --socket "$WORK/ipamd.sock" --checkpoint "$WORK/ipam.json" --no-host-network > "$WORK/log/ipamd.log" 2>&1 & PIDS+=($!)
for _ in $(seq 1 100); do "$BIN/vpc-cni-ipamd" health --socket "$WORK/ipamd.sock" --timeout 1s >/dev/null 2>&1 && break; sleep 0.3; done
sleep 3  # let the pool reach MINIMUM_IP_TARGET so ADDs measure the plugin, not EC2
cat > "$WORK/vpc-cni.conflist" <<CONF
{"cniVersion":"1.0.0","name":"aws-cni","plugins":[{"type":"vpc-cni","vethPrefix":"eni","mtu":"9001",
 "ipamdAddress":"$WORK/ipamd.sock","pluginLogFile":"$WORK/log/plugin.log","pluginLogLevel":"Info",
 "daemonPodWiring":${VPC_CNI_DAEMON_POD_WIRING:-false},
 "capabilities":{"io.kubernetes.cri.pod-annotations":true}}]}
CONF
ip netns exec "$NS" bash ../shared/tools/cni-refbench.sh -n "$N" --driver "$DRIVER" --candidate-conflist "$WORK/vpc-cni.conflist" \
  --candidate-plugin-dir "$WORK/bin" --candidate-name vpc-cni \
  --candidate-cap-args '{"io.kubernetes.cri.pod-annotations":{}}' ${JSON:+--json "$JSON"}
if [ ${#FAMILY[@]} -gt 0 ]; then
  echo "IPv6 pods: $(grep -c -E 'assigned [0-9a-f]*:[0-9a-f:]+ to ' "$WORK/log/ipamd.log") /128 assignments in the daemon's log"
fi
echo "daemon peak RSS (VmHWM): $(grep VmHWM /proc/${PIDS[1]}/status | awk '{print $2, $3}')"
# Plugin peak RSS per verb: one more ADD and DEL through libcni with the plugin run under GNU time.
if [ -x /usr/bin/time ]; then
  mkdir -p "$WORK/rss-bin"
  printf '#!/bin/sh\nexec /usr/bin/time -f %%M -a -o "%s/log/rss.$CNI_COMMAND" "%s/bin/vpc-cni"\n' "$WORK" "$WORK" > "$WORK/rss-bin/vpc-cni"
  chmod +x "$WORK/rss-bin/vpc-cni"
  ip netns add "vcb$$-rss"
  for verb in add del; do
    ip netns exec "$NS" "$DRIVER" "$verb" -conflist "$WORK/vpc-cni.conflist" -plugin-dir "$WORK/rss-bin" \
      -netns "/var/run/netns/vcb$$-rss" -container-id rss -ifname eth0 -cap-args '{"io.kubernetes.cri.pod-annotations":{}}' >/dev/null || true
  done
  ip netns del "vcb$$-rss"
  echo "plugin peak RSS: ADD $(cat "$WORK/log/rss.ADD" 2>/dev/null) kB, DEL $(cat "$WORK/log/rss.DEL" 2>/dev/null) kB"
fi
