#!/usr/bin/env bash
# Firmware boot side by side: wall time from power-on to the boot loader (syslinux's "Loading /vmlinuz") and to the
# guest kit's /init (HYPERSHARP-INIT-READY) for the same disk (eng/guest/build-bios-disk.sh: MBR, FAT, syslinux, the
# kit's kernel and initramfs) through the same firmware (Debian's SeaBIOS bios.bin) on our Emulated backend
# (`hyper vm run --firmware bios`) and on QEMU's software CPU (`qemu-system-x86_64 -accel tcg -bios ...`), the disk
# on virtio-blk in both, in the same run. Everything the guest runs is the same code in both: firmware, boot loader,
# the bzImage's own decompressor, the kernel. Needs qemu-system-x86 and seabios (eng/install-test-deps.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${BENCH_RUNS:-3}"
bios=/usr/share/seabios/bios.bin
[ -f "$bios" ] || { echo "$bios is missing (apt-get install seabios)" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is missing (apt-get install qemu-system-x86)" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
disk="$(bash "$root/eng/guest/build-bios-disk.sh" "$work/boot.raw")"
"$root/hyper" --help >/dev/null # build once, outside the timings
. "$root/bench/lib/time-to-init.sh"
marks='Loading /vmlinuz|HYPERSHARP-INIT-READY'

ours_loader=(); ours_init=(); qemu_loader=(); qemu_init=()
for i in $(seq "$runs"); do
  mapfile -t t < <(time_to_marks "$marks" "$root/hyper" vm run --backend emulated --firmware bios --disk "$disk" --memory 256MB)
  ours_loader+=("${t[0]}"); ours_init+=("${t[1]}")
  mapfile -t t < <(time_to_marks "$marks" qemu-system-x86_64 -accel tcg -M pc -bios "$bios" -m 256 -nodefaults -nographic -serial stdio \
    -no-reboot -drive "file=$disk,format=raw,if=virtio,readonly=on")
  qemu_loader+=("${t[0]}"); qemu_init+=("${t[1]}")
done
best() { printf '%s\n' "$@" | sort -n | head -1; }
ol=$(best "${ours_loader[@]}"); oi=$(best "${ours_init[@]}"); ql=$(best "${qemu_loader[@]}"); qi=$(best "${qemu_init[@]}")
printf '\n| SeaBIOS boot from disk (best of %s) | power-on to boot loader (s) | power-on to /init (s) |\n|---|---:|---:|\n| HyperSharp, Emulated backend | %.2f | %.2f |\n| QEMU TCG (%s) | %.2f | %.2f |\n| ours / QEMU | %.2f | %.2f |\n' \
  "$runs" "$ol" "$oi" "$(qemu-system-x86_64 --version | head -1 | awk '{print $4}')" "$ql" "$qi" "$(echo "$ol / $ql" | bc -l)" "$(echo "$oi / $qi" | bc -l)"
