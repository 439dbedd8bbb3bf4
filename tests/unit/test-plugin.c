/* Unit tests for the exec monitor's pure logic: splitting commands without a
 * shell, and judging plugin runs (exit, message, long text, perfdata). The
 * outputs marked "real" were printed by Debian 12's monitoring-plugins 2.3.3
 * (/usr/lib/nagios/plugins) on a test machine and are pasted unchanged. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "probe/probe.h"
#include "util/sbuf.h"

/* cmocka 1.1.5 compares floats only: byte counts need doubles. */
#define assert_near(a, b) assert_near_at((a), (b), __FILE__, __LINE__)
static void assert_near_at(double a, double b, const char *file, int line)
{
    if (a == b || fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b)))
        return;
    print_error("%.17g != %.17g\n", a, b);
    _fail(file, line);
}

/* ---- helpers ---- */

static char **split_ok(const char *cmd, size_t want_argc)
{
    char **argv = NULL;
    size_t argc = 0;
    struct opsd_error err = { 0 };
    int r = probe_plugin_split(cmd, &argv, &argc, &err);

    if (r < 0)
        print_error("split failed: %s\n", err.msg);
    assert_int_equal(r, 0);
    assert_int_equal(argc, want_argc);
    assert_non_null(argv);
    assert_null(argv[argc]);
    return argv;
}

/* Checks that cmd fails with code and exactly msg, leaving the outputs alone. */
static void split_fails(const char *cmd, int code, const char *msg)
{
    char **argv = (char **)0x1;
    size_t argc = 77;
    struct opsd_error err = { 0 };

    assert_int_equal(probe_plugin_split(cmd, &argv, &argc, &err), code);
    assert_int_equal(err.code, code);
    assert_string_equal(err.msg, msg);
    assert_ptr_equal(argv, (char **)0x1);
    assert_int_equal(argc, 77);
}

static void run_out(struct probe_plugin_output *o, int64_t exit_status, const char *out)
{
    struct probe_plugin_run run = {
        .exit_status = exit_status,
        .out = out,
        .out_len = out ? strlen(out) : 0,
    };

    probe_plugin_evaluate(&run, o);
}

static const struct probe_perf *perf_get(const struct probe_plugin_output *o, const char *label)
{
    for (size_t i = 0; i < o->n_perf; i++)
        if (strcmp(o->perf[i].label, label) == 0)
            return &o->perf[i];
    print_error("no perfdata item '%s'\n", label);
    fail();
    return NULL;
}

/* Parses "OK | <perf>" and returns the single item it must hold. */
static struct probe_perf one_item(const char *perf)
{
    struct probe_plugin_output o;
    char buf[512];
    struct probe_perf it;

    snprintf(buf, sizeof(buf), "OK | %s", perf);
    run_out(&o, 0, buf);
    if (o.n_perf != 1 || o.n_perf_bad != 0)
        print_error("'%s': %zu good, %zu bad\n", perf, o.n_perf, o.n_perf_bad);
    assert_int_equal(o.n_perf, 1);
    assert_int_equal(o.n_perf_bad, 0);
    it = o.perf[0];
    probe_plugin_output_clear(&o);
    return it;
}

/* Asserts perf (one item) is rejected, and counted. */
static void bad_item(const char *perf)
{
    struct probe_plugin_output o;
    char buf[512];

    snprintf(buf, sizeof(buf), "OK | %s", perf);
    run_out(&o, 0, buf);
    if (o.n_perf != 0 || o.n_perf_bad != 1)
        print_error("'%s': %zu good, %zu bad\n", perf, o.n_perf, o.n_perf_bad);
    assert_int_equal(o.n_perf, 0);
    assert_int_equal(o.n_perf_bad, 1);
    assert_string_equal(o.message, "OK");
    assert_int_equal(o.status, PROBE_OK);
    probe_plugin_output_clear(&o);
}

/* ---- command splitting ---- */

static void test_split_blanks(void **state)
{
    char **argv;

    (void)state;
    argv = split_ok("check_load -w 5,4,3   -c\t10,8,6\n-r", 6);
    assert_string_equal(argv[0], "check_load");
    assert_string_equal(argv[1], "-w");
    assert_string_equal(argv[2], "5,4,3");
    assert_string_equal(argv[3], "-c");
    assert_string_equal(argv[4], "10,8,6");
    assert_string_equal(argv[5], "-r");
    free(argv);

    argv = split_ok("  \t /bin/true \n ", 1);
    assert_string_equal(argv[0], "/bin/true");
    free(argv);

    /* ret_argc may be NULL */
    argv = NULL;
    assert_int_equal(probe_plugin_split("a b", &argv, NULL, NULL), 0);
    assert_string_equal(argv[1], "b");
    assert_null(argv[2]);
    free(argv);
}

static void test_split_single_quotes(void **state)
{
    char **argv;

    (void)state;
    argv = split_ok("check_http -s 'a \"b\" \\n $HOME `x` | ; c' '' x'y z'w", 5);
    assert_string_equal(argv[2], "a \"b\" \\n $HOME `x` | ; c");
    assert_string_equal(argv[3], ""); /* '' is an empty argument, as in sh */
    assert_string_equal(argv[4], "xy zw");
    free(argv);
}

static void test_split_double_quotes(void **state)
{
    char **argv;

    (void)state;
    /* only \" \\ \$ \` are escapes; other backslashes stay, as in sh */
    argv = split_ok("p \"q\\\"q\" \"b\\\\s\" \"d\\$x\" \"t\\`x\" \"keep\\n\\t\\a\" \"a'b\"", 7);
    assert_string_equal(argv[1], "q\"q");
    assert_string_equal(argv[2], "b\\s");
    assert_string_equal(argv[3], "d$x");
    assert_string_equal(argv[4], "t`x");
    assert_string_equal(argv[5], "keep\\n\\t\\a");
    assert_string_equal(argv[6], "a'b");
    free(argv);

    /* nothing is expanded: $ and ` are kept as written */
    argv = split_ok("p \"$HOME `id` ${X}\" \"\" a\"b c\"'d'", 4);
    assert_string_equal(argv[1], "$HOME `id` ${X}");
    assert_string_equal(argv[2], "");
    assert_string_equal(argv[3], "ab cd");
    free(argv);

    /* backslash-newline inside double quotes joins the lines */
    argv = split_ok("p \"one\\\ntwo\" \"three\nfour\"", 3);
    assert_string_equal(argv[1], "onetwo");
    assert_string_equal(argv[2], "three\nfour");
    free(argv);
}

static void test_split_backslash(void **state)
{
    char **argv;

    (void)state;
    argv = split_ok("p a\\ b \\' \\\" \\\\ \\| \\; \\$x \\q", 9);
    assert_string_equal(argv[1], "a b");
    assert_string_equal(argv[2], "'");
    assert_string_equal(argv[3], "\"");
    assert_string_equal(argv[4], "\\");
    assert_string_equal(argv[5], "|");
    assert_string_equal(argv[6], ";");
    assert_string_equal(argv[7], "$x");
    assert_string_equal(argv[8], "q");
    free(argv);

    /* backslash-newline outside quotes continues the line, joining words */
    argv = split_ok("check_disk \\\n  -w 20% \\\n  -c 10% -p/\\\nvar", 6);
    assert_string_equal(argv[1], "-w");
    assert_string_equal(argv[4], "10%");
    assert_string_equal(argv[5], "-p/var");
    free(argv);
}

