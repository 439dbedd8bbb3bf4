/* The log monitor: follows one log file with pread from a remembered offset,
 * splits what is new into lines, counts the matching ones in a sliding
 * window, and judges the count. Rotation, truncation and replacement are
 * told from the path's inode, the file's size and a fingerprint of its
 * first bytes, checked at every poll. */
#include "probe/probe.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/duration.h"
#include "util/error.h"
#include "util/xalloc.h"

/* Big enough that a busy log costs few syscalls, small enough to allocate
 * per poll: quiet logs (most of them) then hold no buffer between polls. */
#define CHUNK (256u << 10)
#define MAX_LITERALS 8
/* A window of 1 day at 1s polls still fits; beyond, polls are merged. */
#define MAX_BUCKETS 65536u
#define PATTERN_SHOWN 80 /* bytes of the pattern quoted in a message */
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

/* A compiled pattern. A plain alternation of literals ("ERROR|FATAL", the
 * common case) is matched with memmem, many times faster than regexec. */
struct matcher {
    bool literal;
    bool compiled;
    regex_t re;
    char *lit_buf; /* owned: the alternatives, NUL-separated */
    unsigned n_lit;
    const char *lit[MAX_LITERALS];
    size_t lit_len[MAX_LITERALS];
};

/* Matches counted by one poll, all seen at that poll's time. */
struct bucket {
    uint64_t ms;
    uint64_t n;
};

struct last_line {
    size_t len;
    char text[PROBE_LOG_LAST_LEN];
};

struct probe_log {
    char *path;
    char *pattern; /* as configured, for the message */
    struct matcher pat, excl;
    bool has_excl;
    enum probe_log_window window_kind;
    uint64_t window;
    uint32_t max_matches, warn_matches;
    bool from_start;
    uint64_t max_bytes, max_lines;

    /* The file. dev..fp_* describe the one followed (or restored) when known
     * is set, and stay after it is closed, for the cursor. */
    int fd;
    bool known;
    bool polled;
    bool missing_seen; /* the path was missing since: what appears is new */
    uint64_t dev, ino;
    uint64_t off; /* next byte to read */
    uint64_t fp_hash;
    uint32_t fp_len;

    /* The line not yet ended: its first PROBE_LOG_LINE_MAX bytes. */
    char *pend; /* allocated on first use */
    size_t pend_len;
    uint64_t pend_total; /* bytes of the line so far, cut ones included */

    /* Time window: a ring of per-poll buckets, oldest at ring_first. */
    struct bucket *ring;
    size_t ring_cap, ring_first, ring_len;
    uint64_t ring_sum;

    /* Line window: one bit per line of the last `window`, a ring too. */
    uint64_t *bits;
    uint64_t bit_pos, bits_sum;

    struct last_line last[PROBE_LOG_LAST_KEEP];
    unsigned last_n, last_next;

    struct probe_log_stats st;
    uint64_t prev_poll_ms;
};

/* What one poll did, and what it had to say about the file. */
struct pass {
    uint64_t bytes, lines, matches;
    char *buf;
    int err;          /* errno of a problem with the file, 0 if none */
    const char *what; /* "cannot open" ...; NULL with err for a missing file */
    bool not_regular, is_dir;
};

static void lower_first(char *s)
{
    s[0] = (char)tolower((unsigned char)s[0]);
}

static int matcher_compile(struct matcher *m, const char *pattern, bool icase, const char *what,
                           struct opsd_error *reterr)
{
    char msg[256];
    int rc;

