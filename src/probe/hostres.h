/* The `host` and `process` monitors: this machine's resources read from
 * /proc and statvfs(), turned into metrics and judged against thresholds.
 *
 * Three layers, so most of it is testable without a live system:
 *  - parsers of /proc text (pure, any buffer in);
 *  - readers that take a sample from a /proc root ("/proc", or a fixture
 *    tree in tests). They do file I/O and statvfs(), which can take a
 *    moment on a busy disk: run them off the loop (uv_queue_work);
 *  - metrics and evaluation between two samples (pure; time comes from the
 *    caller's clock in the sample, never from the system).
 * Rates (CPU %, network bytes/s) need two samples: the first yields none. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe/probe.h"
#include "util/error.h"
#include "util/sbuf.h"

/* Caps on what one sample holds; a machine with more keeps the first ones
 * in /proc's order. Mount points longer than PROBE_HOST_PATH_MAX - 1 bytes
 * are skipped. */
#define PROBE_HOST_MAX_MOUNTS 64
#define PROBE_HOST_MAX_IFACES 64
#define PROBE_HOST_PATH_MAX 128
#define PROBE_HOST_IFNAME_MAX 16 /* IFNAMSIZ */
#define PROBE_HOST_MAX_METRICS (10 + 3 * PROBE_HOST_MAX_MOUNTS + 2 * PROBE_HOST_MAX_IFACES)
#define PROBE_PROC_MAX_METRICS 5
#define PROBE_PROC_FILE_MAX (1024 * 1024)  /* bytes read of /proc/stat, mounts, net/dev */
#define PROBE_PROC_CMDLINE_MAX (32 * 1024) /* bytes of a command line matched */
#define PROBE_PROC_MAX_SCAN 100000         /* /proc entries looked at per process sample */
#define PROBE_PROC_MAX_KEEP 4096           /* matched processes tracked for CPU and restarts */

/* Reads root/rel ("/proc" + "meminfo"; root NULL or "" reads rel as is)
 * into out, replacing its content, at most cap bytes. A file longer than
 * cap is cut back to its last complete line (when it has one), so parsers
 * never see half a line. Refuses anything but a regular file: a pidfile
 * that is a FIFO must not block. Returns the length read, or a negative
 * errno (out then empty; -ENOENT/-ESRCH for a process that went away). */
int probe_proc_read(const char *root, const char *rel, size_t cap, struct sbuf *out,
                    struct opsd_error *err);

/* Parsers: text is NUL-terminated; each returns 0, or -EINVAL when a line
 * they need is missing or malformed, -ERANGE when a number overflows, and
 * leaves its ret_ parameters untouched on failure (an array it fills may
 * have been written). */

/* The aggregate "cpu" line of /proc/stat, in clock ticks. Fields an old
 * kernel lacks read as 0. guest time is already inside user. */
struct probe_cpu_times {
    uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
};
/* *ret_ncpu counts the per-CPU lines (online CPUs), at least 1. */
int probe_parse_stat(const char *text, struct probe_cpu_times *ret_cpu, unsigned *ret_ncpu);

/* /proc/meminfo in bytes. Kernels before 3.14 have no MemAvailable:
 * available is then MemFree + Buffers + Cached and has_available false.
 * swap_total 0 means the machine has no swap (swap % is n/a, not 0/0). */
struct probe_meminfo {
    uint64_t total, available, swap_total, swap_free;
    bool has_available;
};
int probe_parse_meminfo(const char *text, struct probe_meminfo *ret);

/* The three load averages of /proc/loadavg. */
int probe_parse_loadavg(const char *text, double ret_load[3]);

/* One network interface's byte counters from /proc/net/dev. */
struct probe_host_iface {
    char name[PROBE_HOST_IFNAME_MAX];
    uint64_t rx_bytes, tx_bytes;
};

/* A filesystem kept for the disk checks, with its statvfs() numbers in
 * df's terms (used + avail < size when root has reserved blocks). */
struct probe_host_mount {
    char path[PROBE_HOST_PATH_MAX];   /* octal escapes (\040) decoded */
    char device[PROBE_HOST_PATH_MAX]; /* "/dev/sda1", "tank/data" */
    char fstype[32];
    uint64_t size_bytes, used_bytes, avail_bytes;
    uint64_t inodes, inodes_free; /* inodes 0: the fs has no inode limit */
};

/* Which mounts and interfaces a host monitor watches. Mount points are
 * compared decoded ("/mnt/my disk"); a listed mount is kept whatever its
 * type (a tmpfs /dev/shm, an NFS share: the operator asked for it). With no
 * list: every local block filesystem (ext2/3/4, xfs, btrfs, zfs, vfat,
 * exfat, f2fs, ...; not pseudo, tmpfs, overlay, squashfs, iso9660 or
 * network filesystems, whose statvfs can hang), one mount per device; and
 * every interface but lo. Borrowed; NULL means the defaults. */
