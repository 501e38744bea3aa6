# Migration benchmark workload (bench/migration-vs-qemu.sh): fills hs.fill= MiB of RAM (tmpfs) with random data once,
# then every 100 ms rewrites hs.dirty= KiB of it from another file (non-zero pages, copied by the kernel: no zero-page
# shortcut for either VMM) and prints a tick, until the VMM stops it.
arg() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" /proc/cmdline; }
fill=$(arg hs.fill); dirty=$(arg hs.dirty)
dd if=/dev/urandom of=/tmp/fill bs=1M count=${fill:-0} 2>/dev/null
dd if=/dev/urandom of=/tmp/source bs=4k count=$(( ${dirty:-0} / 4 + 1 )) 2>/dev/null
echo "BENCH-READY fill=${fill:-0}MiB dirty=${dirty:-0}KiB"
i=0
while :; do
  [ "${dirty:-0}" -gt 0 ] && dd if=/tmp/source of=/tmp/churn bs=4k count=$(( dirty / 4 )) conv=notrunc 2>/dev/null
  echo "BENCH-TICK $i"; i=$((i+1))
  sleep 0.1
done