static void test_split_literal_shell_characters(void **state)
{
    char **argv;

    (void)state;
    argv = split_ok("p ~/x *.log a?b [ab] $HOME {a,b} #c x=1 !", 10);
    assert_string_equal(argv[1], "~/x");
    assert_string_equal(argv[2], "*.log");
    assert_string_equal(argv[3], "a?b");
    assert_string_equal(argv[4], "[ab]");
    assert_string_equal(argv[5], "$HOME");
    assert_string_equal(argv[6], "{a,b}");
    assert_string_equal(argv[7], "#c");
    assert_string_equal(argv[8], "x=1");
    assert_string_equal(argv[9], "!");
    free(argv);
}

static void test_split_operators(void **state)
{
    const char *ops = "|&;<>()";
    char cmd[64], msg[200];
    char **argv;

    (void)state;
    for (const char *op = ops; *op; op++) {
        snprintf(cmd, sizeof(cmd), "check_x -a b%c c", *op);
        snprintf(msg, sizeof(msg),
                 "unquoted '%c' at column 13: commands run without a shell, so quote or escape it "
                 "to pass it to the plugin",
                 *op);
        split_fails(cmd, -EINVAL, msg);
    }
    split_fails("check_x 2>&1", -EINVAL,
                "unquoted '>' at column 10: commands run without a shell, so quote or escape it "
                "to pass it to the plugin");
    /* quoted or escaped they are arguments like any other */
    argv = split_ok("p '|' \"&&\" \\; '<(x)>'", 5);
    assert_string_equal(argv[1], "|");
    assert_string_equal(argv[2], "&&");
    assert_string_equal(argv[3], ";");
    assert_string_equal(argv[4], "<(x)>");
    free(argv);
}

static void test_split_syntax_errors(void **state)
{
    (void)state;
    split_fails("check_http -s 'ok", -EINVAL, "unterminated single quote (opened at column 15)");
    split_fails("check_http -s \"ok\\\"", -EINVAL,
                "unterminated double quote (opened at column 15)");
    split_fails("p \"a\" \"b", -EINVAL, "unterminated double quote (opened at column 7)");
    split_fails("p 'it''s", -EINVAL, "unterminated single quote (opened at column 7)");
    split_fails("check_x -a \\", -EINVAL, "trailing backslash at column 12 (nothing to escape)");
    split_fails("", -EINVAL, "empty command");
    split_fails(" \t\n ", -EINVAL, "empty command");
    split_fails("\\\n", -EINVAL, "empty command");
    split_fails("'' -x", -EINVAL, "the program name is empty");
    split_fails("\"\"", -EINVAL, "the program name is empty");
    /* NULL error struct: only the code */
    assert_int_equal(probe_plugin_split("'x", &(char **){ NULL }, NULL, NULL), -EINVAL);
}

static void test_split_error_does_not_quote_command(void **state)
{
    struct opsd_error err = { 0 };
    char **argv = NULL;

    (void)state;
    /* the command may hold a secret taken from the environment */
    assert_int_equal(probe_plugin_split("check_x --password 's3cr3t", &argv, NULL, &err), -EINVAL);
    assert_null(strstr(err.msg, "s3cr3t"));
    assert_null(strstr(err.msg, "check_x"));
    assert_null(argv);
}

static void test_split_caps(void **state)
{
    char *cmd = malloc(PROBE_PLUGIN_MAX_COMMAND + 2);
    char msg[100];
    char **argv;
    size_t n = 0;

    (void)state;
    /* 64 arguments fit, 65 do not */
    n = (size_t)sprintf(cmd, "p");
    for (int i = 1; i < PROBE_PLUGIN_MAX_ARGS; i++)
        n += (size_t)sprintf(cmd + n, " a%d", i);
    argv = split_ok(cmd, PROBE_PLUGIN_MAX_ARGS);
    assert_string_equal(argv[PROBE_PLUGIN_MAX_ARGS - 1], "a63");
    free(argv);
    strcpy(cmd + n, " one-more");
    split_fails(cmd, -E2BIG, "more than 64 arguments");
    /* trailing blanks after the 64th are not a 65th */
    strcpy(cmd + n, "   ");
    free(split_ok(cmd, PROBE_PLUGIN_MAX_ARGS));

    /* an argument of 4096 bytes fits, 4097 does not, counted after unquoting */
    memcpy(cmd, "p '", 3);
    memset(cmd + 3, 'x', PROBE_PLUGIN_MAX_ARG);
    strcpy(cmd + 3 + PROBE_PLUGIN_MAX_ARG, "'");
    argv = split_ok(cmd, 2);
    assert_int_equal(strlen(argv[1]), PROBE_PLUGIN_MAX_ARG);
    free(argv);
    strcpy(cmd + 3 + PROBE_PLUGIN_MAX_ARG, "y'");
    split_fails(cmd, -E2BIG, "argument 2 is longer than 4096 bytes");
    memset(cmd, 'x', PROBE_PLUGIN_MAX_ARG + 1);
    cmd[PROBE_PLUGIN_MAX_ARG + 1] = '\0';
    split_fails(cmd, -E2BIG, "argument 1 is longer than 4096 bytes");

    /* the whole command: 8192 bytes fit, 8193 do not */
    memset(cmd, ' ', PROBE_PLUGIN_MAX_COMMAND + 1);
    memcpy(cmd, "p x", 3);
    cmd[PROBE_PLUGIN_MAX_COMMAND] = '\0';
    free(split_ok(cmd, 2));
    cmd[PROBE_PLUGIN_MAX_COMMAND] = ' ';
    cmd[PROBE_PLUGIN_MAX_COMMAND + 1] = '\0';
    snprintf(msg, sizeof(msg), "command is longer than %d bytes", PROBE_PLUGIN_MAX_COMMAND);
    split_fails(cmd, -E2BIG, msg);
    free(cmd);
}

static void test_split_real_commands(void **state)
{
    char **argv;

    (void)state;
    argv = split_ok("/usr/lib/nagios/plugins/check_http -H example.org -u '/health?full=1' "
                    "-s \"\\\"status\\\": \\\"ok\\\"\" -e 'HTTP/1.1 200' -t 10",
                    11);
    assert_string_equal(argv[0], "/usr/lib/nagios/plugins/check_http");
    assert_string_equal(argv[4], "/health?full=1");
    assert_string_equal(argv[6], "\"status\": \"ok\"");
    assert_string_equal(argv[8], "HTTP/1.1 200");
    free(argv);

    argv = split_ok("check_procs -w 1: -c 1: -a 'gunicorn: master \\[app\\]' --ereg-argument-array="
                    "'^/usr/bin/python3 .*worker$'",
                    8);
    assert_string_equal(argv[6], "gunicorn: master \\[app\\]");
    assert_string_equal(argv[7], "--ereg-argument-array=^/usr/bin/python3 .*worker$");
    free(argv);
}

/* ---- real plugin output ---- */