struct probe_host_filter {
    const char *const *mounts;
    size_t n_mounts;
    const char *const *ifaces;
    size_t n_ifaces;
};

/* /proc/net/dev into ifs[0..*ret_n), at most max. */
int probe_parse_net_dev(const char *text, const struct probe_host_filter *f,
                        struct probe_host_iface *ifs, size_t max, size_t *ret_n);
/* /proc/self/mounts into mounts[0..*ret_n) (path and fstype only), at most
 * max, filtered as f says. */
int probe_parse_mounts(const char *text, const struct probe_host_filter *f,
                       struct probe_host_mount *mounts, size_t max, size_t *ret_n);

/* The fields of /proc/<pid>/stat a process monitor uses. comm is parsed
 * up to the last ')', so a name like "a) (b" survives. */
struct probe_pid_stat {
    int pid;
    int ppid;
    char state; /* 'R', 'S', 'Z', ... */
    char comm[64];
    uint64_t utime, stime; /* clock ticks */
    uint64_t start_ticks;  /* clock ticks after boot */
    uint64_t rss_pages;
};
int probe_parse_pid_stat(const char *text, struct probe_pid_stat *ret);

/* Turns /proc/<pid>/cmdline's NUL-separated arguments in buf[0..len) into
 * one line joined by spaces, in place, and NUL-terminates it: buf must have
 * room for len + 1 bytes. Returns the new length. */
size_t probe_cmdline_join(char *buf, size_t len);

/* --- host --- */

/* One host sample, about 23 KiB: keep it on the heap. */
struct probe_host_sample {
    bool valid;     /* false until read: no rates against it */
    uint64_t at_ms; /* caller's clock when read */
    struct probe_cpu_times cpu;
    unsigned ncpu;
    struct probe_meminfo mem;
    double load[3];
    size_t n_mounts, n_ifaces;
    struct probe_host_mount mounts[PROBE_HOST_MAX_MOUNTS];
    struct probe_host_iface ifaces[PROBE_HOST_MAX_IFACES];
};

/* Reads a sample from proc_root (NULL: "/proc") at now_ms into *ret.
 * Fails when stat, meminfo, loadavg or mounts cannot be read or parsed;
 * a missing net/dev means no interfaces, and a mount whose statvfs() fails
 * is left out. *ret is untouched on failure. */
int probe_host_sample_read(const char *proc_root, const struct probe_host_filter *f,
                           uint64_t now_ms, struct probe_host_sample *ret, struct opsd_error *err);

/* One value to store as a time series. The lead unifies this with the
 * perfdata metric of probe/plugin.h later. */
struct probe_host_metric {
    char name[32];                   /* "cpu_pct", "disk_used_pct", ... */
    const char *label_key;           /* static: "mount", "iface"; NULL if host-wide */
    char label[PROBE_HOST_PATH_MAX]; /* the mount point or interface; "" if host-wide */
    double value;
    const char *unit; /* static: "%", "B", "B/s", "s", "" */
};

/* Metrics of cur, with rates against prev (NULL or !valid: no cpu_* and
 * net_* metrics). A value that cannot be known is left out, never 0: no
 * swap, a counter that went backwards (reset, wrap, hotplug), no time
 * elapsed. Host: cpu_pct, cpu_iowait_pct, cpu_steal_pct, cpu_count, load1,
 * load5, load15, mem_used_pct, mem_available_bytes, swap_used_pct; per
 * mount disk_used_pct, disk_avail_bytes, inodes_used_pct; per interface
 * net_rx_bytes_per_s, net_tx_bytes_per_s. Fills out[0..n) and returns n;
 * max >= PROBE_HOST_MAX_METRICS holds them all. */
size_t probe_host_metrics(const struct probe_host_sample *prev, const struct probe_host_sample *cur,
                          struct probe_host_metric *out, size_t max);

/* A warning and a critical level; NAN where not set. A value at or above
 * a level reaches it. */
struct probe_limit {
    double warn, crit;
};

/* Host thresholds. cpu, memory, swap, disk and inodes are percentages;
 * disk and inodes apply to every kept mount. load1/5/15 are per CPU (load
 * divided by cpu_count), so one config fits a 2- and a 64-core machine.
 * net_rx and net_tx are bytes/s and apply to every kept interface. */
struct probe_host_limits {
    struct probe_limit cpu, memory, swap, disk, inodes, load1, load5, load15, net_rx, net_tx;
};
/* Sets every level to NAN (nothing checked). */
void probe_host_limits_init(struct probe_host_limits *l);

