/* The escape suite's probe: one attempt per verb, made with the raw syscall so no library
 * fallback hides the kernel's answer. Prints "ok" or the errno's name and exits 0 when the
 * attempt failed, 1 when it succeeded (the unsafe outcome), 2 on a usage error. Built
 * static by the tests (the busybox rootfs has no libc) and copied into the rootfs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int report(long result) {
    if (result < 0) {
        printf("%s\n", strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
        return 0;
    }
    printf("ok\n");
    return 1;
}

#if defined(__x86_64__)
/* A call through the i386 ABI (int 0x80, as a 32-bit program makes it) from this 64-bit
 * probe: seccomp sees AUDIT_ARCH_I386 and i386's numbers. */
static long i386_call(long nr, long a, long b, long c) {
    long ret;
    __asm__ volatile("int $0x80"
                     : "=a"(ret)
                     : "a"(nr), "b"(a), "c"(b), "d"(c)
                     : "memory", "r8", "r9", "r10", "r11");
    if (ret < 0 && ret > -4096) {
        errno = -ret;
        return -1;
    }
    return ret;
}
#endif

/* A handle for inode 2 (the root directory of an ext2/3/4 file system) of the file system
 * the rootfs lives on: with open_by_handle_at, the host's root directory ("shocker"). */
static long shocker(void) {
    struct {
        struct file_handle handle;
        unsigned char bytes[8];
    } h;
    memset(&h, 0, sizeof h);
    h.handle.handle_bytes = 8;
    h.handle.handle_type = 1; /* FILEID_INO32_GEN */
    unsigned int ino = 2, generation = 0;
    memcpy(h.handle.f_handle, &ino, 4);
    memcpy(h.handle.f_handle + 4, &generation, 4);
    int mount_fd = open("/", O_RDONLY | O_DIRECTORY);
    return syscall(SYS_open_by_handle_at, mount_fd, &h.handle, O_RDONLY | O_DIRECTORY);
}

/* Whether the container can open the device major:minor through a node it makes itself. */
static long device(char type, const char *major, const char *minor) {
    /* In the rootfs itself: /tmp and /dev/shm are nodev mounts in the seed. */
    const char *node = "/.escape-probe-node";
    unlink(node);
    mode_t mode = (type == 'b' ? S_IFBLK : S_IFCHR) | 0600;
    if (syscall(SYS_mknodat, AT_FDCWD, node, mode, makedev(atoi(major), atoi(minor))) < 0)
        return -1;
    long fd = open(node, O_RDWR | O_NOCTTY | O_NONBLOCK);
    int saved = errno;
    unlink(node);
    errno = saved;
    return fd;
}

/* Writes text to path (open, creating it if need be, then write): where either fails,
 * that errno. */
static long write_text(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_NOCTTY, 0644);
    if (fd < 0)
        return -1;
    long n = write(fd, text, strlen(text));
    int saved = errno;
    close(fd);
    errno = saved;
    return n;
}

/* A child in a new user namespace, whose uid_map we (root of the container, with
 * CAP_SETUID there) then write with map: the kernel must refuse any id the container's own
 * map lacks, host root's above all. */
static long nested_map(const char *map) {
    int ready[2], done[2];
    if (pipe(ready) < 0 || pipe(done) < 0)
        return -1;
    pid_t child = fork();
    if (child < 0)
        return -1;
    if (child == 0) {
        char byte = syscall(SYS_unshare, CLONE_NEWUSER) == 0 ? 'u' : 'x';
        write(ready[1], &byte, 1);
        read(done[0], &byte, 1);
        _exit(0);
    }
    char byte = 0, path[64];
    read(ready[0], &byte, 1);
    long result = -1;
    if (byte != 'u')
        errno = ECHILD; /* the child could not even make its namespace */
    else {
        snprintf(path, sizeof path, "/proc/%d/uid_map", child);
        result = write_text(path, map);
    }
    int saved = errno;
    write(done[1], "x", 1);
    waitpid(child, NULL, 0);
    errno = saved;
    return result;
}

