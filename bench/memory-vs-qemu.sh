#!/usr/bin/env bash
# Runtime memory side by side: the same Debian kit guest (1536 MiB, maximum 2560 MiB) on our Emulated backend and on
# QEMU's software CPU (TCG), one run: time for the balloon to reclaim 1 GiB and give it back, and for virtio-mem to
# hot-add 1 GiB, each until the guest's own MemTotal shows it (the guest watches /proc/meminfo every 50 ms).
# Needs qemu-system-x86 (apt-get install qemu-system-x86). Not part of the test suite. BENCH_WHICH=ours|qemu|host|both|all (host: through the host service's Set-VMMemory).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kit="$(bash "$root/eng/guest/build-kit.sh")"
[ "${BENCH_WHICH:-both}" = host ] || command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is missing (apt-get install qemu-system-x86)" >&2; exit 2; }
dotnet build -c Release "$root/bench/HyperSharp.MemoryBench" -v q --nologo >/dev/null
exec dotnet "$root/bench/HyperSharp.MemoryBench/bin/Release/net10.0/HyperSharp.MemoryBench.dll" "$kit" "${BENCH_WHICH:-both}"