    *m = (struct matcher){ 0 };
    if (!*pattern)
        return opsd_errorf(reterr, -EINVAL, "%s is empty", what);
    if (!icase && !strpbrk(pattern, ".[]()*+?{}^$\\")) {
        char *buf = xstrdup(pattern);
        char *s = buf;
        unsigned n = 0;
        bool ok = true;

        for (;;) {
            char *bar = strchr(s, '|');

            if (bar)
                *bar = '\0';
            if (!*s || n == MAX_LITERALS) {
                ok = false; /* an empty alternative matches everything: leave it to regcomp */
                break;
            }
            m->lit[n] = s;
            m->lit_len[n++] = strlen(s);
            if (!bar)
                break;
            s = bar + 1;
        }
        if (ok) {
            m->literal = true;
            m->lit_buf = buf;
            m->n_lit = n;
            return 0;
        }
        free(buf);
        *m = (struct matcher){ 0 };
    }
    rc = regcomp(&m->re, pattern, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));
    if (rc != 0) {
        regerror(rc, &m->re, msg, sizeof(msg));
        regfree(&m->re);
        lower_first(msg);
        return opsd_errorf(reterr, -EINVAL, "invalid %s '%s': %s", what, pattern, msg);
    }
    m->compiled = true;
    return 0;
}

static void matcher_free(struct matcher *m)
{
    if (m->compiled)
        regfree(&m->re);
    free(m->lit_buf);
    *m = (struct matcher){ 0 };
}

static bool matcher_match(const struct matcher *m, const char *s, size_t n)
{
    if (m->literal) {
        for (unsigned i = 0; i < m->n_lit; i++)
            if (memmem(s, n, m->lit[i], m->lit_len[i]))
                return true;
        return false;
    }
    /* REG_STARTEND: the line needs no NUL terminator, and a NUL inside it is
     * just a byte, not its end. */
    regmatch_t pm = { .rm_so = 0, .rm_eo = (regoff_t)n };

    return regexec(&m->re, s, 1, &pm, REG_STARTEND) == 0;
}

int probe_log_pattern_check(const char *pattern, bool ignore_case, struct opsd_error *reterr)
{
    struct matcher m;
    int r;

    /* The literal shortcut would skip regcomp's verdict: ask it anyway. */
    r = matcher_compile(&m, pattern, true, "pattern", reterr);
    if (r < 0)
        return r;
    matcher_free(&m);
    (void)ignore_case; /* REG_ICASE changes no verdict on syntax */
    return 0;
}

int probe_log_new(const struct probe_log_config *cfg, struct probe_log **ret,
                  struct opsd_error *reterr)
{
    struct probe_log *w;
    int r;

    if (!cfg->path || !*cfg->path)
        return opsd_errorf(reterr, -EINVAL, "log path is empty");
    if (!cfg->pattern)
        return opsd_errorf(reterr, -EINVAL, "log pattern is missing");
    if (cfg->window == 0)
        return opsd_errorf(reterr, -EINVAL, "log window must be above 0");
    if (cfg->window_kind != PROBE_LOG_WINDOW_TIME && cfg->window_kind != PROBE_LOG_WINDOW_LINES)
        return opsd_errorf(reterr, -EINVAL, "unknown log window kind %d", (int)cfg->window_kind);
    if (cfg->window_kind == PROBE_LOG_WINDOW_LINES && cfg->window > PROBE_LOG_MAX_WINDOW_LINES)
        return opsd_errorf(reterr, -EINVAL,
                           "log window of %" PRIu64 " lines is above the %d maximum", cfg->window,
                           PROBE_LOG_MAX_WINDOW_LINES);
    if (cfg->warn_matches != PROBE_LOG_NO_WARN && cfg->warn_matches >= cfg->max_matches)
        return opsd_errorf(reterr, -EINVAL,
                           "warn_matches (%" PRIu32 ") must be below max_matches (%" PRIu32 ")",
                           cfg->warn_matches, cfg->max_matches);

