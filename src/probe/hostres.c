/* The host and process monitors: parsing /proc, taking samples, and
 * turning two samples into metrics and a verdict. The parsers never trust
 * the text (a fixture, a fuzzer, an odd kernel): every number is range
 * checked and every field bounded. */
#include "probe/probe.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/xalloc.h"

/* The kernel's comm is at most 15 bytes (TASK_COMM_LEN - 1). */
#define COMM_MAX 15
/* /proc/<pid>/stat is under 1 KiB even with a 64-byte comm and 52 fields. */
#define PID_STAT_MAX 4096
#define PIDFILE_MAX 4096

static void release_sbuf(struct sbuf *sb)
{
    sbuf_release(sb);
}
#define _cleanup_sbuf_ _cleanup_(release_sbuf)

static void close_dir(DIR **d)
{
    if (*d)
        closedir(*d);
}

static const char *errstr(int r, char *buf, size_t n)
{
    /* GNU strerror_r: strerror() is not safe on the worker threads that
     * take samples. */
    return strerror_r(-r, buf, n);
}

int probe_proc_read(const char *root, const char *rel, size_t cap, struct sbuf *out,
                    struct opsd_error *err)
{
    char path[PATH_MAX], chunk[4096], e[128];
    struct stat st;
    bool more = false;
    int fd, n, r = 0;

    sbuf_reset(out);
    if (root && *root)
        n = snprintf(path, sizeof(path), "%s/%s", root, rel);
    else
        n = snprintf(path, sizeof(path), "%s", rel);
    if (n < 0 || (size_t)n >= sizeof(path))
        return opsd_errorf(err, -ENAMETOOLONG, "path too long: '%s'", rel);
    /* O_NONBLOCK: opening a FIFO someone put where a pidfile was expected
     * must not hang the worker. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        r = -errno;
        return opsd_errorf(err, r, "cannot open '%s': %s", path, errstr(r, e, sizeof(e)));
    }
    if (fstat(fd, &st) < 0) {
        r = -errno;
        opsd_errorf(err, r, "cannot stat '%s': %s", path, errstr(r, e, sizeof(e)));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        r = opsd_errorf(err, -EINVAL, "'%s' is not a regular file", path);
        goto out;
    }
    for (;;) {
        /* At the cap, one more byte tells a file that ends there from one
         * that goes on. */
        size_t want = out->len < cap ? MIN(sizeof(chunk), cap - out->len) : 1;
        ssize_t got = read(fd, chunk, want);

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            r = -errno;
            opsd_errorf(err, r, "cannot read '%s': %s", path, errstr(r, e, sizeof(e)));
            goto out;
        }
        if (got == 0)
            break;
        if (out->len >= cap) {
            more = true;
            break;
        }
        sbuf_add(out, chunk, (size_t)got);
    }
    if (more && out->len > 0) {
        char *nl = memrchr(out->buf, '\n', out->len);

        if (nl) {
            out->len = (size_t)(nl - out->buf) + 1;
            out->buf[out->len] = '\0';
        }
    }
out:
    close(fd);
    if (r < 0) {
        sbuf_reset(out);
        return r;
    }
    return (int)MIN(out->len, (size_t)INT_MAX);
}

/* --- parsing helpers: locale-free, overflow-checked --- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_token_end(char c)
{
    return c == '\0' || c == '\n' || is_blank(c);
}

static const char *skip_blank(const char *p)
{
    while (is_blank(*p))
        p++;
    return p;
}

static const char *next_line(const char *p)
{
    const char *nl = strchr(p, '\n');

    return nl ? nl + 1 : p + strlen(p);
}

/* A decimal number after optional blanks; *pp moves past it. */
static int parse_u64(const char **pp, uint64_t *ret)
{
    const char *p = skip_blank(*pp);
    uint64_t v = 0;

    if (!is_digit(*p))
        return -EINVAL;
    for (; is_digit(*p); p++) {
        unsigned d = (unsigned)(*p - '0');

        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    *pp = p;
    *ret = v;
    return 0;
}

/* A number that must end at a blank or the end of the line ("12x" is not). */
static int parse_u64_token(const char **pp, uint64_t *ret)
{
    const char *p = *pp;
    uint64_t v;
    int r;

    r = parse_u64(&p, &v);
    if (r < 0)
        return r;
    if (!is_token_end(*p))
        return -EINVAL;
    *pp = p;
    *ret = v;
    return 0;
}

/* "0.52": without strtod(), whose decimal point follows the locale. */
static int parse_decimal(const char **pp, double *ret)
{
    const char *p = *pp;
    uint64_t ip, fp = 0;
    double scale = 1;
    int r;

    r = parse_u64(&p, &ip);
    if (r < 0)
        return r;
    if (*p == '.') {
        for (p++; is_digit(*p); p++) {
            /* Digits past the 15th change nothing a double can show. */
            if (scale < 1e15) {
                fp = fp * 10 + (uint64_t)(*p - '0');
                scale *= 10;
            }
        }
    }
    if (!is_token_end(*p))
        return -EINVAL;
    *pp = p;
    *ret = (double)ip + (double)fp / scale;
    return 0;
}

static void skip_token(const char **pp)
{
    const char *p = skip_blank(*pp);

    while (!is_token_end(*p))
        p++;
    *pp = p;
}

static bool in_list(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (list[i] && strcmp(list[i], s) == 0)
            return true;
    }
    return false;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
    uint64_t v;

    return __builtin_mul_overflow(a, b, &v) ? UINT64_MAX : v;
}

/* --- /proc/stat --- */

enum {
    CPU_USER,
    CPU_NICE,
    CPU_SYSTEM,
    CPU_IDLE,
    CPU_IOWAIT,
    CPU_IRQ,
    CPU_SOFTIRQ,
    CPU_STEAL,
    CPU_N
};

static void cpu_to_array(const struct probe_cpu_times *c, uint64_t v[CPU_N])
{
    v[CPU_USER] = c->user;
    v[CPU_NICE] = c->nice;
    v[CPU_SYSTEM] = c->system;
    v[CPU_IDLE] = c->idle;
    v[CPU_IOWAIT] = c->iowait;
    v[CPU_IRQ] = c->irq;
    v[CPU_SOFTIRQ] = c->softirq;
    v[CPU_STEAL] = c->steal;
}

