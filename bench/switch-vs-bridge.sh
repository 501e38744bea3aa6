#!/usr/bin/env bash
# Our virtual switch's forwarding rate against the Linux bridge, side by side in one run, on one
# core (taskset -c 0). Needs root and iproute2; everything happens inside a network namespace the
# benchmark creates and deletes. Usage: bench/switch-vs-bridge.sh [seconds per measurement, default 3]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dotnet build "$root/bench/HyperSharp.NetBench/HyperSharp.NetBench.csproj" -c Release -nologo -v quiet -clp:ErrorsOnly
exec taskset -c 0 dotnet "$root/bench/HyperSharp.NetBench/bin/Release/net10.0/HyperSharp.NetBench.dll" "${1:-3}"
