#!/usr/bin/env bash
# The main job: a real VM on the embedded default (no host service). It assembles the guest kit
# (stock Debian kernel, busybox, the kernel's own modules), creates a VHDX holding an ext4 file
# system, boots the Debian guest with two vCPUs — on KVM where KVM runs kernel code natively, on our
# software processor otherwise — shows its console, runs commands in the guest that write to the
# disk, shuts it down through ACPI, and then reads what the guest wrote from the VHDX on the host.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
hyper="$root/hyper"
work="$(mktemp -d /tmp/hypersharp-demo.XXXXXX)"
trap 'rm -rf "$work"' EXIT
step() { printf '\n== %s\n' "$*" >&2; }

step "guest kit (built once from Debian packages, then cached)"
kit="$(bash "$root/eng/guest/build-kit.sh")"
echo "$kit" >&2

step "a 1 GB dynamic VHDX with an ext4 file system"
command -v mkfs.ext4 >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq e2fsprogs >/dev/null; }
truncate -s 1G "$work/fs.raw"
mkfs.ext4 -q -F -L demo "$work/fs.raw"
"$hyper" vhd convert "$work/fs.raw" "$work/disk.vhdx" --type dynamic >&2
rm "$work/fs.raw"

step "what the guest runs at boot (added to the kit's initramfs as /init.d/50-demo.sh)"
mkdir -p "$work/overlay/init.d"
cat > "$work/overlay/init.d/50-demo.sh" <<'GUEST'
echo "== inside the guest: $(uname -sr), $(grep -c ^processor /proc/cpuinfo) vCPUs, $(grep MemTotal /proc/meminfo | tr -s ' ')"
mkdir -p /mnt && mount -t ext4 /dev/vda /mnt
df -h /mnt | tail -1
{ echo "written by the guest at $(date -u)"; uname -a; } > /mnt/from-the-guest.txt
sync && umount /mnt
echo "== guest done; powering off through ACPI"
GUEST
(cd "$work/overlay" && find . | cpio -o -H newc --quiet -R 0:0 | gzip) > "$work/overlay.cpio.gz"
cat "$kit/initrd.img" "$work/overlay.cpio.gz" > "$work/initrd.img"

step "boot the VM (console follows)"
"$hyper" vm run --kernel "$kit/vmlinuz" --initrd "$work/initrd.img" --disk "$work/disk.vhdx" \
  --cpus 2 --memory 512MB --cmdline "console=ttyS0 quiet" < /dev/null

step "back on the host: the file the guest wrote, read from the VHDX"
"$hyper" vhd convert "$work/disk.vhdx" "$work/back.raw" >&2
debugfs -R "cat /from-the-guest.txt" "$work/back.raw" 2>/dev/null
if command -v qemu-img >/dev/null; then qemu-img check -q "$work/disk.vhdx" && echo "qemu-img check: clean" >&2; fi
echo "demo complete" >&2