    w = xcalloc(1, sizeof(*w));
    w->fd = -1;
    r = matcher_compile(&w->pat, cfg->pattern, cfg->ignore_case, "pattern", reterr);
    if (r < 0)
        goto fail;
    if (cfg->exclude && *cfg->exclude) {
        r = matcher_compile(&w->excl, cfg->exclude, cfg->ignore_case, "exclude pattern", reterr);
        if (r < 0)
            goto fail;
        w->has_excl = true;
    }
    w->path = xstrdup(cfg->path);
    w->pattern = xstrdup(cfg->pattern);
    w->window_kind = cfg->window_kind;
    w->window = cfg->window;
    w->max_matches = cfg->max_matches;
    w->warn_matches = cfg->warn_matches;
    w->from_start = cfg->from_start;
    w->max_bytes = cfg->max_bytes_per_poll ? cfg->max_bytes_per_poll : PROBE_LOG_MAX_BYTES_PER_POLL;
    w->max_lines = cfg->max_lines_per_poll ? cfg->max_lines_per_poll : PROBE_LOG_MAX_LINES_PER_POLL;
    if (w->window_kind == PROBE_LOG_WINDOW_LINES)
        w->bits = xcalloc((size_t)((w->window + 63) / 64), sizeof(uint64_t));
    *ret = w;
    return 0;

fail:
    probe_log_free(w);
    return r;
}

struct probe_log *probe_log_free(struct probe_log *w)
{
    if (!w)
        return NULL;
    if (w->fd >= 0)
        close(w->fd);
    matcher_free(&w->pat);
    matcher_free(&w->excl);
    free(w->path);
    free(w->pattern);
    free(w->pend);
    free(w->ring);
    free(w->bits);
    free(w);
    return NULL;
}

/* ---- lines ---- */

static void keep_last(struct probe_log *w, const char *s, size_t n)
{
    struct last_line *l = &w->last[w->last_next];

    l->len = MIN(n, sizeof(l->text));
    memcpy(l->text, s, l->len);
    w->last_next = (w->last_next + 1) % PROBE_LOG_LAST_KEEP;
    if (w->last_n < PROBE_LOG_LAST_KEEP)
        w->last_n++;
}

static void take_line(struct probe_log *w, struct pass *p, const char *s, size_t n)
{
    bool hit;

    if (n > PROBE_LOG_LINE_MAX)
        n = PROBE_LOG_LINE_MAX;
    else if (n > 0 && s[n - 1] == '\r')
        n--;
    hit = matcher_match(&w->pat, s, n) && !(w->has_excl && matcher_match(&w->excl, s, n));
    p->lines++;
    if (hit) {
        p->matches++;
        keep_last(w, s, n);
    }
    if (w->bits) {
        uint64_t *word = &w->bits[w->bit_pos / 64];
        uint64_t bit = 1ull << (w->bit_pos % 64);

        w->bits_sum -= (*word & bit) != 0;
        if (hit)
            *word |= bit;
        else
            *word &= ~bit;
        w->bits_sum += hit;
        if (++w->bit_pos == w->window)
            w->bit_pos = 0;
    }
}

static void pend_add(struct probe_log *w, const char *s, size_t n)
{
    size_t k = MIN(n, PROBE_LOG_LINE_MAX - w->pend_len);

    if (!w->pend)
        w->pend = xmalloc(PROBE_LOG_LINE_MAX);
    memcpy(w->pend + w->pend_len, s, k);
    w->pend_len += k;
    w->pend_total += n;
}

/* The file ended (rotated, truncated, gone): an unfinished last line is
 * still a line somebody wrote. */
static void pend_flush(struct probe_log *w, struct pass *p)
{
    if (w->pend_total)
        take_line(w, p, w->pend, w->pend_len);
    w->pend_len = 0;
    w->pend_total = 0;
}

static void feed(struct probe_log *w, struct pass *p, const char *s, size_t n)
{
    const char *end = s + n;

    while (s < end) {
        const char *nl;

        if (w->pend_total == 0) {
            /* copytruncate under a writer without O_APPEND leaves a hole of
             * NULs up to the writer's old offset: nobody's line. */
            while (s < end && *s == '\0')
                s++;
            if (s == end)
                break;
        }
        nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl) {
            pend_add(w, s, (size_t)(end - s));
            break;
        }
        if (w->pend_total) {
            pend_add(w, s, (size_t)(nl - s));
            pend_flush(w, p);
        } else {
            take_line(w, p, s, (size_t)(nl - s));
        }
        s = nl + 1;
    }
}

