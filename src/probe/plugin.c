/* The `exec` monitor type without I/O: command splitting, and judging a
 * Nagios-style plugin's exit and output (message, long text, perfdata). */
#include "probe/plugin.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/duration.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

/* ---- command splitting ---- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n';
}

/* Characters that would make /bin/sh pipe, redirect, background or group. */
static bool is_operator(char c)
{
    return c && strchr("|&;<>()", c) != NULL;
}

int probe_plugin_split(const char *cmd, char ***ret_argv, size_t *ret_argc,
                       struct opsd_error *reterr)
{
    size_t starts[PROBE_PLUGIN_MAX_ARGS];
    _cleanup_free_ char *words = NULL; /* the words, each NUL-terminated */
    size_t len, n = 0, argc = 0, i = 0;
    bool in_word = false;
    char **argv;

    len = strnlen(cmd, PROBE_PLUGIN_MAX_COMMAND + 1);
    if (len > PROBE_PLUGIN_MAX_COMMAND)
        return opsd_errorf(reterr, -E2BIG, "command is longer than %d bytes",
                           PROBE_PLUGIN_MAX_COMMAND);
    /* Unquoting never lengthens text, so the words fit in len + 1 bytes
     * (one NUL per word replaces at least one blank or the end). */
    words = xmalloc(len + 1);

    while (i < len) {
        char c = cmd[i];

        if (is_blank(c)) {
            if (in_word) {
                words[n++] = '\0';
                in_word = false;
            }
            i++;
            continue;
        }
        if (c == '\\' && cmd[i + 1] == '\n') { /* line continuation: joins */
            i += 2;
            continue;
        }
        if (is_operator(c))
            return opsd_errorf(reterr, -EINVAL,
                               "unquoted '%c' at column %zu: commands run without a shell, so "
                               "quote or escape it to pass it to the plugin",
                               c, i + 1);
        if (!in_word) {
            if (argc == PROBE_PLUGIN_MAX_ARGS)
                return opsd_errorf(reterr, -E2BIG, "more than %d arguments", PROBE_PLUGIN_MAX_ARGS);
            starts[argc++] = n;
            in_word = true;
        }
        if (c == '\\') {
            if (i + 1 == len)
                return opsd_errorf(reterr, -EINVAL,
                                   "trailing backslash at column %zu (nothing to escape)", i + 1);
            words[n++] = cmd[i + 1];
            i += 2;
        } else if (c == '\'') {
            const char *end = memchr(cmd + i + 1, '\'', len - i - 1);

            if (!end)
                return opsd_errorf(reterr, -EINVAL,
                                   "unterminated single quote (opened at column %zu)", i + 1);
            memcpy(words + n, cmd + i + 1, (size_t)(end - cmd) - i - 1);
            n += (size_t)(end - cmd) - i - 1;
            i = (size_t)(end - cmd) + 1;
        } else if (c == '"') {
            size_t open = i++;

            while (i < len && cmd[i] != '"') {
                if (cmd[i] == '\\' && i + 1 < len && strchr("\"\\$`\n", cmd[i + 1])) {
                    if (cmd[i + 1] != '\n')
                        words[n++] = cmd[i + 1];
                    i += 2;
                } else {
                    words[n++] = cmd[i++];
                }
            }
            if (i == len)
                return opsd_errorf(reterr, -EINVAL,
                                   "unterminated double quote (opened at column %zu)", open + 1);
            i++;
        } else {
            words[n++] = c;
            i++;
        }
        if (n - starts[argc - 1] > PROBE_PLUGIN_MAX_ARG)
            return opsd_errorf(reterr, -E2BIG, "argument %zu is longer than %d bytes", argc,
                               PROBE_PLUGIN_MAX_ARG);
    }
    if (in_word)
        words[n++] = '\0';
    if (argc == 0)
        return opsd_errorf(reterr, -EINVAL, "empty command");
    if (words[starts[0]] == '\0')
        return opsd_errorf(reterr, -EINVAL, "the program name is empty");