int probe_parse_stat(const char *text, struct probe_cpu_times *ret_cpu, unsigned *ret_ncpu)
{
    uint64_t v[CPU_N] = { 0 };
    unsigned ncpu = 0;
    bool have = false;
    int r;

    for (const char *line = text; *line; line = next_line(line)) {
        const char *p = line + 3;
        size_t n;

        if (strncmp(line, "cpu", 3) != 0)
            continue;
        if (is_digit(line[3])) {
            if (ncpu < UINT_MAX)
                ncpu++;
            continue;
        }
        if (!is_blank(line[3]) || have)
            continue;
        for (n = 0; n < CPU_N; n++) {
            r = parse_u64_token(&p, &v[n]);
            if (r == -ERANGE)
                return r;
            if (r < 0)
                break;
        }
        /* user nice system idle are there since 2.4; the rest may not be. */
        if (n < 4)
            return -EINVAL;
        have = true;
    }
    if (!have)
        return -EINVAL;
    *ret_cpu = (struct probe_cpu_times){
        .user = v[CPU_USER],
        .nice = v[CPU_NICE],
        .system = v[CPU_SYSTEM],
        .idle = v[CPU_IDLE],
        .iowait = v[CPU_IOWAIT],
        .irq = v[CPU_IRQ],
        .softirq = v[CPU_SOFTIRQ],
        .steal = v[CPU_STEAL],
    };
    *ret_ncpu = ncpu ? ncpu : 1;
    return 0;
}

/* --- /proc/meminfo --- */

enum { MI_TOTAL, MI_FREE, MI_AVAILABLE, MI_BUFFERS, MI_CACHED, MI_SWAP_TOTAL, MI_SWAP_FREE, MI_N };
static const char *const meminfo_keys[MI_N] = {
    "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapTotal", "SwapFree",
};

int probe_parse_meminfo(const char *text, struct probe_meminfo *ret)
{
    uint64_t v[MI_N] = { 0 };
    bool seen[MI_N] = { false };
    struct probe_meminfo m;
    int r;

    for (const char *line = text; *line; line = next_line(line)) {
        const char *colon = strchr(line, ':'), *nl = strchr(line, '\n');
        const char *p;
        size_t klen;
        int k;

        if (!colon || (nl && colon > nl))
            continue;
        klen = (size_t)(colon - line);
        for (k = 0; k < MI_N; k++) {
            if (strlen(meminfo_keys[k]) == klen && memcmp(line, meminfo_keys[k], klen) == 0)
                break;
        }
        if (k == MI_N || seen[k])
            continue;
        p = colon + 1;
        r = parse_u64(&p, &v[k]);
        if (r < 0)
            return r;
        p = skip_blank(p);
        if (strncmp(p, "kB", 2) == 0) {
            if (v[k] > UINT64_MAX / 1024)
                return -ERANGE;
            v[k] *= 1024;
        }
        seen[k] = true;
    }
    if (!seen[MI_TOTAL] || v[MI_TOTAL] == 0)
        return -EINVAL;
    m = (struct probe_meminfo){ .total = v[MI_TOTAL], .has_available = seen[MI_AVAILABLE] };
    if (seen[MI_AVAILABLE]) {
        m.available = v[MI_AVAILABLE];
    } else {
        /* Before 3.14: what free(1) then called "-/+ buffers/cache". */
        if (!seen[MI_FREE])
            return -EINVAL;
        m.available = add_sat(add_sat(v[MI_FREE], v[MI_BUFFERS]), v[MI_CACHED]);
    }
    m.available = MIN(m.available, m.total);
    /* No SwapFree is as good as no swap: n/a rather than a made-up 0%. */
    if (seen[MI_SWAP_TOTAL] && seen[MI_SWAP_FREE]) {
        m.swap_total = v[MI_SWAP_TOTAL];
        m.swap_free = MIN(v[MI_SWAP_FREE], v[MI_SWAP_TOTAL]);
    }
    *ret = m;
    return 0;
}

/* --- /proc/loadavg --- */

int probe_parse_loadavg(const char *text, double ret_load[3])
{
    const char *p = text;
    double l[3];
    int r;

    for (int i = 0; i < 3; i++) {
        r = parse_decimal(&p, &l[i]);
        if (r < 0)
            return r;
    }
    memcpy(ret_load, l, sizeof(l));
    return 0;
}

/* --- /proc/net/dev --- */

int probe_parse_net_dev(const char *text, const struct probe_host_filter *f,
                        struct probe_host_iface *ifs, size_t max, size_t *ret_n)
{
    size_t n = 0;
    int r;

    for (const char *line = text; *line; line = next_line(line)) {
        const char *colon = strchr(line, ':'), *nl = strchr(line, '\n');
        const char *name = skip_blank(line), *p;
        char ifname[PROBE_HOST_IFNAME_MAX];
        uint64_t v[9];
        size_t len;

        /* The two header lines have no ':'; names cannot contain one. */
        if (!colon || (nl && colon > nl) || colon < name)
            continue;
        len = (size_t)(colon - name);
        if (len == 0 || len >= sizeof(ifname))
            continue;
        memcpy(ifname, name, len);
        ifname[len] = '\0';
        if (f && f->ifaces ? !in_list(f->ifaces, f->n_ifaces, ifname) : strcmp(ifname, "lo") == 0)
            continue;
        /* rx bytes is the 1st field, tx bytes the 9th; old kernels put no
         * space after the colon. */
        p = colon + 1;
        for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
            r = parse_u64_token(&p, &v[i]);
            if (r < 0)
                return r;
        }
        if (n < max) {
            ifs[n] = (struct probe_host_iface){ .rx_bytes = v[0], .tx_bytes = v[8] };
            memcpy(ifs[n].name, ifname, len + 1);
            n++;
        }
    }
    *ret_n = n;
    return 0;
}

/* --- /proc/self/mounts --- */

/* Filesystems on a local block device: those whose fullness is the
 * operator's problem. Pseudo filesystems and tmpfs are not disks; overlay
 * and bind mounts repeat the disk under them; squashfs and iso9660 are
 * always full by design; statvfs() on a network filesystem can hang. */
static const char *const local_fs[] = {
    "ext2", "ext3",     "ext4", "xfs",   "btrfs",   "zfs", "vfat",    "msdos",  "exfat",    "f2fs",
    "jfs",  "reiserfs", "ntfs", "ntfs3", "fuseblk", "hfs", "hfsplus", "nilfs2", "bcachefs", "ufs",
};

static bool is_octal(char c)
{
    return c >= '0' && c <= '7';
}

/* Copies one field, decoding the kernel's \ooo escapes (\040 space, \011
 * tab, \012 newline, \134 backslash). -ENAMETOOLONG when it does not fit. */
static int mount_field(const char **pp, char *out, size_t size)
{
    const char *p = skip_blank(*pp);
    size_t n = 0;
    bool too_long = false;

    if (is_token_end(*p))
        return -EINVAL;
    for (; !is_token_end(*p); p++) {
        char c = *p;

        if (c == '\\' && is_octal(p[1]) && is_octal(p[2]) && is_octal(p[3]) && p[1] <= '3') {
            c = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 3;
        }
        if (n + 1 < size)
            out[n++] = c;
        else
            too_long = true;
    }
    out[n] = '\0';
    *pp = p;
    return too_long ? -ENAMETOOLONG : 0;
}