/* ---- the file ---- */

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *s = data;

    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= FNV_PRIME;
    }
    return h;
}

static int read_full(int fd, char *buf, size_t n, uint64_t off, size_t *ret_len)
{
    size_t got = 0;

    while (got < n) {
        ssize_t k = pread(fd, buf + got, n - got, (off_t)(off + got));

        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        if (k == 0)
            break;
        got += (size_t)k;
    }
    *ret_len = got;
    return 0;
}

/* Checks that the file (of that size) still starts with the fingerprinted
 * bytes, and extends the fingerprint to what it now has. Returns 1 if it
 * does, 0 if not (fingerprint left alone), -errno if unreadable. */
static int fp_check(struct probe_log *w, int fd, uint64_t size)
{
    char buf[PROBE_LOG_FP_LEN];
    size_t n = 0;
    int r;

    if (size < w->fp_len)
        return 0;
    r = read_full(fd, buf, (size_t)MIN(size, (uint64_t)sizeof(buf)), 0, &n);
    if (r < 0)
        return r;
    if (n < w->fp_len || fnv1a(FNV_OFFSET, buf, w->fp_len) != w->fp_hash)
        return 0;
    w->fp_hash = fnv1a(w->fp_hash, buf + w->fp_len, n - w->fp_len);
    w->fp_len = (uint32_t)n;
    return 1;
}

static void fp_reset(struct probe_log *w)
{
    w->fp_hash = FNV_OFFSET;
    w->fp_len = 0;
}

/* Reads from w->off up to the poll's bound. Returns 0 at the end of the
 * file, 1 at the bound, -errno on a read error. */
static int read_more(struct probe_log *w, struct pass *p)
{
    for (;;) {
        size_t want;
        ssize_t k;

        if (p->bytes >= w->max_bytes || p->lines >= w->max_lines)
            return 1;
        want = (size_t)MIN((uint64_t)CHUNK, w->max_bytes - p->bytes);
        if (!p->buf)
            p->buf = xmalloc(CHUNK);
        k = pread(w->fd, p->buf, want, (off_t)w->off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        if (k == 0)
            return 0;
        feed(w, p, p->buf, (size_t)k);
        w->off += (uint64_t)k;
        p->bytes += (uint64_t)k;
        /* A regular file reads short only at its end: spare the extra call. */
        if ((size_t)k < want)
            return 0;
    }
}

static void close_file(struct probe_log *w, struct pass *p)
{
    pend_flush(w, p);
    close(w->fd);
    w->fd = -1;
}

static void problem(struct pass *p, int err, const char *what)
{
    p->err = err;
    p->what = what;
}

/* Reads on in the file the path still names, first starting over if it was
 * truncated or rewritten under us. */
static int read_same(struct probe_log *w, struct pass *p)
{
    struct stat st;
    int r;

    if (fstat(w->fd, &st) < 0) {
        problem(p, errno, "cannot stat");
        return 0;
    }
    r = (uint64_t)st.st_size < w->off ? 0 : fp_check(w, w->fd, (uint64_t)st.st_size);
    if (r < 0) {
        problem(p, -r, "cannot read");
        return 0;
    }
    if (r == 0) {
        pend_flush(w, p);
        w->off = 0;
        fp_reset(w);
        (void)fp_check(w, w->fd, (uint64_t)st.st_size);
        w->st.truncations++;
    }
    r = read_more(w, p);
    if (r < 0) {
        problem(p, -r, "cannot read");
        return 0;
    }
    return r;
}

/* Opens the path. is_new: it replaced the file we followed, so all of it is
 * unread. Returns like read_more, problems go to p. */
static int open_file(struct probe_log *w, struct pass *p, bool is_new)
{
    struct stat st;
    uint64_t size, start;
    int fd, r;
    bool resume = false;

    fd = open(w->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            w->missing_seen = true;
            problem(p, ENOENT, NULL);
        } else {
            problem(p, errno, "cannot open");
        }
        return 0;
    }
    if (fstat(fd, &st) < 0) {
        problem(p, errno, "cannot stat");
        close(fd);
        return 0;
    }
    if (!S_ISREG(st.st_mode)) {
        /* A FIFO or a device would block a worker or never end. */
        p->not_regular = true;
        p->is_dir = S_ISDIR(st.st_mode);
        problem(p, EINVAL, NULL);
        close(fd);
        return 0;
    }
    size = (uint64_t)st.st_size;

    if (!is_new && !w->missing_seen && w->known && (uint64_t)st.st_dev == w->dev &&
        (uint64_t)st.st_ino == w->ino && size >= w->off) {
        r = fp_check(w, fd, size);
        if (r < 0) {
            problem(p, -r, "cannot read");
            close(fd);
            return 0;
        }
        resume = r == 1;
    }
    if (resume)
        start = w->off;
    else if (!is_new && !w->missing_seen && !w->known && !w->from_start)
        start = size; /* the history before opsd watched is not news */
    else
        start = 0;
    if (!resume) {
        uint64_t old_hash = w->fp_hash;
        uint32_t old_len = w->fp_len;

        fp_reset(w);
        r = fp_check(w, fd, size);
        if (r < 0) {
            /* the cursor still describes the file followed before */
            w->fp_hash = old_hash;
            w->fp_len = old_len;
            problem(p, -r, "cannot read");
            close(fd);
            return 0;
        }
    }
    w->fd = fd;
    w->dev = (uint64_t)st.st_dev;
    w->ino = (uint64_t)st.st_ino;
    w->off = start;
    w->known = true;
    w->missing_seen = false;
    w->pend_len = 0;
    w->pend_total = 0;

    r = read_more(w, p);
    if (r < 0) {
        problem(p, -r, "cannot read");
        return 0;
    }
    return r;
}