    /* One block, pointers then strings, so the caller has one thing to free. */
    argv = xmalloc((argc + 1) * sizeof(*argv) + n);
    memcpy(argv + argc + 1, words, n);
    for (size_t k = 0; k < argc; k++)
        argv[k] = (char *)(argv + argc + 1) + starts[k];
    argv[argc] = NULL;
    *ret_argv = argv;
    if (ret_argc)
        *ret_argc = argc;
    return 0;
}

/* ---- perfdata ---- */

static const char *const unit_names[] = {
    "none", "seconds", "percent", "bytes", "counter", "other"
};

const char *probe_perf_unit_to_string(enum probe_perf_unit u)
{
    return (unsigned)u < ARRAY_SIZE(unit_names) ? unit_names[u] : "other";
}

bool probe_perf_range_alert(const struct probe_perf_range *r, double base)
{
    bool within;

    if (!r->set)
        return false;
    within = base >= r->start && base <= r->end;
    return r->inside ? within : !within;
}

#define KIB 1024.0
/* Units of the guidelines and the variants plugins print. KB..TB are powers
 * of 1024: that is what check_disk and check_swap meant by them while they
 * printed them (before 2.3 switched to B), and how Icinga 2 reads them. */
static const struct {
    const char *name;
    enum probe_perf_unit unit;
    double scale;
} uoms[] = {
    { "", PROBE_PERF_NONE, 1 },
    { "s", PROBE_PERF_SECONDS, 1 },
    { "ms", PROBE_PERF_SECONDS, 1e-3 },
    { "us", PROBE_PERF_SECONDS, 1e-6 },
    { "\xc2\xb5s", PROBE_PERF_SECONDS, 1e-6 }, /* MICRO SIGN */
    { "\xce\xbcs", PROBE_PERF_SECONDS, 1e-6 }, /* GREEK SMALL LETTER MU */
    { "ns", PROBE_PERF_SECONDS, 1e-9 },
    { "%", PROBE_PERF_PERCENT, 1 },
    { "B", PROBE_PERF_BYTES, 1 },
    { "KB", PROBE_PERF_BYTES, KIB },
    { "kB", PROBE_PERF_BYTES, KIB },
    { "MB", PROBE_PERF_BYTES, KIB *KIB },
    { "GB", PROBE_PERF_BYTES, KIB *KIB *KIB },
    { "TB", PROBE_PERF_BYTES, KIB *KIB *KIB *KIB },
    { "PB", PROBE_PERF_BYTES, KIB *KIB *KIB *KIB *KIB },
    { "KiB", PROBE_PERF_BYTES, KIB },
    { "MiB", PROBE_PERF_BYTES, KIB *KIB },
    { "GiB", PROBE_PERF_BYTES, KIB *KIB *KIB },
    { "TiB", PROBE_PERF_BYTES, KIB *KIB *KIB *KIB },
    { "PiB", PROBE_PERF_BYTES, KIB *KIB *KIB *KIB *KIB },
    { "c", PROBE_PERF_COUNTER, 1 },
};

/* A text span: perfdata is cut up in place, never copied per field. */
struct span {
    const char *p;
    size_t n;
};

/* Parses all of s as a number: [+-]digits[.digits][e[+-]digits]. A decimal
 * comma is taken too: plugins run under a de_DE-style locale print one. No
 * inf, nan or hex (strtod alone would take them). */
static bool parse_number(struct span s, double *ret)
{
    char buf[64];
    size_t i = 0, digits = 0;
    char *end;
    double v;

    if (s.n == 0 || s.n >= sizeof(buf))
        return false;
    memcpy(buf, s.p, s.n);
    buf[s.n] = '\0';
    if (buf[i] == '+' || buf[i] == '-')
        i++;
    for (; buf[i] >= '0' && buf[i] <= '9'; i++)
        digits++;
    if (buf[i] == '.' || buf[i] == ',') {
        buf[i++] = '.';
        for (; buf[i] >= '0' && buf[i] <= '9'; i++)
            digits++;
    }
    if (!digits)
        return false;
    if (buf[i] == 'e' || buf[i] == 'E') {
        size_t exp_digits = 0;

        i++;
        if (buf[i] == '+' || buf[i] == '-')
            i++;
        for (; buf[i] >= '0' && buf[i] <= '9'; i++)
            exp_digits++;
        if (!exp_digits)
            return false;
    }
    if (i != s.n)
        return false;
    /* opsd never calls setlocale(), so strtod's decimal point is '.'. */
    v = strtod(buf, &end);
    if (*end || !isfinite(v))
        return false;
    *ret = v;
    return true;
}