/* Pushes a line into the input of the terminal on fd: what a TIOCSTI attack types. */
static long tiocsti(int fd, const char *line) {
    for (const char *c = line; *c; c++)
        if (ioctl(fd, TIOCSTI, c) < 0)
            return -1;
    return 0;
}


/* Every open fd above 2 but the one listing them, with where it points. */
static int fds(void) {
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return 2;
    struct dirent *e;
    char path[64], target[4096];
    while ((e = readdir(dir))) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd <= 2 || fd == dirfd(dir))
            continue;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n < 0 ? 0 : n] = 0;
        printf("fd %d -> %s\n", fd, target);
    }
    char cwd[4096];
    printf("cwd %s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
    return 0;
}

static void link_of(int pid, const char *name, char *out, size_t size) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
    ssize_t n = readlink(path, out, size - 1);
    if (n < 0)
        snprintf(out, size, "unreadable");
    else
        out[n] = 0;
}

/* Two fields of pid's status ("Seccomp:\t2" style), read from one open so that both
 * describe the same moment: a process that exits between two reads would leave the second
 * "?" and look like a finding. Returns 0 when the process was gone before we looked. */
static int status_fields(int pid, const char *a, char *out_a, const char *b, char *out_b,
                         size_t size) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    snprintf(out_a, size, "?");
    snprintf(out_b, size, "?");
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, a, strlen(a)))
            snprintf(out_a, size, "%s", line + strlen(a) + 1);
        if (!strncmp(line, b, strlen(b)))
            snprintf(out_b, size, "%s", line + strlen(b) + 1);
    }
    fclose(f);
    out_a[strcspn(out_a, "\n")] = 0;
    out_b[strcspn(out_b, "\n")] = 0;
    return strcmp(out_a, "?") && strcmp(out_b, "?");
}

/* Watches /proc for `sightings` processes whose executable lies outside our root (their
 * exe link names a host path containing `marker`; or, with marker "unreadable", whose exe
 * we may not even read: not dumpable to us, as attach's process before its exec in a user
 * namespace) and writes, for each, whether it shares
 * our mount namespace and root, its seccomp mode and effective capabilities, and whether
 * its exe opens for writing (CVE-2019-5736). Appends to `log`; gives up after `seconds`. */