/* Returns 1 when stopped at the bound with more to read, else 0. */
static int follow(struct probe_log *w, struct pass *p)
{
    struct stat st;
    int r;

    if (w->fd < 0)
        return open_file(w, p, false);

    if (stat(w->path, &st) < 0) {
        if (errno != ENOENT && errno != ENOTDIR) {
            /* Can't tell whether the path still names our file (a directory
             * lost its x bit?): the open one is still worth reading. */
            int e = errno;

            r = read_same(w, p);
            if (!p->err)
                problem(p, e, "cannot stat");
            return r;
        }
        /* Deleted: what the writer put in before is still ours. Once read,
         * let go: holding a deleted file open keeps its disk space taken. */
        r = read_more(w, p);
        if (r == 1)
            return 1;
        close_file(w, p);
        w->missing_seen = true;
        problem(p, ENOENT, NULL);
        return 0;
    }
    if ((uint64_t)st.st_dev == w->dev && (uint64_t)st.st_ino == w->ino)
        return read_same(w, p);

    /* Rotated or replaced: finish the old file first. A read error there
     * cannot be retried usefully, so it just ends the old file. */
    r = read_more(w, p);
    if (r == 1)
        return 1;
    close_file(w, p);
    w->st.rotations++;
    return open_file(w, p, true);
}

/* ---- the window ---- */

static void ring_add(struct probe_log *w, uint64_t now_ms, uint64_t n)
{
    struct bucket *newest;

    if (n == 0)
        return;
    w->ring_sum += n;
    newest = w->ring_len ? &w->ring[(w->ring_first + w->ring_len - 1) % w->ring_cap] : NULL;
    if (newest && newest->ms == now_ms) {
        newest->n += n;
        return;
    }
    if (w->ring_len == w->ring_cap && w->ring_cap >= MAX_BUCKETS) {
        /* Full: the newest bucket takes these too, and they expire with
         * it a little late rather than early. */
        newest->n += n;
        newest->ms = MAX(newest->ms, now_ms);
        return;
    }
    if (w->ring_len == w->ring_cap) {
        size_t cap = w->ring_cap ? w->ring_cap * 2 : 16;
        struct bucket *b = xmalloc(cap * sizeof(*b));

        for (size_t i = 0; i < w->ring_len; i++)
            b[i] = w->ring[(w->ring_first + i) % w->ring_cap];
        free(w->ring);
        w->ring = b;
        w->ring_cap = cap;
        w->ring_first = 0;
    }
    w->ring[(w->ring_first + w->ring_len) % w->ring_cap] = (struct bucket){ now_ms, n };
    w->ring_len++;
}

