#!/usr/bin/env bash
# Installs the Debian packages the tests use as peers and oracles, if missing.
set -euo pipefail
need=()
command -v qemu-img >/dev/null 2>&1 || need+=(qemu-utils)   # qemu-img/qemu-io: the VHDX/VHD peer
command -v iasl >/dev/null 2>&1 || need+=(acpica-tools)      # iasl: disassembles our ACPI tables
command -v cpio >/dev/null 2>&1 || need+=(cpio)              # the guest kit's initramfs
command -v xz >/dev/null 2>&1 || need+=(xz-utils)            # the peer for host-side kernel decompression
command -v mkfs.ext4 >/dev/null 2>&1 || need+=(e2fsprogs)    # ext4 filesystems for guests, read back with debugfs
command -v ip >/dev/null 2>&1 || need+=(iproute2)            # network namespaces, veth pairs for the switch tests
command -v chromium >/dev/null 2>&1 || need+=(chromium)            # the browser the web console tests drive (Playwright)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)         # etcd: the failover cluster's store (cluster tests start their own members)
[ -f /usr/share/seabios/bios.bin ] || need+=(seabios)        # Generation 1 firmware (SeaBIOS), never one of ours
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)  # QEMU TCG: the reference for firmware boots (bench)
[ -f /usr/lib/syslinux/mbr/mbr.bin ] || need+=(syslinux-common)  # the BIOS disk's MBR boot code and ldlinux modules
command -v syslinux >/dev/null 2>&1 || need+=(syslinux)      # installs the boot loader into a FAT image without mounting it
command -v mcopy >/dev/null 2>&1 || need+=(mtools)           # copies files into FAT images (syslinux uses it too)
command -v mkfs.fat >/dev/null 2>&1 || need+=(dosfstools)    # FAT filesystems for the BIOS boot disk
command -v sfdisk >/dev/null 2>&1 || need+=(fdisk)           # the BIOS boot disk's partition table
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing: ${need[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "warning: missing ${need[*]} (not root or no apt-get); tests that need them will skip" >&2
  fi
fi
