/* Assertions on a JSON response body, for http monitors' expect.json:
 * `$.status == "ok"`, `$.checks[0].latency_ms < 200`, `$.ready` (the value
 * exists and is not false or null). A small JSONPath subset: `$`, then
 * `.name` (letters, digits, _ and -), `["any name"]` and `[index]`; the
 * operators == != < <= > >=; a literal right side: a string in double
 * quotes, a number, true, false or null. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct opsd_error;

#define PROBE_JSON_MAX_STEPS 32
#define PROBE_JSON_MAX_ASSERT 512 /* bytes in one assertion */

enum probe_json_op {
    PROBE_JSON_TRUTHY = 0, /* no operator: the value exists and is not false/null */
    PROBE_JSON_EQ,
    PROBE_JSON_NE,
    PROBE_JSON_LT,
    PROBE_JSON_LE,
    PROBE_JSON_GT,
    PROBE_JSON_GE,
};

struct probe_json_step {
    bool is_index;
    size_t index;
    char *key; /* owned, when !is_index */
};

struct probe_json_assert {
    char *text; /* owned: the assertion as written, for messages */
    struct probe_json_step steps[PROBE_JSON_MAX_STEPS];
    size_t n_steps;
    enum probe_json_op op;
    json_t *want; /* owned: the literal; NULL for PROBE_JSON_TRUTHY */
};

/* Parses text into *ret (caller frees with probe_json_assert_free()).
 * Returns 0, or -EINVAL with a message saying what is wrong and where
 * ("expected ']' at column 12"); *ret is untouched on failure. */
int probe_json_assert_parse(const char *text, struct probe_json_assert *ret,
                            struct opsd_error *reterr);
void probe_json_assert_free(struct probe_json_assert *a);
/* Checks a against doc. Returns true when it holds; otherwise false, with
 * why (n bytes) saying what was found: `$.status is "degraded"`, `$.x is
 * missing`, `$.n is "3", not a number`. */
bool probe_json_assert_eval(const struct probe_json_assert *a, const json_t *doc, char *why,
                            size_t n);