static void test_real_check_disk(void **state)
{
    struct probe_plugin_output o;
    const struct probe_perf *p;

    (void)state;
    run_out(&o, 0,
            "DISK OK - free space: / 80860MiB (82% inode=97%);| "
            "/=17956864000B;216442024755;243497277849;0;270552530944\n");
    assert_int_equal(o.status, PROBE_OK);
    assert_string_equal(o.message, "DISK OK - free space: / 80860MiB (82% inode=97%);");
    assert_null(o.long_text);
    assert_false(o.truncated);
    assert_int_equal(o.n_perf, 1);
    assert_int_equal(o.n_perf_bad, 0);
    p = perf_get(&o, "/");
    assert_string_equal(p->uom, "B");
    assert_int_equal(p->unit, PROBE_PERF_BYTES);
    assert_near(p->value, 17956864000.0);
    assert_near(p->base, 17956864000.0);
    assert_true(p->warn.set);
    assert_false(p->warn.inside);
    assert_near(p->warn.start, 0);
    assert_near(p->warn.end, 216442024755.0);
    assert_near(p->crit.end, 243497277849.0);
    assert_true(p->has_min);
    assert_near(p->min, 0);
    assert_true(p->has_max);
    assert_near(p->max, 270552530944.0);
    assert_false(probe_perf_range_alert(&p->warn, p->base));
    probe_plugin_output_clear(&o);

    /* critical run of the same plugin: the thresholds say why */
    run_out(&o, 2,
            "DISK CRITICAL - free space: / 80859MiB (82% inode=97%);| "
            "/=17957912576B;2705525309;5411050618;0;270552530944\n");
    assert_int_equal(o.status, PROBE_CRITICAL);
    p = perf_get(&o, "/");
    assert_true(probe_perf_range_alert(&p->warn, p->base));
    assert_true(probe_perf_range_alert(&p->crit, p->base));
    probe_plugin_output_clear(&o);
}

static void test_real_check_disk_many(void **state)
{
    struct probe_plugin_output o;
    const struct probe_perf *p;

    (void)state;
    run_out(&o, 0,
            "DISK OK - free space: /dev 12045MiB (100% inode=99%); /dev/shm 24105MiB (100% "
            "inode=99%); / 80860MiB (82% inode=97%); /mnt/sandboxing/model_tools_env/v1/python "
            "0MiB (100% inode=99%); /sys/fs/cgroup 12052MiB (100% inode=99%);| "
            "/dev=0B;10104078336;11367088128;0;12630097920 "
            "/dev/shm=0B;20220739584;22748332032;0;25275924480 "
            "/=17956864000B;216442024755;243497277849;0;270552530944 "
            "/mnt/sandboxing/model_tools_env/v1/python=0B;0;0;0;0 "
            "/sys/fs/cgroup=0B;10109950361;11373694156;0;12637437952\n");
    assert_int_equal(o.n_perf, 5);
    assert_int_equal(o.n_perf_bad, 0);
    assert_string_equal(o.perf[0].label, "/dev");
    assert_string_equal(o.perf[4].label, "/sys/fs/cgroup");
    p = perf_get(&o, "/mnt/sandboxing/model_tools_env/v1/python");
    assert_near(p->base, 0);
    assert_near(p->warn.end, 0);
    assert_near(p->max, 0);
    assert_true(strncmp(o.message, "DISK OK - free space: /dev 12045MiB", 35) == 0);
    probe_plugin_output_clear(&o);
}

static void test_real_check_load(void **state)
{
    struct probe_plugin_output o;
    const struct probe_perf *p;

    (void)state;
    /* trailing ';' on every item and a trailing space */
    run_out(&o, 0,
            "LOAD OK - total load average: 0.69, 0.41, 0.46|load1=0.690;5.000;10.000;0; "
            "load5=0.410;4.000;8.000;0; load15=0.460;3.000;6.000;0; \n");
    assert_string_equal(o.message, "LOAD OK - total load average: 0.69, 0.41, 0.46");
    assert_int_equal(o.n_perf, 3);
    assert_int_equal(o.n_perf_bad, 0);
    p = perf_get(&o, "load15");
    assert_int_equal(p->unit, PROBE_PERF_NONE);
    assert_string_equal(p->uom, "");
    assert_near(p->value, 0.46);
    assert_near(p->base, 0.46);
    assert_near(p->warn.end, 3);
    assert_near(p->crit.end, 6);
    assert_true(p->has_min);
    assert_false(p->has_max);
    probe_plugin_output_clear(&o);

    run_out(
        &o, 0,
        "LOAD OK - scaled load average: 0.34, 0.20, 0.23 - total load average: 0.69, 0.41, "
        "0.46|load1=0.690;;;0; scaled_load1=0.345;5.000;10.000;0; load5=0.410;;;0; "
        "scaled_load5=0.205;4.000;8.000;0; load15=0.460;;;0; scaled_load15=0.230;3.000;6.000;0; "
        "\n");
    assert_int_equal(o.n_perf, 6);
    p = perf_get(&o, "load1");
    assert_false(p->warn.set);
    assert_false(p->crit.set);
    assert_false(probe_perf_range_alert(&p->warn, 1e9));
    assert_near(perf_get(&o, "scaled_load5")->value, 0.205);
    probe_plugin_output_clear(&o);
}

static void test_real_check_procs(void **state)
{
    struct probe_plugin_output o;
    const struct probe_perf *p;

    (void)state;
    run_out(&o, 0, "PROCS OK: 8 processes with command name 'bash' | procs=8;1:;;0;\n");
    assert_string_equal(o.message, "PROCS OK: 8 processes with command name 'bash'");
    p = perf_get(&o, "procs");
    assert_near(p->value, 8);
    assert_near(p->warn.start, 1); /* "1:" is 1..inf: alert below one */
    assert_true(isinf(p->warn.end) && p->warn.end > 0);
    assert_false(p->crit.set);
    assert_false(probe_perf_range_alert(&p->warn, 8));
    assert_true(probe_perf_range_alert(&p->warn, 0));
    probe_plugin_output_clear(&o);

    run_out(&o, 0, "CPU OK: 74 processes | procs=74;;;0; procs_warn=0;;;0; procs_crit=0;;;0;\n");
    assert_int_equal(o.n_perf, 3);
    assert_near(perf_get(&o, "procs_crit")->value, 0);
    probe_plugin_output_clear(&o);
}

static void test_real_check_http_and_curl(void **state)
{
    struct probe_plugin_output o;
    const struct probe_perf *p;

    (void)state;
    run_out(&o, 1,
            "HTTP WARNING: HTTP/1.0 404 File not found - 520 bytes in 0.004 second response time "
            "|time=0.004100s;;;0.000000;10.000000 size=520B;;;0;\n");
    assert_int_equal(o.status, PROBE_WARNING);
    assert_string_equal(o.message,
                        "HTTP WARNING: HTTP/1.0 404 File not found - 520 bytes in 0.004 second "
                        "response time");
    p = perf_get(&o, "time");
    assert_int_equal(p->unit, PROBE_PERF_SECONDS);
    assert_near(p->base, 0.0041);
    assert_near(p->max, 10);
    p = perf_get(&o, "size");
    assert_int_equal(p->unit, PROBE_PERF_BYTES);
    assert_near(p->base, 520);
    probe_plugin_output_clear(&o);

    run_out(&o, 0,
            "HTTP OK: HTTP/1.1 200 OK - 4207 bytes in 0.002 second response time "
            "|time=0.002047s;;;0.000000;10.000000 size=4207B;;;0;\n");
    assert_int_equal(o.status, PROBE_OK);
    assert_near(perf_get(&o, "time")->base, 0.002047);
    assert_near(perf_get(&o, "size")->base, 4207);
    probe_plugin_output_clear(&o);

    /* check_http, connection refused: the status line is the second line */
    run_out(&o, 2,
            "connect to address 127.0.0.1 and port 18082: Connection refused\n"
            "HTTP CRITICAL - Unable to open TCP socket\n");
    assert_int_equal(o.status, PROBE_CRITICAL);
    assert_string_equal(o.message,
                        "connect to address 127.0.0.1 and port 18082: Connection refused");
    assert_string_equal(o.long_text, "HTTP CRITICAL - Unable to open TCP socket");
    assert_int_equal(o.n_perf, 0);
    probe_plugin_output_clear(&o);

    run_out(&o, 2,
            "HTTP CRITICAL - Invalid HTTP response received from host on port 18082: cURL "
            "returned 7 - Failed to connect to 127.0.0.1 port 18082 after 0 ms: Couldn't connect "
            "to server\n");
    assert_true(strstr(o.message, "cURL returned 7") != NULL);
    assert_int_equal(o.n_perf, 0);
    assert_int_equal(o.n_perf_bad, 0);
    probe_plugin_output_clear(&o);
}