int probe_parse_mounts(const char *text, const struct probe_host_filter *f,
                       struct probe_host_mount *mounts, size_t max, size_t *ret_n)
{
    bool listed = f && f->mounts;
    size_t n = 0;

    for (const char *line = text; *line; line = next_line(line)) {
        struct probe_host_mount m = { 0 };
        const char *p = line;
        char device[PROBE_HOST_PATH_MAX];
        size_t i;
        bool keep;
        int r1, r2, r3;

        if (*skip_blank(p) == '\n' || *skip_blank(p) == '\0')
            continue;
        r1 = mount_field(&p, device, sizeof(device));
        r2 = mount_field(&p, m.path, sizeof(m.path));
        r3 = mount_field(&p, m.fstype, sizeof(m.fstype));
        if (r1 == -EINVAL || r2 == -EINVAL || r3 == -EINVAL)
            return -EINVAL;
        /* Too long to show or compare in full: not one we can watch. */
        if (r1 < 0 || r2 < 0 || r3 < 0)
            continue;
        keep = listed ? in_list(f->mounts, f->n_mounts, m.path)
                      : in_list(local_fs, ARRAY_SIZE(local_fs), m.fstype);
        for (i = 0; i < n; i++) {
            if (strcmp(mounts[i].path, m.path) == 0)
                break;
        }
        if (i < n) {
            /* A later mount on the same path hides the earlier one: it is
             * what statvfs() will see, kept or not. */
            if (keep) {
                memcpy(mounts[i].device, device, sizeof(device));
                memcpy(mounts[i].fstype, m.fstype, sizeof(m.fstype));
            } else {
                memmove(&mounts[i], &mounts[i + 1], (n - i - 1) * sizeof(*mounts));
                n--;
            }
            continue;
        }
        if (!keep)
            continue;
        /* A device mounted twice (bind mounts, btrfs subvolumes) is one
         * disk, watched under its first path; unless paths were listed. */
        for (i = 0; !listed && i < n; i++) {
            if (strcmp(mounts[i].device, device) == 0)
                break;
        }
        if (!listed && i < n)
            continue;
        if (n < max) {
            memcpy(m.device, device, sizeof(device));
            mounts[n++] = m;
        }
    }
    *ret_n = n;
    return 0;
}

/* --- /proc/<pid>/stat and cmdline --- */

int probe_parse_pid_stat(const char *text, struct probe_pid_stat *ret)
{
    const char *open = strchr(text, '('), *close = strrchr(text, ')'), *p = text;
    struct probe_pid_stat s = { 0 };
    uint64_t v;
    size_t len;
    int r;

    /* comm may hold spaces and parentheses: it ends at the last ')'. */
    if (!open || !close || close < open)
        return -EINVAL;
    r = parse_u64(&p, &v);
    if (r < 0 || v == 0 || v > INT_MAX || skip_blank(p) != open)
        return -EINVAL;
    s.pid = (int)v;
    len = MIN((size_t)(close - open - 1), sizeof(s.comm) - 1);
    memcpy(s.comm, open + 1, len);
    s.comm[len] = '\0';
    p = skip_blank(close + 1);
    if (is_token_end(*p) || !is_token_end(p[1]))
        return -EINVAL;
    s.state = *p++;
    /* Field i here is field i + 3 of proc(5). */
    for (unsigned i = 1; i <= 21; i++) {
        uint64_t *dst = NULL;

        p = skip_blank(p);
        if (*p == '\0' || *p == '\n')
            return -EINVAL;
        switch (i) {
        case 1:
            dst = &v;
            break;
        case 11:
            dst = &s.utime;
            break;
        case 12:
            dst = &s.stime;
            break;
        case 19:
            dst = &s.start_ticks;
            break;
        case 21:
            /* rss is signed in the kernel's format; negative means none. */
            if (*p == '-') {
                skip_token(&p);
                continue;
            }
            dst = &s.rss_pages;
            break;
        default:
            skip_token(&p);
            continue;
        }
        r = parse_u64_token(&p, dst);
        if (r < 0)
            return r;
        if (i == 1) {
            if (v > INT_MAX)
                return -ERANGE;
            s.ppid = (int)v;
        }
    }
    *ret = s;
    return 0;
}

size_t probe_cmdline_join(char *buf, size_t len)
{
    while (len > 0 && buf[len - 1] == '\0')
        len--;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\0')
            buf[i] = ' ';
    }
    buf[len] = '\0';
    return len;
}

/* --- host samples --- */

/* df's numbers: used counts root's reserved blocks, avail does not. */
static bool mount_stat(struct probe_host_mount *m)
{
    struct statvfs st;
    uint64_t fr;

    if (statvfs(m->path, &st) < 0)
        return false;
    fr = st.f_frsize ? st.f_frsize : st.f_bsize;
    m->size_bytes = mul_sat(st.f_blocks, fr);
    m->used_bytes = mul_sat(st.f_blocks > st.f_bfree ? st.f_blocks - st.f_bfree : 0, fr);
    m->avail_bytes = mul_sat(st.f_bavail, fr);
    m->inodes = st.f_files;
    m->inodes_free = MIN(st.f_ffree, st.f_files);
    return true;
}

/* Returns r itself (not opsd_errorf's result) so the analyzer sees the
 * failure stay a failure. */
static int read_parse_failed(struct opsd_error *err, int r, const char *root, const char *rel)
{
    opsd_errorf(err, r, "cannot parse '%s/%s'%s", root, rel,
                r == -ERANGE ? ": number out of range" : "");
    return r;
}