static int watch(const char *marker, int sightings, int seconds, const char *log) {
    char own_mnt[128], mnt[128], exe[4096], seccomp[256], cap[256], path[64];
    link_of(getpid(), "ns/mnt", own_mnt, sizeof own_mnt);
    struct stat own_root, root;
    stat("/", &own_root);
    time_t end = time(NULL) + seconds;
    int seen = 0, last = 0;
    while (seen < sightings && time(NULL) < end) {
        DIR *dir = opendir("/proc");
        struct dirent *e;
        while (dir && (e = readdir(dir))) {
            int pid = atoi(e->d_name);
            if (pid <= 1 || pid == getpid() || pid == last)
                continue;
            link_of(pid, "exe", exe, sizeof exe);
            if (!strstr(exe, marker))
                continue;
            last = pid;
            link_of(pid, "ns/mnt", mnt, sizeof mnt);
            snprintf(path, sizeof path, "/proc/%d/root/", pid);
            const char *root_is = stat(path, &root) != 0 ? "unreadable"
                                  : root.st_dev == own_root.st_dev && root.st_ino == own_root.st_ino
                                      ? "same"
                                      : "other";
            if (!status_fields(pid, "Seccomp:", seccomp, "CapEff:", cap, sizeof cap))
                continue; /* gone before we looked: nothing was seen */
            snprintf(path, sizeof path, "/proc/%d/exe", pid);
            int w = open(path, O_WRONLY);
            FILE *out = fopen(log, "a");
            if (out) {
                fprintf(out, "pid=%d mnt=%s root=%s seccomp=%s capeff=%s exe-write=%s\n", pid,
                        strcmp(mnt, own_mnt) ? (strcmp(mnt, "unreadable") ? "other" : "unreadable")
                                             : "same",
                        root_is, seccomp, cap,
                        w >= 0 ? "ok" : strerrorname_np(errno));
                fclose(out);
            }
            if (w >= 0)
                close(w);
            seen++;
        }
        if (dir)
            closedir(dir);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    const char *verb = argv[1];
    struct timeval now;
    gettimeofday(&now, NULL);
    struct timespec ts = {now.tv_sec, 0};
    if (!strcmp(verb, "init_module"))
        return report(syscall(SYS_init_module, "", 0, ""));
    if (!strcmp(verb, "finit_module")) {
        int fd = open("/bin/busybox", O_RDONLY);
        return report(syscall(SYS_finit_module, fd, "", 0));
    }
    if (!strcmp(verb, "delete_module"))
        return report(syscall(SYS_delete_module, "loop", O_NONBLOCK));
    if (!strcmp(verb, "settimeofday")) /* to the time it is: harmless where it works */
        return report(syscall(SYS_settimeofday, &now, NULL));
    if (!strcmp(verb, "clock_settime"))
        return report(syscall(SYS_clock_settime, CLOCK_REALTIME, &ts));
    if (!strcmp(verb, "syslog")) { /* refused, or answered with nothing: both safe */
        static char buf[4096];
        long n = syscall(SYS_syslog, 3 /* READ_ALL */, buf, sizeof buf);
        if (n == 0) {
            printf("empty\n");
            return 0;
        }
        return report(n);
    }
    if (!strcmp(verb, "open_by_handle_at"))
        return report(shocker());
    if (!strcmp(verb, "keyctl")) /* KEYCTL_GET_KEYRING_ID of the session keyring */
        return report(syscall(SYS_keyctl, 0, -3, 0));
#if defined(__x86_64__)
    if (!strcmp(verb, "keyctl_i386")) /* i386's keyctl is 288, getpid 20 */
        return report(i386_call(288, 0, -3, 0));
    if (!strcmp(verb, "getpid_i386"))
        return report(i386_call(20, 0, 0, 0));
    if (!strcmp(verb, "keyctl_x32")) /* x86_64's number with the x32 bit */
        return report(syscall(0x40000000 | SYS_keyctl, 0, -3, 0));
#endif
    if (!strcmp(verb, "add_key"))
        return report(syscall(SYS_add_key, "user", "escape", "x", 1, -3));
    if (!strcmp(verb, "device") && argc == 5)
        return report(device(argv[2][0], argv[3], argv[4]));
    if (!strcmp(verb, "mknod") && argc == 5) { /* making the node alone */
        const char *node = "/.escape-probe-node";
        mode_t mode = (argv[2][0] == 'b' ? S_IFBLK : S_IFCHR) | 0600;
        unlink(node);
        long r = syscall(SYS_mknodat, AT_FDCWD, node, mode, makedev(atoi(argv[3]), atoi(argv[4])));
        int saved = errno;
        unlink(node);
        errno = saved;
        return report(r);
    }
    if (!strcmp(verb, "chown") && argc == 4)
        return report(syscall(SYS_fchownat, AT_FDCWD, argv[2], atoi(argv[3]), -1, 0));
    if (!strcmp(verb, "setuid") && argc == 3)
        return report(syscall(SYS_setuid, atoi(argv[2])));
    if (!strcmp(verb, "write_text") && argc == 4)
        return report(write_text(argv[2], argv[3]));
    if (!strcmp(verb, "nested_map") && argc == 3)
        return report(nested_map(argv[2]));
    if (!strcmp(verb, "ptrace") && argc == 3) {
        long r = ptrace(PTRACE_ATTACH, atoi(argv[2]), 0, 0);
        if (r == 0)
            ptrace(PTRACE_DETACH, atoi(argv[2]), 0, 0);
        return report(r);
    }
    if (!strcmp(verb, "tiocsti") && argc == 4)
        return report(tiocsti(atoi(argv[2]), argv[3]));
    if (!strcmp(verb, "write") && argc == 3) /* open for writing, truncating nothing */
        return report(open(argv[2], O_WRONLY | O_NOCTTY));
    if (!strcmp(verb, "fds"))
        return fds();
    if (!strcmp(verb, "watch") && argc == 6)
        return watch(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5]);
    return 2;
}