/* The length of the number at the start of s (for "12.5MB"), by the grammar
 * of parse_number; 0 if there is none. */
static size_t number_prefix(struct span s)
{
    size_t i = 0, digits = 0;

    if (i < s.n && (s.p[i] == '+' || s.p[i] == '-'))
        i++;
    for (; i < s.n && s.p[i] >= '0' && s.p[i] <= '9'; i++)
        digits++;
    if (i < s.n && (s.p[i] == '.' || s.p[i] == ',')) {
        i++;
        for (; i < s.n && s.p[i] >= '0' && s.p[i] <= '9'; i++)
            digits++;
    }
    if (!digits)
        return 0;
    if (i < s.n && (s.p[i] == 'e' || s.p[i] == 'E')) {
        size_t j = i + 1, exp_digits = 0;

        if (j < s.n && (s.p[j] == '+' || s.p[j] == '-'))
            j++;
        for (; j < s.n && s.p[j] >= '0' && s.p[j] <= '9'; j++)
            exp_digits++;
        if (exp_digits) /* else the 'e' starts the unit */
            i = j;
    }
    return i;
}

/* A unit outside the table is kept if it looks like one: letters, '/', or
 * UTF-8 (degree signs), with no digits or punctuation that would make
 * "12.5.3" or "1x2" pass. */
static bool uom_ok(struct span u, enum probe_perf_unit *ret_unit, double *ret_scale)
{
    if (u.n > PROBE_PLUGIN_MAX_UOM)
        return false;
    for (size_t i = 0; i < ARRAY_SIZE(uoms); i++) {
        if (strlen(uoms[i].name) == u.n && memcmp(uoms[i].name, u.p, u.n) == 0) {
            *ret_unit = uoms[i].unit;
            *ret_scale = uoms[i].scale;
            return true;
        }
    }
    for (size_t i = 0; i < u.n; i++) {
        unsigned char c = (unsigned char)u.p[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '/' || c >= 0x80))
            return false;
    }
    *ret_unit = PROBE_PERF_OTHER;
    *ret_scale = 1;
    return true;
}

/* "[@][start:][end]", as the plugins' own threshold parser reads it: "10"
 * is 0..10, "10:" is 10..inf, "~:10" is -inf..10, an empty start is 0. */
static bool parse_range(struct span s, double scale, struct probe_perf_range *ret)
{
    struct probe_perf_range r = { .set = true, .start = 0, .end = INFINITY };
    const char *colon;

    if (s.n == 0) {
        *ret = (struct probe_perf_range){ 0 };
        return true;
    }
    if (s.p[0] == '@') {
        r.inside = true;
        s.p++;
        s.n--;
    }
    colon = memchr(s.p, ':', s.n);
    if (colon) {
        struct span a = { s.p, (size_t)(colon - s.p) };
        struct span b = { colon + 1, s.n - a.n - 1 };

        if (a.n == 1 && a.p[0] == '~')
            r.start = -INFINITY;
        else if (a.n && !parse_number(a, &r.start))
            return false;
        if (b.n && !parse_number(b, &r.end))
            return false;
    } else if (!parse_number(s, &r.end)) {
        return false;
    }
    if (r.start > r.end)
        return false;
    /* A finite bound that overflows in base units would read as no bound. */
    if ((isfinite(r.start) && !isfinite(r.start * scale)) ||
        (isfinite(r.end) && !isfinite(r.end * scale)))
        return false;
    r.start *= scale;
    r.end *= scale;
    *ret = r;
    return true;
}

static bool parse_plain(struct span s, double scale, bool *ret_has, double *ret)
{
    double v;

    *ret_has = false;
    *ret = 0;
    if (!s.n)
        return true;
    if (!parse_number(s, &v) || !isfinite(v * scale))
        return false;
    *ret_has = true;
    *ret = v * scale;
    return true;
}

