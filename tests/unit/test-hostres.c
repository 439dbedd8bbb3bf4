/* Unit tests for the host and process monitors: every /proc parser on real
 * and odd texts, rates between samples (counter resets included),
 * thresholds and their messages, process matching over fake /proc trees
 * (the static one in tests/data/proc/host, and ones each test writes into a
 * temp dir), and one look at the real /proc for this very process. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "probe/probe.h"
#include "util/cleanup.h"

#define UNTOUCHED 0x5a

/* --- helpers --- */

static bool untouched(const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        if (b[i] != UNTOUCHED)
            return false;
    }
    return true;
}

static const char *data_dir(void)
{
    const char *d = getenv("OPSD_TEST_DATA");
    struct stat st;

    /* meson test sets it; run by hand from the repo root, this finds it. */
    if (d && *d)
        return d;
    if (stat("tests/data/proc", &st) == 0)
        return "tests/data";
    fail_msg("set OPSD_TEST_DATA to the repo's tests/data (or run from the repo root)");
    return NULL;
}

static void write_file(const char *dir, const char *rel, const void *data, size_t len)
{
    char path[PATH_MAX];
    char *slash;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    /* Parent directories, one level at a time. */
    for (slash = strchr(path + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (mkdir(path, 0755) < 0)
            assert_int_equal(errno, EEXIST);
        *slash = '/';
    }
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void write_text(const char *dir, const char *rel, const char *text)
{
    write_file(dir, rel, text, strlen(text));
}

/* A /proc/<pid>/stat line with all 52 fields, as Linux 5.x+ writes it. */
static void write_pid(const char *root, int pid, const char *comm, char state, int ppid,
                      uint64_t utime, uint64_t stime, uint64_t start, uint64_t rss,
                      const char *cmdline, size_t cmdline_len)
{
    char rel[64], line[1024];

    snprintf(line, sizeof(line),
             "%d (%s) %c %d %d %d 0 -1 4194560 100 0 0 0 %llu %llu 0 0 20 0 1 0 %llu 12345678 "
             "%llu 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
             pid, comm, state, ppid, pid, pid, (unsigned long long)utime, (unsigned long long)stime,
             (unsigned long long)start, (unsigned long long)rss);
    snprintf(rel, sizeof(rel), "%d/stat", pid);
    write_text(root, rel, line);
    snprintf(rel, sizeof(rel), "%d/cmdline", pid);
    write_file(root, rel, cmdline, cmdline_len);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir)
{
    assert_int_equal(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static const struct probe_host_metric *metric(const struct probe_host_metric *m, size_t n,
                                              const char *name, const char *label)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(m[i].name, name) == 0 && strcmp(m[i].label, label ? label : "") == 0)
            return &m[i];
    }
    return NULL;
}

static double metric_value(const struct probe_host_metric *m, size_t n, const char *name,
                           const char *label)
{
    const struct probe_host_metric *x = metric(m, n, name, label);

    if (!x)
        fail_msg("no metric %s{%s}", name, label ? label : "");
    return x->value;
}

/* --- parsers --- */

static void test_parse_stat(void **state)
{
    struct probe_cpu_times c, keep;
    unsigned ncpu = 77;

    (void)state;
    assert_int_equal(probe_parse_stat("cpu  248877 90 68416 1347135 3967 0 9932 154 0 0\n"
                                      "cpu0 65394 34 29871 737653 1105 0 4952 73 0 0\n"
                                      "cpu1 65394 34 29871 737653 1105 0 4952 73 0 0\n"
                                      "cpu2 65394 34 29871 737653 1105 0 4952 73 0 0\n"
                                      "intr 1 2 3\nbtime 1700000000\n",
                                      &c, &ncpu),
                     0);
    assert_int_equal(ncpu, 3);
    assert_int_equal(c.user, 248877);
    assert_int_equal(c.nice, 90);
    assert_int_equal(c.system, 68416);
    assert_int_equal(c.idle, 1347135);
    assert_int_equal(c.iowait, 3967);
    assert_int_equal(c.irq, 0);
    assert_int_equal(c.softirq, 9932);
    assert_int_equal(c.steal, 154);

    /* A 2.4 kernel: four fields, no per-CPU lines we count on. */
    assert_int_equal(probe_parse_stat("cpu 10 20 30 40\n", &c, &ncpu), 0);
    assert_int_equal(c.idle, 40);
    assert_int_equal(c.iowait, 0);
    assert_int_equal(c.steal, 0);
    assert_int_equal(ncpu, 1);

    /* Huge but valid counters. */
    assert_int_equal(probe_parse_stat("cpu 18446744073709551615 0 0 1\n", &c, &ncpu), 0);
    assert_true(c.user == UINT64_MAX);

    memset(&keep, UNTOUCHED, sizeof(keep));
    c = keep;
    ncpu = 77;
    assert_int_equal(probe_parse_stat("cpu0 1 2 3 4\nintr 5\n", &c, &ncpu), -EINVAL);
    assert_int_equal(probe_parse_stat("cpu 1 2 3\n", &c, &ncpu), -EINVAL);
    assert_int_equal(probe_parse_stat("cpu 18446744073709551616 0 0 1\n", &c, &ncpu), -ERANGE);
    assert_int_equal(probe_parse_stat("", &c, &ncpu), -EINVAL);
    assert_memory_equal(&c, &keep, sizeof(c));
    assert_int_equal(ncpu, 77);
}

static void test_parse_meminfo(void **state)
{
    struct probe_meminfo m, keep;

    (void)state;
    assert_int_equal(probe_parse_meminfo("MemTotal:       16318484 kB\n"
                                         "MemFree:         1000000 kB\n"
                                         "MemAvailable:    8159242 kB\n"
                                         "Buffers:          100000 kB\n"
                                         "Cached:          2000000 kB\n"
                                         "SwapCached:            0 kB\n"
                                         "SwapTotal:       2097148 kB\n"
                                         "SwapFree:        1048574 kB\n"
                                         "HugePages_Total:       0\n",
                                         &m),
                     0);
    assert_true(m.total == 16318484ULL * 1024);
    assert_true(m.available == 8159242ULL * 1024);
    assert_true(m.has_available);
    assert_true(m.swap_total == 2097148ULL * 1024);
    assert_true(m.swap_free == 1048574ULL * 1024);

    /* Before 3.14 there is no MemAvailable: free + buffers + cache. */
    assert_int_equal(probe_parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\n"
                                         "Cached: 250 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n",
                                         &m),
                     0);
    assert_false(m.has_available);
    assert_true(m.available == 400 * 1024);
    assert_true(m.swap_total == 0); /* no swap: n/a */

    /* No swap lines at all is no swap, too. */
    assert_int_equal(probe_parse_meminfo("MemTotal: 1000 kB\nMemAvailable: 900 kB\n", &m), 0);
    assert_true(m.swap_total == 0);
    assert_true(m.swap_free == 0);

    /* 16 TiB of memory, and an available that claims more than total. */
    assert_int_equal(probe_parse_meminfo("MemTotal: 17179869184 kB\n"
                                         "MemAvailable: 17179869185 kB\n",
                                         &m),
                     0);
    assert_true(m.total == 17179869184ULL * 1024);
    assert_true(m.available == m.total);

    memset(&keep, UNTOUCHED, sizeof(keep));
    m = keep;
    assert_int_equal(probe_parse_meminfo("MemFree: 100 kB\n", &m), -EINVAL);
    assert_int_equal(probe_parse_meminfo("MemTotal: 0 kB\nMemAvailable: 0 kB\n", &m), -EINVAL);
    assert_int_equal(probe_parse_meminfo("MemTotal: 1000 kB\n", &m), -EINVAL);
    assert_int_equal(probe_parse_meminfo("MemTotal: lots kB\n", &m), -EINVAL);
    /* 2^54 kB is 2^64 bytes: one too many. */
    assert_int_equal(probe_parse_meminfo("MemTotal: 18014398509481984 kB\n", &m), -ERANGE);
    assert_memory_equal(&m, &keep, sizeof(m));
}

