/*
 * mdfake: an LD_PRELOAD library that lets the real mdadm create md arrays on plain image files
 * without the md driver. Test fixture of scemu's raid module (MdadmFixture compiles it into
 * target/); never shipped.
 *
 * mdadm --create needs the kernel for three things, all faked here:
 *   1. its members must be block devices: image files named in MDFAKE_DISKS (':'-separated
 *      absolute paths) are reported by stat/fstat as block devices 8:(16*i), and answer the
 *      block-device ioctls (BLKGETSIZE64, BLKSSZGET, ...) from the file size;
 *   2. the array device /dev/mdN and the md ioctls on it (RAID_VERSION, GET_ARRAY_INFO,
 *      SET_ARRAY_INFO, ADD_NEW_DISK, GET_DISK_INFO, RUN_ARRAY, STOP_ARRAY, ...): /dev/md* paths
 *      live under MDFAKE_ROOT, mknod makes a plain file there, and the ioctls keep the array
 *      state in this process's memory;
 *   3. sysfs and mdadm's run directory: /sys/... and /run/mdadm/... are redirected under
 *      MDFAKE_ROOT (an empty sysfs there: mdadm falls back to the ioctls).
 * Everything mdadm writes to the members (superblock, bitmap, bad-block log) is its own code.
 * MDFAKE_DEBUG=1 logs each redirected path and unhandled ioctl to stderr.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/blkpg.h>
#include <linux/major.h>
#include <linux/raid/md_u.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>
#include <dirent.h>

#define MAX_FD 4096
#define MAX_DISKS 64
#define MAX_MD_DISKS 256

/* what an fd is: 0 other, 1 member image (index + 1 in fd_disk), 2 md array device */
static int fd_kind[MAX_FD];
static int fd_disk[MAX_FD];
static int fd_md_minor[MAX_FD];

static int debug = -1;
static char root[4096];
static int root_len = -1;
static ino_t disk_ino[MAX_DISKS];
static dev_t disk_dev[MAX_DISKS];
static int disk_count = -1;

/* device nodes mknod made (as plain files under ROOT): path and md minor */
static char node_path[64][4200];
static int node_minor[64];
static int node_count;

static mdu_array_info_t array_info;
static int array_set;
static int array_running;
static mdu_disk_info_t disks[MAX_MD_DISKS];

