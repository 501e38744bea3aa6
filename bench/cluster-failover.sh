#!/usr/bin/env bash
# Failover time of a clustered VM (issue 16): one etcd member (Debian's etcd-server) and two `hyper host` nodes on this
# machine sharing a VM folder; a small guest (prints a line, then idles in HLT) runs as a High-priority group on node a;
# node a dies (its host and its worker SIGKILLed by PID). Read from node b's own log (UTC, ms): detection (kill -> b
# claims the group: the lease expired and b's etcd watch saw it) and failover (kill -> the guest running on b, its group
# Online). Run for Hyper-V's default heartbeat (1000 ms x 10) and a short one (250 ms x 4). Not part of the test suite.
#   bench/cluster-failover.sh [TRIALS]   (default 3 per setting)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
trials="${1:-3}"
command -v etcd >/dev/null || { echo "etcd is missing: apt-get install etcd-server" >&2; exit 1; }
dotnet build "$root/src/HyperSharp.Cli" -c Release -v q -nologo >/dev/null
hyper=(dotnet "$root/src/HyperSharp.Cli/bin/Release/net10.0/hyper.dll")
work="$(mktemp -d /tmp/hs-cf-XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# The guest: mov dx,0x3f8; mov al,'U'; out dx,al; mov al,10; out dx,al; then sti; hlt; jmp back (ELF64, loaded at 1 MiB).
python3 - "$work/guest.elf" <<'PY'
import struct, sys
code = bytes([0x66,0xBA,0xF8,0x03, 0xB0,0x55, 0xEE, 0xB0,0x0A, 0xEE, 0xFB,0xF4,0xEB,0xFC])
addr = 0x100000
eh = b'\x7fELF' + bytes([2,1,1]) + bytes(9) + struct.pack('<HHIQQQIHHHHHH', 2, 62, 1, addr, 64, 0, 0, 64, 56, 1, 0, 0, 0)
ph = struct.pack('<IIQQQQQQ', 1, 7, 120, addr, addr, len(code), len(code) + 0x1000, 0x1000)
open(sys.argv[1], 'wb').write(eh + ph + code)
PY

ms_of() { date -u -d "$(date -u +%F) $1" +%s%3N; } # a host log's HH:MM:SS.fff (UTC) as Unix ms
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...: until the command succeeds
  local deadline=$((SECONDS + $1)) what="$2"; shift 2
  until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $deadline ] || { echo "timed out waiting for $what" >&2; exit 1; }; sleep 0.05; done
}

trial() { # trial DELAY_MS THRESHOLD N
  local delay=$1 threshold=$2 n=$3 dir="$work/t-$1-$3"
  mkdir -p "$dir/shared" "$dir/etcd"
  local port=$((20000 + RANDOM % 20000)) url
  url="http://127.0.0.1:$port"
  etcd --name m1 --data-dir "$dir/etcd" --listen-client-urls "$url" --advertise-client-urls "$url" \
    --listen-peer-urls "http://127.0.0.1:$((port + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((port + 1))" \
    --initial-cluster "m1=http://127.0.0.1:$((port + 1))" --heartbeat-interval 50 --election-timeout 500 >"$dir/etcd.log" 2>&1 &
  local etcd_pid=$!; pids+=("$etcd_pid"); disown "$etcd_pid" # stopped by its PID below, without job-control notices
  local node host_a host_b
  for node in a b; do
    "${hyper[@]}" host --root "$dir/$node" --socket "$dir/$node.sock" --cluster-etcd "$url" --cluster-node "$node" >"$dir/$node.log" 2>&1 &
    pids+=("$!"); [ "$node" = a ] && host_a=$! || host_b=$!; disown "$!"
  done
  wait_for 60 "node a's socket" "${hyper[@]}" vm list --host-socket "$dir/a.sock"
  wait_for 60 "node b's socket" "${hyper[@]}" vm list --host-socket "$dir/b.sock"
  "${hyper[@]}" cluster new bench --node a --node b --same-subnet-delay "$delay" --same-subnet-threshold "$threshold" --host-socket "$dir/a.sock" >/dev/null
  wait_for 60 "both nodes up" bash -c "[ \$(${hyper[*]} cluster node list --host-socket $dir/a.sock | grep -c ' Up ') = 2 ]"
  "${hyper[@]}" vm new g --kernel "$work/guest.elf" --memory 64MB --backend emulated --path "$dir/shared" --host-socket "$dir/a.sock" >/dev/null
  "${hyper[@]}" vm start g --host-socket "$dir/a.sock" >/dev/null
  "${hyper[@]}" cluster group add g --priority High --host-socket "$dir/a.sock" >/dev/null
  wait_for 60 "the group Online on a" bash -c "${hyper[*]} cluster group list --host-socket $dir/a.sock | grep -q ' Online '"
  local worker
  worker="$("${hyper[@]}" vm list --json --host-socket "$dir/a.sock" | grep -o '"workerPid": [0-9]*' | grep -o '[0-9]*$')"
  pids+=("$worker")
  local killed; killed=$(date +%s%3N)
  kill -9 "$host_a" "$worker"
  wait_for 120 "the group Online on b" grep -q "group g is online on b" "$dir/b.log"
  local claimed online
  claimed=$(ms_of "$(grep -m1 'claimed group g' "$dir/b.log" | cut -d' ' -f1)")
  online=$(ms_of "$(grep -m1 'group g is online on b' "$dir/b.log" | cut -d' ' -f1)")
  printf '%-16s %5d %12d %12d\n' "${delay} ms x ${threshold}" "$n" $((claimed - killed)) $((online - killed))
  local bw; bw="$("${hyper[@]}" vm list --json --host-socket "$dir/b.sock" | grep -o '"workerPid": [0-9]*' | grep -o '[0-9]*$')"
  kill -9 "$host_b" "$bw" "$etcd_pid" 2>/dev/null || true
}

printf '%-16s %5s %12s %12s\n' heartbeat trial "detected ms" "running ms"
for setting in "1000 10" "250 4"; do
  for n in $(seq 1 "$trials"); do trial $setting "$n"; done
done