int probe_host_sample_read(const char *proc_root, const struct probe_host_filter *f,
                           uint64_t now_ms, struct probe_host_sample *ret, struct opsd_error *err)
{
    _cleanup_free_ struct probe_host_sample *s = xcalloc(1, sizeof(*s));
    _cleanup_sbuf_ struct sbuf buf = SBUF_INIT;
    const char *root = proc_root ? proc_root : "/proc";
    const char *mounts_rel = "self/mounts";
    size_t kept = 0;
    int r;

    r = probe_proc_read(root, "stat", PROBE_PROC_FILE_MAX, &buf, err);
    if (r < 0)
        return r;
    r = probe_parse_stat(buf.buf, &s->cpu, &s->ncpu);
    if (r < 0)
        return read_parse_failed(err, r, root, "stat");

    r = probe_proc_read(root, "meminfo", PROBE_PROC_FILE_MAX, &buf, err);
    if (r < 0)
        return r;
    r = probe_parse_meminfo(buf.buf, &s->mem);
    if (r < 0)
        return read_parse_failed(err, r, root, "meminfo");

    r = probe_proc_read(root, "loadavg", PROBE_PROC_FILE_MAX, &buf, err);
    if (r < 0)
        return r;
    r = probe_parse_loadavg(buf.buf, s->load);
    if (r < 0)
        return read_parse_failed(err, r, root, "loadavg");

    /* A network namespace without /proc/net/dev has nothing to measure. */
    r = probe_proc_read(root, "net/dev", PROBE_PROC_FILE_MAX, &buf, err);
    if (r < 0 && r != -ENOENT)
        return r;
    if (r >= 0) {
        r = probe_parse_net_dev(buf.buf, f, s->ifaces, ARRAY_SIZE(s->ifaces), &s->n_ifaces);
        if (r < 0)
            return read_parse_failed(err, r, root, "net/dev");
    }

    /* Old kernels and some containers have /proc/mounts only. */
    r = probe_proc_read(root, mounts_rel, PROBE_PROC_FILE_MAX, &buf, NULL);
    if (r == -ENOENT) {
        mounts_rel = "mounts";
        r = probe_proc_read(root, mounts_rel, PROBE_PROC_FILE_MAX, &buf, err);
    } else if (r < 0) {
        r = probe_proc_read(root, mounts_rel, PROBE_PROC_FILE_MAX, &buf, err);
    }
    if (r < 0)
        return r;
    r = probe_parse_mounts(buf.buf, f, s->mounts, ARRAY_SIZE(s->mounts), &s->n_mounts);
    if (r < 0)
        return read_parse_failed(err, r, root, mounts_rel);
    /* One mount we may not look at (permissions, gone since) must not cost
     * the others their check. */
    for (size_t i = 0; i < s->n_mounts; i++) {
        if (!mount_stat(&s->mounts[i]))
            continue;
        if (kept != i)
            s->mounts[kept] = s->mounts[i];
        kept++;
    }
    s->n_mounts = kept;

    s->valid = true;
    s->at_ms = now_ms;
    *ret = *s;
    return 0;
}

/* --- metrics --- */

struct mlist {
    struct probe_host_metric *v;
    size_t max, n;
};

static void put(struct mlist *l, const char *name, const char *unit, const char *label_key,
                const char *label, double value)
{
    struct probe_host_metric *m;

    if (l->n >= l->max)
        return;
    m = &l->v[l->n++];
    snprintf(m->name, sizeof(m->name), "%s", name);
    m->label_key = label_key;
    snprintf(m->label, sizeof(m->label), "%s", label ? label : "");
    m->value = value;
    m->unit = unit;
}

static double pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0;
}

static const struct probe_host_iface *find_iface(const struct probe_host_sample *s,
                                                 const char *name)
{
    for (size_t i = 0; i < s->n_ifaces; i++) {
        if (strcmp(s->ifaces[i].name, name) == 0)
            return &s->ifaces[i];
    }
    return NULL;
}

/* CPU shares between two samples. Any counter going backwards (a CPU
 * taken offline, a restored VM) leaves the interval unknowable. Steal
 * counts as busy: the time was not ours to use. */
static bool cpu_shares(const struct probe_cpu_times *a, const struct probe_cpu_times *b,
                       double *ret_busy, double *ret_iowait, double *ret_steal)
{
    uint64_t va[CPU_N], vb[CPU_N], d[CPU_N], total = 0;

    cpu_to_array(a, va);
    cpu_to_array(b, vb);
    for (int i = 0; i < CPU_N; i++) {
        if (vb[i] < va[i])
            return false;
        d[i] = vb[i] - va[i];
        total = add_sat(total, d[i]);
    }
    if (total == 0)
        return false;
    *ret_busy = 100.0 * (double)(total - d[CPU_IDLE] - d[CPU_IOWAIT]) / (double)total;
    *ret_iowait = 100.0 * (double)d[CPU_IOWAIT] / (double)total;
    *ret_steal = 100.0 * (double)d[CPU_STEAL] / (double)total;
    return true;
}

size_t probe_host_metrics(const struct probe_host_sample *prev, const struct probe_host_sample *cur,
                          struct probe_host_metric *out, size_t max)
{
    struct mlist l = { .v = out, .max = max, .n = 0 };
    bool have_prev = prev && prev->valid;
    uint64_t elapsed = have_prev && cur->at_ms > prev->at_ms ? cur->at_ms - prev->at_ms : 0;
    double busy, iowait, steal;
    const struct probe_meminfo *m = &cur->mem;

    if (!cur->valid)
        return 0;
    if (have_prev && cpu_shares(&prev->cpu, &cur->cpu, &busy, &iowait, &steal)) {
        put(&l, "cpu_pct", "%", NULL, NULL, busy);
        put(&l, "cpu_iowait_pct", "%", NULL, NULL, iowait);
        put(&l, "cpu_steal_pct", "%", NULL, NULL, steal);
    }
    put(&l, "cpu_count", "", NULL, NULL, cur->ncpu);
    put(&l, "load1", "", NULL, NULL, cur->load[0]);
    put(&l, "load5", "", NULL, NULL, cur->load[1]);
    put(&l, "load15", "", NULL, NULL, cur->load[2]);
    put(&l, "mem_used_pct", "%", NULL, NULL, pct(m->total - MIN(m->available, m->total), m->total));
    put(&l, "mem_available_bytes", "B", NULL, NULL, (double)m->available);
    if (m->swap_total)
        put(&l, "swap_used_pct", "%", NULL, NULL,
            pct(m->swap_total - MIN(m->swap_free, m->swap_total), m->swap_total));
    for (size_t i = 0; i < cur->n_mounts; i++) {
        const struct probe_host_mount *d = &cur->mounts[i];
        uint64_t usable = add_sat(d->used_bytes, d->avail_bytes);

        if (usable)
            put(&l, "disk_used_pct", "%", "mount", d->path, pct(d->used_bytes, usable));
        put(&l, "disk_avail_bytes", "B", "mount", d->path, (double)d->avail_bytes);
        if (d->inodes)
            put(&l, "inodes_used_pct", "%", "mount", d->path,
                pct(d->inodes - MIN(d->inodes_free, d->inodes), d->inodes));
    }
    for (size_t i = 0; elapsed && i < cur->n_ifaces; i++) {
        const struct probe_host_iface *c = &cur->ifaces[i], *p = find_iface(prev, c->name);

        /* A counter below its last value was reset (driver reload) or
         * wrapped (32-bit): the interval's traffic is unknown. */
        if (!p)
            continue;
        if (c->rx_bytes >= p->rx_bytes)
            put(&l, "net_rx_bytes_per_s", "B/s", "iface", c->name,
                (double)(c->rx_bytes - p->rx_bytes) * 1000.0 / (double)elapsed);
        if (c->tx_bytes >= p->tx_bytes)
            put(&l, "net_tx_bytes_per_s", "B/s", "iface", c->name,
                (double)(c->tx_bytes - p->tx_bytes) * 1000.0 / (double)elapsed);
    }
    return l.n;
}