static void logf_(const char *fmt, ...) {
    if (debug <= 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mdfake: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

#define REAL(name, ret, ...) \
    static ret (*real_##name)(__VA_ARGS__); \
    if (!real_##name) real_##name = dlsym(RTLD_NEXT, #name)

static int real_stat_path(const char *path, struct stat64 *st) {
    static int (*fn)(const char *, struct stat64 *);
    if (!fn) fn = dlsym(RTLD_NEXT, "stat64");
    return fn(path, st);
}

static void init(void) {
    if (root_len >= 0) {
        return;
    }
    const char *d = getenv("MDFAKE_DEBUG");
    debug = d != NULL && *d == '1';
    const char *r = getenv("MDFAKE_ROOT");
    snprintf(root, sizeof root, "%s", r ? r : "/nonexistent-mdfake-root");
    root_len = (int) strlen(root);
    disk_count = 0;
    const char *list = getenv("MDFAKE_DISKS");
    if (list) {
        char *copy = strdup(list);
        char *save = NULL;
        for (char *p = strtok_r(copy, ":", &save); p && disk_count < MAX_DISKS; p = strtok_r(NULL, ":", &save)) {
            struct stat64 st;
            if (real_stat_path(p, &st) == 0) {
                disk_ino[disk_count] = st.st_ino;
                disk_dev[disk_count] = st.st_dev;
                disk_count++;
            }
        }
        free(copy);
    }
}

static int starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* the path mdadm means, moved under MDFAKE_ROOT when it is md's or sysfs's */
static const char *redirect(const char *path, char *buf, size_t len) {
    init();
    if (path == NULL) {
        return path;
    }
    if (starts_with(path, "/dev/md") || starts_with(path, "/dev/.tmp.md") || starts_with(path, "/sys/") || strcmp(path, "/sys") == 0
            || starts_with(path, "/run/mdadm") || starts_with(path, "/proc/mdstat")
            || starts_with(path, "/etc/mdadm")) {
        snprintf(buf, len, "%s%s", root, path);
        logf_("redirect %s -> %s", path, buf);
        return buf;
    }
    return path;
}

static int disk_index(const struct stat64 *st) {
    for (int i = 0; i < disk_count; i++) {
        if (st->st_ino == disk_ino[i] && st->st_dev == disk_dev[i]) {
            return i;
        }
    }
    return -1;
}

/* the md minor of a device node mknod made, or of a file under ROOT/dev/ named mdN; else -1 */
static int md_minor_of(const char *real_path) {
    char resolved[4096];
    static char *(*rp)(const char *, char *);
    if (!rp) rp = dlsym(RTLD_NEXT, "realpath");
    if (rp(real_path, resolved) == NULL) {
        return -1;
    }
    for (int i = 0; i < node_count; i++) {
        if (strcmp(node_path[i], resolved) == 0) {
            return node_minor[i];
        }
    }
    char devdir[4200];
    snprintf(devdir, sizeof devdir, "%s/dev/", root);
    if (!starts_with(resolved, devdir)) {
        return -1;
    }
    const char *base = strrchr(resolved, '/') + 1;
    int minor;
    char tail;
    if (sscanf(base, "md%d%c", &minor, &tail) == 1) {
        return minor;
    }
    return -1;
}

static void fake_stat(const char *real_path, struct stat64 *st) {
    int i = disk_index(st);
    if (i >= 0) {
        st->st_mode = (st->st_mode & ~S_IFMT) | S_IFBLK;
        st->st_rdev = makedev(8, 16 * i);
        return;
    }
    if (real_path != NULL && S_ISREG(st->st_mode)) {
        int minor = md_minor_of(real_path);
        if (minor >= 0) {
            st->st_mode = (st->st_mode & ~S_IFMT) | S_IFBLK;
            st->st_rdev = makedev(9, minor);
        }
    }
}

static void track(int fd, const char *real_path) {
    if (fd < 0 || fd >= MAX_FD) {
        return;
    }
    fd_kind[fd] = 0;
    struct stat64 st;
    static int (*fst)(int, struct stat64 *);
    if (!fst) fst = dlsym(RTLD_NEXT, "fstat64");
    if (fst(fd, &st) != 0) {
        return;
    }
    int i = disk_index(&st);
    if (i >= 0) {
        fd_kind[fd] = 1;
        fd_disk[fd] = i;
        return;
    }
    if (S_ISREG(st.st_mode)) {
        int minor = md_minor_of(real_path);
        if (minor >= 0) {
            fd_kind[fd] = 2;
            fd_md_minor[fd] = minor;
        }
    }
}

int open64(const char *path, int flags, ...) {
    REAL(open64, int, const char *, int, ...);
    char buf[4200];
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    const char *p = redirect(path, buf, sizeof buf);
    int fd = real_open64(p, flags & ~O_DIRECT, mode);
    track(fd, p);
    return fd;
}

int open(const char *path, int flags, ...) __attribute__((alias("open64")));

int __open64_2(const char *path, int flags) {
    return open64(path, flags);
}

int __open_2(const char *path, int flags) {
    return open64(path, flags);
}

int openat64(int dirfd, const char *path, int flags, ...) {
    REAL(openat64, int, int, const char *, int, ...);
    char buf[4200];
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    const char *p = path[0] == '/' ? redirect(path, buf, sizeof buf) : path;
    int fd = real_openat64(dirfd, p, flags & ~O_DIRECT, mode);
    if (path[0] == '/') {
        track(fd, p);
    }
    return fd;
}

int openat(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat64")));

FILE *fopen64(const char *path, const char *mode) {
    REAL(fopen64, FILE *, const char *, const char *);
    char buf[4200];
    return real_fopen64(redirect(path, buf, sizeof buf), mode);
}

FILE *fopen(const char *path, const char *mode) __attribute__((alias("fopen64")));

int close(int fd) {
    REAL(close, int, int);
    if (fd >= 0 && fd < MAX_FD) {
        fd_kind[fd] = 0;
    }
    return real_close(fd);
}

int stat64(const char *path, struct stat64 *st) {
    char buf[4200];
    init();
    const char *p = redirect(path, buf, sizeof buf);
    int rc = real_stat_path(p, st);
    if (rc == 0) {
        fake_stat(p, st);
    }
    return rc;
}

int stat(const char *path, struct stat *st) __attribute__((alias("stat64")));

int lstat64(const char *path, struct stat64 *st) {
    REAL(lstat64, int, const char *, struct stat64 *);
    char buf[4200];
    const char *p = redirect(path, buf, sizeof buf);
    int rc = real_lstat64(p, st);
    if (rc == 0 && !S_ISLNK(st->st_mode)) {
        fake_stat(p, st);
    }
    return rc;
}

int lstat(const char *path, struct stat *st) __attribute__((alias("lstat64")));

int fstat64(int fd, struct stat64 *st) {
    REAL(fstat64, int, int, struct stat64 *);
    init();
    int rc = real_fstat64(fd, st);
    if (rc == 0 && fd >= 0 && fd < MAX_FD) {
        if (fd_kind[fd] == 1) {
            st->st_mode = (st->st_mode & ~S_IFMT) | S_IFBLK;
            st->st_rdev = makedev(8, 16 * fd_disk[fd]);
        } else if (fd_kind[fd] == 2) {
            st->st_mode = (st->st_mode & ~S_IFMT) | S_IFBLK;
            st->st_rdev = makedev(9, fd_md_minor[fd]);
        }
    }
    return rc;
}

int fstat(int fd, struct stat *st) __attribute__((alias("fstat64")));

int access(const char *path, int mode) {
    REAL(access, int, const char *, int);
    char buf[4200];
    return real_access(redirect(path, buf, sizeof buf), mode);
}

int mknod(const char *path, mode_t mode, dev_t dev) {
    REAL(open64, int, const char *, int, ...);
    char buf[4200];
    const char *p = redirect(path, buf, sizeof buf);
    if (p == path) {
        errno = EPERM;
        return -1;
    }
    logf_("mknod %s %u:%u as a plain file", p, major(dev), minor(dev));
    int fd = real_open64(p, O_CREAT | O_EXCL | O_WRONLY, 0600);
    if (fd < 0) {
        return -1;
    }
    REAL(close, int, int);
    real_close(fd);
    if (major(dev) == 9 && node_count < 64) {
        static char *(*rp)(const char *, char *);
        if (!rp) rp = dlsym(RTLD_NEXT, "realpath");
        if (rp(p, node_path[node_count]) != NULL) {
            node_minor[node_count++] = (int) minor(dev);
        }
        /* what the kernel would publish once the device exists */
        char sys[4300];
        REAL(mkdir, int, const char *, mode_t);
        snprintf(sys, sizeof sys, "%s/sys", root);
        real_mkdir(sys, 0755);
        snprintf(sys, sizeof sys, "%s/sys/block", root);
        real_mkdir(sys, 0755);
        snprintf(sys, sizeof sys, "%s/sys/block/md%u", root, minor(dev));
        real_mkdir(sys, 0755);
        snprintf(sys, sizeof sys, "%s/sys/block/md%u/md", root, minor(dev));
        real_mkdir(sys, 0755);
        char link_path[4300];
        snprintf(sys, sizeof sys, "%s/sys/dev", root);
        real_mkdir(sys, 0755);
        snprintf(sys, sizeof sys, "%s/sys/dev/block", root);
        real_mkdir(sys, 0755);
        snprintf(link_path, sizeof link_path, "%s/sys/dev/block/9:%u", root, minor(dev));
        snprintf(sys, sizeof sys, "../../block/md%u", minor(dev));
        REAL(symlink, int, const char *, const char *);
        real_symlink(sys, link_path);
        snprintf(sys, sizeof sys, "%s/sys/block/md%u/dev", root, minor(dev));
        int dfd = real_open64(sys, O_CREAT | O_TRUNC | O_WRONLY, 0644);
        if (dfd >= 0) {
            char line[32];
            int n = snprintf(line, sizeof line, "9:%u\n", minor(dev));
            if (write(dfd, line, n) != n) {
                logf_("short write of %s", sys);
            }
            real_close(dfd);
        }
    }
    return 0;
}

int mkdir(const char *path, mode_t mode) {
    REAL(mkdir, int, const char *, mode_t);
    char buf[4200];
    return real_mkdir(redirect(path, buf, sizeof buf), mode);
}

int unlink(const char *path) {
    REAL(unlink, int, const char *);
    char buf[4200];
    return real_unlink(redirect(path, buf, sizeof buf));
}

int rename(const char *from, const char *to) {
    REAL(rename, int, const char *, const char *);
    char b1[4200];
    char b2[4200];
    return real_rename(redirect(from, b1, sizeof b1), redirect(to, b2, sizeof b2));
}

int symlink(const char *target, const char *path) {
    REAL(symlink, int, const char *, const char *);
    char buf[4200];
    char tbuf[4200];
    /* /dev/md/NAME -> /dev/mdN: both ends live under ROOT */
    return real_symlink(redirect(target, tbuf, sizeof tbuf), redirect(path, buf, sizeof buf));
}

int link(const char *from, const char *to) {
    REAL(link, int, const char *, const char *);
    char b1[4200];
    char b2[4200];
    return real_link(redirect(from, b1, sizeof b1), redirect(to, b2, sizeof b2));
}

int chmod(const char *path, mode_t mode) {
    REAL(chmod, int, const char *, mode_t);
    char buf[4200];
    return real_chmod(redirect(path, buf, sizeof buf), mode);
}

int chown(const char *path, uid_t uid, gid_t gid) {
    REAL(chown, int, const char *, uid_t, gid_t);
    char buf[4200];
    return real_chown(redirect(path, buf, sizeof buf), uid, gid);
}

ssize_t readlink(const char *path, char *out, size_t len) {
    REAL(readlink, ssize_t, const char *, char *, size_t);
    char buf[4200];
    return real_readlink(redirect(path, buf, sizeof buf), out, len);
}

DIR *opendir(const char *path) {
    REAL(opendir, DIR *, const char *);
    char buf[4200];
    return real_opendir(redirect(path, buf, sizeof buf));
}

char *realpath(const char *path, char *resolved) {
    REAL(realpath, char *, const char *, char *);
    char buf[4200];
    return real_realpath(redirect(path, buf, sizeof buf), resolved);
}

char *__realpath_chk(const char *path, char *resolved, size_t len) {
    (void) len;
    return realpath(path, resolved);
}

static long long file_size(int fd) {
    REAL(fstat64, int, int, struct stat64 *);
    struct stat64 st;
    if (real_fstat64(fd, &st) != 0) {
        return -1;
    }
    return st.st_size;
}

static int md_ioctl(int fd, unsigned long request, void *arg) {
    switch (request) {
    case RAID_VERSION: {
        mdu_version_t *v = arg;
        v->major = 0;
        v->minor = 90;
        v->patchlevel = 3;
        return 0;
    }
    case GET_ARRAY_INFO:
        if (!array_set) {
            errno = ENODEV;
            return -1;
        }
        memcpy(arg, &array_info, sizeof array_info);
        return 0;
    case SET_ARRAY_INFO:
        memcpy(&array_info, arg, sizeof array_info);
        array_info.md_minor = fd_md_minor[fd];
        array_set = 1;
        return 0;
    case ADD_NEW_DISK: {
        mdu_disk_info_t *d = arg;
        if (d->number < 0 || d->number >= MAX_MD_DISKS) {
            errno = EINVAL;
            return -1;
        }
        disks[d->number] = *d;
        array_info.nr_disks++;
        return 0;
    }
    case GET_DISK_INFO: {
        mdu_disk_info_t *d = arg;
        if (d->number < 0 || d->number >= MAX_MD_DISKS) {
            errno = EINVAL;
            return -1;
        }
        *d = disks[d->number];
        return 0;
    }
    case RUN_ARRAY:
        array_running = 1;
        return 0;
    case RESTART_ARRAY_RW:
        return 0;
    case STOP_ARRAY:
    case STOP_ARRAY_RO:
        array_running = 0;
        array_set = 0;
        return 0;
    case SET_BITMAP_FILE:
        return 0;
    case GET_BITMAP_FILE: {
        mdu_bitmap_file_t *b = arg;
        b->pathname[0] = 0;
        return 0;
    }
    case BLKGETSIZE64:
        *(unsigned long long *) arg = 0;
        return 0;
    case BLKSSZGET:
        *(int *) arg = 512;
        return 0;
    default:
        logf_("unhandled md ioctl 0x%lx", request);
        errno = ENOTTY;
        return -1;
    }
}

static int disk_ioctl(int fd, unsigned long request, void *arg) {
    switch (request) {
    case BLKGETSIZE64:
        *(unsigned long long *) arg = (unsigned long long) file_size(fd);
        return 0;
    case BLKGETSIZE:
        *(unsigned long *) arg = (unsigned long) (file_size(fd) / 512);
        return 0;
    case BLKSSZGET:
    case BLKPBSZGET:
        *(int *) arg = 512;
        return 0;
    case BLKIOMIN:
    case BLKIOOPT:
        *(unsigned int *) arg = 0;
        return 0;
    case BLKFLSBUF:
    case BLKRRPART:
        return 0;
    case BLKPG: /* not a partition */
        errno = ENOTTY;
        return -1;
    default:
        logf_("unhandled disk ioctl 0x%lx", request);
        errno = ENOTTY;
        return -1;
    }
}

int ioctl(int fd, unsigned long request, ...) {
    REAL(ioctl, int, int, unsigned long, ...);
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    init();
    if (fd >= 0 && fd < MAX_FD && fd_kind[fd] == 2) {
        return md_ioctl(fd, request, arg);
    }
    if (fd >= 0 && fd < MAX_FD && fd_kind[fd] == 1) {
        return disk_ioctl(fd, request, arg);
    }
    return real_ioctl(fd, request, arg);
}
