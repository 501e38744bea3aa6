#!/usr/bin/env bash
# A disk-image round trip a Hyper-V
# administrator would recognise — New-VHD, a differencing child, writes, Resize-VHD, Merge-VHD,
# Convert-VHD to VHD and raw, Optimize-VHD, Test-VHD — with every result checked, and qemu-img as
# an independent witness when it is installed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
hyper="$root/hyper"
work="$(mktemp -d /tmp/hypersharp-demo.XXXXXX)"
trap 'rm -rf "$work"' EXIT
step() { printf '\n== %s\n' "$*"; }

step "New-VHD: a 4 GB dynamic VHDX with 8 MiB of data, then a differencing child with 1 MiB over it"
head -c 8M /dev/urandom > "$work/base.bin"
head -c 1M /dev/urandom > "$work/child.bin"
"$hyper" vhd new "$work/base.vhdx" 4GB
"$hyper" vhd write "$work/base.vhdx" 1GB --in "$work/base.bin"
# A child pins its parent's DataWriteGuid: the parent is not written after this (as in Hyper-V).
"$hyper" vhd new "$work/child.avhdx" --parent "$work/base.vhdx"
"$hyper" vhd write "$work/child.avhdx" 1027M --in "$work/child.bin"

step "read back through the chain and compare"
"$hyper" vhd read "$work/child.avhdx" 1GB 8M --out "$work/back.bin"
cp "$work/base.bin" "$work/expected.bin"
dd if="$work/child.bin" of="$work/expected.bin" bs=1M seek=3 conv=notrunc status=none
cmp "$work/back.bin" "$work/expected.bin" && echo "chain reads back byte for byte"

step "Merge-VHD the child into its parent, then Resize-VHD the parent to 6 GB"
"$hyper" vhd merge "$work/child.avhdx"
"$hyper" vhd resize "$work/base.vhdx" 6GB
"$hyper" vhd read "$work/base.vhdx" 1GB 8M --out "$work/merged.bin"
cmp "$work/merged.bin" "$work/expected.bin" && echo "merged parent holds the child's data"

step "Convert-VHD to legacy VHD and to raw, Optimize-VHD, Test-VHD"
"$hyper" vhd convert "$work/base.vhdx" "$work/base.vhd"
"$hyper" vhd convert "$work/base.vhd" "$work/base.raw"
"$hyper" vhd compact "$work/base.vhdx"
"$hyper" vhd check "$work/base.vhdx"
"$hyper" vhd info "$work/base.vhdx"
if command -v qemu-img >/dev/null; then
  step "qemu-img, an independent implementation, agrees"
  qemu-img check -f vhdx "$work/base.vhdx"
  qemu-img compare -f vhdx -F raw "$work/base.vhdx" "$work/base.raw"
fi
printf '\nround trip complete\n'
