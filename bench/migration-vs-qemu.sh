#!/usr/bin/env bash
# Live migration side by side: the same stock Debian kernel and initramfs with bench/guest/migrate-work.sh (hs.fill MiB of
# random data in RAM, hs.dirty KiB rewritten every 100 ms), moved to a second VM over loopback TCP, on our Emulated backend
# (HyperSharp.MigrationBench: both VMs in one process) and on QEMU's software CPU (two qemu-system-x86_64 -accel tcg
# processes, `migrate` to tcp:127.0.0.1 through QMP). Both with a 50 ms downtime target and no bandwidth cap.
# Reported per VMM: total time, downtime (ours: pause to handover; QEMU's own "downtime"), rounds, MiB sent; best of runs.
# Needs qemu-system-x86 (apt-get install qemu-system-x86) and python3. Not part of the test suite.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${BENCH_RUNS:-2}"; memory="${BENCH_MEMORY_MIB:-512}"; fill="${BENCH_FILL_MIB:-128}"; dirties="${BENCH_DIRTY_KIB:-0 4096}"
kit="$(bash "$root/eng/guest/build-kit.sh")"
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is missing (apt-get install qemu-system-x86)" >&2; exit 2; }
work="$(mktemp -d)"
source_pid=""; dest_pid=""
cleanup() { for p in $source_pid $dest_pid; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# The workload rides in a second initramfs archive appended to the kit's (the kernel unpacks both).
mkdir -p "$work/stage/init.d" && cp "$root/bench/guest/migrate-work.sh" "$work/stage/init.d/migrate-work.sh"
cat "$kit/initrd.img" > "$work/initrd.img"
(cd "$work/stage" && find . | cpio -o -H newc --quiet -R 0:0 | gzip) >> "$work/initrd.img"
dotnet build -c Release -v q -nologo "$root/bench/HyperSharp.MigrationBench" >/dev/null
bench="$root/bench/HyperSharp.MigrationBench/bin/Release/net10.0/HyperSharp.MigrationBench"

ours() { # dirty KiB -> the HS-MIGRATE line
  timeout 1200 "$bench" --kernel "$kit/vmlinuz" --initrd "$work/initrd.img" --memory-mib "$memory" --fill-mib "$fill" --dirty-kib "$1" 2>"$work/ours.log" \
    | grep -m1 '^HS-MIGRATE' || { echo "HS-MIGRATE failed"; tail -5 "$work/ours.log" >&2; }
  grep -h "migration: downtime" "$work/ours.log" | sed 's/^/  /' >&2 || true
}

# Waits until $2 appears in file $1 while process $3 lives (the guest says when it is ready; no fixed sleeps).
wait_for() { while ! grep -q "$2" "$1" 2>/dev/null; do kill -0 "$3" 2>/dev/null || return 1; sleep 0.05; done; }

qemu_run() { # dirty KiB -> a QEMU-MIGRATE line
  local port=$((20000 + RANDOM % 20000)) append="console=ttyS0 quiet hs.fill=$fill hs.dirty=$1"
  local common=(-accel tcg -M q35 -cpu qemu64 -m "$memory" -smp 1 -nodefaults -display none -no-reboot
                -kernel "$kit/vmlinuz" -initrd "$work/initrd.img" -append "$append")
  rm -f "$work"/src.* "$work"/dst.*
  qemu-system-x86_64 "${common[@]}" -serial "file:$work/src.console" -qmp "unix:$work/src.qmp,server=on,wait=off" &
  source_pid=$!
  qemu-system-x86_64 "${common[@]}" -serial "file:$work/dst.console" -incoming "tcp:127.0.0.1:$port" &
  dest_pid=$!
  wait_for "$work/src.console" "BENCH-TICK 3" "$source_pid" || { echo "QEMU-MIGRATE failed (no workload)"; return; }
  python3 - "$work/src.qmp" "$port" <<'PY'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
def cmd(name, **args):
    f.write(json.dumps({"execute": name, "arguments": args}) + "\n"); f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r: return r
json.loads(f.readline()); cmd("qmp_capabilities")
cmd("migrate-set-parameters", **{"downtime-limit": 50, "max-bandwidth": 100 << 30})
cmd("migrate", uri=f"tcp:127.0.0.1:{sys.argv[2]}")
while True:  # QMP has events, but query-migrate is how the totals are read; asked every 10 ms until it completes
    r = cmd("query-migrate")["return"]
    if r.get("status") in ("completed", "failed", "cancelled"): break
    time.sleep(0.01)
ram = r.get("ram", {})
print(f"QEMU-MIGRATE status={r['status']} total_ms={r.get('total-time', 0)} downtime_ms={r.get('downtime', 0)} "
      f"rounds={ram.get('dirty-sync-count', 0)} sent_mib={ram.get('transferred', 0) / 1048576:.1f}")
PY
  wait_for "$work/dst.console" "BENCH-TICK" "$dest_pid" || echo "QEMU-MIGRATE destination never ticked" >&2
  kill "$source_pid" "$dest_pid" 2>/dev/null || true; wait "$source_pid" "$dest_pid" 2>/dev/null || true
  source_pid=""; dest_pid=""
}

field() { sed -n "s/.*$2=\([0-9.]*\).*/\1/p" <<< "$1"; }
best() { printf '%s\n' "$@" | sort -n | head -1; }

printf '%s\n' "guest: ${memory} MiB, ${fill} MiB filled; $(qemu-system-x86_64 --version | head -1); runs: $runs (best)"
printf '%-10s | %-34s | %-34s | %s\n' "dirty" "HyperSharp total / downtime / rounds / MiB" "QEMU TCG total / downtime / rounds / MiB" "ratio total, downtime (ours/QEMU)"
for dirty in $dirties; do
  ot=(); od=(); qt=(); qd=(); olast=""; qlast=""
  for i in $(seq "$runs"); do
    olast="$(ours "$dirty")"; echo "  $olast" >&2
    qlast="$(qemu_run "$dirty")"; echo "  $qlast" >&2
    ot+=("$(field "$olast" total_ms)"); od+=("$(field "$olast" downtime_ms)")
    qt+=("$(field "$qlast" total_ms)"); qd+=("$(field "$qlast" downtime_ms)")
  done
  o_t=$(best "${ot[@]}"); o_d=$(best "${od[@]}"); q_t=$(best "${qt[@]}"); q_d=$(best "${qd[@]}")
  printf '%-10s | %8s ms / %6s ms / %2s / %6s | %8s ms / %6s ms / %2s / %6s | %.2f, %.2f\n' "${dirty} KiB" \
    "$o_t" "$o_d" "$(field "$olast" rounds)" "$(field "$olast" sent_mib)" "$q_t" "$q_d" "$(field "$qlast" rounds)" "$(field "$qlast" sent_mib)" \
    "$(echo "$o_t / $q_t" | bc -l)" "$(echo "$o_d / $q_d" | bc -l)"
done
