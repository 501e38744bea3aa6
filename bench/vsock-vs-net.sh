#!/usr/bin/env bash
# Integration services over virtio-vsock against the same work over virtio-net (busybox nc), in one Debian kit guest
# on the Emulated backend, one run (bench/HyperSharp.VsockBench): exec round trip, copy throughput into the guest,
# heartbeat-loss detection. Needs root (a network namespace for the switch's TAP). Then says whether QEMU's
# virtio-vsock can be measured on this host as the peer. Usage: bench/vsock-vs-net.sh [MiB] [rounds]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kit="$(bash "$root/eng/guest/build-kit.sh")"
agent="$(bash "$root/eng/guest/build-agent.sh")"
dotnet build "$root/bench/HyperSharp.VsockBench" -c Release -nologo -v quiet -clp:ErrorsOnly >&2
DOTNET_TieredCompilation=0 dotnet "$root/bench/HyperSharp.VsockBench/bin/Release/net10.0/HyperSharp.VsockBench.dll" "$kit" "$agent" "${1:-4}" "${2:-15}"

# The peer. QEMU's virtio-vsock device is vhost-vsock-pci: its data path is the host kernel's vhost_vsock driver,
# reached through /dev/vhost-vsock (QEMU has no userspace virtio-vsock; vhost-user-vsock needs the external
# vhost-device-vsock daemon, which Debian 12 does not package).
echo
if [ ! -e /dev/vhost-vsock ]; then
  if [ -e /proc/modules ]; then why="the vhost_vsock module is not loaded (modprobe vhost_vsock)"; else why="this kernel ($(uname -r)) has no module support and no vhost_vsock built in"; fi
  echo "QEMU TCG virtio-vsock: not measured: /dev/vhost-vsock does not exist; $why, so QEMU's vhost-vsock-pci cannot start here."
elif ! command -v qemu-system-x86_64 >/dev/null || ! command -v socat >/dev/null; then
  echo "QEMU TCG virtio-vsock: not measured: install qemu-system-x86 and socat (apt-get install qemu-system-x86 socat) and run again."
else
  echo "QEMU TCG virtio-vsock: /dev/vhost-vsock exists; this script does not drive QEMU yet (measure it by hand: -device vhost-vsock-pci,guest-cid=3 with socat VSOCK-LISTEN in the guest)."
fi