/* --- verdicts --- */

static const char *fmt_bytes(double v, char *buf, size_t n)
{
    static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB" };
    size_t i = 0;

    while (v >= 1000 && i + 1 < ARRAY_SIZE(units)) {
        v /= 1000;
        i++;
    }
    if (i == 0)
        snprintf(buf, n, "%.0f B", v);
    else
        snprintf(buf, n, "%.1f %s", v, units[i]);
    return buf;
}

static const char *fmt_age(double secs, char *buf, size_t n)
{
    uint64_t s = secs > 0 ? (uint64_t)secs : 0;

    if (s >= 86400)
        snprintf(buf, n, "%" PRIu64 "d %" PRIu64 "h", s / 86400, s % 86400 / 3600);
    else if (s >= 3600)
        snprintf(buf, n, "%" PRIu64 "h %" PRIu64 "m", s / 3600, s % 3600 / 60);
    else if (s >= 60)
        snprintf(buf, n, "%" PRIu64 "m %" PRIu64 "s", s / 60, s % 60);
    else
        snprintf(buf, n, "%" PRIu64 "s", s);
    return buf;
}

/* What reached a level, critical and warning kept apart so the message
 * can name the critical ones first. */
struct verdict {
    struct sbuf crit, warn;
};

static void verdict_release(struct verdict *v)
{
    sbuf_release(&v->crit);
    sbuf_release(&v->warn);
}

static void verdict_add(struct verdict *v, enum probe_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void verdict_add(struct verdict *v, enum probe_status s, const char *fmt, ...)
{
    struct sbuf *sb = s == PROBE_CRITICAL ? &v->crit : &v->warn;
    va_list ap;

    if (sb->len)
        sbuf_puts(sb, "; ");
    va_start(ap, fmt);
    sbuf_vaddf(sb, fmt, ap);
    va_end(ap);
}

/* Copies text into r->message; when too long, drops whole "; " parts from
 * the end and says so, rather than cutting one mid-number. */
static void set_message(struct probe_result *r, const char *text)
{
    static const char more[] = "; ...";
    size_t len = strlen(text), cut, limit;

    if (len < sizeof(r->message)) {
        memcpy(r->message, text, len + 1);
        return;
    }
    limit = sizeof(r->message) - sizeof(more);
    cut = limit;
    for (const char *s = strstr(text, "; "); s && (size_t)(s - text) <= limit;
         s = strstr(s + 2, "; "))
        cut = (size_t)(s - text);
    memcpy(r->message, text, cut);
    memcpy(r->message + cut, more, sizeof(more));
}

static void verdict_finish(struct verdict *v, const char *ok_text, struct probe_result *r)
{
    if (v->crit.len && v->warn.len) {
        sbuf_puts(&v->crit, "; ");
        sbuf_add(&v->crit, v->warn.buf, v->warn.len);
    }
    r->status = v->crit.len ? PROBE_CRITICAL : v->warn.len ? PROBE_WARNING : PROBE_OK;
    set_message(r, v->crit.len ? v->crit.buf : v->warn.len ? v->warn.buf : ok_text);
    verdict_release(v);
}

static enum probe_status level_reached(const struct probe_limit *lim, double v, double *ret_level)
{
    if (!isnan(lim->crit) && v >= lim->crit) {
        *ret_level = lim->crit;
        return PROBE_CRITICAL;
    }
    if (!isnan(lim->warn) && v >= lim->warn) {
        *ret_level = lim->warn;
        return PROBE_WARNING;
    }
    return PROBE_OK;
}

static const char *level_name(enum probe_status s)
{
    return s == PROBE_CRITICAL ? "critical" : "warning";
}

enum host_kind { K_PCT, K_USED_PCT, K_LOAD, K_RATE };

static const struct host_check {
    const char *metric;
    const char *what; /* the operator's word in the message */
    size_t off;       /* of the probe_limit in probe_host_limits */
    enum host_kind kind;
} host_checks[] = {
    { "cpu_pct", "cpu", offsetof(struct probe_host_limits, cpu), K_PCT },
    { "mem_used_pct", "memory", offsetof(struct probe_host_limits, memory), K_PCT },
    { "swap_used_pct", "swap", offsetof(struct probe_host_limits, swap), K_PCT },
    { "load1", "load1", offsetof(struct probe_host_limits, load1), K_LOAD },
    { "load5", "load5", offsetof(struct probe_host_limits, load5), K_LOAD },
    { "load15", "load15", offsetof(struct probe_host_limits, load15), K_LOAD },
    { "disk_used_pct", "disk", offsetof(struct probe_host_limits, disk), K_USED_PCT },
    { "inodes_used_pct", "inodes", offsetof(struct probe_host_limits, inodes), K_USED_PCT },
    { "net_rx_bytes_per_s", "rx", offsetof(struct probe_host_limits, net_rx), K_RATE },
    { "net_tx_bytes_per_s", "tx", offsetof(struct probe_host_limits, net_tx), K_RATE },
};

void probe_host_limits_init(struct probe_host_limits *l)
{
    const struct probe_limit none = { .warn = NAN, .crit = NAN };

    *l = (struct probe_host_limits){
        .cpu = none,
        .memory = none,
        .swap = none,
        .disk = none,
        .inodes = none,
        .load1 = none,
        .load5 = none,
        .load15 = none,
        .net_rx = none,
        .net_tx = none,
    };
}

static const struct probe_host_metric *find_metric(const struct probe_host_metric *m, size_t n,
                                                   const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(m[i].name, name) == 0)
            return &m[i];
    }
    return NULL;
}

static void host_judge(const struct host_check *c, const struct probe_limit *lim,
                       const struct probe_host_metric *m, double ncpu, struct verdict *v)
{
    double value = c->kind == K_LOAD ? m->value / ncpu : m->value, level = 0;
    enum probe_status s = level_reached(lim, value, &level);
    char a[32], b[32];

    if (s == PROBE_OK)
        return;
    switch (c->kind) {
    case K_PCT:
        verdict_add(v, s, "%s %.1f%% >= %s %g%%", c->what, m->value, level_name(s), level);
        break;
    case K_USED_PCT:
        verdict_add(v, s, "%s %s %.1f%% used >= %s %g%%", c->what, m->label, m->value,
                    level_name(s), level);
        break;
    case K_LOAD:
        verdict_add(v, s, "%s %.2f (%.2f per cpu) >= %s %g per cpu", c->what, m->value, value,
                    level_name(s), level);
        break;
    case K_RATE:
        verdict_add(v, s, "net %s %s %s/s >= %s %s/s", m->label, c->what,
                    fmt_bytes(m->value, a, sizeof(a)), level_name(s),
                    fmt_bytes(level, b, sizeof(b)));
        break;
    }
}

