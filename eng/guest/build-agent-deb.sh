#!/usr/bin/env bash
# Packages the guest agent as a .deb for any Debian or Ubuntu guest (amd64): /usr/sbin/hs-agent (the NativeAOT binary
# eng/guest/build-agent.sh builds, cached) and a systemd unit that loads the virtio vsock transport and keeps the
# agent running. Usage: eng/guest/build-agent-deb.sh [OUTPUT_DIR] (default: artifacts/); prints the .deb's path.
# Install in a guest: dpkg -i hypersharp-guest-agent_*.deb (the unit is enabled and started where systemd runs).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
outdir="${1:-$root/artifacts}"
for tool in dpkg-deb objdump; do command -v "$tool" >/dev/null || { echo "build-agent-deb: missing $tool (Debian packages dpkg, binutils)" >&2; exit 2; }; done

agent="$(bash "$here/build-agent.sh")"
protocol=$(sed -n 's/.*public const int Current = \([0-9]*\);.*/\1/p' "$root/src/HyperSharp.Integration.Protocol/ProtocolVersions.cs")
version="1.$protocol.$(basename "$agent" | cut -c1-8)"
# The newest glibc symbol version the binary links against is the libc6 it needs.
glibc=$(objdump -T "$agent/hs-agent" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)

pkg=$(mktemp -d)
trap 'rm -rf "$pkg"' EXIT
chmod 755 "$pkg"
mkdir -p "$pkg/DEBIAN" "$pkg/usr/sbin" "$pkg/lib/systemd/system" "$pkg/usr/share/doc/hypersharp-guest-agent"
install -m 755 "$agent/hs-agent" "$pkg/usr/sbin/hs-agent"
cat > "$pkg/lib/systemd/system/hs-agent.service" <<'UNIT'
[Unit]
Description=HyperSharp guest agent (integration services over virtio-vsock)
After=local-fs.target
ConditionVirtualization=vm

[Service]
Type=simple
# The virtio transport for AF_VSOCK; built in on some kernels, hence the '-'.
ExecStartPre=-/sbin/modprobe vmw_vsock_virtio_transport
ExecStart=/usr/sbin/hs-agent
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
UNIT
chmod 644 "$pkg/lib/systemd/system/hs-agent.service"
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: hypersharp-guest-agent
Version: $version
Architecture: amd64
Maintainer: HyperSharp <hypersharp@localhost>
Depends: libc6 (>= $glibc)
Section: admin
Priority: optional
Description: HyperSharp guest agent (integration services)
 Connects to the HyperSharp host over virtio-vsock and serves the integration
 services: heartbeat, clean shutdown, time synchronization, key-value pair
 exchange with the guest's addresses, file-system freeze for consistent
 checkpoints, file copy from the host and commands run for the host.
CONTROL
cat > "$pkg/DEBIAN/postinst" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now hs-agent.service || true
fi
SCRIPT
cat > "$pkg/DEBIAN/prerm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl disable --now hs-agent.service || true; fi
SCRIPT
cat > "$pkg/DEBIAN/postrm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
SCRIPT
chmod 755 "$pkg/DEBIAN/postinst" "$pkg/DEBIAN/prerm" "$pkg/DEBIAN/postrm"
printf 'HyperSharp guest agent %s, protocol %s.\n' "$version" "$protocol" > "$pkg/usr/share/doc/hypersharp-guest-agent/README"
mkdir -p "$outdir"
deb="$outdir/hypersharp-guest-agent_${version}_amd64.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
