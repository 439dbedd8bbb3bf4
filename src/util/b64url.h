/* base64url without padding (RFC 4648 section 5), for tokens in URLs. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Characters b64url_encode() writes for n bytes, the NUL not counted. */
#define B64URL_LEN(n) (((n) * 4 + 2) / 3)

/* Writes B64URL_LEN(n) characters and a NUL into out. */
void b64url_encode(const void *in, size_t n, char *out);
/* Decodes the len characters of s into out (room for len * 3 / 4 bytes).
 * Strict: every character from the alphabet, and the unused low bits of
 * the last one zero, so no two spellings decode alike. Returns the byte
 * count, or -EINVAL; out may be scribbled on then. */
int b64url_decode(const char *s, size_t len, uint8_t *out);
