#!/usr/bin/env bash
# HyperSharp vs qemu-img, side by side in one run, on the same 2 GiB image of realistic data:
#   convert raw->VHDX (dynamic, 32 MiB blocks) and VHDX->raw;
#   random 4 KiB and sequential 1 MiB reads and writes on a VHDX, 4 requests in flight.
# Every figure is a throughput (MiB/s or IOPS), so every ratio reads the same way: ours/qemu > 1
# means ours is faster. Each measurement runs BENCH_RUNS times, alternating the tools, and the best
# run of each tool is reported (on a shared machine, other load only ever slows a run down, so the
# best run is the one least disturbed; the median is printed beside it). Both tools use the host
# page cache (qemu: -t writeback; ours: buffered I/O); convert timings include each tool's final fdatasync/fsync, I/O timings exclude the final flush (as
# qemu-img bench does).
#
# Environment: BENCH_DIR (default /dev/shm/hyper-bench when tmpfs has room, so storage noise on a
# shared VM does not swamp the comparison; set BENCH_DIR=/var/tmp/x to measure on disk),
# BENCH_SIZE_MIB (2048), BENCH_RUNS (5).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v qemu-img >/dev/null || { echo "vhdx-vs-qemu: needs qemu-img (apt-get install qemu-utils)" >&2; exit 1; }
size_mib=${BENCH_SIZE_MIB:-2048}
runs=${BENCH_RUNS:-5}
if [ -z "${BENCH_DIR:-}" ]; then
  shm_free_mib=$(df -Pm /dev/shm 2>/dev/null | awk 'NR==2 {print $4}')
  if [ "${shm_free_mib:-0}" -gt $((size_mib * 4)) ]; then BENCH_DIR=/dev/shm/hyper-bench; else BENCH_DIR=/var/tmp/hyper-bench; fi
fi
dir="$BENCH_DIR"
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT

echo "building (outside the timings)..." >&2
dotnet build "$root/bench/HyperSharp.Bench/HyperSharp.Bench.csproj" -c Release -o "$root/.build/bench" -nologo -v quiet -clp:ErrorsOnly >&2
"$root/hyper" --help >/dev/null 2>&1

