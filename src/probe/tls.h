/* The tls monitor's judgement: what a handshake showed (the leaf
 * certificate's validity and names, the chain's verification, the protocol
 * and cipher) held against the monitor's expiry thresholds, and the reading
 * of SMTP replies for STARTTLS. No I/O: the connection, the SMTP dialogue
 * and the handshake run on the loop in sched/tls.c. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf_monitor;
struct probe_result;
struct probe_metric;
struct x509_st; /* OpenSSL's X509, without its headers in every file */

#define PROBE_TLS_NAMES_MAX 240       /* bytes of the certificate's names kept for messages */
#define PROBE_TLS_SMTP_MAX_REPLY 8192 /* bytes of one SMTP reply (an EHLO list) */
#define PROBE_TLS_SMTP_TEXT_MAX 120   /* bytes of a reply's first line kept for messages */
#define PROBE_TLS_METRICS 2           /* cert_days, handshake_seconds */

/* What one handshake showed. */
struct probe_tls_obs {
    bool have_cert;       /* the server sent a certificate */
    int64_t not_before_s; /* the leaf's validity, Unix seconds */
    int64_t not_after_s;
    bool name_ok;                    /* the leaf is valid for the name checked */
    char names[PROBE_TLS_NAMES_MAX]; /* the leaf's names, "a.example, *.b.example, 10.0.0.1" */
    long verify_result;              /* X509_V_OK (0) or the first X509_V_ERR_* found */
    int verify_depth;                /* where in the chain that was (0: the leaf) */
    const char *version;             /* "TLSv1.3"; borrowed, or NULL */
    const char *cipher;              /* "TLS_AES_256_GCM_SHA384"; borrowed, or NULL */
    int32_t handshake_us;            /* from the ClientHello to the end of the handshake */
};

/* The name a tls monitor checks the certificate against and sends as SNI:
 * server_name, else host. Borrows cf. */
const char *probe_tls_name(const struct conf_monitor *cf);

/* True when name is an IPv4 or IPv6 address (no SNI then, and the address
 * is matched against the certificate's IP names). */
bool probe_tls_name_is_ip(const char *name);

/* Reads what the leaf certificate says into obs: validity, names (the
 * subject alternative names, else the common name; characters outside
 * printable ASCII become '?'), and whether it is valid for name (wildcards
 * as in RFC 6125). Sets have_cert, not_before_s, not_after_s, name_ok and
 * names; leaves the rest of obs alone. Borrows leaf and name. Returns 0, or
 * -EBADMSG when a validity date cannot be read (obs then untouched). */
int probe_tls_inspect(struct x509_st *leaf, const char *name, struct probe_tls_obs *obs);

/* Judges obs at now_ms against cf (warn_days, critical_days, tls_verify)
 * into r: status, message, cert_days. Expired or not yet valid, at or below
 * critical_days, a name that does not match, and (with tls_verify) a chain
 * that does not verify are critical; at or below warn_days is a warning.
 * metrics (room for PROBE_TLS_METRICS) receives cert_days and
 * handshake_seconds; r->metrics points at it. */
void probe_tls_evaluate(const struct conf_monitor *cf, const struct probe_tls_obs *obs,
                        uint64_t now_ms, struct probe_result *r, struct probe_metric *metrics);

/* One SMTP reply (RFC 5321 4.2): "250-first\r\n250-STARTTLS\r\n250 last\r\n". */
struct probe_tls_smtp_reply {
    int code;                           /* 220, 250, ... */
    bool starttls;                      /* a line after the first is the STARTTLS keyword */
    char text[PROBE_TLS_SMTP_TEXT_MAX]; /* the first line without its CRLF, made printable */
};

/* Parses the complete reply at the start of buf[0..len). Returns its length
 * in bytes (> 0) and fills *ret; 0 when more bytes are needed; -EBADMSG when
 * buf does not hold an SMTP reply (a line not starting with three digits,
 * lines with different codes); -EMSGSIZE when no complete reply fits in
 * PROBE_TLS_SMTP_MAX_REPLY bytes. *ret is left alone unless > 0 is returned.
 * Lines may end in CRLF or a bare LF. */
int probe_tls_smtp_reply(const char *buf, size_t len, struct probe_tls_smtp_reply *ret);