static void test_real_others(void **state)
{
    struct probe_plugin_output o;
    const struct probe_perf *p;

    (void)state;
    run_out(&o, 2,
            "SWAP CRITICAL - 0% free (0MB out of 0MB) - Swap is either disabled, not present, or "
            "of zero size. |swap=0B;0;0;0;0\n");
    assert_int_equal(o.status, PROBE_CRITICAL);
    assert_near(perf_get(&o, "swap")->max, 0);
    probe_plugin_output_clear(&o);

    run_out(
        &o, 0,
        "PING OK - Packet loss = 0%, RTA = 0.07 ms|rta=0.069000ms;100.000000;200.000000;0.000000 "
        "pl=0%;20;50;0;\n");
    p = perf_get(&o, "rta");
    assert_int_equal(p->unit, PROBE_PERF_SECONDS);
    assert_near(p->value, 0.069);
    assert_near(p->base, 0.000069);
    assert_near(p->warn.end, 0.1); /* thresholds scale with the value */
    assert_near(p->crit.end, 0.2);
    assert_false(p->has_max);
    p = perf_get(&o, "pl");
    assert_int_equal(p->unit, PROBE_PERF_PERCENT);
    assert_near(p->warn.end, 20);
    probe_plugin_output_clear(&o);

    run_out(&o, 0,
            "FILE_AGE OK: /etc/passwd is 15 seconds old and 1343 bytes | age=15s;60;120 "
            "size=1343B;0;0;0\n");
    assert_near(perf_get(&o, "age")->crit.end, 120);
    assert_near(perf_get(&o, "size")->base, 1343);
    probe_plugin_output_clear(&o);

    run_out(&o, 2,
            "APT CRITICAL: 116 packages available for upgrade (75 critical updates). "
            "|available_upgrades=116;;;0 critical_updates=75;;;0\n");
    assert_near(perf_get(&o, "critical_updates")->value, 75);
    probe_plugin_output_clear(&o);

    run_out(&o, 0, "USERS OK - 0 users currently logged in |users=0;5;10;0\n");
    assert_string_equal(o.message, "USERS OK - 0 users currently logged in");
    assert_near(perf_get(&o, "users")->crit.end, 10);
    probe_plugin_output_clear(&o);

    /* usage errors: UNKNOWN with the reason on line 1, usage as long text */
    run_out(&o, 3,
            "Warning threshold must be float or float triplet!\n\nUsage:\ncheck_load [-r] -w "
            "WLOAD1,WLOAD5,WLOAD15 -c CLOAD1,CLOAD5,CLOAD15 [-n NUMBER_OF_PROCS]\n");
    assert_int_equal(o.status, PROBE_UNKNOWN);
    assert_string_equal(o.message, "Warning threshold must be float or float triplet!");
    assert_string_equal(o.long_text, "Usage:\ncheck_load [-r] -w WLOAD1,WLOAD5,WLOAD15 -c "
                                     "CLOAD1,CLOAD5,CLOAD15 [-n NUMBER_OF_PROCS]");
    assert_int_equal(o.n_perf, 0);
    probe_plugin_output_clear(&o);
}

/* The example of the development guidelines: perfdata on line 1 and again
 * after a '|' on a later line, running on over the following lines. Also the
 * MB of check_disk before 2.3, which meant MiB. */
static void test_guidelines_multiline(void **state)
{
    struct probe_plugin_output o;
    const struct probe_perf *p;

    (void)state;
    run_out(&o, 0,
            "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n"
            "/ 15272 MB (77%);\n"
            "/boot 68 MB (69%);\n"
            "/home 69357 MB (27%);\n"
            "/var/log 819 MB (84%); | /boot=68MB;88;93;0;98\n"
            "/home=69357MB;253404;253409;0;253414 \n"
            "/var/log=818MB;970;975;0;980\n");
    assert_int_equal(o.status, PROBE_OK);
    assert_string_equal(o.message, "DISK OK - free space: / 3326 MB (56%);");
    assert_string_equal(o.long_text, "/ 15272 MB (77%);\n/boot 68 MB (69%);\n/home 69357 MB "
                                     "(27%);\n/var/log 819 MB (84%);");
    assert_int_equal(o.n_perf, 4);
    assert_int_equal(o.n_perf_bad, 0);
    assert_string_equal(o.perf[0].label, "/");
    assert_string_equal(o.perf[1].label, "/boot");
    assert_string_equal(o.perf[2].label, "/home");
    assert_string_equal(o.perf[3].label, "/var/log");
    p = perf_get(&o, "/");
    assert_string_equal(p->uom, "MB");
    assert_near(p->value, 2643);
    assert_near(p->base, 2643.0 * 1024 * 1024);
    assert_near(p->warn.end, 5948.0 * 1024 * 1024);
    assert_near(p->max, 5968.0 * 1024 * 1024);
    assert_near(perf_get(&o, "/var/log")->crit.end, 975.0 * 1024 * 1024);
    probe_plugin_output_clear(&o);
}

static void test_later_perf_only(void **state)
{
    struct probe_plugin_output o;

    (void)state;
    /* no perfdata on line 1; a '|' on line 3 starts it */
    run_out(&o, 1, "WARN - 2 of 3 up\nnode a up\nnode c down | a=1 b=1\nc=0;;@0:0\n");
    assert_string_equal(o.message, "WARN - 2 of 3 up");
    assert_string_equal(o.long_text, "node a up\nnode c down");
    assert_int_equal(o.n_perf, 3);
    assert_true(perf_get(&o, "c")->crit.inside);
    assert_true(probe_perf_range_alert(&perf_get(&o, "c")->crit, 0));
    probe_plugin_output_clear(&o);

    /* a '|' on line 1 does not make line 2 perfdata */
    run_out(&o, 0, "OK | a=1\nb=2\n");
    assert_int_equal(o.n_perf, 1);
    assert_string_equal(o.long_text, "b=2");
    probe_plugin_output_clear(&o);

    /* after perfdata has started, a further '|' is garbage, not a separator */
    run_out(&o, 0, "OK\nlong | a=1 | b=2\n");
    assert_int_equal(o.n_perf, 2);
    assert_int_equal(o.n_perf_bad, 1);
    probe_plugin_output_clear(&o);
}

/* ---- perfdata items ---- */

static void test_perf_quoted_labels(void **state)
{
    struct probe_perf it;
    struct probe_plugin_output o;

    (void)state;
    it = one_item("'C:\\ used %'=45%;80;90");
    assert_string_equal(it.label, "C:\\ used %");
    assert_int_equal(it.unit, PROBE_PERF_PERCENT);
    assert_near(it.value, 45);
    it = one_item("'it''s a label'=1");
    assert_string_equal(it.label, "it's a label");
    it = one_item("'a=b c'=2");
    assert_string_equal(it.label, "a=b c");
    assert_near(it.value, 2);
    it = one_item("''''=3");
    assert_string_equal(it.label, "'");
    it = one_item("'x'''=4");
    assert_string_equal(it.label, "x'");

    bad_item("''=1");          /* empty label */
    bad_item("'abc'x=1");      /* text between the quote and '=' */
    bad_item("it's=1");        /* a quote must be quoted */
    bad_item("'tab\there'=1"); /* control characters */

    /* a blank before '=' ends the item: both halves are garbage */
    run_out(&o, 0, "OK | 'abc' =1 x =2");
    assert_int_equal(o.n_perf, 0);
    assert_int_equal(o.n_perf_bad, 4);
    probe_plugin_output_clear(&o);

    /* an unterminated quote makes the rest one bad item */
    run_out(&o, 0, "OK | a=1 'b=2 c=3 d=4");
    assert_int_equal(o.n_perf, 1);
    assert_int_equal(o.n_perf_bad, 1);
    probe_plugin_output_clear(&o);

    /* a quoted label hides blanks and '=' from the item splitter */
    run_out(&o, 0, "OK | 'a b'=1 'c = d'=2 e=3");
    assert_int_equal(o.n_perf, 3);
    assert_near(perf_get(&o, "c = d")->value, 2);
    probe_plugin_output_clear(&o);
}

