/*
 * C reference for RAID-5 parity XOR (PERFORMANCE.md's ceilings), measured in the same machine
 * state as the Java benchmark: parity = s0 ^ s1 ^ ... ^ s(k-1) in one pass over uint64_t, which
 * gcc -O3 -march=native vectorizes (AVX-512 on Zen 5). Figures are source bytes per second; the
 * memcpy row copies the same number of source bytes (each source into the parity buffer).
 *
 * Usage: xor [seconds-per-case]   (built and run by run-xor.sh). Built with -DXOR_LIB -shared it
 * is the library XorInterleaved (benchmarks module) calls through JNA, interleaved with the Java
 * kernels in one process.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Exported (also built as a shared library by run-xor.sh --lib, called by the Java harness). */
__attribute__((noinline))
void xor4(uint64_t *restrict p, const uint64_t *restrict a, const uint64_t *restrict b,
                 const uint64_t *restrict c, const uint64_t *restrict d, size_t words) {
    for (size_t i = 0; i < words; i++) {
        p[i] = a[i] ^ b[i] ^ c[i] ^ d[i];
    }
}

__attribute__((noinline))
void xor3(uint64_t *restrict p, const uint64_t *restrict a, const uint64_t *restrict b,
                 const uint64_t *restrict c, size_t words) {
    for (size_t i = 0; i < words; i++) {
        p[i] = a[i] ^ b[i] ^ c[i];
    }
}

/* memcpy of `sources` buffers into p, for the copy reference through the same call path. */
void copy4(uint64_t *p, const uint64_t *a, const uint64_t *b, const uint64_t *c, const uint64_t *d, size_t words) {
    memcpy(p, a, words * 8);
    memcpy(p, b, words * 8);
    memcpy(p, c, words * 8);
    memcpy(p, d, words * 8);
}

/*
 * memcmp of the same two ranges `reps` times: the C compare baseline (CompareBenchmark). The empty
 * asm with a memory clobber between calls keeps gcc from hoisting the pure memcmp out of the loop,
 * and one JNA call is spread over `reps` compares, so the figure is libc's memcmp, not the call.
 */
long memcmp_reps(const void *a, const void *b, size_t n, long reps) {
    long acc = 0;
    for (long r = 0; r < reps; r++) {
        acc += memcmp(a, b, n) != 0;
        __asm__ volatile("" ::: "memory");
    }
    return acc;
}

#ifndef XOR_LIB
static volatile uint64_t sink;

/* Runs one case for about `seconds`, in 5 slices; prints the median slice's source GB/s. */
static void run(const char *name, int kind, size_t bytes, int sources, double seconds) {
    uint64_t *src[4];
    for (int i = 0; i < 4; i++) {
        src[i] = aligned_alloc(4096, bytes);
        for (size_t w = 0; w < bytes / 8; w++) {
            src[i][w] = (w + 1) * 0x9E3779B97F4A7C15ULL * (uint64_t) (i + 1);
        }
    }
    uint64_t *p = aligned_alloc(4096, bytes);
    memset(p, 0, bytes);
    size_t words = bytes / 8;
    double rates[5];
    for (int slice = -1; slice < 5; slice++) { /* slice -1: warmup */
        long reps = 0;
        double t0 = now(), t;
        do {
            if (kind == 0 && sources == 4) {
                xor4(p, src[0], src[1], src[2], src[3], words);
            } else if (kind == 0) {
                xor3(p, src[0], src[1], src[2], words);
            } else {
                for (int i = 0; i < sources; i++) {
                    memcpy(p, src[i], bytes);
                }
            }
            __asm__ volatile("" ::: "memory");
            reps++;
            t = now();
        } while (t - t0 < seconds / 5);
        if (slice >= 0) {
            rates[slice] = (double) reps * sources * bytes / (t - t0) / 1e9;
        }
    }
    sink = p[words / 2];
    for (int i = 0; i < 5; i++) { /* sort for the median */
        for (int j = i + 1; j < 5; j++) {
            if (rates[j] < rates[i]) { double x = rates[i]; rates[i] = rates[j]; rates[j] = x; }
        }
    }
    printf("%-28s %8.1f GB/s of source (median of 5; min %.1f max %.1f)\n", name, rates[2], rates[0], rates[4]);
    for (int i = 0; i < 4; i++) free(src[i]);
    free(p);
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    run("c xor 4 x 256 KiB", 0, 256 << 10, 4, seconds);
    run("c memcpy 4 x 256 KiB", 1, 256 << 10, 4, seconds);
    run("c xor 3 x 64 KiB", 0, 64 << 10, 3, seconds);
    run("c xor 4 x 64 MiB", 0, 64 << 20, 4, seconds);
    run("c memcpy 4 x 64 MiB", 1, 64 << 20, 4, seconds);
    return 0;
}
#endif
