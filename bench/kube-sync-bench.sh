#!/usr/bin/env bash
# Time from starting vpc-cni-ipamd (simulated cloud, no host network) with the emulator's Kubernetes API to its first
# synced lists ("Kubernetes lists synced") and to SERVING, plus its memory once idle with both watches running.
# Usage: bash bench/kube-sync-bench.sh [--bin DIR] [--runs N] [--pods N]
#   DIR: where vpc-cni-ipamd is (default artifacts/lab-bin); --pods: pods put on the node in the API before the start.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=artifacts/lab-bin runs=3 pods=0
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;; --runs) runs=$2; shift 2 ;; --pods) pods=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
export AWS_EC2_METADATA_DISABLED=true
work=$(mktemp -d /tmp/kube-sync-XXXXXX)
cloud_pid=""
cleanup() { [ -n "$cloud_pid" ] && kill "$cloud_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
dotnet build samples/VpcCni.CloudEmulator -c Release -nologo -v:q -o "$work/cloud" >/dev/null
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ec2=$(port) kube=$(port)
"$work/cloud/vpc-cni-cloud" --listen "127.0.0.1:$ec2" --kube-listen "127.0.0.1:$kube" > "$work/cloud.log" 2>&1 &
cloud_pid=$!
for _ in $(seq 100); do grep -q "nodes:" "$work/cloud.log" 2>/dev/null && break; sleep 0.1; done
node=$(sed -n 's/.*nodes: \([^ ]*\).*/\1/p' "$work/cloud.log" | head -1)
for i in $(seq "$pods"); do
  printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p%s","namespace":"default"},"spec":{"nodeName":"%s","containers":[{"name":"c","image":"x"}]}}' "$i" "$node" |
    curl -sf -X POST -H 'Content-Type: application/json' --data-binary @- "http://127.0.0.1:$kube/api/v1/namespaces/default/pods" >/dev/null
done
echo "run synced_ms serving_ms VmHWM_kB VmRSS_kB"
for r in $(seq "$runs"); do
  rm -f "$work/s.sock" "$work/ipam.json"*
  start=$(date +%s%N)
  AWS_VPC_K8S_CNI_LOG_FILE=stdout AWS_VPC_K8S_CNI_LOGLEVEL=info MY_NODE_NAME=$node "$bin/vpc-cni-ipamd" run --cloud simulated --no-host-network --socket "$work/s.sock" --checkpoint "$work/ipam.json" \
    --kube-server "http://127.0.0.1:$kube" > "$work/d.log" 2>&1 &
  pid=$!
  synced="" serving=""
  for _ in $(seq 600); do
    [ -z "$synced" ] && grep -q "Kubernetes lists synced" "$work/d.log" && synced=$(( ($(date +%s%N) - start) / 1000000 ))
    [ -z "$serving" ] && "$bin/vpc-cni-ipamd" health --socket "$work/s.sock" --timeout 1s >/dev/null 2>&1 && serving=$(( ($(date +%s%N) - start) / 1000000 ))
    [ -n "$synced" ] && [ -n "$serving" ] && break
    sleep 0.02
  done
  sleep 5
  hwm=$(awk '/VmHWM/{print $2}' /proc/$pid/status) rss=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$r ${synced:-none} ${serving:-none} $hwm $rss"
done
