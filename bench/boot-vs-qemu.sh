#!/usr/bin/env bash
# Boot time side by side: wall time from process start to the guest kit's /init marker
# (HYPERSHARP-INIT-READY) for the same stock Debian kernel and initramfs, on our Emulated backend
# (`hyper vm run --backend emulated`) and on QEMU's software CPU (`qemu-system-x86_64 -accel tcg`).
# QEMU runs the bzImage decompressor in the guest; we decompress on the host (that time is ours).
# Needs qemu-system-x86 (apt-get install qemu-system-x86). Not part of the test suite.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${BENCH_RUNS:-3}"
kit="$(bash "$root/eng/guest/build-kit.sh")"
"$root/hyper" --help >/dev/null # build once, outside the timings
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is missing (apt-get install qemu-system-x86)" >&2; exit 2; }

# Seconds until the marker shows in the command's output; the command is killed by its own PID afterwards.
time_to_init() {
  local start end pid out
  out="$(mktemp)"
  start=$(date +%s.%N)
  "$@" > "$out" 2>&1 < /dev/null &
  pid=$!
  while ! grep -q "HYPERSHARP-INIT-READY" "$out" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then echo "failed: $*" >&2; tail -5 "$out" >&2; rm -f "$out"; return 1; fi
    sleep 0.02
  done
  end=$(date +%s.%N)
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  rm -f "$out"
  echo "$end - $start" | bc
}

cmdline="console=ttyS0"
ours=(); qemu=()
for i in $(seq "$runs"); do
  ours+=("$(time_to_init "$root/hyper" vm run --backend emulated --kernel "$kit/vmlinuz" --initrd "$kit/initrd.img" --memory 256MB --cmdline "$cmdline hs.shell")")
  qemu+=("$(time_to_init qemu-system-x86_64 -accel tcg -M q35 -cpu qemu64 -m 256 -nodefaults -nographic -serial stdio -no-reboot \
    -kernel "$kit/vmlinuz" -initrd "$kit/initrd.img" -append "$cmdline hs.shell")")
done
best() { printf '%s\n' "$@" | sort -n | head -1; }
o=$(best "${ours[@]}"); q=$(best "${qemu[@]}")
printf '\n| boot to /init (best of %s) | seconds |\n|---|---:|\n| HyperSharp, Emulated backend | %.2f |\n| QEMU TCG (%s) | %.2f |\n| ours / QEMU (time ratio, lower is better) | %.2f |\n' \
  "$runs" "$o" "$(qemu-system-x86_64 --version | head -1 | awk '{print $4}')" "$q" "$(echo "$o / $q" | bc -l)"
