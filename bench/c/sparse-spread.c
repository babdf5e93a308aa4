// The kernel's own cost of spread writes to sparse files (docs/benchmarks.md, "Scale: spread against
// confined writes"): what a RAID-5 small write costs the members with no scemu code in between.
// Makes 4 sparse files of GIB GiB each in DIR (ftruncate, nothing written, POSIX_FADV_RANDOM as
// MappedFileBlockDevice advises), then alternates slices of SLICE_MS: 4 KiB "RAID-5 small writes"
// at random 4 KiB offsets, spread over the whole files or confined to their first 100 MiB / 4.
// One write = pread of the old data block on one file and of the parity block on another, then
// pwrite of both (what Raid5Engine's read-modify-write does per host 4 KiB write). No flush (as
// ScaleWriteBenchmark without a snapshot). Prints writes/s per slice and the median ratio.
// Build and run (deletes its files at the end):
//   gcc -O2 -o /tmp/sparse-spread bench/c/sparse-spread.c
//   /tmp/sparse-spread /tmp/sparse-dir 256 10 500
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static unsigned long long state = 88172645463325252ULL;
static unsigned long long next(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s DIR GIB ROUNDS SLICE_MS\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    long bytes = atol(argv[2]) << 30;
    int rounds = atoi(argv[3]);
    double slice = atoi(argv[4]) / 1000.0;
    int fd[4];
    char path[4][4096];
    for (int i = 0; i < 4; i++) {
        snprintf(path[i], sizeof path[i], "%s/member%d.img", dir, i);
        fd[i] = open(path[i], O_RDWR | O_CREAT | O_TRUNC, 0644);
        if (fd[i] < 0 || ftruncate(fd[i], bytes) != 0) {
            perror(path[i]);
            return 1;
        }
        posix_fadvise(fd[i], 0, 0, POSIX_FADV_RANDOM);
    }
    static char old[4096] __attribute__((aligned(4096)));
    static char parity[4096] __attribute__((aligned(4096)));
    static char data[4096] __attribute__((aligned(4096)));
    double ratios[1000];
    long blocks[2] = {bytes / 4096, (100L << 20) / 4 / 4096};
    const char *names[2] = {"spread", "confined"};
    for (int r = 0; r < rounds && r < 1000; r++) {
        double rate[2];
        for (int s = 0; s < 2; s++) {
            long n = 0;
            double start = now(), end = start + slice;
            while (now() < end) {
                for (int k = 0; k < 32; k++, n++) {
                    unsigned long long x = next();
                    long off = (long) (x % blocks[s]) * 4096;
                    int d = (int) ((x >> 40) & 3), p = (d + 1) & 3;
                    memcpy(data, &x, sizeof x);
                    if (pread(fd[d], old, 4096, off) != 4096 || pread(fd[p], parity, 4096, off) != 4096
                            || pwrite(fd[d], data, 4096, off) != 4096 || pwrite(fd[p], parity, 4096, off) != 4096) {
                        perror("io");
                        return 1;
                    }
                }
            }
            rate[s] = n / (now() - start);
        }
        ratios[r] = rate[0] / rate[1];
        printf("round %2d: %s %8.0f writes/s, %s %8.0f writes/s, ratio %.2f\n", r, names[0], rate[0], names[1],
               rate[1], ratios[r]);
        fflush(stdout);
    }
    qsort(ratios, rounds, sizeof ratios[0], cmp);
    printf("median spread / confined: %.2f (rounds %d, slices %.0f ms)\n", ratios[rounds / 2], rounds, slice * 1000);
    for (int i = 0; i < 4; i++) {
        close(fd[i]);
        unlink(path[i]);
    }
    return 0;
}
