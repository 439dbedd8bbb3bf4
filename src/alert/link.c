/* Signed one-click links: HMAC-SHA256 over purpose, alert, expiry, nonce. */
#include "alert/link.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

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

/* Reads exactly ALERT_LINK_KEY_LEN bytes from path: -ENOENT when it is
 * missing, -EINVAL when it holds another number of bytes. */
static int read_key(const char *path, uint8_t *key, struct opsd_error *err)
{
    uint8_t buf[ALERT_LINK_KEY_LEN + 1];
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int r = 0;

    if (fd < 0)
        return errno == ENOENT
                   ? -ENOENT
                   : opsd_errorf(err, -errno, "cannot open %s: %s", path, strerror(errno));
    while (got < sizeof(buf)) {
        ssize_t n = read(fd, buf + got, sizeof(buf) - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = opsd_errorf(err, -errno, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got != ALERT_LINK_KEY_LEN) {
        r = opsd_errorf(err, -EINVAL,
                        "%s holds %zu%s bytes, not %d (delete it to make a new key; links "
                        "already sent stop working)",
                        path, got, got > ALERT_LINK_KEY_LEN ? " or more" : "", ALERT_LINK_KEY_LEN);
        goto out;
    }
    memcpy(key, buf, ALERT_LINK_KEY_LEN);
out:
    close(fd);
    OPENSSL_cleanse(buf, sizeof(buf));
    return r;
}

/* Writes a new random key to a temporary file and links it to path, so
 * path appears only once it is whole; a concurrent start that got there
 * first wins (-EEXIST, and the caller reads its key). */
static int create_key(const char *dir, const char *path, struct opsd_error *err)
{
    uint8_t buf[ALERT_LINK_KEY_LEN];
    char tmp[4096];
    int fd = -1, r;
    size_t off = 0;

    if (snprintf(tmp, sizeof(tmp), "%s/.%s.%ld", dir, ALERT_LINK_KEY_FILE, (long)getpid()) >=
        (int)sizeof(tmp))
        return opsd_errorf(err, -ENAMETOOLONG, "data_dir path is too long");
    r = fill_random(buf, sizeof(buf));
    if (r < 0) {
        r = opsd_errorf(err, r, "cannot get random bytes: %s", strerror(-r));
        goto out;
    }
    (void)unlink(tmp); /* left by a start that crashed */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        r = opsd_errorf(err, -errno, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    while (off < sizeof(buf)) {
        ssize_t n = write(fd, buf + off, sizeof(buf) - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = opsd_errorf(err, -errno, "cannot write %s: %s", tmp, strerror(errno));
            goto out;
        }
        off += (size_t)n;
    }
    if (fsync(fd) < 0) {
        r = opsd_errorf(err, -errno, "cannot sync %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (link(tmp, path) < 0) {
        r = errno == EEXIST
                ? -EEXIST
                : opsd_errorf(err, -errno, "cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    {
        /* the new name must survive a crash as the key's bytes do */
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
out:
    if (fd >= 0) {
        close(fd);
        (void)unlink(tmp);
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return r;
}

int alert_link_key_load(const char *secret, const char *dir, uint8_t *key, struct opsd_error *err)
{
    char path[4096];
    int r;

    if (secret && secret[0]) {
        _Static_assert(SHA256_DIGEST_LENGTH == ALERT_LINK_KEY_LEN, "key size");
        if (!EVP_Digest(secret, strlen(secret), key, NULL, EVP_sha256(), NULL))
            return opsd_errorf(err, -EIO, "cannot hash link_secret");
        return 0;
    }
    if (snprintf(path, sizeof(path), "%s/%s", dir, ALERT_LINK_KEY_FILE) >= (int)sizeof(path))
        return opsd_errorf(err, -ENAMETOOLONG, "data_dir path is too long");
    r = read_key(path, key, err);
    if (r != -ENOENT)
        return r;
    r = create_key(dir, path, err);
    if (r < 0 && r != -EEXIST)
        return r;
    r = read_key(path, key, err);
    if (r == -ENOENT)
        r = opsd_errorf(err, -ENOENT, "%s vanished while it was being created", path);
    return r;
}