/* "cpu 12.3%, memory 45.0%, no swap, load 0.52 0.40 0.30 on 8 cpus, fullest
 * disk / 40.1%": the numbers an operator looks at first. */
static void host_summary(const struct probe_host_metric *m, size_t n, struct sbuf *sb)
{
    const struct probe_host_metric *cpu = find_metric(m, n, "cpu_pct");
    const struct probe_host_metric *mem = find_metric(m, n, "mem_used_pct");
    const struct probe_host_metric *swap = find_metric(m, n, "swap_used_pct");
    const struct probe_host_metric *l1 = find_metric(m, n, "load1");
    const struct probe_host_metric *l5 = find_metric(m, n, "load5");
    const struct probe_host_metric *l15 = find_metric(m, n, "load15");
    const struct probe_host_metric *ncpu = find_metric(m, n, "cpu_count");
    const struct probe_host_metric *fullest = NULL;

    for (size_t i = 0; i < n; i++) {
        if (strcmp(m[i].name, "disk_used_pct") == 0 && (!fullest || m[i].value > fullest->value))
            fullest = &m[i];
    }
    if (cpu)
        sbuf_addf(sb, "cpu %.1f%%", cpu->value);
    else
        sbuf_puts(sb, "cpu n/a (first sample)");
    if (mem)
        sbuf_addf(sb, ", memory %.1f%%", mem->value);
    if (swap)
        sbuf_addf(sb, ", swap %.1f%%", swap->value);
    else
        sbuf_puts(sb, ", no swap");
    if (l1 && l5 && l15 && ncpu)
        sbuf_addf(sb, ", load %.2f %.2f %.2f on %.0f cpu%s", l1->value, l5->value, l15->value,
                  ncpu->value, ncpu->value == 1 ? "" : "s");
    if (fullest)
        sbuf_addf(sb, ", fullest disk %s %.1f%%", fullest->label, fullest->value);
}

void probe_host_evaluate(const struct probe_host_limits *lim, const struct probe_host_sample *prev,
                         const struct probe_host_sample *cur, struct probe_result *r)
{
    _cleanup_free_ struct probe_host_metric *m = xcalloc(PROBE_HOST_MAX_METRICS, sizeof(*m));
    _cleanup_sbuf_ struct sbuf ok = SBUF_INIT;
    struct verdict v = { SBUF_INIT, SBUF_INIT };
    const struct probe_host_metric *ncpu;
    size_t n;

    if (!cur->valid) {
        r->status = PROBE_UNKNOWN;
        set_message(r, "no host sample");
        return;
    }
    n = probe_host_metrics(prev, cur, m, PROBE_HOST_MAX_METRICS);
    ncpu = find_metric(m, n, "cpu_count");
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < ARRAY_SIZE(host_checks); k++) {
            const struct host_check *c = &host_checks[k];

            if (strcmp(m[i].name, c->metric) == 0)
                host_judge(c, (const struct probe_limit *)((const char *)lim + c->off), &m[i],
                           ncpu && ncpu->value >= 1 ? ncpu->value : 1, &v);
        }
    }
    host_summary(m, n, &ok);
    verdict_finish(&v, ok.buf, r);
}

/* --- process samples --- */

void probe_proc_sample_init(struct probe_proc_sample *s)
{
    memset(s, 0, sizeof(*s));
}

void probe_proc_sample_clear(struct probe_proc_sample *s)
{
    free(s->procs);
    probe_proc_sample_init(s);
}

static void proc_sample_release(struct probe_proc_sample *s)
{
    probe_proc_sample_clear(s);
}

static void add_match(struct probe_proc_sample *s, size_t *cap, const struct probe_pid_stat *st,
                      long page_size)
{
    s->n_match++;
    s->rss_bytes = add_sat(s->rss_bytes, mul_sat(st->rss_pages, (uint64_t)page_size));
    if (s->n_procs >= PROBE_PROC_MAX_KEEP)
        return;
    xgrow((void **)&s->procs, cap, s->n_procs + 1, sizeof(*s->procs));
    s->procs[s->n_procs++] = (struct probe_proc){
        .pid = st->pid,
        .start_ticks = st->start_ticks,
        .cpu_ticks = add_sat(st->utime, st->stime),
    };
}

/* Does st (a live process under root) match q's name and cmdline? 1 yes,
 * 0 no, negative errno when its cmdline could not be read (it exited). */
static int proc_match(const char *root, const struct probe_proc_query *q,
                      const struct probe_pid_stat *st, struct sbuf *buf)
{
    bool by_name = q->name && *q->name, by_cmdline = q->cmdline && *q->cmdline;
    bool long_name = by_name && strlen(q->name) > COMM_MAX;
    char rel[32];
    int r;

    /* A comm is cut at 15 bytes: a longer name can only be argv[0]'s. */
    if (by_name && !long_name && strcmp(st->comm, q->name) != 0)
        return 0;
    if (!by_cmdline && !long_name)
        return 1;
    snprintf(rel, sizeof(rel), "%d/cmdline", st->pid);
    r = probe_proc_read(root, rel, PROBE_PROC_CMDLINE_MAX, buf, NULL);
    if (r < 0)
        return r;
    if (long_name) {
        const char *argv0 = buf->buf, *base = strrchr(argv0, '/');

        if (strcmp(base ? base + 1 : argv0, q->name) != 0)
            return 0;
    }
    if (buf->len)
        probe_cmdline_join(buf->buf, buf->len);
    return !by_cmdline || strstr(buf->buf, q->cmdline) ? 1 : 0;
}

static bool gone(int r)
{
    return r == -ENOENT || r == -ESRCH;
}

static int read_pid_stat(const char *root, int pid, struct sbuf *buf, struct probe_pid_stat *ret,
                         struct opsd_error *err)
{
    char rel[32];
    int r;

    snprintf(rel, sizeof(rel), "%d/stat", pid);
    r = probe_proc_read(root, rel, PID_STAT_MAX, buf, err);
    if (r < 0)
        return r;
    r = probe_parse_pid_stat(buf->buf, ret);
    if (r < 0)
        return read_parse_failed(err, r, root, rel);
    return 0;
}

