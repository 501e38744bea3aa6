#!/usr/bin/env bash
# Boot time of two builds of the `hyper` CLI side by side: wall time from process start to the guest kit's
# /init marker for the stock Debian kernel on the Emulated backend, runs of the two builds interleaved (A, B,
# A, B, ...) so load from other jobs on the machine falls on both alike. Prints every run and the medians.
#   bench/boot-ab.sh A/hyper.dll B/hyper.dll        (BENCH_RUNS=5, BENCH_CPUS=2)
# Build a baseline with: git archive <commit> | tar -x -C /tmp/base && (cd /tmp/base &&
#   dotnet build src/HyperSharp.Cli -c Release -o /tmp/base/.build/hyper). Not part of the test suite.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -eq 2 ] && [ -f "$1" ] && [ -f "$2" ] || { echo "usage: $0 A/hyper.dll B/hyper.dll" >&2; exit 2; }
runs="${BENCH_RUNS:-5}"; cpus="${BENCH_CPUS:-2}"
kit="$(bash "$root/eng/guest/build-kit.sh")"
. "$root/bench/lib/time-to-init.sh"
export DOTNET_TieredCompilation=0 # as ./hyper runs a VM
boot() { time_to_init dotnet "$1" vm run --backend emulated --cpus "$cpus" --kernel "$kit/vmlinuz" --initrd "$kit/initrd.img" --memory 256MB --cmdline "console=ttyS0 hs.shell"; }
a=(); b=()
for i in $(seq "$runs"); do
  a+=("$(boot "$1")"); echo "run $i A: ${a[-1]} s" >&2
  b+=("$(boot "$2")"); echo "run $i B: ${b[-1]} s" >&2
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
printf '| boot to /init, %s vCPUs, Emulated (%s runs each, interleaved) | median s | runs |\n|---|---:|---|\n| A %s | %.2f | %s |\n| B %s | %.2f | %s |\n' \
  "$cpus" "$runs" "$1" "$(median "${a[@]}")" "${a[*]}" "$2" "$(median "${b[@]}")" "${b[*]}"