static void test_parse_loadavg(void **state)
{
    double l[3] = { -1, -1, -1 };

    (void)state;
    assert_int_equal(probe_parse_loadavg("0.66 0.40 0.45 3/99 28050\n", l), 0);
    assert_float_equal(l[0], 0.66, 1e-9);
    assert_float_equal(l[1], 0.40, 1e-9);
    assert_float_equal(l[2], 0.45, 1e-9);
    assert_int_equal(probe_parse_loadavg("123.99 7 0.001\n", l), 0);
    assert_float_equal(l[0], 123.99, 1e-9);
    assert_float_equal(l[1], 7, 1e-9);
    assert_float_equal(l[2], 0.001, 1e-9);

    l[0] = l[1] = l[2] = -1;
    assert_int_equal(probe_parse_loadavg("1,50 1.00 0.50 1/2 3\n", l), -EINVAL);
    assert_int_equal(probe_parse_loadavg("1.50 1.00\n", l), -EINVAL);
    assert_int_equal(probe_parse_loadavg("", l), -EINVAL);
    assert_true(l[0] == -1 && l[1] == -1 && l[2] == -1);
}

static const char net_dev[] =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
    "drop fifo colls carrier compressed\n"
    "    lo: 2011696165 21668014    0    0    0     0          0         0 2011696165 21668014 "
    "   0    0    0     0       0          0\n"
    "  eth0: 18446744073709551615 100000    0    0    0     0          0         0 987654321 "
    "90000    0    0    0     0       0          0\n"
    "veth1a2b3c4d5e6:  1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
    /* 2.4 kernels wrote no space after the colon. */
    "  ppp0:1234 5 0 0 0 0 0 0 5678 9 0 0 0 0 0 0\n";