static int sample_pidfile(const char *root, const struct probe_proc_env *env,
                          const struct probe_proc_query *q, struct probe_proc_sample *s,
                          struct opsd_error *err)
{
    _cleanup_sbuf_ struct sbuf buf = SBUF_INIT;
    struct probe_pid_stat st;
    const char *p;
    uint64_t pid;
    size_t cap = 0;
    int r;

    r = probe_proc_read(NULL, q->pidfile, PIDFILE_MAX, &buf, err);
    /* A daemon removes its pidfile on the way out: not running, not an
     * error of ours. */
    if (r == -ENOENT) {
        snprintf(s->why, sizeof(s->why), "pidfile '%s' not found", q->pidfile);
        return 0;
    }
    if (r < 0)
        return r;
    p = buf.buf;
    p = skip_blank(p);
    if (parse_u64_token(&p, &pid) < 0 || pid == 0 || pid > INT_MAX ||
        !(*skip_blank(p) == '\0' || *skip_blank(p) == '\n' || *skip_blank(p) == '\r')) {
        snprintf(s->why, sizeof(s->why), "pidfile '%s' holds no pid", q->pidfile);
        return 0;
    }
    r = read_pid_stat(root, (int)pid, &buf, &st, err);
    if (gone(r)) {
        snprintf(s->why, sizeof(s->why), "pidfile '%s' names pid %d, which is not running",
                 q->pidfile, (int)pid);
        return 0;
    }
    if (r < 0)
        return r;
    if (st.state == 'Z' || st.state == 'X' || st.state == 'x') {
        snprintf(s->why, sizeof(s->why), "pidfile '%s' names pid %d, which is %s", q->pidfile,
                 st.pid, st.state == 'Z' ? "a zombie" : "dead");
        return 0;
    }
    r = proc_match(root, q, &st, &buf);
    if (r <= 0) {
        /* The pid was reused by something else, or exited just now. */
        snprintf(s->why, sizeof(s->why), "pidfile '%s' names pid %d (%s), which %s", q->pidfile,
                 st.pid, st.comm, r == 0 ? "does not match" : "is not running");
        return 0;
    }
    add_match(s, &cap, &st, env->page_size);
    return 0;
}

static int sample_scan(const char *root, const struct probe_proc_env *env,
                       const struct probe_proc_query *q, struct probe_proc_sample *s,
                       struct opsd_error *err)
{
    _cleanup_sbuf_ struct sbuf buf = SBUF_INIT;
    _cleanup_(close_dir) DIR *d = opendir(root);
    size_t scanned = 0, cap = 0;
    struct dirent *de;
    char e[128];
    int r;

    if (!d) {
        r = -errno;
        return opsd_errorf(err, r, "cannot list '%s': %s", root, errstr(r, e, sizeof(e)));
    }
    while (scanned < PROBE_PROC_MAX_SCAN) {
        struct probe_pid_stat st;
        uint64_t pid;
        const char *p;

        errno = 0;
        de = readdir(d);
        if (!de) {
            if (errno) {
                r = -errno;
                return opsd_errorf(err, r, "cannot list '%s': %s", root, errstr(r, e, sizeof(e)));
            }
            break;
        }
        p = de->d_name;
        if (parse_u64(&p, &pid) < 0 || *p || pid == 0 || pid > INT_MAX)
            continue;
        scanned++;
        if ((int)pid == env->self_pid)
            continue;
        /* Exited since readdir() saw it, or unreadable: not a match. */
        if (read_pid_stat(root, (int)pid, &buf, &st, NULL) < 0)
            continue;
        if (st.state == 'Z' || st.state == 'X' || st.state == 'x')
            continue;
        if (env->self_pid > 0 && st.ppid == env->self_pid)
            continue;
        if (proc_match(root, q, &st, &buf) <= 0)
            continue;
        add_match(s, &cap, &st, env->page_size);
    }
    if (s->n_match == 0) {
        bool by_name = q->name && *q->name;

        if (by_name && q->cmdline && *q->cmdline)
            snprintf(s->why, sizeof(s->why), "no process named '%s' with '%s' in its command line",
                     q->name, q->cmdline);
        else if (by_name)
            snprintf(s->why, sizeof(s->why), "no process named '%s'", q->name);
        else
            snprintf(s->why, sizeof(s->why), "no process with '%s' in its command line",
                     q->cmdline);
    }
    return 0;
}

static int cmp_pid(const void *a, const void *b)
{
    const struct probe_proc *x = a, *y = b;

    return (x->pid > y->pid) - (x->pid < y->pid);
}

int probe_proc_sample_read(const struct probe_proc_env *env, const struct probe_proc_query *q,
                           uint64_t now_ms, struct probe_proc_sample *ret, struct opsd_error *err)
{
    _cleanup_(proc_sample_release) struct probe_proc_sample s = { 0 };
    _cleanup_sbuf_ struct sbuf buf = SBUF_INIT;
    const char *root = env->proc_root ? env->proc_root : "/proc";
    const char *p;
    double up;
    int r;

    if (env->clk_tck <= 0 || env->page_size <= 0)
        return opsd_errorf(err, -EINVAL, "clock ticks and page size must be positive");
    if (!(q->pidfile && *q->pidfile) && !(q->name && *q->name) && !(q->cmdline && *q->cmdline))
        return opsd_errorf(err, -EINVAL, "a process check needs a pidfile, a name or a cmdline");

    r = probe_proc_read(root, "uptime", PROBE_PROC_FILE_MAX, &buf, err);
    if (r < 0)
        return r;
    p = buf.buf;
    r = parse_decimal(&p, &up);
    if (r < 0)
        return read_parse_failed(err, r, root, "uptime");

    if (q->pidfile && *q->pidfile)
        r = sample_pidfile(root, env, q, &s, err);
    else
        r = sample_scan(root, env, q, &s, err);
    if (r < 0)
        return r;
    if (s.n_procs > 1)
        qsort(s.procs, s.n_procs, sizeof(*s.procs), cmp_pid);
    s.valid = true;
    s.at_ms = now_ms;
    s.boot_uptime_ms = (uint64_t)(up * 1000.0 + 0.5);
    s.clk_tck = env->clk_tck;
    probe_proc_sample_clear(ret);
    *ret = s;
    probe_proc_sample_init(&s);
    return 0;
}

static const struct probe_proc *find_pid(const struct probe_proc_sample *s, int pid)
{
    const struct probe_proc key = { .pid = pid };

    if (!s->n_procs)
        return NULL;
    return bsearch(&key, s->procs, s->n_procs, sizeof(*s->procs), cmp_pid);
}

/* The oldest match: a service's parent, when it has workers. */
static const struct probe_proc *oldest(const struct probe_proc_sample *s)
{
    const struct probe_proc *best = NULL;

    for (size_t i = 0; i < s->n_procs; i++) {
        const struct probe_proc *p = &s->procs[i];

        if (!best || p->start_ticks < best->start_ticks ||
            (p->start_ticks == best->start_ticks && p->pid < best->pid))
            best = p;
    }
    return best;
}

