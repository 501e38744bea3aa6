#!/usr/bin/env bash
# The Debian guest's disk throughput through virtio-blk on the Emulated backend: bench/guest/disk-work.sh
# (O_DIRECT 1 MiB and 4 KiB reads and writes on /dev/vda, timed by the guest's clock) against a 512 MiB
# dynamic VHDX. With BENCH_BASELINE=DIR (a checkout of another commit) the same runs use that build too,
# alternating, so a change to the I/O path is measured before and after in one run. Not part of the tests.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${BENCH_RUNS:-3}"
kit="$(bash "$root/eng/guest/build-kit.sh")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The workload rides in a second initramfs archive appended to the kit's (the kernel unpacks both).
mkdir -p "$work/stage/init.d" && cp "$root/bench/guest/disk-work.sh" "$work/stage/init.d/disk-work.sh"
cat "$kit/initrd.img" > "$work/initrd.img"
(cd "$work/stage" && find . | cpio -o -H newc --quiet -R 0:0 | gzip) >> "$work/initrd.img"

builds=("$root")
[ -n "${BENCH_BASELINE:-}" ] && builds+=("$(cd "$BENCH_BASELINE" && pwd)")
for b in "${builds[@]}"; do "$b/hyper" --help > /dev/null; done # build each once, outside the timings

# One run: a fresh disk, the guest boots, runs the workload and powers off; prints its report line.
workload() {
  rm -f "$work/disk.vhdx"
  "$1/hyper" vhd new "$work/disk.vhdx" 512MB > /dev/null
  timeout 900 "$1/hyper" vm run --backend emulated --kernel "$kit/vmlinuz" --initrd "$work/initrd.img" --memory 256MB \
    --disk "$work/disk.vhdx" --cmdline "console=ttyS0" < /dev/null 2>&1 | tr -d '\r' | grep -m1 '^HS-DISK-WORK' || echo "HS-DISK-WORK failed"
}

declare -A results
for i in $(seq "$runs"); do
  for b in "${builds[@]}"; do results["$b"]+="$(workload "$b")"$'\n'; done
done

# Best of the runs for each figure (other load only ever slows a run down), and the range of all runs.
best() { grep -o "$2=[0-9]*" <<< "$1" | cut -d= -f2 | sort -n | tail -1; }
range() { grep -o "$2=[0-9]*" <<< "$1" | cut -d= -f2 | sort -n | paste -sd' ' | awk '{print $1 "-" $NF}'; }
printf '\n| build | write 1 MiB | read 1 MiB | write 4 KiB | read 4 KiB |\n|---|---:|---:|---:|---:|\n'
for b in "${builds[@]}"; do
  r="${results[$b]}"
  row="| $(basename "$b") ($(git -C "$b" rev-parse --short HEAD))"
  for f in write1M read1M write4k read4k; do row+=" | $(best "$r" $f) ($(range "$r" $f))"; done
  echo "$row |"
done
echo "(MiB/s for 1 MiB requests, IOPS for 4 KiB ones: best run, all runs' range in brackets)"
