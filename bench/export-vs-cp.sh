#!/usr/bin/env bash
# Export-VM and Import-VM -Copy of a VM whose drive is a 1 GiB dynamic VHDX with 512 MiB written (8 runs of 64 MiB of
# random data, every other 128 MiB), against copying that file with `cp --sparse=always` and `qemu-img convert -O vhdx`,
# in the same run on the same file (page cache warm for all: the image is read once first). Export and import times are
# the host's own (the API's seconds: staging, copies, re-pointing parents, the rename) and the whole CLI call; the
# import's, the whole CLI call (the copy, the new ID, the registration).
# Not part of the test suite.
#   bench/export-vs-cp.sh [TRIALS]   (default 3)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
trials="${1:-3}"
command -v qemu-img >/dev/null || { echo "qemu-img is missing: eng/install-test-deps.sh installs it" >&2; exit 1; }
dotnet build "$root/src/HyperSharp.Cli" -c Release -v q -nologo >/dev/null
hyper=(dotnet "$root/src/HyperSharp.Cli/bin/Release/net10.0/hyper.dll")
work="$(mktemp -d /tmp/hs-ex-XXXXXX)"
host_pid=""
cleanup() { [ -n "$host_pid" ] && kill "$host_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

truncate -s 1G "$work/disk.raw"
for i in 0 2 4 6 8 10 12 14; do dd if=/dev/urandom of="$work/disk.raw" bs=1M count=64 seek=$((i * 64)) conv=notrunc status=none; done
"${hyper[@]}" vhd convert "$work/disk.raw" "$work/disk.vhdx" --type dynamic >/dev/null
rm "$work/disk.raw"
cat "$work/disk.vhdx" >/dev/null
echo "image: $(du -h --apparent-size "$work/disk.vhdx" | cut -f1) dynamic VHDX, 1 GiB virtual, 512 MiB written"

"${hyper[@]}" host --root "$work/root" --socket "$work/host.sock" >"$work/host.log" 2>&1 &
host_pid=$!
for _ in $(seq 600); do "${hyper[@]}" vm list --host-socket "$work/host.sock" >/dev/null 2>&1 && break; sleep 0.1; done
h() { "${hyper[@]}" "$@" --host-socket "$work/host.sock"; }
h vm new src --vhd "$work/disk.vhdx" --backend emulated >/dev/null

now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
printf '%-6s %-22s %-16s %-18s %-14s\n' trial "export host / CLI s" "import copy s" "cp --sparse s" "qemu-img s"
for t in $(seq "$trials"); do
  mkdir -p "$work/e$t" "$work/d$t"
  a=$(now); out=$(h vm export src --path "$work/e$t" --json); b=$(now)
  ex_host=$(grep -o '"seconds": [0-9.e-]*' <<<"$out" | grep -o '[0-9.e-]*$')
  file=$(grep -o '"configurationFile": "[^"]*"' <<<"$out" | sed 's/.*: "//; s/"$//')
  c=$(now); h vm import "$file" --copy --generate-new-id --new-name "copy$t" --vhd-destination-path "$work/d$t" >/dev/null; d=$(now)
  e=$(now); cp --sparse=always "$work/disk.vhdx" "$work/cp$t.vhdx"; f=$(now)
  g=$(now); qemu-img convert -f vhdx -O vhdx "$work/disk.vhdx" "$work/q$t.vhdx"; k=$(now)
  printf '%-6s %-22s %-16s %-18s %-14s\n' "$t" "$(printf '%.3f' "$ex_host") / $(secs "$a" "$b")" "$(secs "$c" "$d")" "$(secs "$e" "$f")" "$(secs "$g" "$k")"
  cmp "$work/disk.vhdx" "$work/e$t/src/Virtual Hard Disks/disk.vhdx"
  h vm remove "copy$t" >/dev/null
  rm -rf "$work/e$t" "$work/d$t" "$work/cp$t.vhdx" "$work/q$t.vhdx"
done
