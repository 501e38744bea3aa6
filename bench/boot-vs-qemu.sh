#!/usr/bin/env bash
# Boot time side by side: wall time from process start to the guest kit's /init marker
# (HYPERSHARP-INIT-READY) for the same stock Debian kernel and initramfs, on our Emulated backend
# (`hyper vm run --backend emulated`) and on QEMU's software CPU (`qemu-system-x86_64 -accel tcg`).
# QEMU runs the bzImage decompressor in the guest; we decompress on the host (that time is ours).
# Then a CPU-bound workload inside the guest (bench/guest/cpu-work.sh: awk, sha256sum, gzip, sort on
# data in tmpfs), timed by the guest's clock, on both VMMs.
# Needs qemu-system-x86 (apt-get install qemu-system-x86). Not part of the test suite.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${BENCH_RUNS:-3}"
kit="$(bash "$root/eng/guest/build-kit.sh")"
"$root/hyper" --help >/dev/null # build once, outside the timings
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is missing (apt-get install qemu-system-x86)" >&2; exit 2; }

# VMM overhead in MiB: the process's resident memory minus the guest RAM it has touched, the resident
# part of the anonymous mapping of the guest's RAM size (both VMMs map RAM below 4 GiB in one piece,
# which the kernel may merge with a small neighbour: up to 4 MiB more). Not "the largest mapping":
# QEMU's TCG code buffer (1 GiB) and .NET's heap reservations are larger than guest RAM.
overhead_mib() {
  perl -ne 'BEGIN { $ram = '"$2"' * 1048576 }
            if (/^([0-9a-f]+)-([0-9a-f]+) /) { $size = hex($2) - hex($1); next }
            if (/^Rss:\s+(\d+)/) { $total += $1; $guest = $1 if $size >= $ram && $size <= $ram + 4194304 && $1 > $guest }
            END { printf "%.0f", ($total - $guest) / 1024 }' "/proc/$1/smaps"
}

# Seconds until the marker shows in the command's output, and the VMM's memory overhead then.
. "$root/bench/lib/time-to-init.sh"
record_overhead() { echo "$(overhead_mib "$1" 256)" >> "$overheads"; }
on_ready=record_overhead

cmdline="console=ttyS0"
ours=(); qemu=(); ours_mem=(); qemu_mem=()
overheads="$(mktemp)"
for i in $(seq "$runs"); do
  : > "$overheads"
  ours+=("$(time_to_init "$root/hyper" vm run --backend emulated --kernel "$kit/vmlinuz" --initrd "$kit/initrd.img" --memory 256MB --cmdline "$cmdline hs.shell")")
  qemu+=("$(time_to_init qemu-system-x86_64 -accel tcg -M q35 -cpu qemu64 -m 256 -nodefaults -nographic -serial stdio -no-reboot \
    -kernel "$kit/vmlinuz" -initrd "$kit/initrd.img" -append "$cmdline hs.shell")")
  ours_mem+=("$(sed -n 1p "$overheads")"); qemu_mem+=("$(sed -n 2p "$overheads")")
done
rm -f "$overheads"
best() { printf '%s\n' "$@" | sort -n | head -1; }
o=$(best "${ours[@]}"); q=$(best "${qemu[@]}")
om=$(best "${ours_mem[@]}"); qm=$(best "${qemu_mem[@]}")
# The workload rides in a second initramfs archive appended to the kit's (the kernel unpacks both).
work_initrd="$(mktemp)"; stage="$(mktemp -d)"
mkdir -p "$stage/init.d" && cp "$root/bench/guest/cpu-work.sh" "$stage/init.d/cpu-work.sh"
cat "$kit/initrd.img" > "$work_initrd"
(cd "$stage" && find . | cpio -o -H newc --quiet -R 0:0 | gzip) >> "$work_initrd"
rm -rf "$stage"
# Prints the workload's report line (the guest powers off after it).
workload() { timeout 900 "$@" < /dev/null 2>&1 | tr -d '\r' | grep -m1 '^HS-CPU-WORK' || echo "HS-CPU-WORK failed"; }
ours_work=(); qemu_work=()
for i in $(seq "$runs"); do
  ours_work+=("$(workload "$root/hyper" vm run --backend emulated --kernel "$kit/vmlinuz" --initrd "$work_initrd" --memory 256MB --cmdline "$cmdline")")
  qemu_work+=("$(workload qemu-system-x86_64 -accel tcg -M q35 -cpu qemu64 -m 256 -nodefaults -nographic -serial stdio -no-reboot \
    -kernel "$kit/vmlinuz" -initrd "$work_initrd" -append "$cmdline")")
done
rm -f "$work_initrd"
total_of() { sed -n 's/.*total=\([0-9]*\).*/\1/p' <<< "$1"; }
best_work() { for w in "$@"; do echo "$(total_of "$w") $w"; done | sort -n | head -1 | cut -d' ' -f2-; }
ow=$(best_work "${ours_work[@]}"); qw=$(best_work "${qemu_work[@]}")

printf '\n| boot to /init (best of %s) | seconds | VMM memory overhead at /init (RSS minus guest RAM touched) |\n|---|---:|---:|\n| HyperSharp, Emulated backend | %.2f | %s MiB |\n| QEMU TCG (%s) | %.2f | %s MiB |\n| ours / QEMU | %.2f | %.2f |\n' \
  "$runs" "$o" "$om" "$(qemu-system-x86_64 --version | head -1 | awk '{print $4}')" "$q" "$qm" "$(echo "$o / $q" | bc -l)" "$(echo "$om / $qm" | bc -l)"
printf '\n| CPU-bound workload in the guest (best of %s) | phases (centiseconds, guest clock) |\n|---|---|\n| HyperSharp, Emulated backend | %s |\n| QEMU TCG | %s |\n| ours / QEMU (total time) | %.2f |\n' \
  "$runs" "${ow#HS-CPU-WORK }" "${qw#HS-CPU-WORK }" "$(echo "$(total_of "$ow") / $(total_of "$qw")" | bc -l)"