/* value[UOM];[warn];[crit];[min];[max], then nothing but empty fields. */
static bool parse_values(struct span s, struct probe_perf *it)
{
    struct span f[5] = { { NULL, 0 } };
    size_t nf = 0, start = 0, numlen;
    double scale;

    for (size_t i = 0; i <= s.n; i++) {
        if (i < s.n && s.p[i] != ';')
            continue;
        if (nf < ARRAY_SIZE(f))
            f[nf++] = (struct span){ s.p + start, i - start };
        else if (i > start)
            return false;
        start = i + 1;
    }
    if (f[0].n == 1 && f[0].p[0] == 'U') {
        it->undetermined = true;
        numlen = 1;
    } else {
        numlen = number_prefix(f[0]);
        if (!numlen || !parse_number((struct span){ f[0].p, numlen }, &it->value))
            return false;
    }
    if (!it->undetermined) {
        struct span u = { f[0].p + numlen, f[0].n - numlen };

        if (!uom_ok(u, &it->unit, &scale))
            return false;
        memcpy(it->uom, u.p, u.n);
        it->uom[u.n] = '\0';
    } else {
        it->unit = PROBE_PERF_NONE;
        scale = 1;
    }
    it->base = it->value * scale;
    if (!isfinite(it->base))
        return false;
    return parse_range(f[1], scale, &it->warn) && parse_range(f[2], scale, &it->crit) &&
           parse_plain(f[3], scale, &it->has_min, &it->min) &&
           parse_plain(f[4], scale, &it->has_max, &it->max);
}

static bool perf_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Reads one item at s[*i] (not blank) and moves *i past it: to the next
 * blank outside a quoted label. Returns false for a malformed item. */
static bool parse_item(const char *s, size_t n, size_t *i, struct probe_perf *it)
{
    size_t p = *i, lab = 0, eq;
    bool ok = true, quoted = s[p] == '\'';

    memset(it, 0, sizeof(*it));
    for (p += quoted; p < n; p++) {
        char c = s[p];

        if (quoted && c == '\'') {
            if (p + 1 == n || s[p + 1] != '\'') {
                quoted = false;
                p++;
                break;
            }
            p++; /* '' is one quote in the label */
        } else if (!quoted && (c == '=' || perf_blank(c))) {
            break;
        } else if (!quoted && c == '\'') {
            ok = false; /* a quote needs quoting: 'it''s' */
        }
        if ((unsigned char)c < 0x20 || c == 0x7f || lab == PROBE_PLUGIN_MAX_LABEL)
            ok = false;
        else
            it->label[lab++] = c;
    }
    if (quoted) { /* unterminated: the rest is this one bad item */
        *i = n;
        return false;
    }
    it->label[lab] = '\0';
    eq = p;
    while (p < n && !perf_blank(s[p]))
        p++;
    *i = p;
    if (!ok || !lab || eq == p || s[eq] != '=')
        return false;
    return parse_values((struct span){ s + eq + 1, p - eq - 1 }, it);
}

/* Fills o's perf from the whitespace-separated items in s. last_cut: s was
 * cut off at its end, so an item running up to it may be missing digits. */
static void parse_perf(const char *s, size_t n, bool last_cut, struct probe_plugin_output *o)
{
    size_t i = 0, cap = 0;
    struct probe_perf it;

    for (;;) {
        while (i < n && perf_blank(s[i]))
            i++;
        if (i == n)
            break;
        if (!parse_item(s, n, &i, &it) || (last_cut && i == n)) {
            o->n_perf_bad++;
            continue;
        }
        if (o->n_perf == PROBE_PLUGIN_MAX_PERF) {
            o->n_perf_dropped++;
            continue;
        }
        xgrow((void **)&o->perf, &cap, o->n_perf + 1, sizeof(*o->perf));
        o->perf[o->n_perf++] = it;
    }
}

/* ---- output ---- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static struct span trim(struct span s)
{
    while (s.n && is_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n && is_space(s.p[s.n - 1]))
        s.n--;
    return s;
}

/* Appends s to sb fit to show: a tab becomes a space and any other control
 * character (NUL included) a '?', so the text is one printable line. */
static void add_clean(struct sbuf *sb, struct span s)
{
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];

        sbuf_putc(sb, c == '\t' ? ' ' : c < 0x20 || c == 0x7f ? '?' : (char)c);
    }
}