/* Judges cur (rates against prev, which may be NULL) into r: status is the
 * worst level reached, the message names every metric that reached one,
 * critical first ("disk / 96.2% used >= critical 95%; memory 87.0% >=
 * warning 85%"), or sums the host up when all is well. Metrics that are
 * n/a are not judged. r->started_ms is left alone. */
void probe_host_evaluate(const struct probe_host_limits *lim, const struct probe_host_sample *prev,
                         const struct probe_host_sample *cur, struct probe_result *r);

/* --- process --- */

/* What a process monitor looks for. With a pidfile, the pid it names is
 * the process (and name/cmdline, when also set, must match it too, which
 * catches a reused pid). Without, every process whose comm equals name (or,
 * for a name longer than the kernel's 15-byte comm, whose argv[0] basename
 * does) and whose command line, joined with spaces, contains cmdline; set
 * at least one of the three. Borrowed. */
struct probe_proc_query {
    const char *pidfile;
    const char *name;
    const char *cmdline;
};

/* The machine's facts a process sample needs, from the caller. */
struct probe_proc_env {
    const char *proc_root; /* NULL: "/proc" */
    long clk_tck;          /* sysconf(_SC_CLK_TCK) */
    long page_size;        /* sysconf(_SC_PAGESIZE) */
    int self_pid;          /* opsd: never matches, nor do its children (plugin
                              checks often name the process they look for) */
};

struct probe_proc {
    int pid;
    uint64_t start_ticks; /* clock ticks after boot */
    uint64_t cpu_ticks;   /* utime + stime */
};

/* The processes that matched at one moment. Owns procs: move a sample by
 * struct assignment and re-init the source, or free with _clear(). */
struct probe_proc_sample {
    bool valid;              /* false until read */
    uint64_t at_ms;          /* caller's clock when read */
    uint64_t boot_uptime_ms; /* /proc/uptime when read */
    long clk_tck;
    size_t n_match;     /* processes that matched (zombies never do) */
    uint64_t rss_bytes; /* summed over all of them */
    size_t n_procs;     /* the first PROBE_PROC_MAX_KEEP, sorted by pid */
    struct probe_proc *procs;
    char why[256]; /* when n_match is 0: why, e.g. a stale pidfile */
};

void probe_proc_sample_init(struct probe_proc_sample *s);
void probe_proc_sample_clear(struct probe_proc_sample *s);

/* Reads which processes match q at now_ms into *ret, freeing what *ret
 * (initialised) held before. Nothing matching is data (n_match 0 and why),
 * not an error; errors are an unreadable /proc or pidfile (permissions) or
 * a bad env/query, and leave *ret untouched. Processes that vanish during
 * the scan are skipped; at most PROBE_PROC_MAX_SCAN entries are looked at. */
int probe_proc_sample_read(const struct probe_proc_env *env, const struct probe_proc_query *q,
                           uint64_t now_ms, struct probe_proc_sample *ret, struct opsd_error *err);

/* Restarted since prev: the oldest process prev matched (same pid and
 * start time) is gone while something matches again. Workers that come
 * and go under a surviving parent are not a restart. Sets *ret_old_pid and
 * *ret_new_pid (the oldest now) when true. */
bool probe_proc_restarted(const struct probe_proc_sample *prev, const struct probe_proc_sample *cur,
                          int *ret_old_pid, int *ret_new_pid);

/* proc_count, proc_rss_bytes, proc_uptime_s (of the oldest match),
 * proc_restarts (1 if restarted since prev, else 0), and proc_cpu_pct (sum
 * over the matches, % of one CPU so it can pass 100; needs prev). A process
 * new since prev counts from its start when it started after prev was
 * read, else it is left out. Fills out[0..n), returns n. */
size_t probe_proc_metrics(const struct probe_proc_sample *prev, const struct probe_proc_sample *cur,
                          struct probe_host_metric *out, size_t max);

/* Process thresholds: fewer than min_count or more than max_count matches
 * is critical; cpu is % of one CPU, rss bytes; a restart is a warning for
 * that one result when restart_warns. */
struct probe_proc_limits {
    unsigned min_count, max_count;
    struct probe_limit cpu, rss;
    bool restart_warns;
};
/* min_count 1, max_count UINT_MAX, levels NAN, restart_warns true. */
void probe_proc_limits_init(struct probe_proc_limits *l);

/* Judges cur (rates and restarts against prev, which may be NULL) into r,
 * as probe_host_evaluate() does. r->started_ms is left alone. */
void probe_proc_evaluate(const struct probe_proc_limits *lim, const struct probe_proc_sample *prev,
                         const struct probe_proc_sample *cur, struct probe_result *r);