static void test_parse_net_dev(void **state)
{
    struct probe_host_iface ifs[8];
    const char *only[] = { "lo", "ppp0" };
    struct probe_host_filter f = { .ifaces = only, .n_ifaces = 2 };
    size_t n = 99;

    (void)state;
    assert_int_equal(probe_parse_net_dev(net_dev, NULL, ifs, 8, &n), 0);
    assert_int_equal(n, 3); /* lo skipped by default */
    assert_string_equal(ifs[0].name, "eth0");
    assert_true(ifs[0].rx_bytes == UINT64_MAX);
    assert_true(ifs[0].tx_bytes == 987654321);
    assert_string_equal(ifs[1].name, "veth1a2b3c4d5e6");
    assert_true(ifs[1].rx_bytes == 1);
    assert_true(ifs[1].tx_bytes == 9);
    assert_string_equal(ifs[2].name, "ppp0");
    assert_true(ifs[2].rx_bytes == 1234);
    assert_true(ifs[2].tx_bytes == 5678);

    /* A list picks interfaces, lo included when asked for. */
    assert_int_equal(probe_parse_net_dev(net_dev, &f, ifs, 8, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ifs[0].name, "lo");
    assert_true(ifs[0].rx_bytes == 2011696165);
    assert_string_equal(ifs[1].name, "ppp0");

    /* The cap keeps the first ones. */
    assert_int_equal(probe_parse_net_dev(net_dev, NULL, ifs, 1, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ifs[0].name, "eth0");

    n = 99;
    assert_int_equal(probe_parse_net_dev("eth0: 1 2 3\n", NULL, ifs, 8, &n), -EINVAL);
    assert_int_equal(
        probe_parse_net_dev("eth0: 1 2 3 4 5 6 7 8 99999999999999999999\n", NULL, ifs, 8, &n),
        -ERANGE);
    assert_int_equal(n, 99);
    /* A name longer than IFNAMSIZ allows is not an interface line. */
    assert_int_equal(
        probe_parse_net_dev("abcdefghijklmnopq: 1 2 3 4 5 6 7 8 9\n", NULL, ifs, 8, &n), 0);
    assert_int_equal(n, 0);
}

static void test_parse_mounts(void **state)
{
    static const char text[] =
        "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
        "sysfs /sys sysfs rw 0 0\n"
        "devtmpfs /dev devtmpfs rw,size=4096k 0 0\n"
        "tmpfs /run tmpfs rw 0 0\n"
        "/dev/nvme0n1p2 / ext4 rw,relatime 0 0\n"
        "/dev/nvme0n1p1 /boot/efi vfat rw 0 0\n"
        "/dev/sdb1 /mnt/my\\040disk xfs rw 0 0\n"
        "/dev/sdc1 /mnt/tab\\011and\\134slash btrfs rw 0 0\n"
        "/dev/nvme0n1p2 /var/lib/bind ext4 rw 0 0\n" /* a bind mount of / */
        "tank/data /tank/data zfs rw,xattr 0 0\n"
        "overlay /var/lib/docker/overlay2/x/merged overlay rw 0 0\n"
        "/dev/loop3 /snap/core/1 squashfs ro 0 0\n"
        "server:/export /mnt/nfs nfs4 rw 0 0\n"
        "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n"
        "/dev/sdd1 /mnt/hidden ext4 rw 0 0\n"
        "tmpfs /mnt/hidden tmpfs rw 0 0\n"; /* mounted over: statvfs would see tmpfs */
    struct probe_host_mount m[16];
    size_t n = 99;

    (void)state;
    assert_int_equal(probe_parse_mounts(text, NULL, m, 16, &n), 0);
    assert_int_equal(n, 5);
    assert_string_equal(m[0].path, "/");
    assert_string_equal(m[0].device, "/dev/nvme0n1p2");
    assert_string_equal(m[0].fstype, "ext4");
    assert_string_equal(m[1].path, "/boot/efi");
    assert_string_equal(m[1].fstype, "vfat");
    assert_string_equal(m[2].path, "/mnt/my disk");
    assert_string_equal(m[2].fstype, "xfs");
    assert_string_equal(m[3].path, "/mnt/tab\tand\\slash");
    assert_string_equal(m[4].path, "/tank/data");
    assert_string_equal(m[4].device, "tank/data");
}

static void test_parse_mounts_odd(void **state)
{
    const char *watch[] = { "/run", "/mnt/nfs", "/var/lib/bind", "/" };
    struct probe_host_filter f = { .mounts = watch, .n_mounts = 4 };
    struct probe_host_mount m[4];
    char text[1024], longpath[200];
    size_t n = 99;

    (void)state;
    /* A mount hidden by a later, non-disk mount on the same path goes. */
    assert_int_equal(probe_parse_mounts("/dev/sdd1 /mnt/x ext4 rw 0 0\n"
                                        "/dev/sde1 /mnt/y ext4 rw 0 0\n"
                                        "tmpfs /mnt/x tmpfs rw 0 0\n",
                                        NULL, m, 4, &n),
                     0);
    assert_int_equal(n, 1);
    assert_string_equal(m[0].path, "/mnt/y");

    /* Listed mounts are kept whatever their type, bind mounts included. */
    assert_int_equal(probe_parse_mounts("tmpfs /run tmpfs rw 0 0\n"
                                        "/dev/sda1 / ext4 rw 0 0\n"
                                        "/dev/sda1 /var/lib/bind ext4 rw 0 0\n"
                                        "/dev/sdb1 /data ext4 rw 0 0\n"
                                        "server:/export /mnt/nfs nfs4 rw 0 0\n",
                                        &f, m, 4, &n),
                     0);
    assert_int_equal(n, 4);
    assert_string_equal(m[0].path, "/run");
    assert_string_equal(m[0].fstype, "tmpfs");
    assert_string_equal(m[1].path, "/");
    assert_string_equal(m[2].path, "/var/lib/bind");
    assert_string_equal(m[3].path, "/mnt/nfs");

    /* A mount point too long to keep whole is skipped, not cut. */
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    snprintf(text, sizeof(text), "/dev/sda1 %s ext4 rw 0 0\n/dev/sdb1 /ok ext4 rw 0 0\n", longpath);
    assert_int_equal(probe_parse_mounts(text, NULL, m, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(m[0].path, "/ok");

    /* Capped. */
    assert_int_equal(probe_parse_mounts("/dev/a / ext4 rw 0 0\n/dev/b /b ext4 rw 0 0\n"
                                        "/dev/c /c ext4 rw 0 0\n",
                                        NULL, m, 2, &n),
                     0);
    assert_int_equal(n, 2);
    assert_string_equal(m[1].path, "/b");

    n = 99;
    assert_int_equal(probe_parse_mounts("/dev/sda1 /\n", NULL, m, 4, &n), -EINVAL);
    assert_int_equal(n, 99);
    assert_int_equal(probe_parse_mounts("\n\n", NULL, m, 4, &n), 0);
    assert_int_equal(n, 0);
}

static void test_parse_pid_stat(void **state)
{
    struct probe_pid_stat s, keep;

    (void)state;
    assert_int_equal(
        probe_parse_pid_stat(
            "28053 (cat) R 28045 28045 21126 0 -1 4194304 102 0 0 0 7 3 0 0 20 0 1 0 843674 "
            "3133440 407 18446744073709551615 94366422990848 94366423010729 140726028615968 0 0 0 "
            "0 0 0 0 0 0 17 1 0 0 0 0 0 94366423026736 94366423028352 94367238889472 "
            "140726028622269 140726028622289 140726028622289 140726028623851 0\n",
            &s),
        0);
    assert_int_equal(s.pid, 28053);
    assert_string_equal(s.comm, "cat");
    assert_int_equal(s.state, 'R');
    assert_int_equal(s.ppid, 28045);
    assert_int_equal(s.utime, 7);
    assert_int_equal(s.stime, 3);
    assert_int_equal(s.start_ticks, 843674);
    assert_int_equal(s.rss_pages, 407);

    /* A comm with ") (" and spaces: only the last ')' ends it. */
    assert_int_equal(probe_parse_pid_stat("42 (evil) (S 1 2) Z 1 42 42 0 -1 0 0 0 0 0 11 22 0 0 "
                                          "20 0 1 0 999 0 5 0\n",
                                          &s),
                     0);
    assert_int_equal(s.pid, 42);
    assert_string_equal(s.comm, "evil) (S 1 2");
    assert_int_equal(s.state, 'Z');
    assert_int_equal(s.ppid, 1);
    assert_int_equal(s.utime, 11);
    assert_int_equal(s.stime, 22);
    assert_int_equal(s.start_ticks, 999);
    assert_int_equal(s.rss_pages, 5);

    /* An empty comm, a negative rss (none). */
    assert_int_equal(
        probe_parse_pid_stat("7 () S 0 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 -1\n", &s), 0);
    assert_string_equal(s.comm, "");
    assert_int_equal(s.ppid, 0);
    assert_int_equal(s.rss_pages, 0);

    memset(&keep, UNTOUCHED, sizeof(keep));
    s = keep;
    /* cut short before rss */
    assert_int_equal(probe_parse_pid_stat("7 (x) S 0 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n", &s),
                     -EINVAL);
    assert_int_equal(probe_parse_pid_stat("7 (x S 0\n", &s), -EINVAL);
    assert_int_equal(probe_parse_pid_stat("x (y) S 1\n", &s), -EINVAL);
    assert_int_equal(
        probe_parse_pid_stat("0 (y) S 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 1\n", &s), -EINVAL);
    assert_int_equal(
        probe_parse_pid_stat("7 (x) SS 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 1\n", &s),
        -EINVAL);
    assert_int_equal(
        probe_parse_pid_stat("7 (x) S 1 0 0 0 -1 0 0 0 0 0 1x 0 0 0 20 0 1 0 5 0 1\n", &s),
        -EINVAL);
    assert_int_equal(probe_parse_pid_stat("", &s), -EINVAL);
    assert_memory_equal(&s, &keep, sizeof(s));
}

static void test_cmdline_join(void **state)
{
    char a[] = "/usr/bin/python3\0/opt/app/server.py\0--port\0"
               "8080\0";
    char b[] = "nginx: master process /usr/sbin/nginx";
    char c[1] = { 'x' };

    (void)state;
    /* sizeof - 1: the literal's own NUL is the buffer's spare byte. */
    assert_int_equal(probe_cmdline_join(a, sizeof(a) - 1), 47);
    assert_string_equal(a, "/usr/bin/python3 /opt/app/server.py --port 8080");
    /* A process that rewrote its title has no NULs to turn into spaces. */
    assert_int_equal(probe_cmdline_join(b, strlen(b)), strlen(b));
    assert_string_equal(b, "nginx: master process /usr/sbin/nginx");
    /* A kernel thread's is empty. */
    assert_int_equal(probe_cmdline_join(c, 0), 0);
    assert_string_equal(c, "");
}

static void test_proc_read(void **state)
{
    char dir[] = "/tmp/opsd-test-hostres-XXXXXX", path[PATH_MAX];
    struct sbuf sb = SBUF_INIT;
    struct opsd_error err = { 0 };

    (void)state;
    assert_non_null(mkdtemp(dir));
    write_text(dir, "lines", "line one\nline two\nline three\n");
    assert_int_equal(probe_proc_read(dir, "lines", 1024, &sb, NULL), 29);
    assert_string_equal(sb.buf, "line one\nline two\nline three\n");
    /* Past the cap: cut back to the last whole line. */
    assert_int_equal(probe_proc_read(dir, "lines", 20, &sb, NULL), 18);
    assert_string_equal(sb.buf, "line one\nline two\n");
    /* Exactly the cap is the whole file. */
    assert_int_equal(probe_proc_read(dir, "lines", 29, &sb, NULL), 29);
    /* No newline to cut at: capped as is. */
    write_file(dir, "nul", "a\0b\0cdef", 8);
    assert_int_equal(probe_proc_read(dir, "nul", 5, &sb, NULL), 5);
    assert_memory_equal(sb.buf, "a\0b\0c", 6);
    /* root NULL: rel is the path. */
    snprintf(path, sizeof(path), "%s/lines", dir);
    assert_int_equal(probe_proc_read(NULL, path, 1024, &sb, NULL), 29);

    assert_int_equal(probe_proc_read(dir, "missing", 1024, &sb, &err), -ENOENT);
    assert_int_equal(sb.len, 0);
    assert_int_equal(err.code, -ENOENT);
    assert_non_null(strstr(err.msg, "cannot open '"));
    assert_non_null(strstr(err.msg, "/missing': No such file or directory"));
    /* A FIFO would block a reader that opened it plainly: refused. */
    snprintf(path, sizeof(path), "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(probe_proc_read(dir, "fifo", 1024, &sb, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "/fifo' is not a regular file"));
    assert_int_equal(probe_proc_read(dir, ".", 1024, &sb, NULL), -EINVAL);

    sbuf_release(&sb);
    rm_tree(dir);
}

/* --- host samples, metrics and thresholds --- */

static void test_host_sample_fixture(void **state)
{
    _cleanup_free_ struct probe_host_sample *s = calloc(1, sizeof(*s));
    struct opsd_error err = { 0 };
    char root[PATH_MAX];

    (void)state;
    snprintf(root, sizeof(root), "%s/proc/host", data_dir());
    assert_int_equal(probe_host_sample_read(root, NULL, 12345, s, &err), 0);
    assert_true(s->valid);
    assert_int_equal(s->at_ms, 12345);
    assert_int_equal(s->ncpu, 2);
    assert_int_equal(s->cpu.user, 1000);
    assert_int_equal(s->cpu.steal, 100);
    assert_true(s->mem.total == 8000000ULL * 1024);
    assert_true(s->mem.available == 2000000ULL * 1024);
    assert_true(s->mem.swap_free == 250000ULL * 1024);
    assert_float_equal(s->load[0], 1.5, 1e-9);
    assert_float_equal(s->load[2], 0.5, 1e-9);
    assert_int_equal(s->n_ifaces, 2);
    assert_string_equal(s->ifaces[0].name, "eth0");
    assert_true(s->ifaces[0].rx_bytes == 123456789);
    assert_true(s->ifaces[0].tx_bytes == 987654321);
    assert_string_equal(s->ifaces[1].name, "wlan0");
    /* "/" is statvfs'd for real; "/mnt/no such disk" does not exist here,
     * so it is left out rather than failing the sample. */
    assert_int_equal(s->n_mounts, 1);
    assert_string_equal(s->mounts[0].path, "/");
    assert_string_equal(s->mounts[0].device, "/dev/root");
    assert_true(s->mounts[0].size_bytes > 0);
    assert_true(s->mounts[0].used_bytes + s->mounts[0].avail_bytes <= s->mounts[0].size_bytes);
}

static void test_host_sample_errors(void **state)
{
    _cleanup_free_ struct probe_host_sample *s = malloc(sizeof(*s));
    _cleanup_free_ struct probe_host_sample *keep = malloc(sizeof(*keep));
    char dir[] = "/tmp/opsd-test-hostres-XXXXXX";
    struct opsd_error err = { 0 };
    char want[PATH_MAX + 64];

    (void)state;
    memset(s, UNTOUCHED, sizeof(*s));
    memcpy(keep, s, sizeof(*s));
    assert_non_null(mkdtemp(dir));
    assert_int_equal(probe_host_sample_read(dir, NULL, 1, s, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "/stat': No such file or directory"));
    write_text(dir, "stat", "cpu 1 2 3 4\n");
    write_text(dir, "meminfo", "MemTotal: 1000 kB\nMemAvailable: 500 kB\n");
    write_text(dir, "loadavg", "oops\n");
    assert_int_equal(probe_host_sample_read(dir, NULL, 1, s, &err), -EINVAL);
    snprintf(want, sizeof(want), "cannot parse '%s/loadavg'", dir);
    assert_string_equal(err.msg, want);
    assert_memory_equal(s, keep, sizeof(*s));

    /* No net/dev, no self/mounts: no interfaces, and /proc/mounts. */
    write_text(dir, "loadavg", "0.10 0.20 0.30 1/2 3\n");
    write_text(dir, "mounts", "/dev/sda1 / ext4 rw 0 0\n");
    assert_int_equal(probe_host_sample_read(dir, NULL, 5, s, &err), 0);
    assert_int_equal(s->n_ifaces, 0);
    assert_int_equal(s->n_mounts, 1);
    assert_int_equal(s->ncpu, 1);
    rm_tree(dir);
}

/* Two samples 10 s apart, built by hand. */
static void two_samples(struct probe_host_sample *a, struct probe_host_sample *b)
{
    memset(a, 0, sizeof(*a));
    memset(b, 0, sizeof(*b));
    a->valid = b->valid = true;
    a->at_ms = 100000;
    b->at_ms = 110000;
    a->ncpu = b->ncpu = 4;
    a->cpu = (struct probe_cpu_times){ 1000, 0, 500, 8000, 200, 0, 0, 300 };
    /* +600 user +200 system +800 idle +100 iowait +100 softirq: 1800 ticks,
     * 900 busy. */
    b->cpu = (struct probe_cpu_times){ 1600, 0, 700, 8800, 300, 0, 100, 300 };
    a->mem = b->mem = (struct probe_meminfo){ .total = 1000000,
                                              .available = 250000,
                                              .swap_total = 4000,
                                              .swap_free = 1000,
                                              .has_available = true };
    b->load[0] = 1.5;
    b->load[1] = 1.0;
    b->load[2] = 0.5;
    a->n_mounts = b->n_mounts = 2;
    snprintf(b->mounts[0].path, sizeof(b->mounts[0].path), "/");
    b->mounts[0].size_bytes = 1100;
    b->mounts[0].used_bytes = 400; /* 100 reserved for root */
    b->mounts[0].avail_bytes = 600;
    b->mounts[0].inodes = 1000;
    b->mounts[0].inodes_free = 900;
    snprintf(b->mounts[1].path, sizeof(b->mounts[1].path), "/boot/efi");
    b->mounts[1].size_bytes = 100;
    b->mounts[1].used_bytes = 10;
    b->mounts[1].avail_bytes = 90;
    b->mounts[1].inodes = 0; /* vfat: no inode limit */
    a->mounts[0] = b->mounts[0];
    a->mounts[1] = b->mounts[1];
    a->n_ifaces = 2;
    a->ifaces[0] = (struct probe_host_iface){ "eth0", 1000, 5000 };
    a->ifaces[1] = (struct probe_host_iface){ "eth1", 0, 0 };
    b->n_ifaces = 3;
    /* eth0's tx counter was reset (driver reload); wlan0 is new. */
    b->ifaces[0] = (struct probe_host_iface){ "eth0", 1001000, 4000 };
    b->ifaces[1] = (struct probe_host_iface){ "eth1", 0, 0 };
    b->ifaces[2] = (struct probe_host_iface){ "wlan0", 7, 7 };
}

static void test_host_metrics(void **state)
{
    _cleanup_free_ struct probe_host_sample *a = malloc(sizeof(*a));
    _cleanup_free_ struct probe_host_sample *b = malloc(sizeof(*b));
    _cleanup_free_ struct probe_host_metric *m = calloc(PROBE_HOST_MAX_METRICS, sizeof(*m));
    const struct probe_host_metric *x;
    size_t n;

    (void)state;
    two_samples(a, b);
    n = probe_host_metrics(a, b, m, PROBE_HOST_MAX_METRICS);
    assert_float_equal(metric_value(m, n, "cpu_pct", NULL), 50.0, 1e-9);
    assert_float_equal(metric_value(m, n, "cpu_iowait_pct", NULL), 100.0 * 100 / 1800, 1e-9);
    assert_float_equal(metric_value(m, n, "cpu_steal_pct", NULL), 0, 1e-9);
    assert_float_equal(metric_value(m, n, "cpu_count", NULL), 4, 1e-9);
    assert_float_equal(metric_value(m, n, "load1", NULL), 1.5, 1e-9);
    assert_float_equal(metric_value(m, n, "load15", NULL), 0.5, 1e-9);
    assert_float_equal(metric_value(m, n, "mem_used_pct", NULL), 75.0, 1e-9);
    assert_float_equal(metric_value(m, n, "mem_available_bytes", NULL), 250000, 1e-9);
    assert_float_equal(metric_value(m, n, "swap_used_pct", NULL), 75.0, 1e-9);
    /* df's used%: used / (used + avail), reserved blocks left out. */
    x = metric(m, n, "disk_used_pct", "/");
    assert_non_null(x);
    assert_float_equal(x->value, 40.0, 1e-9);
    assert_string_equal(x->label_key, "mount");
    assert_string_equal(x->unit, "%");
    assert_float_equal(metric_value(m, n, "disk_avail_bytes", "/"), 600, 1e-9);
    assert_float_equal(metric_value(m, n, "inodes_used_pct", "/"), 10.0, 1e-9);
    assert_float_equal(metric_value(m, n, "disk_used_pct", "/boot/efi"), 10.0, 1e-9);
    assert_null(metric(m, n, "inodes_used_pct", "/boot/efi"));
    /* 1 000 000 bytes in 10 s; the reset tx counter and the new wlan0
     * have no rate rather than a negative or made-up one. */
    x = metric(m, n, "net_rx_bytes_per_s", "eth0");
    assert_non_null(x);
    assert_float_equal(x->value, 100000, 1e-9);
    assert_string_equal(x->label_key, "iface");
    assert_string_equal(x->unit, "B/s");
    assert_null(metric(m, n, "net_tx_bytes_per_s", "eth0"));
    assert_float_equal(metric_value(m, n, "net_tx_bytes_per_s", "eth1"), 0, 1e-9);
    assert_null(metric(m, n, "net_rx_bytes_per_s", "wlan0"));
    assert_null(metric(m, n, "net_tx_bytes_per_s", "wlan0"));
    assert_null(metric(m, n, "cpu_pct", "x"));
    assert_int_equal(n, 10 + 3 + 2 + 3); /* host, "/", "/boot/efi", eth0 rx + eth1 rx/tx */

    /* First sample: no rates at all. No swap: no swap metric. */
    b->mem.swap_total = b->mem.swap_free = 0;
    n = probe_host_metrics(NULL, b, m, PROBE_HOST_MAX_METRICS);
    assert_null(metric(m, n, "cpu_pct", NULL));
    assert_null(metric(m, n, "net_rx_bytes_per_s", "eth1"));
    assert_null(metric(m, n, "swap_used_pct", NULL));
    assert_non_null(metric(m, n, "mem_used_pct", NULL));

    /* A CPU counter going backwards (hotplug), or no time passing. */
    b->cpu.idle = 10;
    b->at_ms = a->at_ms;
    n = probe_host_metrics(a, b, m, PROBE_HOST_MAX_METRICS);
    assert_null(metric(m, n, "cpu_pct", NULL));
    assert_null(metric(m, n, "net_rx_bytes_per_s", "eth0"));

    /* A small out array holds what fits. */
    assert_int_equal(probe_host_metrics(a, b, m, 3), 3);
    a->valid = false;
    b->valid = false;
    assert_int_equal(probe_host_metrics(a, b, m, PROBE_HOST_MAX_METRICS), 0);
}

static void test_host_evaluate_ok(void **state)
{
    _cleanup_free_ struct probe_host_sample *a = malloc(sizeof(*a));
    _cleanup_free_ struct probe_host_sample *b = malloc(sizeof(*b));
    struct probe_host_limits lim;
    struct probe_result r;

    (void)state;
    two_samples(a, b);
    probe_host_limits_init(&lim);
    assert_true(isnan(lim.cpu.warn) && isnan(lim.net_tx.crit));
    probe_result_init(&r, 77);
    probe_host_evaluate(&lim, a, b, &r);
    assert_int_equal(r.status, PROBE_OK);
    assert_int_equal(r.started_ms, 77);
    assert_string_equal(r.message, "cpu 50.0%, memory 75.0%, swap 75.0%, load 1.50 1.00 0.50 on "
                                   "4 cpus, fullest disk / 40.0%");

    /* Levels not reached; n/a metrics (first sample) not judged. */
    lim.cpu.crit = 10;
    lim.memory.warn = 80;
    lim.swap.crit = 90;
    lim.disk.warn = 50;
    b->mem.swap_total = 0;
    probe_host_evaluate(&lim, NULL, b, &r);
    assert_int_equal(r.status, PROBE_OK);
    assert_string_equal(r.message, "cpu n/a (first sample), memory 75.0%, no swap, load 1.50 1.00 "
                                   "0.50 on 4 cpus, fullest disk / 40.0%");

    b->valid = false;
    probe_host_evaluate(&lim, a, b, &r);
    assert_int_equal(r.status, PROBE_UNKNOWN);
    assert_string_equal(r.message, "no host sample");
}

static void test_host_evaluate_levels(void **state)
{
    _cleanup_free_ struct probe_host_sample *a = malloc(sizeof(*a));
    _cleanup_free_ struct probe_host_sample *b = malloc(sizeof(*b));
    struct probe_host_limits lim;
    struct probe_result r;

    (void)state;
    two_samples(a, b);
    probe_host_limits_init(&lim);
    /* disk / at 96.2% against critical 95; memory 87% against warning 85. */
    b->mounts[0].used_bytes = 962;
    b->mounts[0].avail_bytes = 38;
    b->mem.available = 130000;
    lim.disk.warn = 90;
    lim.disk.crit = 95;
    lim.memory.warn = 85;
    lim.memory.crit = 95;
    probe_result_init(&r, 0);
    probe_host_evaluate(&lim, a, b, &r);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message,
                        "disk / 96.2% used >= critical 95%; memory 87.0% >= warning 85%");

    /* Warnings only: warning. At the level counts as reaching it. */
    lim.disk.crit = NAN;
    lim.cpu.warn = 50;
    probe_host_evaluate(&lim, a, b, &r);
    assert_int_equal(r.status, PROBE_WARNING);
    assert_string_equal(r.message, "cpu 50.0% >= warning 50%; memory 87.0% >= warning 85%; disk / "
                                   "96.2% used >= warning 90%");

    /* Load is judged per CPU: 12.4 on 4 CPUs is 3.1 each. */
    probe_host_limits_init(&lim);
    b->load[0] = 12.4;
    b->load[1] = 8.0;
    lim.load1.warn = 2;
    lim.load1.crit = 3;
    lim.load5.warn = 2;
    lim.load5.crit = 3;
    probe_host_evaluate(&lim, a, b, &r);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "load1 12.40 (3.10 per cpu) >= critical 3 per cpu; load5 8.00 "
                                   "(2.00 per cpu) >= warning 2 per cpu");

    /* Inodes, swap, and net rates in bytes/s. */
    probe_host_limits_init(&lim);
    lim.inodes.warn = 10;
    lim.swap.crit = 75;
    lim.net_rx.warn = 50000;
    lim.net_tx.warn = 0; /* eth1 sent nothing: 0 >= 0 */
    probe_host_evaluate(&lim, a, b, &r);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message,
                        "swap 75.0% >= critical 75%; inodes / 10.0% used >= warning 10%; "
                        "net eth0 rx 100.0 kB/s >= warning 50.0 kB/s; net eth1 tx 0 B/s "
                        ">= warning 0 B/s");
}

static void test_host_evaluate_long_message(void **state)
{
    _cleanup_free_ struct probe_host_sample *a = malloc(sizeof(*a));
    _cleanup_free_ struct probe_host_sample *b = malloc(sizeof(*b));
    struct probe_host_limits lim;
    struct probe_result r;
    size_t len;

    (void)state;
    two_samples(a, b);
    b->n_mounts = PROBE_HOST_MAX_MOUNTS;
    for (size_t i = 0; i < PROBE_HOST_MAX_MOUNTS; i++) {
        snprintf(b->mounts[i].path, sizeof(b->mounts[i].path), "/srv/volume-%02zu", i);
        b->mounts[i].used_bytes = 99;
        b->mounts[i].avail_bytes = 1;
    }
    probe_host_limits_init(&lim);
    lim.disk.crit = 95;
    lim.memory.warn = 50;
    probe_result_init(&r, 0);
    probe_host_evaluate(&lim, a, b, &r);
    assert_int_equal(r.status, PROBE_CRITICAL);
    len = strlen(r.message);
    assert_true(len < sizeof(r.message));
    assert_true(len > sizeof(r.message) - 40);
    /* Whole parts only, then a marker that some were left out. */
    assert_string_equal(r.message + len - 5, "; ...");
    assert_memory_equal(r.message, "disk /srv/volume-00 99.0% used >= critical 95%; disk /srv/",
                        58);
    assert_memory_equal(r.message + len - 46, "/srv/volume-09 ", 15);
}

/* --- processes --- */

/* A fake /proc: nginx master + worker, a zombie nginx, opsd itself and its
 * check plugin (both naming nginx), a comm with ") (", a long name, a
 * kernel thread, and an entry that vanished. System up 1000 s. */
static void make_proc_tree(const char *root)
{
    static const char master[] = "nginx: master process /usr/sbin/nginx -g daemon on;";
    static const char worker[] = "nginx: worker process";
    static const char opsd[] = "/usr/bin/opsd\0serve\0--config\0/etc/opsd/nginx.yaml";
    static const char plugin[] = "/usr/lib/nagios/plugins/check_procs\0-C\0nginx";
    static const char py[] = "/usr/bin/python3\0/opt/app/server.py\0--port\0"
                             "8080";
    static const char longname[] = "/usr/local/sbin/a-very-long-daemon-name\0--foreground";

    write_text(root, "uptime", "1000.00 3500.25\n");
    write_pid(root, 100, "nginx", 'S', 1, 200, 100, 50000, 1000, master, sizeof(master));
    write_pid(root, 101, "nginx", 'S', 100, 30, 20, 50100, 500, worker, sizeof(worker));
    write_pid(root, 102, "nginx", 'Z', 100, 1, 1, 50200, 0, "", 0);
    write_pid(root, 400, "opsd", 'S', 1, 5, 5, 40000, 300, opsd, sizeof(opsd));
    write_pid(root, 401, "check_procs", 'R', 400, 0, 0, 99000, 100, plugin, sizeof(plugin));
    write_pid(root, 200, "my) (weird", 'R', 1, 7, 3, 60000, 2000, py, sizeof(py));
    write_pid(root, 500, "a-very-long-dae", 'S', 1, 0, 0, 70000, 10, longname, sizeof(longname));
    write_pid(root, 2, "kthreadd", 'S', 0, 0, 0, 1, 0, "", 0);
    write_text(root, "999/status", "gone before its stat was read\n");
    write_text(root, "net/dev", "");
    write_text(root, "run/nginx.pid", "100\n");
    write_text(root, "run/stale.pid", "31337\n");
    write_text(root, "run/zombie.pid", "102\n");
    write_text(root, "run/junk.pid", "hello\n");
    write_text(root, "run/py.pid", "  200\n");
}

static struct probe_proc_env fake_env(const char *root)
{
    return (struct probe_proc_env){
        .proc_root = root, .clk_tck = 100, .page_size = 4096, .self_pid = 400
    };
}

static void test_proc_scan(void **state)
{
    char dir[] = "/tmp/opsd-test-hostres-XXXXXX";
    struct probe_proc_env env;
    struct probe_proc_sample s;
    struct probe_proc_query q = { .name = "nginx" };
    struct opsd_error err = { 0 };

    (void)state;
    assert_non_null(mkdtemp(dir));
    make_proc_tree(dir);
    env = fake_env(dir);
    probe_proc_sample_init(&s);

    /* By comm: master and worker; not the zombie, not opsd or its plugin. */
    assert_int_equal(probe_proc_sample_read(&env, &q, 5000, &s, &err), 0);
    assert_true(s.valid);
    assert_int_equal(s.at_ms, 5000);
    assert_int_equal(s.boot_uptime_ms, 1000000);
    assert_int_equal(s.clk_tck, 100);
    assert_int_equal(s.n_match, 2);
    assert_int_equal(s.n_procs, 2);
    assert_int_equal(s.procs[0].pid, 100);
    assert_int_equal(s.procs[0].cpu_ticks, 300);
    assert_int_equal(s.procs[0].start_ticks, 50000);
    assert_int_equal(s.procs[1].pid, 101);
    assert_int_equal(s.rss_bytes, 1500 * 4096);
    assert_string_equal(s.why, "");

    /* By command line substring, joined with spaces. */
    q = (struct probe_proc_query){ .cmdline = "server.py --port 8080" };
    assert_int_equal(probe_proc_sample_read(&env, &q, 5000, &s, &err), 0);
    assert_int_equal(s.n_match, 1);
    assert_int_equal(s.procs[0].pid, 200);
    q = (struct probe_proc_query){ .cmdline = "nginx" };
    assert_int_equal(probe_proc_sample_read(&env, &q, 5000, &s, &err), 0);
    assert_int_equal(s.n_match, 2); /* 100, 101: not 400's config path, not 401's argument */
    q = (struct probe_proc_query){ .cmdline = "worker", .name = "nginx" };
    assert_int_equal(probe_proc_sample_read(&env, &q, 5000, &s, &err), 0);
    assert_int_equal(s.n_match, 1);
    assert_int_equal(s.procs[0].pid, 101);

    /* A comm with ") (" matches whole. */
    q = (struct probe_proc_query){ .name = "my) (weird" };
    assert_int_equal(probe_proc_sample_read(&env, &q, 5000, &s, &err), 0);
    assert_int_equal(s.n_match, 1);

    /* A name longer than comm's 15 bytes is argv[0]'s basename. */
    q = (struct probe_proc_query){ .name = "a-very-long-daemon-name" };
    assert_int_equal(probe_proc_sample_read(&env, &q, 5000, &s, &err), 0);
    assert_int_equal(s.n_match, 1);
    assert_int_equal(s.procs[0].pid, 500);
    q = (struct probe_proc_query){ .name = "a-very-long-daemon-other" };
    assert_int_equal(probe_proc_sample_read(&env, &q, 5000, &s, &err), 0);
    assert_int_equal(s.n_match, 0);

    /* Without opsd's pid, opsd and its plugin match "nginx" too. */
    env.self_pid = 0;
    q = (struct probe_proc_query){ .cmdline = "nginx" };
    assert_int_equal(probe_proc_sample_read(&env, &q, 5000, &s, &err), 0);
    assert_int_equal(s.n_match, 4);
    env.self_pid = 400;

    /* Nothing matching is data, with the reason. */
    q = (struct probe_proc_query){ .name = "postgres" };
    assert_int_equal(probe_proc_sample_read(&env, &q, 6000, &s, &err), 0);
    assert_true(s.valid);
    assert_int_equal(s.n_match, 0);
    assert_int_equal(s.n_procs, 0);
    assert_null(s.procs);
    assert_string_equal(s.why, "no process named 'postgres'");
    q = (struct probe_proc_query){ .cmdline = "gunicorn" };
    assert_int_equal(probe_proc_sample_read(&env, &q, 6000, &s, &err), 0);
    assert_string_equal(s.why, "no process with 'gunicorn' in its command line");
    q = (struct probe_proc_query){ .name = "python3", .cmdline = "app.py" };
    assert_int_equal(probe_proc_sample_read(&env, &q, 6000, &s, &err), 0);
    assert_string_equal(s.why, "no process named 'python3' with 'app.py' in its command line");

    probe_proc_sample_clear(&s);
    rm_tree(dir);
}

static void test_proc_pidfile(void **state)
{
    char dir[] = "/tmp/opsd-test-hostres-XXXXXX", pidfile[PATH_MAX];
    struct probe_proc_env env;
    struct probe_proc_sample s;
    struct probe_proc_query q = { .pidfile = pidfile };
    struct opsd_error err = { 0 };
    char want[PATH_MAX + 100];

    (void)state;
    assert_non_null(mkdtemp(dir));
    make_proc_tree(dir);
    env = fake_env(dir);
    probe_proc_sample_init(&s);

    snprintf(pidfile, sizeof(pidfile), "%s/run/nginx.pid", dir);
    assert_int_equal(probe_proc_sample_read(&env, &q, 1, &s, &err), 0);
    assert_int_equal(s.n_match, 1);
    assert_int_equal(s.procs[0].pid, 100);
    assert_int_equal(s.rss_bytes, 1000 * 4096);
    /* The pid must also match a name given with it (a reused pid). */
    q.name = "nginx";
    assert_int_equal(probe_proc_sample_read(&env, &q, 1, &s, &err), 0);
    assert_int_equal(s.n_match, 1);
    q.name = "postgres";
    assert_int_equal(probe_proc_sample_read(&env, &q, 1, &s, &err), 0);
    assert_int_equal(s.n_match, 0);
    snprintf(want, sizeof(want), "pidfile '%s' names pid 100 (nginx), which does not match",
             pidfile);
    assert_string_equal(s.why, want);
    q.name = NULL;

    snprintf(pidfile, sizeof(pidfile), "%s/run/py.pid", dir);
    assert_int_equal(probe_proc_sample_read(&env, &q, 1, &s, &err), 0);
    assert_int_equal(s.n_match, 1);
    assert_int_equal(s.procs[0].pid, 200);

    snprintf(pidfile, sizeof(pidfile), "%s/run/stale.pid", dir);
    assert_int_equal(probe_proc_sample_read(&env, &q, 1, &s, &err), 0);
    assert_int_equal(s.n_match, 0);
    snprintf(want, sizeof(want), "pidfile '%s' names pid 31337, which is not running", pidfile);
    assert_string_equal(s.why, want);

    snprintf(pidfile, sizeof(pidfile), "%s/run/zombie.pid", dir);
    assert_int_equal(probe_proc_sample_read(&env, &q, 1, &s, &err), 0);
    assert_int_equal(s.n_match, 0);
    snprintf(want, sizeof(want), "pidfile '%s' names pid 102, which is a zombie", pidfile);
    assert_string_equal(s.why, want);

    snprintf(pidfile, sizeof(pidfile), "%s/run/junk.pid", dir);
    assert_int_equal(probe_proc_sample_read(&env, &q, 1, &s, &err), 0);
    snprintf(want, sizeof(want), "pidfile '%s' holds no pid", pidfile);
    assert_string_equal(s.why, want);

    snprintf(pidfile, sizeof(pidfile), "%s/run/missing.pid", dir);
    assert_int_equal(probe_proc_sample_read(&env, &q, 1, &s, &err), 0);
    assert_int_equal(s.n_match, 0);
    snprintf(want, sizeof(want), "pidfile '%s' not found", pidfile);
    assert_string_equal(s.why, want);

    probe_proc_sample_clear(&s);
    rm_tree(dir);
}

static void test_proc_read_errors(void **state)
{
    char dir[] = "/tmp/opsd-test-hostres-XXXXXX", pidfile[PATH_MAX];
    struct probe_proc_env env;
    struct probe_proc_sample s, keep;
    struct probe_proc_query q = { .name = "nginx" };
    struct opsd_error err = { 0 };

    (void)state;
    assert_non_null(mkdtemp(dir));
    make_proc_tree(dir);
    env = fake_env(dir);
    memset(&s, UNTOUCHED, sizeof(s));
    keep = s;

    q = (struct probe_proc_query){ 0 };
    assert_int_equal(probe_proc_sample_read(&env, &q, 1, &s, &err), -EINVAL);
    assert_string_equal(err.msg, "a process check needs a pidfile, a name or a cmdline");
    q.name = "nginx";
    env.clk_tck = 0;
    assert_int_equal(probe_proc_sample_read(&env, &q, 1, &s, &err), -EINVAL);
    env.clk_tck = 100;
    /* A pidfile that is a FIFO is refused, not waited on. */
    snprintf(pidfile, sizeof(pidfile), "%s/run/fifo.pid", dir);
    assert_int_equal(mkfifo(pidfile, 0600), 0);
    q = (struct probe_proc_query){ .pidfile = pidfile };
    assert_int_equal(probe_proc_sample_read(&env, &q, 1, &s, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "fifo.pid' is not a regular file"));
    /* No uptime: not a /proc. */
    env.proc_root = "/nonexistent";
    q = (struct probe_proc_query){ .name = "nginx" };
    assert_int_equal(probe_proc_sample_read(&env, &q, 1, &s, &err), -ENOENT);
    assert_string_equal(err.msg, "cannot open '/nonexistent/uptime': No such file or directory");
    assert_memory_equal(&s, &keep, sizeof(s));
    assert_true(untouched(&s, sizeof(s)));
    rm_tree(dir);
}

/* prev at 10 s (system up 1000 s), cur 10 s later. */
static void proc_samples(struct probe_proc_sample *prev, struct probe_proc_sample *cur,
                         struct probe_proc *pp, struct probe_proc *cp)
{
    pp[0] = (struct probe_proc){ .pid = 100, .start_ticks = 50000, .cpu_ticks = 300 };
    pp[1] = (struct probe_proc){ .pid = 101, .start_ticks = 50100, .cpu_ticks = 100 };
    *prev = (struct probe_proc_sample){ .valid = true,
                                        .at_ms = 10000,
                                        .boot_uptime_ms = 1000000,
                                        .clk_tck = 100,
                                        .n_match = 2,
                                        .rss_bytes = 4096,
                                        .n_procs = 2,
                                        .procs = pp };
    /* 100: +200 ticks. 101 exited. 102 started since prev (at 1005 s):
     * all its 50 ticks count. 103 is old but did not match before (it
     * exec'd): its 1000 ticks cannot be placed, left out. 250 ticks in
     * 10 s at 100 Hz: 25% of a CPU. */
    cp[0] = (struct probe_proc){ .pid = 100, .start_ticks = 50000, .cpu_ticks = 500 };
    cp[1] = (struct probe_proc){ .pid = 102, .start_ticks = 100500, .cpu_ticks = 50 };
    cp[2] = (struct probe_proc){ .pid = 103, .start_ticks = 60000, .cpu_ticks = 1000 };
    *cur = (struct probe_proc_sample){ .valid = true,
                                       .at_ms = 20000,
                                       .boot_uptime_ms = 1010000,
                                       .clk_tck = 100,
                                       .n_match = 3,
                                       .rss_bytes = 150000000,
                                       .n_procs = 3,
                                       .procs = cp };
}

static void test_proc_metrics(void **state)
{
    struct probe_proc pp[3], cp[3];
    struct probe_proc_sample prev, cur;
    struct probe_host_metric m[PROBE_PROC_MAX_METRICS];
    int a = 0, b = 0;
    size_t n;

    (void)state;
    proc_samples(&prev, &cur, pp, cp);
    n = probe_proc_metrics(&prev, &cur, m, PROBE_PROC_MAX_METRICS);
    assert_int_equal(n, 5);
    assert_float_equal(metric_value(m, n, "proc_count", NULL), 3, 1e-9);
    assert_float_equal(metric_value(m, n, "proc_cpu_pct", NULL), 25.0, 1e-9);
    assert_float_equal(metric_value(m, n, "proc_rss_bytes", NULL), 150000000, 1e-9);
    /* oldest: pid 100, started 500 s after boot, system up 1010 s */
    assert_float_equal(metric_value(m, n, "proc_uptime_s", NULL), 510, 1e-9);
    assert_float_equal(metric_value(m, n, "proc_restarts", NULL), 0, 1e-9);
    assert_false(probe_proc_restarted(&prev, &cur, &a, &b));

    /* The oldest (100) gone: a restart, whatever else stayed. */
    cp[0] = (struct probe_proc){ .pid = 99, .start_ticks = 100600, .cpu_ticks = 10 };
    n = probe_proc_metrics(&prev, &cur, m, PROBE_PROC_MAX_METRICS);
    assert_float_equal(metric_value(m, n, "proc_restarts", NULL), 1, 1e-9);
    assert_true(probe_proc_restarted(&prev, &cur, &a, &b));
    assert_int_equal(a, 100);
    assert_int_equal(b, 103);
    /* Same pid, another start time: a restart too (pid reused). */
    cp[0] = (struct probe_proc){ .pid = 100, .start_ticks = 100700, .cpu_ticks = 1 };
    assert_true(probe_proc_restarted(&prev, &cur, &a, &b));

    /* First sample: no CPU, no restart. Nothing running: count only. */
    n = probe_proc_metrics(NULL, &cur, m, PROBE_PROC_MAX_METRICS);
    assert_int_equal(n, 4);
    assert_null(metric(m, n, "proc_cpu_pct", NULL));
    assert_false(probe_proc_restarted(NULL, &cur, &a, &b));
    cur.n_match = cur.n_procs = 0;
    n = probe_proc_metrics(&prev, &cur, m, PROBE_PROC_MAX_METRICS);
    assert_int_equal(n, 2);
    assert_float_equal(metric_value(m, n, "proc_count", NULL), 0, 1e-9);
    assert_float_equal(metric_value(m, n, "proc_restarts", NULL), 0, 1e-9);
    /* A stop is not a restart; coming back is not one either (prev empty). */
    assert_false(probe_proc_restarted(&prev, &cur, &a, &b));
    assert_false(probe_proc_restarted(&cur, &prev, &a, &b));
}

static void test_proc_evaluate(void **state)
{
    struct probe_proc pp[3], cp[3];
    struct probe_proc_sample prev, cur;
    struct probe_proc_limits lim;
    struct probe_result r;

    (void)state;
    proc_samples(&prev, &cur, pp, cp);
    probe_proc_limits_init(&lim);
    assert_int_equal(lim.min_count, 1);
    assert_int_equal(lim.max_count, UINT_MAX);
    probe_result_init(&r, 5);
    probe_proc_evaluate(&lim, &prev, &cur, &r);
    assert_int_equal(r.status, PROBE_OK);
    assert_int_equal(r.started_ms, 5);
    assert_string_equal(r.message,
                        "running: 3 processes, pid 100 up 8m 30s, cpu 25.0%, rss 150.0 MB");

    lim.cpu.warn = 20;
    lim.cpu.crit = 80;
    lim.rss.crit = 100e6;
    lim.max_count = 2;
    probe_proc_evaluate(&lim, &prev, &cur, &r);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "3 processes running, expected at most 2; rss 150.0 MB >= "
                                   "critical 100.0 MB; cpu 25.0% >= warning 20%");

    /* A restart warns, once: the next sample has the new pid as oldest. */
    probe_proc_limits_init(&lim);
    cp[0] = (struct probe_proc){ .pid = 99, .start_ticks = 100600, .cpu_ticks = 10 };
    probe_proc_evaluate(&lim, &prev, &cur, &r);
    assert_int_equal(r.status, PROBE_WARNING);
    assert_string_equal(r.message, "restarted: pid 100 -> 103");
    lim.restart_warns = false;
    probe_proc_evaluate(&lim, &prev, &cur, &r);
    assert_int_equal(r.status, PROBE_OK);
    assert_string_equal(r.message, "running: 3 processes, pid 103 up 6m 50s, cpu 6.0%, rss 150.0 "
                                   "MB, restarted (pid 100 -> 103)");
    probe_proc_evaluate(&lim, &cur, &cur, &r);
    assert_int_equal(r.status, PROBE_OK);
    assert_null(strstr(r.message, "restarted"));

    /* Too few, none, none allowed. */
    probe_proc_limits_init(&lim);
    lim.min_count = 4;
    probe_proc_evaluate(&lim, NULL, &cur, &r);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "3 processes running, expected at least 4");
    cur.n_match = cur.n_procs = 0;
    snprintf(cur.why, sizeof(cur.why), "no process named 'nginx'");
    probe_proc_evaluate(&lim, &prev, &cur, &r);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "no process named 'nginx'");
    lim.min_count = 0;
    probe_proc_evaluate(&lim, &prev, &cur, &r);
    assert_int_equal(r.status, PROBE_OK);
    assert_string_equal(r.message, "not running (no process named 'nginx')");
    cur.valid = false;
    probe_proc_evaluate(&lim, &prev, &cur, &r);
    assert_int_equal(r.status, PROBE_UNKNOWN);
}

