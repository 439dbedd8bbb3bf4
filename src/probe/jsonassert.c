/* expect.json: a JSONPath subset and a comparison, evaluated with jansson. */
#include "probe/jsonassert.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/xalloc.h"

static void steps_free(struct probe_json_step *st, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(st[i].key);
}

void probe_json_assert_free(struct probe_json_assert *a)
{
    if (!a)
        return;
    steps_free(a->steps, a->n_steps);
    json_decref(a->want);
    free(a->text);
    memset(a, 0, sizeof(*a));
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

static const char *skip_blank(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

int probe_json_assert_parse(const char *text, struct probe_json_assert *ret,
                            struct opsd_error *reterr)
{
    struct probe_json_assert a = { 0 };
    const char *p = text;
    json_error_t jerr;
    int r = -EINVAL;

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        opsd_errorf(reterr, -EINVAL, __VA_ARGS__);                                                 \
        goto out;                                                                                  \
    } while (0)

    if (strlen(text) > PROBE_JSON_MAX_ASSERT)
        FAIL("longer than %d bytes", PROBE_JSON_MAX_ASSERT);
    p = skip_blank(p);
    if (*p != '$')
        FAIL("expected a path starting with '$' at column %zu", (size_t)(p - text) + 1);
    p++;
    while (*p == '.' || *p == '[') {
        struct probe_json_step *st;

        if (a.n_steps == PROBE_JSON_MAX_STEPS)
            FAIL("more than %d steps in the path", PROBE_JSON_MAX_STEPS);
        st = &a.steps[a.n_steps];
        if (*p == '.') {
            const char *s = ++p;

            while (is_name_char(*p))
                p++;
            if (p == s)
                FAIL("expected a name after '.' at column %zu", (size_t)(s - text) + 1);
            st->key = xstrndup(s, (size_t)(p - s));
        } else if (p[1] == '"') {
            char *key = xmalloc(strlen(p) + 1);
            const char *s = p;
            size_t len = 0;

            p += 2;
            while (*p && *p != '"') {
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                    p++;
                key[len++] = *p++;
            }
            key[len] = '\0';
            if (*p != '"' || p[1] != ']') {
                free(key);
                FAIL("unterminated [\"...\"] opened at column %zu", (size_t)(s - text) + 1);
            }
            p += 2;
            st->key = key;
        } else {
            char *end;
            unsigned long long v;
            const char *s = ++p;

            if (*p < '0' || *p > '9')
                FAIL("expected an index or a quoted name after '[' at column %zu",
                     (size_t)(s - text) + 1);
            v = strtoull(p, &end, 10);
            if (*end != ']' || v > 1000000)
                FAIL("expected ']' after the index at column %zu", (size_t)(end - text) + 1);
            st->is_index = true;
            st->index = (size_t)v;
            p = end + 1;
        }
        a.n_steps++;
    }
    p = skip_blank(p);
    if (!*p) {
        a.op = PROBE_JSON_TRUTHY;
    } else {
        static const struct {
            const char *s;
            enum probe_json_op op;
        } ops[] = { { "==", PROBE_JSON_EQ }, { "!=", PROBE_JSON_NE }, { "<=", PROBE_JSON_LE },
                    { ">=", PROBE_JSON_GE }, { "<", PROBE_JSON_LT },  { ">", PROBE_JSON_GT } };
        size_t i;

        for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
            if (strncmp(p, ops[i].s, strlen(ops[i].s)) == 0)
                break;
        if (i == sizeof(ops) / sizeof(ops[0]))
            FAIL("expected ==, !=, <, <=, > or >= at column %zu", (size_t)(p - text) + 1);
        a.op = ops[i].op;
        p = skip_blank(p + strlen(ops[i].s));
        if (!*p)
            FAIL("expected a value after %s", ops[i].s);
        /* The literal is JSON: a string, number, true, false or null. */
        a.want = json_loads(p, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
        if (!a.want || json_is_object(a.want) || json_is_array(a.want))
            FAIL("the value at column %zu is not a JSON string, number, true, false or null",
                 (size_t)(p - text) + 1);
        if (a.op >= PROBE_JSON_LT && !json_is_number(a.want))
            FAIL("%s needs a number on its right", ops[i].s);
    }
    a.text = xstrdup(text);
    *ret = a;
    memset(&a, 0, sizeof(a));
    r = 0;
out:
    probe_json_assert_free(&a);
    return r;
#undef FAIL
}

/* A short JSON rendering of v for messages. */
static void show(const json_t *v, char *buf, size_t n)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

    snprintf(buf, n, "%.60s%s", s ? s : "?", s && strlen(s) > 60 ? "..." : "");
    free(s);
}

bool probe_json_assert_eval(const struct probe_json_assert *a, const json_t *doc, char *why,
                            size_t n)
{
    const json_t *v = doc;
    char got[80];
    double x, y;

    for (size_t i = 0; v && i < a->n_steps; i++) {
        const struct probe_json_step *st = &a->steps[i];

        v = st->is_index ? json_array_get(v, st->index) : json_object_get(v, st->key);
    }
    if (!v) {
        snprintf(why, n, "%s: the path is missing", a->text);
        return false;
    }
    show(v, got, sizeof(got));
    switch (a->op) {
    case PROBE_JSON_TRUTHY:
        if (json_is_false(v) || json_is_null(v)) {
            snprintf(why, n, "%s: it is %s", a->text, got);
            return false;
        }
        return true;
    case PROBE_JSON_EQ:
    case PROBE_JSON_NE: {
        bool eq = json_equal((json_t *)v, a->want) ||
                  (json_is_number(v) && json_is_number(a->want) &&
                   json_number_value(v) == json_number_value(a->want));

        if (eq == (a->op == PROBE_JSON_EQ))
            return true;
        snprintf(why, n, "%s: it is %s", a->text, got);
        return false;
    }
    default:
        break;
    }
    if (!json_is_number(v)) {
        snprintf(why, n, "%s: it is %s, not a number", a->text, got);
        return false;
    }
    x = json_number_value(v);
    y = json_number_value(a->want);
    if ((a->op == PROBE_JSON_LT && x < y) || (a->op == PROBE_JSON_LE && x <= y) ||
        (a->op == PROBE_JSON_GT && x > y) || (a->op == PROBE_JSON_GE && x >= y))
        return true;
    snprintf(why, n, "%s: it is %s", a->text, got);
    return false;
}