static void test_perf_label_length(void **state)
{
    char label[PROBE_PLUGIN_MAX_LABEL + 2];
    char item[PROBE_PLUGIN_MAX_LABEL + 16];
    struct probe_perf it;

    (void)state;
    memset(label, 'l', PROBE_PLUGIN_MAX_LABEL);
    label[PROBE_PLUGIN_MAX_LABEL] = '\0';
    snprintf(item, sizeof(item), "%s=1", label);
    it = one_item(item);
    assert_int_equal(strlen(it.label), PROBE_PLUGIN_MAX_LABEL);
    snprintf(item, sizeof(item), "'%s'=1", label);
    it = one_item(item);
    assert_int_equal(strlen(it.label), PROBE_PLUGIN_MAX_LABEL);
    /* one more byte: skipped rather than cut, which could merge two labels */
    strcat(label, "l");
    snprintf(item, sizeof(item), "%s=1", label);
    bad_item(item);
    snprintf(item, sizeof(item), "'%s'=1", label);
    bad_item(item);
}

static void test_perf_every_uom(void **state)
{
    static const struct {
        const char *item;
        enum probe_perf_unit unit;
        double base;
    } cases[] = {
        { "x=3", PROBE_PERF_NONE, 3 },
        { "x=3s", PROBE_PERF_SECONDS, 3 },
        { "x=3ms", PROBE_PERF_SECONDS, 3e-3 },
        { "x=3us", PROBE_PERF_SECONDS, 3e-6 },
        { "x=3\xc2\xb5s", PROBE_PERF_SECONDS, 3e-6 },
        { "x=3\xce\xbcs", PROBE_PERF_SECONDS, 3e-6 },
        { "x=3ns", PROBE_PERF_SECONDS, 3e-9 },
        { "x=3%", PROBE_PERF_PERCENT, 3 },
        { "x=3B", PROBE_PERF_BYTES, 3 },
        { "x=3KB", PROBE_PERF_BYTES, 3.0 * 1024 },
        { "x=3kB", PROBE_PERF_BYTES, 3.0 * 1024 },
        { "x=3MB", PROBE_PERF_BYTES, 3.0 * 1024 * 1024 },
        { "x=3GB", PROBE_PERF_BYTES, 3.0 * 1024 * 1024 * 1024 },
        { "x=3TB", PROBE_PERF_BYTES, 3.0 * 1024 * 1024 * 1024 * 1024 },
        { "x=3PB", PROBE_PERF_BYTES, 3.0 * 1024 * 1024 * 1024 * 1024 * 1024 },
        { "x=3KiB", PROBE_PERF_BYTES, 3.0 * 1024 },
        { "x=3MiB", PROBE_PERF_BYTES, 3.0 * 1024 * 1024 },
        { "x=3GiB", PROBE_PERF_BYTES, 3.0 * 1024 * 1024 * 1024 },
        { "x=3TiB", PROBE_PERF_BYTES, 3.0 * 1024 * 1024 * 1024 * 1024 },
        { "x=3PiB", PROBE_PERF_BYTES, 3.0 * 1024 * 1024 * 1024 * 1024 * 1024 },
        { "x=3c", PROBE_PERF_COUNTER, 3 },
        /* outside the guidelines but printed by real plugins (check_ups) */
        { "x=3mV", PROBE_PERF_OTHER, 3 },
        { "x=3degC", PROBE_PERF_OTHER, 3 },
        { "x=3\xc2\xb0"
          "C",
          PROBE_PERF_OTHER, 3 },
        { "x=3req/s", PROBE_PERF_OTHER, 3 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct probe_perf it = one_item(cases[i].item);

        if (it.unit != cases[i].unit)
            print_error("%s: unit %s\n", cases[i].item, probe_perf_unit_to_string(it.unit));
        assert_int_equal(it.unit, cases[i].unit);
        assert_near(it.value, 3);
        assert_near(it.base, cases[i].base);
        assert_string_equal(it.uom, cases[i].item + 3);
    }
    bad_item("x=3%%");
    bad_item("x=3m3");
    bad_item("x=3.5.1");
    bad_item("x=3_s");
    bad_item("x=3verylongunitname");
}

static void test_perf_undetermined(void **state)
{
    struct probe_perf it;

    (void)state;
    it = one_item("x=U");
    assert_true(it.undetermined);
    assert_near(it.value, 0);
    assert_near(it.base, 0);
    assert_int_equal(it.unit, PROBE_PERF_NONE);
    it = one_item("'ping rta'=U;100;200;0;");
    assert_true(it.undetermined);
    assert_near(it.warn.end, 100);
    assert_true(it.has_min);
    it = one_item("x=0");
    assert_false(it.undetermined);
    bad_item("x=Ums");
    bad_item("x=u");
    bad_item("x=UU");
    bad_item("x=1;U");
    bad_item("x=1;;;U");
}

static void test_perf_numbers(void **state)
{
    static const struct {
        const char *item;
        double value;
    } good[] = {
        { "x=0", 0 },  { "x=-12.5", -12.5 }, { "x=+7", 7 },     { "x=.5", 0.5 },
        { "x=5.", 5 }, { "x=0,25", 0.25 },   { "x=1e3", 1000 }, { "x=1.5E-3", 0.0015 },
        { "x=-0", 0 }, { "x=007", 7 },       { "x=2e+2", 200 }, { "x=1e3ms", 1000 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_near(one_item(good[i].item).value, good[i].value);
    /* "1e" is 1 with unit "e", as strict as the grammar allows */
    assert_string_equal(one_item("x=1e").uom, "e");
    bad_item("x=");
    bad_item("x");
    bad_item("=5");
    bad_item("x==1");
    bad_item("x=abc");
    bad_item("x=.");
    bad_item("x=-");
    bad_item("x=--1");
    bad_item("x=1.2.3");
    bad_item("x=1,5,3");
    bad_item("x=inf");
    bad_item("x=nan");
    bad_item("x=0x10");
    bad_item("x=1e999");
    bad_item("x=1e308PB"); /* finite as written, not in bytes */
    bad_item("x=1;1e999");
    bad_item("x=1;;;0;1e999");
}

static void test_perf_ranges(void **state)
{
    static const struct {
        const char *item;
        bool inside;
        double start, end;
    } cases[] = {
        { "x=1;10", false, 0, 10 },
        { "x=1;10:", false, 10, INFINITY },
        { "x=1;~:10", false, -INFINITY, 10 },
        { "x=1;10:20", false, 10, 20 },
        { "x=1;@10:20", true, 10, 20 },
        { "x=1;:5", false, 0, 5 },
        { "x=1;-5:-1", false, -5, -1 },
        { "x=1;@~:0", true, -INFINITY, 0 },
        { "x=1;~:", false, -INFINITY, INFINITY },
        { "x=1;5:5", false, 5, 5 },
    };
    struct probe_perf it;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        it = one_item(cases[i].item);
        assert_true(it.warn.set);
        assert_int_equal(it.warn.inside, cases[i].inside);
        assert_near(it.warn.start, cases[i].start);
        assert_near(it.warn.end, cases[i].end);
        assert_false(it.crit.set);
    }

    /* what alerts: outside [start, end], or inside it with '@' */
    it = one_item("x=1;10:20;@10:20");
    assert_true(probe_perf_range_alert(&it.warn, 9.99));
    assert_false(probe_perf_range_alert(&it.warn, 10));
    assert_false(probe_perf_range_alert(&it.warn, 20));
    assert_true(probe_perf_range_alert(&it.warn, 20.01));
    assert_false(probe_perf_range_alert(&it.crit, 9.99));
    assert_true(probe_perf_range_alert(&it.crit, 10));
    assert_true(probe_perf_range_alert(&it.crit, 15));
    assert_false(probe_perf_range_alert(&it.crit, 21));
    it = one_item("x=1;~:10");
    assert_false(probe_perf_range_alert(&it.warn, -1e300));
    assert_true(probe_perf_range_alert(&it.warn, 11));

    /* ranges and min/max are in the value's unit, kept in base units */
    it = one_item("x=250ms;200:300;@~:100;0;1000");
    assert_near(it.base, 0.25);
    assert_near(it.warn.start, 0.2);
    assert_near(it.warn.end, 0.3);
    assert_near(it.crit.end, 0.1);
    assert_true(isinf(it.crit.start) && it.crit.start < 0);
    assert_near(it.max, 1);
    assert_false(probe_perf_range_alert(&it.warn, it.base));

    bad_item("x=1;20:10"); /* start after end */
    bad_item("x=1;@");
    bad_item("x=1;~");
    bad_item("x=1;10:~");
    bad_item("x=1;1:2:3");
    bad_item("x=1;80%"); /* no units in thresholds */
    bad_item("x=1;;abc");
    bad_item("x=1;@@1");
    bad_item("x=1PB;1e300"); /* finite as written, not in bytes */
    bad_item("x=1PB;~:1e300");
    bad_item("x=1PB;1e300:");
    it = one_item("x=1PB;1:"); /* an open end stays open */
    assert_near(it.warn.start, 1024.0 * 1024 * 1024 * 1024 * 1024);
    assert_true(isinf(it.warn.end));
}

static void test_perf_fields(void **state)
{
    struct probe_perf it;

    (void)state;
    it = one_item("x=1");
    assert_false(it.warn.set || it.crit.set || it.has_min || it.has_max);
    it = one_item("x=1;;;;");
    assert_false(it.warn.set || it.crit.set || it.has_min || it.has_max);
    it = one_item("x=1;;;;;;;"); /* empty fields past max are tolerated */
    assert_false(it.has_max);
    it = one_item("x=1;2;3;-4;5");
    assert_near(it.min, -4);
    assert_near(it.max, 5);
    it = one_item("x=1;;;;5");
    assert_false(it.has_min);
    assert_true(it.has_max);
    bad_item("x=1;2;3;4;5;6");
    bad_item("x=1;;;;;6");
    bad_item("x=1;;;0B"); /* no units on min/max either */
    bad_item("x=1;;;:5");
}

static void test_perf_garbage_is_skipped_and_counted(void **state)
{
    struct probe_plugin_output o;

    (void)state;
    run_out(&o, 0, "OK | a=1 garbage b=2s c=x = d=3;; e=4;x;5 'f'=6\tg=7\n");
    assert_int_equal(o.status, PROBE_OK);
    assert_string_equal(o.message, "OK");
    assert_int_equal(o.n_perf, 5);
    assert_int_equal(o.n_perf_bad, 4);
    assert_string_equal(o.perf[0].label, "a");
    assert_string_equal(o.perf[1].label, "b");
    assert_string_equal(o.perf[2].label, "d");
    assert_string_equal(o.perf[3].label, "f");
    assert_string_equal(o.perf[4].label, "g");
    probe_plugin_output_clear(&o);

    /* a '|' with nothing after it, or only blanks */
    run_out(&o, 0, "OK |\n");
    assert_string_equal(o.message, "OK");
    assert_int_equal(o.n_perf + o.n_perf_bad, 0);
    assert_null(o.perf);
    probe_plugin_output_clear(&o);
}

static void test_perf_cap(void **state)
{
    struct probe_plugin_output o;
    struct sbuf sb = SBUF_INIT;

    (void)state;
    sbuf_puts(&sb, "OK |");
    for (int i = 0; i < PROBE_PLUGIN_MAX_PERF + 6; i++)
        sbuf_addf(&sb, " m%d=%d", i, i);
    sbuf_puts(&sb, " bad=");
    run_out(&o, 0, sb.buf);
    assert_int_equal(o.n_perf, PROBE_PLUGIN_MAX_PERF);
    assert_int_equal(o.n_perf_dropped, 6);
    assert_int_equal(o.n_perf_bad, 1);
    assert_string_equal(o.perf[PROBE_PLUGIN_MAX_PERF - 1].label, "m63");
    assert_near(o.perf[PROBE_PLUGIN_MAX_PERF - 1].value, 63);
    probe_plugin_output_clear(&o);
    sbuf_release(&sb);
}

/* ---- exit status, signals, timeouts ---- */

static void test_exit_codes(void **state)
{
    static const struct {
        int64_t exit_status;
        enum probe_status status;
        const char *message;
    } cases[] = {
        { 0, PROBE_OK, "SVC OK - fine" },
        { 1, PROBE_WARNING, "SVC OK - fine" },
        { 2, PROBE_CRITICAL, "SVC OK - fine" },
        { 3, PROBE_UNKNOWN, "SVC OK - fine" },
        { 4, PROBE_UNKNOWN, "exit status 4 (plugins exit with 0 to 3): SVC OK - fine" },
        { 126, PROBE_UNKNOWN, "exit status 126 (not executable?): SVC OK - fine" },
        { 127, PROBE_UNKNOWN, "exit status 127 (command not found?): SVC OK - fine" },
        { 255, PROBE_UNKNOWN, "exit status 255 (plugins exit with 0 to 3): SVC OK - fine" },
        { -1, PROBE_UNKNOWN, "exit status -1 (plugins exit with 0 to 3): SVC OK - fine" },
    };
    struct probe_plugin_output o;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_out(&o, cases[i].exit_status, "SVC OK - fine | t=1s\n");
        assert_int_equal(o.status, cases[i].status);
        assert_string_equal(o.message, cases[i].message);
        /* the plugin ended by itself: its perfdata stands */
        assert_int_equal(o.n_perf, 1);
        probe_plugin_output_clear(&o);
    }
    run_out(&o, 127, "");
    assert_string_equal(o.message, "exit status 127 (command not found?)");
    probe_plugin_output_clear(&o);
    run_out(&o, 0, NULL);
    assert_int_equal(o.status, PROBE_OK);
    assert_string_equal(o.message, "(no output)");
    probe_plugin_output_clear(&o);
}

static void test_exit_signal(void **state)
{
    struct probe_plugin_run run = {
        .term_signal = SIGKILL,
        .exit_status = 0,
        .out = "PROCS OK | procs=1\n",
        .out_len = 19,
    };
    struct probe_plugin_output o;

    (void)state;
    probe_plugin_evaluate(&run, &o);
    assert_int_equal(o.status, PROBE_UNKNOWN);
    assert_string_equal(o.message, "killed by signal 9 (SIGKILL): PROCS OK");
    assert_int_equal(o.n_perf, 0); /* possibly cut short: not trusted */
    probe_plugin_output_clear(&o);

    run.term_signal = SIGSEGV;
    run.out = "";
    run.out_len = 0;
    probe_plugin_evaluate(&run, &o);
    assert_int_equal(o.status, PROBE_UNKNOWN);
    assert_string_equal(o.message, "killed by signal 11 (SIGSEGV)");
    probe_plugin_output_clear(&o);

    run.term_signal = SIGTERM;
    probe_plugin_evaluate(&run, &o);
    assert_string_equal(o.message, "killed by signal 15 (SIGTERM)");
    probe_plugin_output_clear(&o);

    run.term_signal = SIGABRT;
    run.err = "check_x: malloc.c:2379: sysmalloc: Assertion failed.\n";
    run.err_len = strlen(run.err);
    probe_plugin_evaluate(&run, &o);
    assert_string_equal(o.message, "killed by signal 6 (SIGABRT): stderr: check_x: malloc.c:2379: "
                                   "sysmalloc: Assertion failed.");
    probe_plugin_output_clear(&o);

    run.term_signal = 99; /* no name known */
    run.err = NULL;
    probe_plugin_evaluate(&run, &o);
    assert_int_equal(o.status, PROBE_UNKNOWN);
    assert_string_equal(o.message, "killed by signal 99");
    probe_plugin_output_clear(&o);
}

static void test_exit_timeout(void **state)
{
    struct probe_plugin_run run = {
        .timed_out = true,
        .timeout_ms = 10000,
        .term_signal = SIGKILL, /* how the spawner stopped it: the timeout is the news */
        .out = "",
    };
    struct probe_plugin_output o;

    (void)state;
    probe_plugin_evaluate(&run, &o);
    assert_int_equal(o.status, PROBE_CRITICAL);
    assert_string_equal(o.message, "timed out after 10s");
    probe_plugin_output_clear(&o);

    run.timeout_ms = 1500;
    run.out = "SLOW still working | partial=12";
    run.out_len = strlen(run.out);
    probe_plugin_evaluate(&run, &o);
    assert_int_equal(o.status, PROBE_CRITICAL);
    assert_string_equal(o.message, "timed out after 1s500ms: SLOW still working");
    assert_int_equal(o.n_perf, 0);
    assert_int_equal(o.n_perf_bad, 0);
    probe_plugin_output_clear(&o);
}

static void test_exit_spawn_error(void **state)
{
    struct probe_plugin_run run = { .spawn_error = -ENOENT };
    struct probe_plugin_output o;

    (void)state;
    probe_plugin_evaluate(&run, &o);
    assert_int_equal(o.status, PROBE_UNKNOWN);
    assert_string_equal(o.message, "cannot start the plugin: No such file or directory");
    probe_plugin_output_clear(&o);
    run.spawn_error = -EACCES;
    probe_plugin_evaluate(&run, &o);
    assert_string_equal(o.message, "cannot start the plugin: Permission denied");
    probe_plugin_output_clear(&o);
}

/* ---- awkward output ---- */

static void test_output_empty_and_stderr(void **state)
{
    struct probe_plugin_run run = { .exit_status = 2 };
    struct probe_plugin_output o;

    (void)state;
    run_out(&o, 0, "");
    assert_string_equal(o.message, "(no output)");
    assert_null(o.long_text);
    assert_null(o.perf);
    probe_plugin_output_clear(&o);
    run_out(&o, 1, " \n\r\n\t\n");
    assert_int_equal(o.status, PROBE_WARNING);
    assert_string_equal(o.message, "(no output)");
    assert_null(o.long_text);
    probe_plugin_output_clear(&o);
    run_out(&o, 0, "\nsecond line\n");
    assert_string_equal(o.message, "(first line empty)");
    assert_string_equal(o.long_text, "second line");
    probe_plugin_output_clear(&o);

    /* nothing on stdout: the first line of stderr says why */
    run.err = "\ncurl: (7) Failed to connect to db port 5432\nsecond\n";
    run.err_len = strlen(run.err);
    probe_plugin_evaluate(&run, &o);
    assert_int_equal(o.status, PROBE_CRITICAL);
    assert_string_equal(o.message,
                        "(no output) stderr: curl: (7) Failed to connect to db port 5432");
    probe_plugin_output_clear(&o);

    /* from a Python traceback, the exception (its last line) */
    run.exit_status = 1;
    run.err = "Traceback (most recent call last):\n  File \"/usr/local/bin/check_q\", line 9, in "
              "<module>\n    main()\nConnectionRefusedError: [Errno 111] Connection refused\n";
    run.err_len = strlen(run.err);
    probe_plugin_evaluate(&run, &o);
    assert_string_equal(o.message, "(no output) stderr: ConnectionRefusedError: [Errno 111] "
                                   "Connection refused");
    probe_plugin_output_clear(&o);

    run.exit_status = 127;
    run.err = "/usr/local/bin/check_wrap: line 3: check_db: command not found";
    run.err_len = strlen(run.err);
    probe_plugin_evaluate(&run, &o);
    assert_string_equal(o.message,
                        "exit status 127 (command not found?): stderr: "
                        "/usr/local/bin/check_wrap: line 3: check_db: command not found");
    probe_plugin_output_clear(&o);

    /* with text on stdout, stderr is noise */
    run.exit_status = 0;
    run.out = "OK\n";
    run.out_len = 3;
    probe_plugin_evaluate(&run, &o);
    assert_string_equal(o.message, "OK");
    probe_plugin_output_clear(&o);

    /* blank stderr changes nothing */
    run.out = NULL;
    run.err = " \n\n";
    run.err_len = 3;
    probe_plugin_evaluate(&run, &o);
    assert_string_equal(o.message, "(no output)");
    probe_plugin_output_clear(&o);
}

static void test_output_line_endings(void **state)
{
    struct probe_plugin_output o;

    (void)state;
    run_out(&o, 0, "OK - fine|a=1;2;3\r\nline two\r\nline three | b=2\r\nc=3\r\n");
    assert_string_equal(o.message, "OK - fine");
    assert_string_equal(o.long_text, "line two\nline three");
    assert_int_equal(o.n_perf, 3);
    assert_int_equal(o.n_perf_bad, 0);
    assert_near(perf_get(&o, "a")->crit.end, 3);
    assert_near(perf_get(&o, "c")->value, 3);
    probe_plugin_output_clear(&o);

    /* no trailing newline: same result */
    run_out(&o, 0, "OK - fine|a=1;2;3");
    assert_string_equal(o.message, "OK - fine");
    assert_int_equal(o.n_perf, 1);
    assert_near(perf_get(&o, "a")->warn.end, 2);
    probe_plugin_output_clear(&o);

    /* leading and trailing blanks trimmed, inner ones kept */
    run_out(&o, 0, "  \t OK  -  spaced \t |x=1");
    assert_string_equal(o.message, "OK  -  spaced");
    probe_plugin_output_clear(&o);
}

static void test_output_control_bytes(void **state)
{
    static const char out[] = "OK\0hidden\tand \x1b[31mred\x7f|a=1\0 b=2\nlong\0er\x01\n";
    struct probe_plugin_run run = { .out = out, .out_len = sizeof(out) - 1 };
    struct probe_plugin_output o;

    (void)state;
    probe_plugin_evaluate(&run, &o);
    assert_string_equal(o.message, "OK?hidden and ?[31mred?");
    assert_string_equal(o.long_text, "long?er?");
    assert_int_equal(o.n_perf, 1); /* "a=1\0" is garbage, b=2 is fine */
    assert_int_equal(o.n_perf_bad, 1);
    assert_near(perf_get(&o, "b")->value, 2);
    probe_plugin_output_clear(&o);
}

static void test_output_long_message(void **state)
{
    char line[2000];
    struct probe_plugin_output o;
    size_t len;

    (void)state;
    memset(line, 'a', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\0';
    run_out(&o, 2, line);
    len = strlen(o.message);
    assert_int_equal(len, OPSD_MAX_MESSAGE - 1);
    assert_string_equal(o.message + len - 15, "... (truncated)");
    assert_int_equal(o.status, PROBE_CRITICAL);
    assert_false(o.truncated); /* the output itself was whole */
    probe_plugin_output_clear(&o);

    /* exactly full: no note */
    line[OPSD_MAX_MESSAGE - 1] = '\0';
    run_out(&o, 0, line);
    assert_int_equal(strlen(o.message), OPSD_MAX_MESSAGE - 1);
    assert_null(strstr(o.message, "truncated"));
    probe_plugin_output_clear(&o);

    /* cut on a UTF-8 boundary: after one 'a', each "é" (two bytes) starts at
     * an odd offset, so the plain cut at 496 would split one */
    line[0] = 'a';
    for (size_t i = 1; i + 2 < sizeof(line); i += 2)
        memcpy(line + i, "\xc3\xa9", 2);
    line[sizeof(line) - 2] = '\0';
    run_out(&o, 0, line);
    len = strlen(o.message);
    assert_int_equal(len, OPSD_MAX_MESSAGE - 1 - 1);
    assert_int_equal((unsigned char)o.message[494], 0xa9);
    assert_string_equal(o.message + 495, "... (truncated)");
    probe_plugin_output_clear(&o);
}

static void test_output_huge(void **state)
{
    size_t n = PROBE_PLUGIN_MAX_OUTPUT + 4096;
    char *out = malloc(n + 1);
    struct probe_plugin_run run = { .out = out, .out_len = n };
    struct probe_plugin_output o;
    size_t off;

    (void)state;
    /* 100 lines of long text, then a flood of perfdata past the cap */
    off = (size_t)sprintf(out, "BIG OK - lots|first=1\n");
    for (int i = 0; i < 100; i++)
        off += (size_t)sprintf(out + off, "detail line %d\n", i);
    off += (size_t)sprintf(out + off, "end |");
    while (off < n)
        off += (size_t)snprintf(out + off, n + 1 - off, " m=123456");
    probe_plugin_evaluate(&run, &o);
    assert_true(o.truncated);
    assert_string_equal(o.message, "BIG OK - lots");
    assert_true(strncmp(o.long_text, "detail line 0\ndetail line 1\n", 28) == 0);
    assert_int_equal(strlen(o.long_text), 10 * 13 + 90 * 14 + 3 + 100); /* + "end", newlines */
    assert_int_equal(o.n_perf, PROBE_PLUGIN_MAX_PERF);
    assert_near(o.perf[PROBE_PLUGIN_MAX_PERF - 1].value, 123456);
    /* PROBE_PLUGIN_MAX_OUTPUT ends inside an item: that one is not trusted */
    assert_int_equal(o.n_perf_bad, 1);
    assert_true(o.n_perf_dropped > 6000);
    probe_plugin_output_clear(&o);

    /* the spawner's own cut counts the same */
    strcpy(out, "OK | a=1 b=12");
    run.out_len = strlen(out);
    run.out_truncated = true;
    probe_plugin_evaluate(&run, &o);
    assert_true(o.truncated);
    assert_int_equal(o.n_perf, 1);
    assert_int_equal(o.n_perf_bad, 1); /* b may have been b=12345 */
    probe_plugin_output_clear(&o);
    /* ... unless a blank or newline shows the last item had ended */
    strcpy(out, "OK | a=1 b=12\nmore text that got c");
    run.out_len = strlen(out);
    probe_plugin_evaluate(&run, &o);
    assert_int_equal(o.n_perf, 2);
    assert_int_equal(o.n_perf_bad, 0);
    assert_string_equal(o.long_text, "more text that got c");
    probe_plugin_output_clear(&o);

    /* long text past its cap ends with a note */
    memset(out, 'x', n);
    out[0] = '\n';
    run.out_len = n;
    run.out_truncated = false;
    probe_plugin_evaluate(&run, &o);
    assert_string_equal(o.message, "(first line empty)");
    assert_int_equal(strlen(o.long_text), PROBE_PLUGIN_MAX_LONG_TEXT - 1);
    assert_string_equal(o.long_text + PROBE_PLUGIN_MAX_LONG_TEXT - 17, "\n... (truncated)");
    assert_true(o.truncated);
    probe_plugin_output_clear(&o);
    free(out);
}

static void test_output_clear_and_names(void **state)
{
    struct probe_plugin_output o;

    (void)state;
    probe_plugin_output_clear(NULL);
    run_out(&o, 0, "OK | a=1\nlong\n");
    assert_non_null(o.perf);
    assert_non_null(o.long_text);
    probe_plugin_output_clear(&o);
    assert_null(o.perf);
    assert_null(o.long_text);
    assert_int_equal(o.n_perf, 0);
    probe_plugin_output_clear(&o); /* twice is fine */

    assert_string_equal(probe_perf_unit_to_string(PROBE_PERF_NONE), "none");
    assert_string_equal(probe_perf_unit_to_string(PROBE_PERF_SECONDS), "seconds");
    assert_string_equal(probe_perf_unit_to_string(PROBE_PERF_PERCENT), "percent");
    assert_string_equal(probe_perf_unit_to_string(PROBE_PERF_BYTES), "bytes");
    assert_string_equal(probe_perf_unit_to_string(PROBE_PERF_COUNTER), "counter");
    assert_string_equal(probe_perf_unit_to_string(PROBE_PERF_OTHER), "other");
    assert_string_equal(probe_perf_unit_to_string((enum probe_perf_unit)42), "other");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_blanks),
        cmocka_unit_test(test_split_single_quotes),
        cmocka_unit_test(test_split_double_quotes),
        cmocka_unit_test(test_split_backslash),
        cmocka_unit_test(test_split_literal_shell_characters),
        cmocka_unit_test(test_split_operators),
        cmocka_unit_test(test_split_syntax_errors),
        cmocka_unit_test(test_split_error_does_not_quote_command),
        cmocka_unit_test(test_split_caps),
        cmocka_unit_test(test_split_real_commands),
        cmocka_unit_test(test_real_check_disk),
        cmocka_unit_test(test_real_check_disk_many),
        cmocka_unit_test(test_real_check_load),
        cmocka_unit_test(test_real_check_procs),
        cmocka_unit_test(test_real_check_http_and_curl),
        cmocka_unit_test(test_real_others),
        cmocka_unit_test(test_guidelines_multiline),
        cmocka_unit_test(test_later_perf_only),
        cmocka_unit_test(test_perf_quoted_labels),
        cmocka_unit_test(test_perf_label_length),
        cmocka_unit_test(test_perf_every_uom),
        cmocka_unit_test(test_perf_undetermined),
        cmocka_unit_test(test_perf_numbers),
        cmocka_unit_test(test_perf_ranges),
        cmocka_unit_test(test_perf_fields),
        cmocka_unit_test(test_perf_garbage_is_skipped_and_counted),
        cmocka_unit_test(test_perf_cap),
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_exit_signal),
        cmocka_unit_test(test_exit_timeout),
        cmocka_unit_test(test_exit_spawn_error),
        cmocka_unit_test(test_output_empty_and_stderr),
        cmocka_unit_test(test_output_line_endings),
        cmocka_unit_test(test_output_control_bytes),
        cmocka_unit_test(test_output_long_message),
        cmocka_unit_test(test_output_huge),
        cmocka_unit_test(test_output_clear_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
