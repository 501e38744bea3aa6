/*
 * Disk I/O inside the guest for bench/storage-vs-qemu.sh: 1 MiB sequential and 4 KiB random reads and writes with
 * O_DIRECT (the guest's page cache out of the way) on one block device, timed by the guest's monotonic clock, each
 * phase bounded by a byte count and a time limit. Prints one line:
 *   HS-DISK-IO NAME seqread=MBps seqwrite=MBps randread=IOPS randwrite=IOPS
 * Built static by the bench script (gcc -static -O2) and put in the guest's initramfs.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Runs up to `count` transfers of `size` bytes (sequential or at random aligned offsets below `span`) or until
 * `limit` seconds pass; returns transfers per second. */
static double run(int fd, char *buffer, size_t size, long count, uint64_t span, int random, int write, double limit)
{
    uint64_t state = 0x9E3779B97F4A7C15ull;
    double start = now();
    long done = 0;
    for (; done < count; done++) {
        uint64_t offset;
        if (random) {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            offset = (state % (span / size)) * size;
        } else {
            offset = ((uint64_t)done * size) % span;
        }
        ssize_t n = write ? pwrite(fd, buffer, size, offset) : pread(fd, buffer, size, offset);
        if (n != (ssize_t)size) { perror(write ? "pwrite" : "pread"); exit(1); }
        if ((done & 15) == 15 && now() - start > limit) { done++; break; }
    }
    if (write && fdatasync(fd) != 0) { perror("fdatasync"); exit(1); }
    return done / (now() - start);
}

int main(int argc, char **argv)
{
    if (argc != 4) { fprintf(stderr, "usage: disk-io DEVICE NAME SPAN_MIB\n"); return 2; }
    int fd = open(argv[1], O_RDWR | O_DIRECT);
    if (fd < 0) { perror(argv[1]); return 1; }
    uint64_t span = strtoull(argv[3], NULL, 10) << 20;
    char *buffer;
    if (posix_memalign((void **)&buffer, 4096, 1 << 20) != 0) return 1;
    memset(buffer, 0xA5, 1 << 20);
    double seqread = run(fd, buffer, 1 << 20, 256, span, 0, 0, 20) * 1.048576;
    double seqwrite = run(fd, buffer, 1 << 20, 256, span, 0, 1, 20) * 1.048576;
    double randread = run(fd, buffer, 4096, 20000, span, 1, 0, 20);
    double randwrite = run(fd, buffer, 4096, 20000, span, 1, 1, 20);
    printf("HS-DISK-IO %s seqread=%.1f seqwrite=%.1f randread=%.0f randwrite=%.0f\n", argv[2], seqread, seqwrite, randread, randwrite);
    close(fd);
    return 0;
}
