# A disk workload for the guest kit (sourced by its /init from /init.d/): O_DIRECT reads and writes on the
# virtio-blk disk /dev/vda (no page cache in the guest, so every request goes through the virtqueue), in
# 1 MiB and 4 KiB requests, each phase timed by the guest's own clock (/proc/uptime, 10 ms steps) and
# reported on one line the benchmark script reads: MiB/s for 1 MiB requests, requests/s for 4 KiB ones.
now() { read up _ < /proc/uptime; echo "${up%.*}${up#*.}"; }  # centiseconds
rate() { echo $(( $1 * 100 / ($2 > 0 ? $2 : 1) )); }         # units per second from a count and centiseconds
# Phases long enough (a second or more) that the clock's 10 ms steps do not matter.
t0=$(now); dd if=/dev/zero of=/dev/vda bs=1M count=256 oflag=direct 2>/dev/null
t1=$(now); dd if=/dev/vda of=/dev/null bs=1M count=256 iflag=direct 2>/dev/null
t2=$(now); dd if=/dev/zero of=/dev/vda bs=4k count=8192 seek=65536 oflag=direct 2>/dev/null
t3=$(now); dd if=/dev/vda of=/dev/null bs=4k count=8192 skip=65536 iflag=direct 2>/dev/null
t4=$(now)
echo "HS-DISK-WORK write1M=$(rate 256 $((t1-t0)))MiB/s read1M=$(rate 256 $((t2-t1)))MiB/s write4k=$(rate 8192 $((t3-t2)))IOPS read4k=$(rate 8192 $((t4-t3)))IOPS"
