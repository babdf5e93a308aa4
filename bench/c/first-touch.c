/*
 * What the first write to fresh anonymous memory costs, with 4 KiB pages and with transparent huge
 * pages (madvise(MADV_HUGEPAGE)), beside a second write of the same memory: the page faults that
 * ByteBuffer.allocateDirect pays when it zeroes a new buffer (core LargeBuffers, docs/benchmarks.md).
 *
 *   gcc -O2 -o /tmp/first-touch bench/c/first-touch.c && /tmp/first-touch 96 0 && /tmp/first-touch 96 1
 *
 * Arguments: MiB per round, 1 to advise huge pages. Three rounds, each a fresh mapping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MIB HUGE(0|1)\n", argv[0]);
        return 2;
    }
    size_t bytes = (size_t) atoi(argv[1]) << 20;
    int huge = atoi(argv[2]);
    size_t granule = 2u << 20;
    for (int round = 0; round < 3; round++) {
        char *mapping = mmap(NULL, bytes + granule, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mapping == MAP_FAILED) {
            perror("mmap");
            return 1;
        }
        char *aligned = (char *) (((unsigned long) mapping + granule - 1) & ~(unsigned long) (granule - 1));
        if (huge) {
            madvise(aligned, bytes, MADV_HUGEPAGE);
        }
        double start = now();
        memset(aligned, 0, bytes);
        double first = now();
        memset(aligned, 1, bytes);
        double second = now();
        printf("huge=%d %zu MiB: first write %.1f ms (%.2f GB/s), second %.1f ms\n", huge, bytes >> 20,
               (first - start) * 1e3, bytes / (first - start) / 1e9, (second - first) * 1e3);
        munmap(mapping, bytes + granule);
    }
    return 0;
}