static void ring_expire(struct probe_log *w, uint64_t now_ms)
{
    while (w->ring_len) {
        struct bucket *b = &w->ring[w->ring_first];

        /* Written so that a clock stepped back keeps matches, not drops them. */
        if (b->ms >= now_ms || now_ms - b->ms < w->window)
            break;
        w->ring_sum -= b->n;
        w->ring_first = (w->ring_first + 1) % w->ring_cap;
        w->ring_len--;
    }
}

uint64_t probe_log_window_count(const struct probe_log *w)
{
    return w->window_kind == PROBE_LOG_WINDOW_LINES ? w->bits_sum : w->ring_sum;
}

/* ---- the result ---- */

static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;

    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4;
    else
        return 0;
    if (s[0] == 0xe0)
        lo = 0xa0;
    else if (s[0] == 0xed)
        hi = 0x9f; /* no surrogates */
    else if (s[0] == 0xf0)
        lo = 0x90;
    else if (s[0] == 0xf4)
        hi = 0x8f;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

/* Whether s (n bytes, the rest of a string) is the start of a valid
 * multi-byte character that ran out of bytes. */
static bool cut_at_end(const unsigned char *s, size_t n)
{
    unsigned char full[4] = { 0x80, 0x80, 0x80, 0x80 };

    if (n >= 4 || s[0] < 0xc2)
        return false;
    if (s[0] == 0xe0)
        full[1] = 0xa0;
    else if (s[0] == 0xf0)
        full[1] = 0x90;
    memcpy(full, s, n);
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return false;
    /* complete it with continuation bytes; E0/F0/ED/F4 limits still apply */
    return utf8_seq(full, 4) > n;
}

/* Copies s into out (room for n + 1) as valid UTF-8 without control
 * characters: a log line may hold any byte, a result goes out as JSON. */
static void sanitize(char *out, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0;

    while (i < n) {
        size_t k;

        if (u[i] >= 0x20 && u[i] < 0x7f) {
            out[o++] = (char)u[i++];
            continue;
        }
        k = u[i] >= 0x80 ? utf8_seq(u + i, n - i) : 0;
        if (!k && cut_at_end(u + i, n - i))
            break; /* a character cut by a cap: drop it, not show it as ?? */
        if (k) {
            memcpy(out + o, u + i, k);
            o += k;
            i += k;
        } else {
            out[o++] = u[i] == '\t' ? ' ' : '?';
            i++;
        }
    }
    out[o] = '\0';
}

