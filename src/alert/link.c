/* Signed one-click links: HMAC-SHA256 over purpose, alert, expiry, nonce. */
#include "alert/link.h"

#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/b64url.h"

#define LINK_VERSION 1
#define MAC_LEN 32
#define BODY_LEN (1 + 1 + 8 + 8 + ALERT_LINK_NONCE_LEN)
#define RAW_LEN (BODY_LEN + MAC_LEN)
#define TOKEN_LEN ((RAW_LEN * 4 + 2) / 3) /* base64url, no padding */

_Static_assert(TOKEN_LEN + 1 == ALERT_LINK_TOKEN_SIZE, "token size out of date");

/* Decodes exactly TOKEN_LEN characters into RAW_LEN bytes. */
static int decode_token(const char *s, uint8_t *out)
{
    if (strnlen(s, TOKEN_LEN + 1) != TOKEN_LEN)
        return -EINVAL;
    return b64url_decode(s, TOKEN_LEN, out) == RAW_LEN ? 0 : -EINVAL;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static int mac(const uint8_t *key, const uint8_t *body, uint8_t *out)
{
    unsigned len = 0;

    if (!HMAC(EVP_sha256(), key, ALERT_LINK_KEY_LEN, body, BODY_LEN, out, &len) || len != MAC_LEN)
        return -EIO;
    return 0;
}

static int fill_random(uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);

        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int alert_link_create(const uint8_t *key, enum alert_link_purpose purpose, uint64_t alert_id,
                      uint64_t expires_ms, char *buf, size_t bufsz, struct opsd_error *err)
{
    uint8_t raw[RAW_LEN];
    int r;

    if (purpose != ALERT_LINK_ACK && purpose != ALERT_LINK_RESOLVE)
        return opsd_errorf(err, -EINVAL, "unknown link purpose %d", (int)purpose);
    if (bufsz < ALERT_LINK_TOKEN_SIZE)
        return opsd_errorf(err, -ENOBUFS, "link buffer of %zu bytes is too small", bufsz);
    raw[0] = LINK_VERSION;
    raw[1] = (uint8_t)purpose;
    put_be64(raw + 2, alert_id);
    put_be64(raw + 10, expires_ms);
    r = fill_random(raw + 18, ALERT_LINK_NONCE_LEN);
    if (r < 0)
        return opsd_errorf(err, r, "cannot get random bytes: %s", strerror(-r));
    r = mac(key, raw, raw + BODY_LEN);
    if (r < 0)
        return opsd_errorf(err, r, "cannot compute link MAC");
    b64url_encode(raw, RAW_LEN, buf);
    return 0;
}

int alert_link_verify(const uint8_t *key, const char *token, enum alert_link_purpose purpose,
                      uint64_t alert_id, uint64_t now_ms, struct opsd_error *err)
{
    uint8_t raw[RAW_LEN], want[MAC_LEN];
    uint64_t expires_ms;
    int r;

    if (!token || decode_token(token, raw) < 0)
        return opsd_errorf(err, -EINVAL, "link token is malformed");
    r = mac(key, raw, want);
    if (r < 0)
        return opsd_errorf(err, r, "cannot compute link MAC");
    /* Constant time: a byte-wise early exit would let an attacker find the
     * right MAC one byte at a time by timing. */
    if (CRYPTO_memcmp(want, raw + BODY_LEN, MAC_LEN) != 0)
        return opsd_errorf(err, -EBADMSG, "link token signature does not match");
    if (raw[0] != LINK_VERSION)
        return opsd_errorf(err, -EINVAL, "link token version %u is not supported", raw[0]);
    if (raw[1] != (uint8_t)purpose)
        return opsd_errorf(err, -EPERM, "link token is for another action");
    if (get_be64(raw + 2) != alert_id)
        return opsd_errorf(err, -EACCES, "link token is for another alert");
    expires_ms = get_be64(raw + 10);
    if (now_ms >= expires_ms)
        return opsd_errorf(err, -EKEYEXPIRED, "link expired");
    return 0;
}