/* Copies s (len bytes) into buf of size n; if it does not fit, cuts it on a
 * UTF-8 character boundary and ends it with note instead. */
static void copy_capped(char *buf, size_t n, const char *s, size_t len, const char *note)
{
    size_t cut, note_len = strlen(note);

    if (len < n) {
        memcpy(buf, s, len);
        buf[len] = '\0';
        return;
    }
    cut = n - 1 - note_len;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    memcpy(buf, s, cut);
    memcpy(buf + cut, note, note_len + 1);
}

/* Cuts stdout up as the guidelines say: line 1 is "text | perfdata", the
 * lines after it are long text until one holds a '|', after which the rest of
 * that line and every later line are perfdata. *ret_perf_at_end: the output's
 * last bytes (with no newline after them) were perfdata. */
static void split_output(struct span out, struct span *ret_first, struct sbuf *long_text,
                         struct sbuf *perf, bool *ret_perf_at_end)
{
    bool first = true, in_perf = false;
    size_t pos = 0;

    *ret_first = (struct span){ out.p, 0 };
    *ret_perf_at_end = false;
    while (pos < out.n) {
        const char *nl = memchr(out.p + pos, '\n', out.n - pos);
        size_t end = nl ? (size_t)(nl - out.p) : out.n;
        struct span line = { out.p + pos, end - pos };
        bool had_perf = false;

        if (line.n && line.p[line.n - 1] == '\r')
            line.n--;
        if (in_perf) {
            sbuf_putc(perf, '\n');
            sbuf_add(perf, line.p, line.n);
            had_perf = true;
        } else {
            const char *bar = memchr(line.p, '|', line.n);
            struct span text = { line.p, bar ? (size_t)(bar - line.p) : line.n };

            if (first) {
                *ret_first = text;
            } else {
                if (long_text->len)
                    sbuf_putc(long_text, '\n');
                add_clean(long_text, text);
            }
            if (bar) {
                sbuf_putc(perf, '\n');
                sbuf_add(perf, bar + 1, line.n - text.n - 1);
                had_perf = true;
                in_perf = !first; /* line 1's '|' ends only line 1's text */
            }
        }
        *ret_perf_at_end = !nl && had_perf;
        first = false;
        pos = end + 1;
    }
}

static const struct {
    int sig;
    const char *name;
} sig_names[] = {
    { SIGHUP, "SIGHUP" },   { SIGINT, "SIGINT" },   { SIGQUIT, "SIGQUIT" },
    { SIGILL, "SIGILL" },   { SIGTRAP, "SIGTRAP" }, { SIGABRT, "SIGABRT" },
    { SIGBUS, "SIGBUS" },   { SIGFPE, "SIGFPE" },   { SIGKILL, "SIGKILL" },
    { SIGUSR1, "SIGUSR1" }, { SIGSEGV, "SIGSEGV" }, { SIGUSR2, "SIGUSR2" },
    { SIGPIPE, "SIGPIPE" }, { SIGALRM, "SIGALRM" }, { SIGTERM, "SIGTERM" },
    { SIGXCPU, "SIGXCPU" }, { SIGXFSZ, "SIGXFSZ" }, { SIGVTALRM, "SIGVTALRM" },
    { SIGPROF, "SIGPROF" }, { SIGSYS, "SIGSYS" },
};

/* By the macros rather than sigabbrev_np(): numbers differ between
 * architectures, and musl has no sigabbrev_np. */
static const char *signal_name(int sig)
{
    for (size_t i = 0; i < ARRAY_SIZE(sig_names); i++)
        if (sig_names[i].sig == sig)
            return sig_names[i].name;
    return NULL;
}

/* The line of stderr worth showing: the first, except after a Python
 * traceback header, where the exception is on the last. */
static struct span stderr_line(const char *err, size_t len)
{
    struct span first = { err, 0 }, last = { err, 0 };
    size_t pos = 0;

    len = MIN(len, (size_t)PROBE_PLUGIN_MAX_OUTPUT);
    while (pos < len) {
        const char *nl = memchr(err + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - err) : len;
        struct span line = trim((struct span){ err + pos, end - pos });

        if (line.n) {
            if (!first.n)
                first = line;
            last = line;
        }
        pos = end + 1;
    }
    if (first.n >= 9 && memcmp(first.p, "Traceback", 9) == 0)
        return last;
    return first;
}

