#!/usr/bin/env bash
# Symbolizes a guest profile written by the Emulated backend (HYPERSHARP_GUEST_PROFILE=FILE):
# prints the guest kernel functions that took the most samples (1 sample ≈ 1 ms of host time).
#   HYPERSHARP_GUEST_PROFILE=/tmp/p ./hyper vm run --backend emulated ... ; eng/guest-profile.sh /tmp/p [N]
# Debian ships no real System.map, so the symbols come from the guest's own /proc/kallsyms: the first
# run boots the guest kit once to read it (about a minute) and caches it next to the kit.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
profile="$1"; top="${2:-40}"
kit="$(bash "$root/eng/guest/build-kit.sh")"
symbols="$kit/kallsyms"
if [ ! -s "$symbols" ]; then
  echo "reading the guest kernel's /proc/kallsyms (one boot)..." >&2
  log="$(mktemp)"
  # The shell reads the command once it is up; typing it before that would be lost to the boot.
  (sleep 45; printf 'echo KSYMS-BEGIN; cat /proc/kallsyms; echo KSYMS-END; poweroff -f\n') |
    timeout 180 "$root/hyper" vm run --backend emulated --kernel "$kit/vmlinuz" --initrd "$kit/initrd.img" \
      --memory 256MB --cmdline "console=ttyS0 hs.shell" > "$log" 2>&1 || true
  sed -n '/^KSYMS-BEGIN/,/^KSYMS-END/p' "$log" | tr -d '\r' | grep -v KSYMS > "$symbols.tmp"
  rm -f "$log"
  [ -s "$symbols.tmp" ] || { echo "could not read /proc/kallsyms from the guest" >&2; exit 1; }
  mv "$symbols.tmp" "$symbols"
fi
total=$(awk '{s+=$2} END {print s}' "$profile")
echo "samples: $total ($(awk '$1=="halted"{print $2}' "$profile") halted)"
# Fixed-width lowercase hex sorts like the numbers it spells, so one sorted merge maps each sampled
# address to the symbol at or below it.
{
  awk '$1!="halted" { a=sprintf("%16s", $1); gsub(/ /, "0", a); print a, "P", $2 }' "$profile"
  awk '$2 ~ /^[tTwW]$/ { a=sprintf("%16s", $1); gsub(/ /, "0", a); print a, "S", $3 ($4 ? " " $4 : "") }' "$symbols"
} | sort -k1,1 -k2,2r | awk -v total="$total" '
  $2=="S" { sym=$3 ($4 ? " " $4 : ""); next }
  $2=="P" { count[sym]+=$3 }
  END { for (s in count) printf "%7d %5.1f%%  %s\n", count[s], 100*count[s]/total, s }' | sort -rn | head -n "$top"
