# A CPU-bound workload for the guest kit (sourced by its /init from /init.d/): no device I/O, only
# guest code — hashing, compression, sorting and a branchy awk loop over data in tmpfs. Each phase is
# timed by the guest's own clock (/proc/uptime, 10 ms steps) and reported on one line the benchmark
# script reads. The data is the same for every run and VMM (a fixed awk generator, not /dev/urandom).
mount -t tmpfs tmpfs /tmp
now() { read up _ < /proc/uptime; echo "${up%.*}${up#*.}"; }  # centiseconds
t0=$(now)
awk 'BEGIN { x = 12345; for (i = 0; i < 200000; i++) { x = (x * 1103515245 + 12345) % 2147483648; print x, i % 977, "line" x % 89 } }' > /tmp/data
t1=$(now)
sha256sum /tmp/data /tmp/data /tmp/data /tmp/data > /dev/null
t2=$(now)
gzip -6 -c /tmp/data > /tmp/data.gz
t3=$(now)
sort -n /tmp/data | md5sum > /dev/null
t4=$(now)
echo "HS-CPU-WORK awk=$((t1-t0)) sha256=$((t2-t1)) gzip=$((t3-t2)) sort=$((t4-t3)) total=$((t4-t0)) (centiseconds)"