static bool all_space(struct span s)
{
    return trim(s).n == 0;
}

void probe_plugin_evaluate(const struct probe_plugin_run *run, struct probe_plugin_output *ret)
{
    struct sbuf msg = SBUF_INIT, long_text = SBUF_INIT, perf = SBUF_INIT;
    struct span out = { run->out ? run->out : "", run->out ? run->out_len : 0 };
    struct span first, lt, err_line = { "", 0 };
    bool perf_at_end, exited = false;
    char buf[64];

    memset(ret, 0, sizeof(*ret));
    if (out.n > PROBE_PLUGIN_MAX_OUTPUT) {
        out.n = PROBE_PLUGIN_MAX_OUTPUT;
        ret->truncated = true;
    }
    ret->truncated |= run->out_truncated;
    split_output(out, &first, &long_text, &perf, &perf_at_end);
    first = trim(first);
    if (all_space(out) && run->err)
        err_line = stderr_line(run->err, run->err_len);

    if (run->spawn_error) {
        ret->status = PROBE_UNKNOWN;
        sbuf_addf(&msg, "cannot start the plugin: %s", strerror(abs(run->spawn_error)));
    } else if (run->timed_out) {
        /* CRITICAL, as Nagios Core's service_check_timeout_state defaults
         * to: a check that hangs most often means what it checks hangs. */
        ret->status = PROBE_CRITICAL;
        sbuf_addf(&msg, "timed out after %s", duration_format(run->timeout_ms, buf, sizeof(buf)));
    } else if (run->term_signal) {
        /* UNKNOWN, as Nagios Core's workers report a check that died by a
         * signal: the plugin crashed, so it said nothing about the service. */
        const char *name = signal_name(run->term_signal);

        ret->status = PROBE_UNKNOWN;
        sbuf_addf(&msg, "killed by signal %d", run->term_signal);
        if (name)
            sbuf_addf(&msg, " (%s)", name);
    } else if (run->exit_status >= 0 && run->exit_status <= 3) {
        ret->status = (enum probe_status)run->exit_status;
        exited = true;
    } else {
        /* UNKNOWN, as Icinga 2 does (Nagios Core says CRITICAL): it is the
         * plugin or its setup that failed. Both count as down anyway. */
        ret->status = PROBE_UNKNOWN;
        sbuf_addf(&msg, "exit status %lld %s", (long long)run->exit_status,
                  run->exit_status == 126   ? "(not executable?)"
                  : run->exit_status == 127 ? "(command not found?)"
                                            : "(plugins exit with 0 to 3)");
        exited = true;
    }

    if (first.n) {
        sbuf_puts(&msg, msg.len ? ": " : "");
        add_clean(&msg, first);
    } else if (err_line.n) {
        sbuf_puts(&msg, msg.len ? ": stderr: " : "(no output) stderr: ");
        add_clean(&msg, err_line);
    } else if (!msg.len) {
        sbuf_puts(&msg, all_space(out) ? "(no output)" : "(first line empty)");
    }
    copy_capped(ret->message, sizeof(ret->message), msg.buf, msg.len, "... (truncated)");

    lt = trim((struct span){ long_text.buf, long_text.len });
    if (lt.n) {
        ret->long_text = xmalloc(MIN(lt.n + 1, (size_t)PROBE_PLUGIN_MAX_LONG_TEXT));
        copy_capped(ret->long_text, MIN(lt.n + 1, (size_t)PROBE_PLUGIN_MAX_LONG_TEXT), lt.p, lt.n,
                    "\n... (truncated)");
    }

    /* A plugin stopped by force may have been cut off mid-item. */
    if (exited)
        parse_perf(perf.buf, perf.len, ret->truncated && perf_at_end, ret);

    sbuf_release(&msg);
    sbuf_release(&long_text);
    sbuf_release(&perf);
}

void probe_plugin_output_clear(struct probe_plugin_output *o)
{
    if (!o)
        return;
    free(o->long_text);
    free(o->perf);
    memset(o, 0, sizeof(*o));
}
