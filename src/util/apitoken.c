/* API tokens: create, hash for storage, verify in constant time. */
#include "util/apitoken.h"
#include "util/b64url.h"

#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "util/cleanup.h"

static const char *const scope_names[] = {
    [APITOKEN_SCOPE_READ] = "read",
    [APITOKEN_SCOPE_WRITE] = "write",
    [APITOKEN_SCOPE_ADMIN] = "admin",
};

static bool scope_valid(enum apitoken_scope s)
{
    return s >= APITOKEN_SCOPE_READ && s <= APITOKEN_SCOPE_ADMIN;
}

const char *apitoken_scope_to_string(enum apitoken_scope s)
{
    return scope_valid(s) ? scope_names[s] : NULL;
}

int apitoken_scope_from_string(const char *s, enum apitoken_scope *ret_scope)
{
    for (size_t i = 0; i < ARRAY_SIZE(scope_names); i++) {
        if (scope_names[i] && strcasecmp(s, scope_names[i]) == 0) {
            *ret_scope = (enum apitoken_scope)i;
            return 0;
        }
    }
    return -EINVAL;
}

bool apitoken_scope_allows(enum apitoken_scope have, enum apitoken_scope need)
{
    return scope_valid(have) && scope_valid(need) && have >= need;
}

int apitoken_hash(const char *token, char *ret_hash)
{
    /* A plain SHA-256, not bcrypt/argon2: slow hashes protect guessable
     * passwords from offline guessing. A token holds 256 random bits, so
     * nobody can enumerate candidates whatever the hash speed, and a fast
     * hash keeps every API request cheap. */
    unsigned char d[SHA256_DIGEST_LENGTH];
    static const char hex[] = "0123456789abcdef";

    if (!SHA256((const unsigned char *)token, strlen(token), d))
        return -EIO;
    for (size_t i = 0; i < sizeof(d); i++) {
        ret_hash[2 * i] = hex[d[i] >> 4];
        ret_hash[2 * i + 1] = hex[d[i] & 15];
    }
    ret_hash[2 * sizeof(d)] = '\0';
    return 0;
}

int apitoken_create(enum apitoken_scope scope, char *ret_token, struct apitoken_record *ret_rec,
                    struct opsd_error *err)
{
    unsigned char rnd[APITOKEN_RANDOM_LEN];
    char token[APITOKEN_SIZE];
    struct apitoken_record rec = { .scope = scope };
    size_t got = 0;
    int r;

    if (!scope_valid(scope))
        return opsd_errorf(err, -EINVAL, "unknown token scope %d", (int)scope);
    while (got < sizeof(rnd)) {
        ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return opsd_errorf(err, -errno, "cannot get random bytes: %m");
        }
        got += (size_t)n;
    }
    /* The mark is a prefix, not a string: the encoder writes the rest and
     * the terminating NUL. */
    memcpy(token, APITOKEN_MARK, APITOKEN_MARK_LEN); // NOLINT(bugprone-not-null-terminated-result)
    b64url_encode(rnd, APITOKEN_RANDOM_LEN, token + APITOKEN_MARK_LEN);
    OPENSSL_cleanse(rnd, sizeof(rnd));
    r = apitoken_hash(token, rec.hash);
    if (r < 0) {
        OPENSSL_cleanse(token, sizeof(token));
        return opsd_errorf(err, r, "cannot hash token");
    }
    memcpy(rec.prefix, token + APITOKEN_MARK_LEN, APITOKEN_PREFIX_LEN);
    rec.prefix[APITOKEN_PREFIX_LEN] = '\0';

    memcpy(ret_token, token, sizeof(token));
    OPENSSL_cleanse(token, sizeof(token));
    *ret_rec = rec;
    return 0;
}

static bool well_formed(const char *token)
{
    uint8_t raw[APITOKEN_RANDOM_LEN + 3];

    if (strnlen(token, APITOKEN_LEN + 1) != APITOKEN_LEN)
        return false;
    if (memcmp(token, APITOKEN_MARK, APITOKEN_MARK_LEN) != 0)
        return false;
    /* Only what the encoder can write: every character from the alphabet
     * and the last one's unused bits zero. */
    return b64url_decode(token + APITOKEN_MARK_LEN, APITOKEN_LEN - APITOKEN_MARK_LEN, raw) ==
           APITOKEN_RANDOM_LEN;
}

int apitoken_verify(const struct apitoken_record *rec, const char *token, enum apitoken_scope need,
                    struct opsd_error *err)
{
    char h[APITOKEN_HASH_SIZE];
    int r;

    if (!token || !well_formed(token))
        return opsd_errorf(err, -EINVAL, "not an opsd API token");
    r = apitoken_hash(token, h);
    if (r < 0)
        return opsd_errorf(err, r, "cannot hash token");
    /* Constant time, so response timing says nothing about how much of the
     * stored hash a guess matched. */
    if (CRYPTO_memcmp(h, rec->hash, APITOKEN_HASH_SIZE - 1) != 0)
        return opsd_errorf(err, -EACCES, "API token is not valid");
    if (!apitoken_scope_allows(rec->scope, need))
        return opsd_errorf(err, -EPERM, "API token has scope '%s', this needs '%s'",
                           apitoken_scope_to_string(rec->scope) ?: "?",
                           apitoken_scope_to_string(need) ?: "?");
    return 0;
}
