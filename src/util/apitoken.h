/* API tokens: "opsd_" + base64url of 32 random bytes, shown once at
 * creation; only their SHA-256 (hex) and a short prefix are stored.
 *
 * Lives in util rather than alert: it authenticates API and CLI callers
 * (web, cmd), which has nothing to do with alerting. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define APITOKEN_MARK "opsd_"
#define APITOKEN_MARK_LEN 5
#define APITOKEN_RANDOM_LEN 32
#define APITOKEN_LEN (APITOKEN_MARK_LEN + 43) /* 43 = base64url(32 bytes), no padding */
#define APITOKEN_SIZE (APITOKEN_LEN + 1)
#define APITOKEN_HASH_SIZE 65 /* 64 hex digits + NUL */
#define APITOKEN_PREFIX_LEN 8 /* characters after "opsd_" kept for listing */
#define APITOKEN_PREFIX_SIZE 9

/* Stored: values only grow, and a larger value grants everything a smaller
 * one does. */
enum apitoken_scope {
    APITOKEN_SCOPE_READ = 1,
    APITOKEN_SCOPE_WRITE = 2,
    APITOKEN_SCOPE_ADMIN = 3,
};

const char *apitoken_scope_to_string(enum apitoken_scope s);
int apitoken_scope_from_string(const char *s, enum apitoken_scope *ret_scope);
/* Whether a token with scope have may do what needs scope need. */
bool apitoken_scope_allows(enum apitoken_scope have, enum apitoken_scope need);

/* What the store keeps: never the token itself. */
struct apitoken_record {
    char hash[APITOKEN_HASH_SIZE];     /* SHA-256 of the whole token, lowercase hex */
    char prefix[APITOKEN_PREFIX_SIZE]; /* to tell tokens apart in listings */
    enum apitoken_scope scope;
};

/* Makes a new token: ret_token (APITOKEN_SIZE bytes) gets the secret to
 * show once, ret_rec what to store. Both are left alone on failure
 * (-EINVAL for an unknown scope, or getrandom's error). */
int apitoken_create(enum apitoken_scope scope, char *ret_token, struct apitoken_record *ret_rec,
                    struct opsd_error *err);

/* Hex SHA-256 of a presented token, for finding its record by hash. Does
 * not check the token's shape. */
int apitoken_hash(const char *token, char *ret_hash);

/* Checks a presented token against a stored record for an action that
 * needs scope need. Returns 0, or
 *   -EINVAL  not shaped like an opsd token
 *   -EACCES  not this record's token
 *   -EPERM   the right token, but its scope is below need */
int apitoken_verify(const struct apitoken_record *rec, const char *token, enum apitoken_scope need,
                    struct opsd_error *err);