bench() { dotnet "$root/.build/bench/HyperSharp.Bench.dll" "$@"; }
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
best() { sort -g | head -1; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mibps() { awk -v m="$size_mib" -v s="$1" 'BEGIN { printf "%.0f", m / s }'; }
warm() { cat "$@" >/dev/null; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
echo "tools:   $(qemu-img --version | head -1), .NET $(dotnet --version)"
echo "dir:     $dir ($(df -PT "$dir" | awk 'NR==2 {print $2}')), image ${size_mib} MiB, best of $runs runs (median in brackets)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min load average before the run)"
bench make-data "$dir/src.raw" --size-mib "$size_mib" --seed 42
warm "$dir/src.raw"

# ---- convert -----------------------------------------------------------------------------------
declare -a q_r2v o_r2v c_r2v q_v2r o_v2r c_v2r
for ((r = 0; r < runs; r++)); do
  rm -f "$dir/q.vhdx"; sync; t0=$(now)
  qemu-img convert -f raw -O vhdx -o subformat=dynamic,block_size=33554432 "$dir/src.raw" "$dir/q.vhdx"
  q_r2v+=("$(awk -v a="$t0" -v b="$(now)" 'BEGIN {print b - a}')")
  rm -f "$dir/o.vhdx"; sync
  o_r2v+=("$(bench convert "$dir/src.raw" "$dir/o.vhdx" --format vhdx --block-size-mib 32 | field seconds)")
  rm -f "$dir/c.vhdx"; sync; t0=$(now)
  "$root/hyper" vhd convert "$dir/src.raw" "$dir/c.vhdx" --type dynamic --block-size 32MB >/dev/null
  c_r2v+=("$(awk -v a="$t0" -v b="$(now)" 'BEGIN {print b - a}')")
done
qemu-img check -q "$dir/o.vhdx"
qemu-img compare -q -f vhdx -F raw "$dir/o.vhdx" "$dir/src.raw"
qemu-img compare -q -f vhdx -F raw "$dir/c.vhdx" "$dir/src.raw"
rm -f "$dir/c.vhdx"
warm "$dir/q.vhdx"
# VHDX->raw reads the image qemu-img made, so neither side reads only its own output.
for ((r = 0; r < runs; r++)); do
  rm -f "$dir/q.raw"; sync; t0=$(now)
  qemu-img convert -f vhdx -O raw "$dir/q.vhdx" "$dir/q.raw"
  q_v2r+=("$(awk -v a="$t0" -v b="$(now)" 'BEGIN {print b - a}')")
  rm -f "$dir/o.raw"; sync
  o_v2r+=("$(bench convert "$dir/q.vhdx" "$dir/o.raw" --format raw | field seconds)")
  rm -f "$dir/c.raw"; sync; t0=$(now)
  "$root/hyper" vhd convert "$dir/q.vhdx" "$dir/c.raw" --format raw >/dev/null
  c_v2r+=("$(awk -v a="$t0" -v b="$(now)" 'BEGIN {print b - a}')")
done
cmp "$dir/o.raw" "$dir/src.raw"
cmp "$dir/c.raw" "$dir/src.raw"
rm -f "$dir/q.raw" "$dir/o.raw" "$dir/c.raw" "$dir/q.vhdx"

# ---- block I/O on the VHDX ---------------------------------------------------------------------
# qemu-img bench is QEMU's own block-layer benchmark (the code path qemu-io's aio_read/aio_write
# use, with a queue depth): request i goes to (i * step) mod size. A step of 104729 (odd) * 4 KiB
# scatters 4 KiB requests over the whole disk; ours issues the identical sequence from 4 threads.
step_rand=$((4096 * 104729))
declare -A res
io_case() { # name bs step count write
  local name=$1 bs=$2 step=$3 count=$4 write=$5 img="$dir/io.vhdx" qs os
  local -a q o
  for ((r = 0; r < runs; r++)); do
    if [ "$write" = 1 ]; then cp "$dir/o.vhdx" "$img"; else [ -f "$img" ] || cp "$dir/o.vhdx" "$img"; fi
    warm "$img"
    qs=$(qemu-img bench -f vhdx -t writeback -i threads -d 4 -c "$count" -s "$bs" -S "$step" \
         $([ "$write" = 1 ] && echo "-w --pattern=171") "$img" | sed -n 's/Run completed in \([0-9.]*\) seconds./\1/p')
    q+=("$qs")
    if [ "$write" = 1 ]; then cp "$dir/o.vhdx" "$img"; warm "$img"; fi
    os=$(bench io "$img" --bs "$bs" --step "$step" --count "$count" --depth 4 $([ "$write" = 1 ] && echo --write) | field seconds)
    o+=("$os")
  done
  echo "$name seconds: qemu ${q[*]} | ours ${o[*]}" >&2
  res[$name.q]=$(printf '%s\n' "${q[@]}" | best)
  res[$name.o]=$(printf '%s\n' "${o[@]}" | best)
  res[$name.qm]=$(printf '%s\n' "${q[@]}" | median)
  res[$name.om]=$(printf '%s\n' "${o[@]}" | median)
  res[$name.count]=$count
  res[$name.bs]=$bs
}
io_case randread 4096 "$step_rand" 200000 0
io_case randwrite 4096 "$step_rand" 100000 1
io_case seqread 1048576 1048576 16384 0
io_case seqwrite 1048576 1048576 16384 1

echo "raw->vhdx seconds: qemu ${q_r2v[*]} | ours ${o_r2v[*]} | cli ${c_r2v[*]}" >&2
echo "vhdx->raw seconds: qemu ${q_v2r[*]} | ours ${o_v2r[*]} | cli ${c_v2r[*]}" >&2

# ---- table -------------------------------------------------------------------------------------
qr=$(printf '%s\n' "${q_r2v[@]}" | best); or=$(printf '%s\n' "${o_r2v[@]}" | best); cr=$(printf '%s\n' "${c_r2v[@]}" | best)
qv=$(printf '%s\n' "${q_v2r[@]}" | best); ov=$(printf '%s\n' "${o_v2r[@]}" | best); cv=$(printf '%s\n' "${c_v2r[@]}" | best)
qrm=$(printf '%s\n' "${q_r2v[@]}" | median); orm=$(printf '%s\n' "${o_r2v[@]}" | median)
qvm=$(printf '%s\n' "${q_v2r[@]}" | median); ovm=$(printf '%s\n' "${o_v2r[@]}" | median)
echo
echo "| benchmark | qemu | ours (library) | ours/qemu | ours (\`hyper\` CLI, with startup) | CLI/qemu |"
echo "|---|---:|---:|---:|---:|---:|"
printf "| convert raw→VHDX dynamic, ${size_mib} MiB | %s MiB/s (%.2f s) | %s MiB/s (%.2f s) | **%s** (%s) | %s MiB/s (%.2f s) | %s |\n" \
  "$(mibps "$qr")" "$qr" "$(mibps "$or")" "$or" "$(ratio "$qr" "$or")" "$(ratio "$qrm" "$orm")" "$(mibps "$cr")" "$cr" "$(ratio "$qr" "$cr")"
printf "| convert VHDX→raw, ${size_mib} MiB | %s MiB/s (%.2f s) | %s MiB/s (%.2f s) | **%s** (%s) | %s MiB/s (%.2f s) | %s |\n" \
  "$(mibps "$qv")" "$qv" "$(mibps "$ov")" "$ov" "$(ratio "$qv" "$ov")" "$(ratio "$qvm" "$ovm")" "$(mibps "$cv")" "$cv" "$(ratio "$qv" "$cv")"
for name in randread randwrite seqread seqwrite; do
  q=${res[$name.q]} o=${res[$name.o]} n=${res[$name.count]} bs=${res[$name.bs]} m=$(ratio "${res[$name.qm]}" "${res[$name.om]}")
  if [ "$bs" = 4096 ]; then
    printf "| %s 4 KiB, depth 4 | %s IOPS | %s IOPS | **%s** | | |\n" "$name" \
      "$(awk -v n="$n" -v s="$q" 'BEGIN {printf "%.0f", n / s}')" "$(awk -v n="$n" -v s="$o" 'BEGIN {printf "%.0f", n / s}')" "$(ratio "$q" "$o") ($m)"
  else
    printf "| %s 1 MiB, depth 4 | %s MiB/s | %s MiB/s | **%s** | | |\n" "$name" \
      "$(awk -v n="$n" -v s="$q" 'BEGIN {printf "%.0f", n / s}')" "$(awk -v n="$n" -v s="$o" 'BEGIN {printf "%.0f", n / s}')" "$(ratio "$q" "$o") ($m)"
  fi
done