/* Cuts a multi-byte character that snprintf's truncation left incomplete. */
static void utf8_trim(char *s)
{
    size_t n = strlen(s), i = n;

    while (i > 0 && n - i < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
        i--;
    if (i > 0 && (unsigned char)s[i - 1] >= 0xc0 &&
        utf8_seq((const unsigned char *)s + i - 1, n - i + 1) != n - i + 1)
        s[i - 1] = '\0';
}

static const char *format_bytes(uint64_t v, char *buf, size_t n)
{
    if (v >= (1ull << 30))
        snprintf(buf, n, "%.1f GiB", (double)v / (double)(1ull << 30));
    else if (v >= (1ull << 20))
        snprintf(buf, n, "%.1f MiB", (double)v / (double)(1ull << 20));
    else if (v >= 1024)
        snprintf(buf, n, "%.1f KiB", (double)v / 1024.0);
    else
        snprintf(buf, n, "%" PRIu64 " bytes", v);
    return buf;
}

static void describe_problem(const struct probe_log *w, const struct pass *p, char *buf, size_t n)
{
    char err[128];
    const char *desc;

    if (p->not_regular) {
        snprintf(buf, n, "'%s' is %s", w->path, p->is_dir ? "a directory" : "not a regular file");
        return;
    }
    if (!p->what) {
        snprintf(buf, n, "file missing: '%s'", w->path);
        return;
    }
    desc = strerrordesc_np(p->err);
    snprintf(err, sizeof(err), "%s", desc ? desc : "unknown error");
    lower_first(err);
    snprintf(buf, n, "%s '%s': %s", p->what, w->path, err);
}

static void evaluate(const struct probe_log *w, const struct pass *p, struct probe_result *r)
{
    char prob[OPSD_MAX_MESSAGE], pat[PATTERN_SHOWN + 1], win[48], thr[64], behind[48];
    char line[PROBE_LOG_LAST_LEN + 1];
    uint64_t count = probe_log_window_count(w);
    const char *last = NULL;
    size_t last_len = 0;

    if (count > w->max_matches)
        r->status = PROBE_CRITICAL;
    else if (w->warn_matches != PROBE_LOG_NO_WARN && count > w->warn_matches)
        r->status = PROBE_WARNING;
    else
        r->status = PROBE_OK;
    prob[0] = '\0';
    if (p->err) {
        describe_problem(w, p, prob, sizeof(prob));
        if (r->status != PROBE_CRITICAL)
            r->status = PROBE_UNKNOWN;
    }

    sanitize(pat, w->pattern, MIN(strlen(w->pattern), (size_t)PATTERN_SHOWN));
    if (w->window_kind == PROBE_LOG_WINDOW_LINES) {
        snprintf(win, sizeof(win), "%" PRIu64 " lines", w->window);
    } else {
        char d[32];

        snprintf(win, sizeof(win), "%s", duration_format(w->window, d, sizeof(d)));
    }
    if (w->warn_matches != PROBE_LOG_NO_WARN)
        snprintf(thr, sizeof(thr), "warn %" PRIu32 ", max %" PRIu32, w->warn_matches,
                 w->max_matches);
    else
        snprintf(thr, sizeof(thr), "max %" PRIu32, w->max_matches);
    behind[0] = '\0';
    if (w->st.behind_bytes) {
        char b[32];

        snprintf(behind, sizeof(behind), "; %s behind",
                 format_bytes(w->st.behind_bytes, b, sizeof(b)));
    }
    if (count > 0)
        last = probe_log_last_match(w, 0, &last_len);
    if (last)
        sanitize(line, last, last_len);

    /* The problem leads when it is the verdict; the matched line goes last,
     * where the message's cap cuts it rather than anything else. */
    snprintf(r->message, sizeof(r->message),
             "%s%s%" PRIu64 " line%s matching '%s' in the last %s (%s)%s%s%s%s%s",
             r->status == PROBE_UNKNOWN ? prob : "", r->status == PROBE_UNKNOWN ? "; " : "", count,
             count == 1 ? "" : "s", pat, win, thr, r->status != PROBE_UNKNOWN && *prob ? "; " : "",
             r->status != PROBE_UNKNOWN ? prob : "", behind, last ? "; last: " : "",
             last ? line : "");
    utf8_trim(r->message);
}

int probe_log_poll(struct probe_log *w, uint64_t now_ms, struct probe_result *r)
{
    struct pass p = { 0 };
    int more;

    more = follow(w, &p);
    if (more == 1 && w->fd >= 0) {
        struct stat st;

        /* The bound may fall exactly on the end: only what's left counts. */
        if (fstat(w->fd, &st) < 0)
            w->st.behind_bytes = 0;
        else if ((uint64_t)st.st_size <= w->off)
            more = 0;
        else
            w->st.behind_bytes = (uint64_t)st.st_size - w->off;
    }
    if (more != 1)
        w->st.behind_bytes = 0;
    free(p.buf);

    if (w->window_kind == PROBE_LOG_WINDOW_TIME) {
        ring_add(w, now_ms, p.matches);
        ring_expire(w, now_ms);
    }
    w->st.lines += p.lines;
    w->st.matches += p.matches;
    w->st.bytes += p.bytes;
    w->st.bytes_per_s =
        w->st.polls && now_ms > w->prev_poll_ms ? p.bytes * 1000 / (now_ms - w->prev_poll_ms) : 0;
    w->st.polls++;
    w->prev_poll_ms = now_ms;
    w->polled = true;

    evaluate(w, &p, r);
    return more == 1;
}

void probe_log_get_stats(const struct probe_log *w, struct probe_log_stats *ret)
{
    *ret = w->st;
}

const char *probe_log_last_match(const struct probe_log *w, unsigned i, size_t *ret_len)
{
    const struct last_line *l;

    if (i >= w->last_n)
        return NULL;
    l = &w->last[(w->last_next + PROBE_LOG_LAST_KEEP - 1 - i) % PROBE_LOG_LAST_KEEP];
    *ret_len = l->len;
    return l->text;
}

/* ---- the cursor ---- */

int probe_log_restore(struct probe_log *w, const struct probe_log_cursor *c)
{
    if (w->polled)
        return -EBUSY;
    if (c->fp_len > PROBE_LOG_FP_LEN)
        return -EINVAL;
    w->known = true;
    w->dev = c->dev;
    w->ino = c->ino;
    w->off = c->offset;
    w->fp_hash = c->fp_hash;
    w->fp_len = c->fp_len;
    /* A path missing when stored: whatever appears since is new. */
    w->missing_seen = c->dev == 0 && c->ino == 0;
    return 0;
}

int probe_log_cursor_get(const struct probe_log *w, struct probe_log_cursor *ret)
{
    if (w->fd < 0 && w->missing_seen) {
        *ret = (struct probe_log_cursor){ 0 };
        return 0;
    }
    if (!w->known)
        return -ENODATA;
    *ret = (struct probe_log_cursor){
        .dev = w->dev,
        .ino = w->ino,
        /* The unfinished line is read again from its start. */
        .offset = w->off - w->pend_total,
        .fp_hash = w->fp_hash,
        .fp_len = w->fp_len,
    };
    return 0;
}

const char *probe_log_cursor_format(const struct probe_log_cursor *c, char *buf, size_t n)
{
    snprintf(buf, n, "v1:%" PRIu64 ":%" PRIu64 ":%" PRIu64 ":%016" PRIx64 ":%" PRIu32, c->dev,
             c->ino, c->offset, c->fp_hash, c->fp_len);
    return buf;
}

/* One field: digits of that base, then sep. */
static int parse_field(const char **s, int base, char sep, uint64_t *ret)
{
    char *end;
    unsigned long long v;

    if (!isxdigit((unsigned char)**s) || (base == 10 && !isdigit((unsigned char)**s)))
        return -EINVAL;
    errno = 0;
    v = strtoull(*s, &end, base);
    if (errno || *end != sep)
        return -EINVAL;
    *ret = v;
    *s = sep ? end + 1 : end;
    return 0;
}

int probe_log_cursor_parse(const char *s, struct probe_log_cursor *ret)
{
    struct probe_log_cursor c;
    uint64_t fp_len;

    if (strncmp(s, "v1:", 3) != 0)
        return -EINVAL;
    s += 3;
    if (parse_field(&s, 10, ':', &c.dev) < 0 || parse_field(&s, 10, ':', &c.ino) < 0 ||
        parse_field(&s, 10, ':', &c.offset) < 0 || parse_field(&s, 16, ':', &c.fp_hash) < 0 ||
        parse_field(&s, 10, '\0', &fp_len) < 0 || fp_len > PROBE_LOG_FP_LEN)
        return -EINVAL;
    c.fp_len = (uint32_t)fp_len;
    *ret = c;
    return 0;
}
