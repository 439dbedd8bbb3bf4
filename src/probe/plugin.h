/* The `exec` monitor type's pure logic, Nagios / Monitoring Plugins protocol
 * (https://www.monitoring-plugins.org/doc/guidelines.html): splitting the
 * configured command into an argv without a shell, and turning what the
 * plugin did (exit status or signal, stdout, stderr) into a status, a message
 * and performance data. Spawning, reading and killing live in sched/. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe/probe.h"
#include "util/error.h"
#include "util/opsd_limits.h"

#define PROBE_PLUGIN_MAX_COMMAND 8192         /* bytes in a configured command line */
#define PROBE_PLUGIN_MAX_ARG 4096             /* bytes in one argument after unquoting */
#define PROBE_PLUGIN_MAX_ARGS 64              /* arguments, the program included */
#define PROBE_PLUGIN_MAX_OUTPUT (64 * 1024)   /* bytes of stdout (and of stderr) read */
#define PROBE_PLUGIN_MAX_LONG_TEXT (8 * 1024) /* bytes of long text kept */
#define PROBE_PLUGIN_MAX_PERF 64              /* perfdata items kept */
#define PROBE_PLUGIN_MAX_LABEL 128            /* bytes in a perfdata label */
#define PROBE_PLUGIN_MAX_UOM 15               /* bytes in a unit of measurement */

/* Splits cmd into words the way /bin/sh would, but runs nothing and expands
 * nothing: words are separated by blanks (space, tab, newline); '...' is
 * literal; in "..." a backslash escapes only " \ $ ` and newline (before
 * anything else it stays); outside quotes a backslash escapes the next
 * character; backslash-newline joins lines. $, `, ~, * and ? are ordinary
 * characters. The unquoted shell operators | & ; < > ( ) are rejected, since
 * without a shell they would reach the plugin as arguments.
 *
 * On success *ret_argv is a NULL-terminated array in one allocation (the
 * strings live in the same block): the caller frees it with free(). ret_argc
 * may be NULL. On failure returns -EINVAL (syntax, empty command or program
 * name) or -E2BIG (a cap above), fills reterr with a message that says what is
 * wrong and where ("unterminated double quote (opened at column 12)") but
 * never quotes the command, which may hold secrets, and leaves *ret_argv and
 * *ret_argc untouched. */
int probe_plugin_split(const char *cmd, char ***ret_argv, size_t *ret_argc,
                       struct opsd_error *reterr);

/* What kind of quantity a perfdata value is, after its unit is normalised.
 * Stored and sent: values never change. */
enum probe_perf_unit {
    PROBE_PERF_NONE = 0,    /* no unit: a number of things (users, load) */
    PROBE_PERF_SECONDS = 1, /* s, ms, us, ns */
    PROBE_PERF_PERCENT = 2, /* % */
    PROBE_PERF_BYTES = 3,   /* B, KB..PB, KiB..PiB */
    PROBE_PERF_COUNTER = 4, /* c: a continuously growing counter */
    PROBE_PERF_OTHER = 5,   /* a unit outside the guidelines (mV, degC): kept as is */
};
const char *probe_perf_unit_to_string(enum probe_perf_unit u);

/* A threshold range, "[@][start:][end]": a value alerts when outside
 * [start, end], or inside it with '@'. Open ends are -INFINITY / INFINITY. */
struct probe_perf_range {
    bool set;    /* false when the field was empty or absent */
    bool inside; /* '@' */
    double start, end;
};

/* One perfdata item. The numbers other than `value` are in base units (s,
 * bytes; other units as written), so items from different plugins compare. */
struct probe_perf {
    char label[PROBE_PLUGIN_MAX_LABEL + 1]; /* unquoted, '' turned into ' */
    char uom[PROBE_PLUGIN_MAX_UOM + 1];     /* as written, "" if none */
    enum probe_perf_unit unit;
    bool undetermined; /* the value was 'U': value and base are 0 */
    double value;      /* as written, in uom */
    double base;       /* value in base units */
    struct probe_perf_range warn, crit;
    bool has_min, has_max;
    double min, max;
};

/* Whether base (in base units) falls where range r says to alert; false when
 * r is not set. */
bool probe_perf_range_alert(const struct probe_perf_range *r, double base);

/* What the spawner observed, as uv_spawn and its exit callback report it. */
struct probe_plugin_run {
    int spawn_error;     /* negative errno when the process never started, else 0 */
    bool timed_out;      /* the spawner killed it at its deadline */
    uint64_t timeout_ms; /* that deadline, for the message */
    int64_t exit_status; /* uv_exit_cb's exit_status */
    int term_signal;     /* uv_exit_cb's term_signal: 0 unless a signal ended it */
    const char *out;     /* stdout bytes, NULs and all; borrowed, may be NULL */
    size_t out_len;      /* at most PROBE_PLUGIN_MAX_OUTPUT are looked at */
    bool out_truncated;  /* the spawner stopped reading at its cap */
    const char *err;     /* stderr, used only when stdout has no text; may be NULL */
    size_t err_len;
};

/* A judged plugin run. Zero-initialise or fill with probe_plugin_evaluate;
 * release with probe_plugin_output_clear. */
struct probe_plugin_output {
    enum probe_status status;
    char message[OPSD_MAX_MESSAGE]; /* first line's text, trimmed, controls as '?' */
    char *long_text;                /* owned; lines 2.. before perfdata, or NULL */
    struct probe_perf *perf;        /* owned array of n_perf, or NULL */
    size_t n_perf;
    size_t n_perf_bad;     /* malformed items skipped */
    size_t n_perf_dropped; /* well-formed items past PROBE_PLUGIN_MAX_PERF */
    bool truncated;        /* stdout was cut at a cap: the end of it is missing */
};

/* Judges a finished run into *ret (overwritten: clear it first if it held a
 * previous result). Exit status 0..3 is OK, WARNING, CRITICAL, UNKNOWN as the
 * plugin says; any other exit status, a signal or a failed spawn is UNKNOWN
 * (the check could not tell); a timeout is CRITICAL, as in Nagios Core.
 * Perfdata is read only from a plugin that exited by itself. Never fails. */
void probe_plugin_evaluate(const struct probe_plugin_run *run, struct probe_plugin_output *ret);
/* Frees what o owns and zeroes it; accepts NULL. */
void probe_plugin_output_clear(struct probe_plugin_output *o);