bool probe_proc_restarted(const struct probe_proc_sample *prev, const struct probe_proc_sample *cur,
                          int *ret_old_pid, int *ret_new_pid)
{
    const struct probe_proc *was, *now, *still;

    if (!prev || !prev->valid || !cur->valid)
        return false;
    was = oldest(prev);
    now = oldest(cur);
    if (!was || !now)
        return false;
    still = find_pid(cur, was->pid);
    if (still && still->start_ticks == was->start_ticks)
        return false;
    *ret_old_pid = was->pid;
    *ret_new_pid = now->pid;
    return true;
}

/* CPU ticks the matches used between prev and cur. */
static uint64_t proc_ticks_between(const struct probe_proc_sample *prev,
                                   const struct probe_proc_sample *cur)
{
    uint64_t prev_up_ticks = prev->boot_uptime_ms * (uint64_t)cur->clk_tck / 1000, ticks = 0;

    if (!cur->procs)
        return 0;
    for (size_t i = 0; i < cur->n_procs; i++) {
        const struct probe_proc *c = &cur->procs[i], *p = find_pid(prev, c->pid);

        if (p && p->start_ticks == c->start_ticks) {
            if (c->cpu_ticks >= p->cpu_ticks)
                ticks += c->cpu_ticks - p->cpu_ticks;
        } else if (c->start_ticks >= prev_up_ticks) {
            /* Started since prev: all its time is in the interval. One that
             * is older but did not match then (it exec'd) is left out, as its
             * time before the interval cannot be told apart. */
            ticks += c->cpu_ticks;
        }
    }
    return ticks;
}

size_t probe_proc_metrics(const struct probe_proc_sample *prev, const struct probe_proc_sample *cur,
                          struct probe_host_metric *out, size_t max)
{
    struct mlist l = { .v = out, .max = max, .n = 0 };
    const struct probe_proc *o = oldest(cur);
    int a, b;

    if (!cur->valid)
        return 0;
    put(&l, "proc_count", "", NULL, NULL, (double)cur->n_match);
    put(&l, "proc_restarts", "", NULL, NULL, probe_proc_restarted(prev, cur, &a, &b) ? 1 : 0);
    if (!cur->n_match)
        return l.n;
    put(&l, "proc_rss_bytes", "B", NULL, NULL, (double)cur->rss_bytes);
    if (o) {
        double up =
            (double)cur->boot_uptime_ms / 1000.0 - (double)o->start_ticks / (double)cur->clk_tck;

        put(&l, "proc_uptime_s", "s", NULL, NULL, up > 0 ? up : 0);
    }
    if (prev && prev->valid && prev->clk_tck == cur->clk_tck && cur->at_ms > prev->at_ms) {
        double secs = (double)(cur->at_ms - prev->at_ms) / 1000.0;
        uint64_t ticks = proc_ticks_between(prev, cur);

        put(&l, "proc_cpu_pct", "%", NULL, NULL,
            100.0 * (double)ticks / (double)cur->clk_tck / secs);
    }
    return l.n;
}

void probe_proc_limits_init(struct probe_proc_limits *l)
{
    *l = (struct probe_proc_limits){
        .min_count = 1,
        .max_count = UINT_MAX,
        .cpu = { .warn = NAN, .crit = NAN },
        .rss = { .warn = NAN, .crit = NAN },
        .restart_warns = true,
    };
}

void probe_proc_evaluate(const struct probe_proc_limits *lim, const struct probe_proc_sample *prev,
                         const struct probe_proc_sample *cur, struct probe_result *r)
{
    struct probe_host_metric m[PROBE_PROC_MAX_METRICS];
    struct verdict v = { SBUF_INIT, SBUF_INIT };
    _cleanup_sbuf_ struct sbuf ok = SBUF_INIT;
    const struct probe_host_metric *cpu, *rss, *up;
    enum probe_status s;
    double level = 0;
    char a[32], b[32];
    int old_pid = 0, new_pid = 0;
    bool restarted;
    size_t n;

    if (!cur->valid) {
        r->status = PROBE_UNKNOWN;
        set_message(r, "no process sample");
        return;
    }
    n = probe_proc_metrics(prev, cur, m, ARRAY_SIZE(m));
    cpu = find_metric(m, n, "proc_cpu_pct");
    rss = find_metric(m, n, "proc_rss_bytes");
    up = find_metric(m, n, "proc_uptime_s");
    restarted = probe_proc_restarted(prev, cur, &old_pid, &new_pid);

    if (cur->n_match < lim->min_count) {
        if (cur->n_match == 0)
            verdict_add(&v, PROBE_CRITICAL, "%s", cur->why);
        else
            verdict_add(&v, PROBE_CRITICAL, "%zu process%s running, expected at least %u",
                        cur->n_match, cur->n_match == 1 ? "" : "es", lim->min_count);
    }
    if (cur->n_match > lim->max_count)
        verdict_add(&v, PROBE_CRITICAL, "%zu processes running, expected at most %u", cur->n_match,
                    lim->max_count);
    if (cpu && (s = level_reached(&lim->cpu, cpu->value, &level)) != PROBE_OK)
        verdict_add(&v, s, "cpu %.1f%% >= %s %g%%", cpu->value, level_name(s), level);
    if (rss && (s = level_reached(&lim->rss, rss->value, &level)) != PROBE_OK)
        verdict_add(&v, s, "rss %s >= %s %s", fmt_bytes(rss->value, a, sizeof(a)), level_name(s),
                    fmt_bytes(level, b, sizeof(b)));
    if (restarted && lim->restart_warns)
        verdict_add(&v, PROBE_WARNING, "restarted: pid %d -> %d", old_pid, new_pid);

    if (cur->n_match == 0) {
        /* Only reached when none are required (min_count 0). */
        sbuf_addf(&ok, "not running (%s)", cur->why);
    } else {
        sbuf_addf(&ok, "running: %zu process%s", cur->n_match, cur->n_match == 1 ? "" : "es");
        if (up && oldest(cur))
            sbuf_addf(&ok, ", pid %d up %s", oldest(cur)->pid, fmt_age(up->value, a, sizeof(a)));
        if (cpu)
            sbuf_addf(&ok, ", cpu %.1f%%", cpu->value);
        if (rss)
            sbuf_addf(&ok, ", rss %s", fmt_bytes(rss->value, a, sizeof(a)));
        if (restarted)
            sbuf_addf(&ok, ", restarted (pid %d -> %d)", old_pid, new_pid);
    }
    verdict_finish(&v, ok.buf, r);
}
