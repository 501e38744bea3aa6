#!/usr/bin/env bash
# The host service's figures (issue 4): VM start latency (API call to the guest's first output and to the
# Debian guest's /init), Get-VM over 1,000 registered VMs, 100 VMs created and started back to back on
# the Emulated backend, and a worker's memory beyond guest RAM beside QEMU (TCG) running the same guests.
# Needs qemu-system-x86 for the QEMU column (apt-get install qemu-system-x86). Not part of the test suite.
#   bench/host-bench.sh [--registered N] [--started N]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kit="$(bash "$root/eng/guest/build-kit.sh")"
dotnet build "$root/bench/HyperSharp.HostBench" -c Release -v q -nologo >/dev/null
qemu=(); command -v qemu-system-x86_64 >/dev/null && qemu=(--qemu "$(command -v qemu-system-x86_64)") \
  || echo "qemu-system-x86_64 is missing: no QEMU column (apt-get install qemu-system-x86)" >&2
exec dotnet "$root/bench/HyperSharp.HostBench/bin/Release/net10.0/HyperSharp.HostBench.dll" --kit "$kit" "${qemu[@]}" "$@"
