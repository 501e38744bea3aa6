#!/usr/bin/env bash
# Assembles a raw disk that boots through a PC BIOS (SeaBIOS) with no host-supplied kernel, from Debian packages only:
# syslinux-common's MBR boot code, one bootable FAT partition from 1 MiB holding the guest kit's kernel and initramfs
# (eng/guest/build-kit.sh) and syslinux's boot loader (installed into the partition image by `syslinux`, through
# mtools: nothing is mounted), configured to boot at once with the console on COM1.
# Usage: build-bios-disk.sh OUT.raw [INITRD]   (INITRD: a test's initramfs, default the kit's). Prints OUT.raw.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { echo "bios-disk: $*" >&2; }
[ $# -ge 1 ] || { log "usage: build-bios-disk.sh OUT.raw [INITRD]"; exit 2; }
out="$1"
mbr=/usr/lib/syslinux/mbr/mbr.bin
for tool in syslinux mcopy mkfs.fat sfdisk; do
  command -v "$tool" >/dev/null || { log "missing tool '$tool' (eng/install-test-deps.sh installs syslinux, mtools, dosfstools, fdisk)"; exit 2; }
done
[ -f "$mbr" ] || { log "missing $mbr (Debian package syslinux-common)"; exit 2; }
kit=$("$here/build-kit.sh")
initrd="${2:-$kit/initrd.img}"
[ -f "$initrd" ] || { log "initramfs $initrd does not exist"; exit 2; }

# Size: the files plus room for FAT and syslinux, in whole MiB, with the partition from 1 MiB (sector 2048).
files_kib=$(( ($(stat -c %s "$kit/vmlinuz") + $(stat -c %s "$initrd")) / 1024 ))
part_mib=$(( files_kib / 1024 + 8 ))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
part="$work/part.img"
mkfs.fat -n HSBOOT -C "$part" $(( part_mib * 1024 )) >/dev/null
cat > "$work/syslinux.cfg" <<'CFG'
SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND console=ttyS0 no_timer_check
CFG
mcopy -i "$part" "$kit/vmlinuz" ::/vmlinuz
mcopy -i "$part" "$initrd" ::/initrd.img
mcopy -i "$part" "$work/syslinux.cfg" ::/syslinux.cfg
syslinux --install "$part"

rm -f "$out"
truncate -s $(( (part_mib + 1) * 1024 * 1024 )) "$out"
echo "start=2048, size=$(( part_mib * 2048 )), type=6, bootable" | sfdisk -q --label dos "$out" >/dev/null
dd if="$part" of="$out" bs=1M seek=1 conv=notrunc status=none
dd if="$mbr" of="$out" bs=440 count=1 conv=notrunc status=none
echo "$out"
