// How the page cache's folio size costs a later small write (docs/benchmarks.md, "scemu serve writes").
// Fills 256 MiB of FILE with pwrites of PIECE bytes (1 MiB-aligned groups), fsyncs, then times 20,000
// random 4 KiB pwrites into it. Build and run:
//   gcc -O2 -o /tmp/pwrite-folio bench/c/pwrite-folio.c
//   for p in 4096 65536 262144 1048576; do /tmp/pwrite-folio $p /tmp/pwrite-folio.img; done
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s PIECE_BYTES FILE\n", argv[0]);
        return 2;
    }
    int piece = atoi(argv[1]);
    if (piece < 4096 || (1 << 20) % piece != 0) {
        fprintf(stderr, "PIECE_BYTES must divide 1 MiB and be at least 4096\n");
        return 2;
    }
    int fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, 1L << 30) != 0) {
        perror(argv[2]);
        return 1;
    }
    static char big[1 << 20];
    char block[4096] = {1};
    double start = now();
    for (long o = 0; o < (256L << 20); o += 1 << 20) {
        for (int p = 0; p < (1 << 20); p += piece) {
            if (pwrite(fd, big, piece, o + p) != piece) { perror("pwrite"); return 1; }
        }
    }
    double fill = now() - start;
    fsync(fd);
    srand(1);
    int n = 20000;
    start = now();
    for (int i = 0; i < n; i++) {
        long offset = (long) (rand() % 65536) * 4096;
        if (pwrite(fd, block, 4096, offset) != 4096) { perror("pwrite"); return 1; }
    }
    printf("fill in %d-byte pieces: %.0f MB/s; then a random 4 KiB pwrite: %.1f us\n", piece, 256 / fill,
           (now() - start) / n * 1e6);
    close(fd);
    unlink(argv[2]);
    return 0;
}
