/* Signed one-click links ("ack alert 42" from an email or chat message).
 *
 * A token is base64url (no padding) of
 *   version(1) purpose(1) alert_id(8, BE) expires_ms(8, BE) nonce(16) mac(32)
 * where mac = HMAC-SHA256(key, everything before it). The nonce makes every
 * link distinct, so a leaked link says nothing about the next one; making a
 * link single-use needs a store of spent nonces, which is the caller's. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define ALERT_LINK_KEY_LEN 32
#define ALERT_LINK_NONCE_LEN 16
/* Buffer size for a token, NUL included (88 characters). */
#define ALERT_LINK_TOKEN_SIZE 89

/* On the wire: values never change meaning, only grow. */
enum alert_link_purpose {
    ALERT_LINK_ACK = 1,
    ALERT_LINK_RESOLVE = 2,
};

/* Writes a token for (purpose, alert_id) valid until expires_ms into buf
 * (at least ALERT_LINK_TOKEN_SIZE bytes). Borrows key (32 bytes). buf is
 * left alone on failure: -EINVAL for an unknown purpose, -ENOBUFS for a
 * short buffer, or getrandom's error. */
int alert_link_create(const uint8_t *key, enum alert_link_purpose purpose, uint64_t alert_id,
                      uint64_t expires_ms, char *buf, size_t bufsz, struct opsd_error *err);

/* Checks token against the purpose and alert the URL claims, at now_ms.
 * The MAC is checked first (in constant time) so nothing in an
 * unauthenticated token is believed. Returns 0, or
 *   -EINVAL      not a token (bad length, alphabet or version)
 *   -EBADMSG     MAC mismatch: tampered, or signed with another key
 *   -EPERM       valid token for another purpose (an ack link used to resolve)
 *   -EACCES      valid token for another alert
 *   -EKEYEXPIRED valid token past its expiry (now_ms >= expires_ms) */
int alert_link_verify(const uint8_t *key, const char *token, enum alert_link_purpose purpose,
                      uint64_t alert_id, uint64_t now_ms, struct opsd_error *err);

/* The file under data_dir that holds the generated key. */
#define ALERT_LINK_KEY_FILE "link.key"

/* Fills key (ALERT_LINK_KEY_LEN bytes) with SHA-256 of secret when one is
 * configured; otherwise with the 32 random bytes of dir/link.key, which it
 * creates (mode 0600, written whole before it appears under its name, so a
 * crash never leaves half a key) when missing. Links survive restarts
 * either way. key is untouched on failure: a read or write error, or a
 * link.key of the wrong size (-EINVAL). */
int alert_link_key_load(const char *secret, const char *dir, uint8_t *key, struct opsd_error *err);
