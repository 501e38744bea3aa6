#!/usr/bin/env bash
# Disk I/O in the guest side by side: the same stock Debian kernel and initramfs, the same dynamic VHDX image (one copy
# per run, each starting from the same bytes), one vCPU and 512 MiB, on our Emulated backend (bench/HyperSharp.StorageBench)
# and on QEMU's software CPU (qemu-system-x86_64 -accel tcg), each with the image on virtio-scsi (the guest's /dev/sda)
# and on virtio-blk (/dev/vda). In the guest bench/guest/disk-io.c (built static here) measures 1 MiB sequential and
# 4 KiB random reads and writes with O_DIRECT, timed by the guest's clock. Installs qemu-system-x86, qemu-utils, gcc and
# libc6-dev when missing (as root). Not part of the test suite.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${BENCH_RUNS:-1}"
span_mib="${BENCH_SPAN_MIB:-256}"
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v gcc >/dev/null || need+=(gcc)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || need+=(libc6-dev)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "missing: ${need[*]} (run as root, or apt-get install them)" >&2; exit 2; }
  apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; }
fi
kit="$(bash "$root/eng/guest/build-kit.sh")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
dotnet build "$root/bench/HyperSharp.StorageBench" -c Release -nologo -v quiet -clp:ErrorsOnly >&2
bench_dll="$root/bench/HyperSharp.StorageBench/bin/Release/net10.0/HyperSharp.StorageBench.dll"
"$root/hyper" --help >/dev/null # build the CLI once, outside the timings

# The guest: disk-io on both disks, appended to the kit's initramfs as /init.d/ (the kernel unpacks both archives).
gcc -static -O2 -o "$work/disk-io" "$root/bench/guest/disk-io.c"
mkdir -p "$work/stage/init.d" "$work/stage/bin"
cp "$work/disk-io" "$work/stage/bin/disk-io"
cat > "$work/stage/init.d/50-disk-io.sh" <<GUEST
i=0; while { [ ! -b /dev/sda ] || [ ! -b /dev/vda ]; } && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i+1)); done
/bin/disk-io /dev/sda virtio-scsi $span_mib
/bin/disk-io /dev/vda virtio-blk $span_mib
GUEST
cat "$kit/initrd.img" > "$work/initrd.img"
(cd "$work/stage" && find . | cpio -o -H newc --quiet -R 0:0 | gzip) >> "$work/initrd.img"

# The image: a dynamic VHDX holding random data over the span the guest touches.
head -c $((span_mib << 20)) /dev/urandom > "$work/data.raw"
"$root/hyper" vhd convert "$work/data.raw" "$work/image.vhdx" --type dynamic >/dev/null
rm -f "$work/data.raw"

results() { tr -d '\r' | grep '^HS-DISK-IO' || echo "HS-DISK-IO failed"; }
# Each run's own figures, with the load average before and after it: on a shared machine the best-of table alone hides
# how much the runs moved.
show() { echo "# run $1 $2 (load $3 -> $(cut -d' ' -f1-3 /proc/loadavg)):"; sed 's/^/#   /' <<< "$4"; }
ours=(); qemu=()
for i in $(seq "$runs"); do
  cp "$work/image.vhdx" "$work/a.vhdx"; cp "$work/image.vhdx" "$work/b.vhdx"
  load="$(cut -d' ' -f1-3 /proc/loadavg)"
  ours+=("$(timeout 1800 dotnet "$bench_dll" "$kit/vmlinuz" "$work/initrd.img" "$work/a.vhdx" "$work/b.vhdx" 512 < /dev/null 2>&1 | results)")
  show "$i" HyperSharp "$load" "${ours[-1]}"
  cp "$work/image.vhdx" "$work/a.vhdx"; cp "$work/image.vhdx" "$work/b.vhdx"
  load="$(cut -d' ' -f1-3 /proc/loadavg)"
  qemu+=("$(timeout 1800 qemu-system-x86_64 -accel tcg -M q35 -cpu qemu64 -smp 1 -m 512 -nodefaults -nographic -serial stdio -no-reboot \
    -kernel "$kit/vmlinuz" -initrd "$work/initrd.img" -append "console=ttyS0" \
    -device virtio-scsi-pci,id=scsi0 -drive file="$work/a.vhdx",format=vhdx,if=none,id=d0 -device scsi-hd,drive=d0,bus=scsi0.0 \
    -drive file="$work/b.vhdx",format=vhdx,if=virtio < /dev/null 2>&1 | results)")
  show "$i" QEMU "$load" "${qemu[-1]}"
done

field() { sed -n "s/.*$2=\([0-9.]*\).*/\1/p" <<< "$1"; }
# With several runs, each figure is the best of the runs.
best() { local vmm="$1" dev="$2" f="$3"; shift 3; printf '%s\n' "$@" | grep "^HS-DISK-IO $dev " | while read -r line; do field "$line" "$f"; done | sort -g | tail -1; }
printf '\n| device | VMM | 1 MiB seq read MB/s | 1 MiB seq write MB/s | 4 KiB rand read IOPS | 4 KiB rand write IOPS |\n|---|---|---:|---:|---:|---:|\n'
for dev in virtio-scsi virtio-blk; do
  o="HS-DISK-IO $dev"; q="HS-DISK-IO $dev"
  for f in seqread seqwrite randread randwrite; do
    o="$o $f=$(best ours "$dev" "$f" "${ours[@]}")"; q="$q $f=$(best qemu "$dev" "$f" "${qemu[@]}")"
  done
  printf '| %s | HyperSharp Emulated | %s | %s | %s | %s |\n' "$dev" "$(field "$o" seqread)" "$(field "$o" seqwrite)" "$(field "$o" randread)" "$(field "$o" randwrite)"
  printf '| %s | QEMU TCG (%s) | %s | %s | %s | %s |\n' "$dev" "$(qemu-system-x86_64 --version | head -1 | awk '{print $4}')" "$(field "$q" seqread)" "$(field "$q" seqwrite)" "$(field "$q" randread)" "$(field "$q" randwrite)"
  ratio() { local a b; a=$(field "$o" "$1"); b=$(field "$q" "$1"); [ -n "$a" ] && [ -n "$b" ] && printf '%.2f' "$(echo "scale=4; $a / $b" | bc)" || echo "-"; }
  printf '| %s | ours / QEMU | %s | %s | %s | %s |\n' "$dev" "$(ratio seqread)" "$(ratio seqwrite)" "$(ratio randread)" "$(ratio randwrite)"
done