/* Two reads of a fake tree, the process list changing in between: the
 * sample owns its array, and moving it leaves no leak (valgrind). */
static void test_proc_samples_in_sequence(void **state)
{
    static const char w[] = "nginx: worker process";
    char dir[] = "/tmp/opsd-test-hostres-XXXXXX", gone[PATH_MAX];
    struct probe_proc_env env;
    struct probe_proc_sample prev, cur;
    struct probe_proc_query q = { .name = "nginx" };
    struct probe_proc_limits lim;
    struct probe_result r;

    (void)state;
    assert_non_null(mkdtemp(dir));
    make_proc_tree(dir);
    env = fake_env(dir);
    probe_proc_sample_init(&prev);
    probe_proc_sample_init(&cur);
    probe_proc_limits_init(&lim);
    assert_int_equal(probe_proc_sample_read(&env, &q, 10000, &cur, NULL), 0);
    prev = cur;
    probe_proc_sample_init(&cur);

    /* 10 s later: the master used 100 more ticks; worker 101 exited and
     * 150, started at 1005 s, used 20. 120 ticks in 10 s at 100 Hz: 12%. */
    write_text(dir, "uptime", "1010.00 3600.00\n");
    write_pid(dir, 100, "nginx", 'S', 1, 250, 150, 50000, 1000, w, sizeof(w));
    snprintf(gone, sizeof(gone), "%s/101", dir);
    rm_tree(gone);
    write_pid(dir, 150, "nginx", 'S', 100, 15, 5, 100500, 400, w, sizeof(w));
    assert_int_equal(probe_proc_sample_read(&env, &q, 20000, &cur, NULL), 0);
    assert_int_equal(cur.n_match, 2);
    assert_int_equal(cur.procs[0].pid, 100);
    assert_int_equal(cur.procs[1].pid, 150);
    probe_result_init(&r, 0);
    probe_proc_evaluate(&lim, &prev, &cur, &r);
    assert_int_equal(r.status, PROBE_OK);
    assert_string_equal(r.message,
                        "running: 2 processes, pid 100 up 8m 30s, cpu 12.0%, rss 5.7 MB");
    /* Reading into a used sample frees what it held. */
    assert_int_equal(probe_proc_sample_read(&env, &q, 30000, &cur, NULL), 0);
    assert_int_equal(cur.n_match, 2);
    probe_proc_sample_clear(&prev);
    probe_proc_sample_clear(&cur);
    rm_tree(dir);
}

/* --- the real /proc --- */

static void test_real_proc_self(void **state)
{
    char dir[] = "/tmp/opsd-test-hostres-XXXXXX", pidfile[PATH_MAX], pid[32], rel[32];
    struct probe_proc_env env = { .proc_root = NULL,
                                  .clk_tck = sysconf(_SC_CLK_TCK),
                                  .page_size = sysconf(_SC_PAGESIZE),
                                  .self_pid = 0 };
    struct probe_proc_query q = { .pidfile = pidfile };
    struct probe_proc_sample s, prev;
    struct probe_host_metric m[PROBE_PROC_MAX_METRICS];
    struct probe_pid_stat st;
    struct sbuf sb = SBUF_INIT;
    struct opsd_error err = { 0 };
    struct probe_proc_limits lim;
    struct probe_result r;
    size_t n;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(pidfile, sizeof(pidfile), "%s/self.pid", dir);
    snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    write_text(dir, "self.pid", pid);
    probe_proc_sample_init(&s);
    probe_proc_sample_init(&prev);
    assert_int_equal(probe_proc_sample_read(&env, &q, 1000, &s, &err), 0);
    assert_int_equal(s.n_match, 1);
    assert_int_equal(s.procs[0].pid, getpid());
    assert_true(s.rss_bytes > 0);
    assert_true(s.boot_uptime_ms > 0);
    n = probe_proc_metrics(NULL, &s, m, PROBE_PROC_MAX_METRICS);
    assert_true(metric_value(m, n, "proc_uptime_s", NULL) >= 0);
    probe_proc_limits_init(&lim);
    probe_result_init(&r, 0);
    probe_proc_evaluate(&lim, NULL, &s, &r);
    assert_int_equal(r.status, PROBE_OK);
    assert_memory_equal(r.message, "running: 1 process, pid ", 24);

    /* And by scanning all of /proc for our own comm. */
    snprintf(rel, sizeof(rel), "%d/stat", (int)getpid());
    assert_true(probe_proc_read("/proc", rel, 4096, &sb, NULL) > 0);
    assert_int_equal(probe_parse_pid_stat(sb.buf, &st), 0);
    q = (struct probe_proc_query){ .name = st.comm };
    prev = s;
    probe_proc_sample_init(&s);
    assert_int_equal(probe_proc_sample_read(&env, &q, 2000, &s, &err), 0);
    assert_true(s.n_match >= 1);
    assert_true(s.rss_bytes > 0);
    n = probe_proc_metrics(&prev, &s, m, PROBE_PROC_MAX_METRICS);
    assert_true(metric_value(m, n, "proc_cpu_pct", NULL) >= 0);
    probe_proc_sample_clear(&prev);
    probe_proc_sample_clear(&s);
    sbuf_release(&sb);
    rm_tree(dir);
}

static void test_real_host(void **state)
{
    _cleanup_free_ struct probe_host_sample *a = calloc(1, sizeof(*a));
    _cleanup_free_ struct probe_host_sample *b = calloc(1, sizeof(*b));
    _cleanup_free_ struct probe_host_metric *m = calloc(PROBE_HOST_MAX_METRICS, sizeof(*m));
    struct probe_host_limits lim;
    struct opsd_error err = { 0 };
    struct probe_result r;
    size_t n;

    (void)state;
    assert_int_equal(probe_host_sample_read(NULL, NULL, 1000, a, &err), 0);
    assert_int_equal(probe_host_sample_read("/proc", NULL, 2000, b, &err), 0);
    assert_true(b->ncpu >= 1);
    assert_true(b->mem.total > 0);
    n = probe_host_metrics(a, b, m, PROBE_HOST_MAX_METRICS);
    assert_true(metric_value(m, n, "mem_used_pct", NULL) >= 0);
    assert_true(metric_value(m, n, "mem_used_pct", NULL) <= 100);
    probe_host_limits_init(&lim);
    probe_result_init(&r, 0);
    probe_host_evaluate(&lim, a, b, &r);
    assert_int_equal(r.status, PROBE_OK);
    assert_memory_equal(r.message, "cpu ", 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_stat),
        cmocka_unit_test(test_parse_meminfo),
        cmocka_unit_test(test_parse_loadavg),
        cmocka_unit_test(test_parse_net_dev),
        cmocka_unit_test(test_parse_mounts),
        cmocka_unit_test(test_parse_mounts_odd),
        cmocka_unit_test(test_parse_pid_stat),
        cmocka_unit_test(test_cmdline_join),
        cmocka_unit_test(test_proc_read),
        cmocka_unit_test(test_host_sample_fixture),
        cmocka_unit_test(test_host_sample_errors),
        cmocka_unit_test(test_host_metrics),
        cmocka_unit_test(test_host_evaluate_ok),
        cmocka_unit_test(test_host_evaluate_levels),
        cmocka_unit_test(test_host_evaluate_long_message),
        cmocka_unit_test(test_proc_scan),
        cmocka_unit_test(test_proc_pidfile),
        cmocka_unit_test(test_proc_read_errors),
        cmocka_unit_test(test_proc_metrics),
        cmocka_unit_test(test_proc_evaluate),
        cmocka_unit_test(test_proc_samples_in_sequence),
        cmocka_unit_test(test_real_proc_self),
        cmocka_unit_test(test_real_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
