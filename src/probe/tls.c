/* The tls monitor's rules: a certificate that has expired, is not yet
 * valid, expires within critical_days or is not for the name checked is
 * critical, one within warn_days a warning; a chain that does not verify
 * against the trust store is critical unless tls_verify is off. Also reads
 * the leaf's dates and names (OpenSSL, no I/O) and SMTP replies. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "probe/probe.h"
#include "util/cleanup.h"

#define DAY_MS 86400000LL

const char *probe_tls_name(const struct conf_monitor *cf)
{
    return cf->server_name ? cf->server_name : cf->host;
}

bool probe_tls_name_is_ip(const char *name)
{
    struct in_addr a4;

    /* Any colon: an IPv6 address, maybe with a zone ("fe80::1%eth0"). */
    return strchr(name, ':') || inet_pton(AF_INET, name, &a4) == 1;
}

/* ---- the certificate ------------------------------------------------------ */

static int asn1_to_unix(const ASN1_TIME *t, int64_t *ret)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return -EBADMSG;
    *ret = (int64_t)timegm(&tm);
    return 0;
}

static bool name_matches(X509 *leaf, const char *name)
{
    char buf[256];
    size_t n = strlen(name);

    if (!n || n >= sizeof(buf))
        return false;
    memcpy(buf, name, n + 1);
    if (probe_tls_name_is_ip(buf)) {
        buf[strcspn(buf, "%")] = '\0'; /* a zone is not part of the address */
        return X509_check_ip_asc(leaf, buf, 0) == 1;
    }
    if (buf[n - 1] == '.') /* "example.com." is example.com */
        buf[n - 1] = '\0';
    return X509_check_host(leaf, buf, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
}

/* Appends ", name" (or name first) to out if it fits in its first `room`
 * bytes; the name is made printable. Returns false when it did not fit. */
static bool add_name(char *out, size_t room, const unsigned char *s, size_t n)
{
    size_t len = strlen(out), need = (len ? 2 : 0) + n;

    if (!n || len + need >= room)
        return false;
    if (len) {
        memcpy(out + len, ", ", 2);
        len += 2;
    }
    for (size_t i = 0; i < n; i++)
        out[len++] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
    out[len] = '\0';
    return true;
}

static void list_names(X509 *leaf, char *out, size_t size)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    size_t room = size - 24; /* kept for " and 12345 more" */
    size_t listed = 0, left = 0;
    char ip[INET6_ADDRSTRLEN];

    out[0] = '\0';
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        const unsigned char *d;
        int len;

        if (g->type == GEN_DNS) {
            d = ASN1_STRING_get0_data(g->d.dNSName);
            len = ASN1_STRING_length(g->d.dNSName);
        } else if (g->type == GEN_IPADD) {
            int af = ASN1_STRING_length(g->d.iPAddress) == 4    ? AF_INET
                     : ASN1_STRING_length(g->d.iPAddress) == 16 ? AF_INET6
                                                                : 0;
            if (!af || !inet_ntop(af, ASN1_STRING_get0_data(g->d.iPAddress), ip, sizeof(ip)))
                continue;
            d = (const unsigned char *)ip;
            len = (int)strlen(ip);
        } else {
            continue;
        }
        if (!left && add_name(out, room, d, len > 0 ? (size_t)len : 0))
            listed++;
        else
            left++;
    }
    GENERAL_NAMES_free(gens);

    if (!listed && !left) {
        /* No names in the extension: the subject's common name counts. */
        const X509_NAME *subj = X509_get_subject_name(leaf);
        int i = -1;

        while (subj && (i = X509_NAME_get_index_by_NID(subj, NID_commonName, i)) >= 0) {
            const ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));
            int len = ASN1_STRING_length(cn);

            if (!left && add_name(out, room, ASN1_STRING_get0_data(cn), len > 0 ? (size_t)len : 0))
                listed++;
            else
                left++;
        }
    }
    if (!listed && !left)
        snprintf(out, size, "no names");
    else if (left)
        snprintf(out + strlen(out), size - strlen(out), "%s%zu more", listed ? " and " : "", left);
}

int probe_tls_inspect(struct x509_st *leaf, const char *name, struct probe_tls_obs *obs)
{
    int64_t nb, na;

    if (asn1_to_unix(X509_get0_notBefore(leaf), &nb) < 0 ||
        asn1_to_unix(X509_get0_notAfter(leaf), &na) < 0)
        return -EBADMSG;
    obs->have_cert = true;
    obs->not_before_s = nb;
    obs->not_after_s = na;
    obs->name_ok = name_matches(leaf, name);
    list_names(leaf, obs->names, sizeof(obs->names));
    return 0;
}

/* ---- the judgement ---------------------------------------------------------- */

struct verdict {
    enum probe_status status;
    char problems[OPSD_MAX_MESSAGE]; /* "; "-separated, worst first in the message */
    char context[OPSD_MAX_MESSAGE];  /* ", "-separated: what was fine */
};

static void append(char *buf, size_t size, const char *sep, const char *text)
{
    size_t len = strlen(buf);

    if (len + 1 < size)
        snprintf(buf + len, size - len, "%s%s", len ? sep : "", text);
}

static void problem(struct verdict *v, enum probe_status st, const char *text)
{
    if (v->status == PROBE_OK || (st == PROBE_CRITICAL && v->status == PROBE_WARNING))
        v->status = st;
    append(v->problems, sizeof(v->problems), "; ", text);
}

static void fine(struct verdict *v, const char *text)
{
    append(v->context, sizeof(v->context), ", ", text);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static const char *date(int64_t unix_s, char *buf, size_t size)
{
    time_t t = (time_t)unix_s;
    struct tm tm;

    if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%d", &tm))
        snprintf(buf, size, "?");
    return buf;
}

/* "3 days", "1 day" */
static const char *days_text(int64_t d, char *buf, size_t size)
{
    snprintf(buf, size, "%lld day%s", (long long)d, d == 1 ? "" : "s");
    return buf;
}

static void add_metric(struct probe_result *r, struct probe_metric *metrics, const char *name,
                       const char *unit, double v)
{
    struct probe_metric *m = &metrics[r->n_metrics++];

    snprintf(m->name, sizeof(m->name), "%s", name);
    snprintf(m->unit, sizeof(m->unit), "%s", unit);
    m->value = v;
}

static void judge_dates(const struct conf_monitor *cf, const struct probe_tls_obs *obs,
                        uint64_t now_ms, struct verdict *v, struct probe_result *r,
                        struct probe_metric *metrics)
{
    const char *name = probe_tls_name(cf);
    char what[300], text[OPSD_MAX_MESSAGE], d[32], n[32];
    int64_t now = (int64_t)now_ms;
    int64_t left_ms = obs->not_after_s * 1000 - now;
    int64_t days = floor_div(left_ms, DAY_MS);

    r->cert_days = days > INT32_MAX ? INT32_MAX : days < -INT32_MAX ? -INT32_MAX : (int32_t)days;
    add_metric(r, metrics, "cert_days", "", (double)r->cert_days);
    if (obs->name_ok)
        snprintf(what, sizeof(what), "certificate for %s", name);
    else
        snprintf(what, sizeof(what), "certificate");

    if (now < obs->not_before_s * 1000) {
        int64_t in = floor_div(obs->not_before_s * 1000 - now, DAY_MS);

        if (in > 0)
            snprintf(n, sizeof(n), "in %s", days_text(in, d, sizeof(d)));
        else
            snprintf(n, sizeof(n), "in less than a day");
        snprintf(text, sizeof(text), "%s is not valid until %s (%s)", what,
                 date(obs->not_before_s, d, sizeof(d)), n);
        problem(v, PROBE_CRITICAL, text);
    } else if (left_ms <= 0) {
        int64_t ago = floor_div(-left_ms, DAY_MS);

        if (ago > 0)
            snprintf(n, sizeof(n), "%s ago", days_text(ago, d, sizeof(d)));
        else
            snprintf(n, sizeof(n), "less than a day ago");
        snprintf(text, sizeof(text), "%s expired on %s (%s)", what,
                 date(obs->not_after_s, d, sizeof(d)), n);
        problem(v, PROBE_CRITICAL, text);
    } else if (days <= (int64_t)cf->critical_days || days <= (int64_t)cf->warn_days) {
        bool crit = days <= (int64_t)cf->critical_days;

        if (days > 0)
            days_text(days, n, sizeof(n));
        else
            snprintf(n, sizeof(n), "less than a day");
        snprintf(text, sizeof(text), "%s expires in %s (%s; %s %u)", what, n,
                 date(obs->not_after_s, d, sizeof(d)), crit ? "critical_days" : "warn_days",
                 crit ? cf->critical_days : cf->warn_days);
        problem(v, crit ? PROBE_CRITICAL : PROBE_WARNING, text);
    } else {
        snprintf(text, sizeof(text), "%s valid %s (until %s)", what, days_text(days, n, sizeof(n)),
                 date(obs->not_after_s, d, sizeof(d)));
        fine(v, text);
    }
}

static void judge_chain(const struct conf_monitor *cf, const struct probe_tls_obs *obs,
                        uint64_t now_ms, struct verdict *v)
{
    char text[OPSD_MAX_MESSAGE], where[48] = "";
    bool leaf_dates_bad = obs->have_cert && ((int64_t)now_ms < obs->not_before_s * 1000 ||
                                             (int64_t)now_ms >= obs->not_after_s * 1000);

    if (!obs->have_cert)
        return;
    if (obs->verify_result == X509_V_OK) {
        fine(v, "chain ok");
        return;
    }
    /* The leaf's dates are reported already: the chain would only repeat
     * them (verification stops at the first problem). */
    if (obs->verify_depth == 0 && leaf_dates_bad &&
        (obs->verify_result == X509_V_ERR_CERT_HAS_EXPIRED ||
         obs->verify_result == X509_V_ERR_CERT_NOT_YET_VALID))
        return;
    if (obs->verify_depth > 0)
        snprintf(where, sizeof(where), " (certificate %d up the chain)", obs->verify_depth);
    if (cf->tls_verify) {
        snprintf(text, sizeof(text), "chain: %s%s",
                 X509_verify_cert_error_string(obs->verify_result), where);
        problem(v, PROBE_CRITICAL, text);
    } else {
        snprintf(text, sizeof(text), "chain not trusted: %s%s (ignored: tls_verify is false)",
                 X509_verify_cert_error_string(obs->verify_result), where);
        fine(v, text);
    }
}

void probe_tls_evaluate(const struct conf_monitor *cf, const struct probe_tls_obs *obs,
                        uint64_t now_ms, struct probe_result *r, struct probe_metric *metrics)
{
    struct verdict v = { .status = PROBE_OK };
    char text[OPSD_MAX_MESSAGE];

    r->metrics = metrics;
    r->n_metrics = 0;
    r->cert_days = PROBE_NO_VALUE;

    if (obs->version && obs->cipher)
        snprintf(text, sizeof(text), "%s (%s)", obs->version, obs->cipher);
    else
        snprintf(text, sizeof(text), "%s", obs->version ? obs->version : "TLS");
    fine(&v, text);

    if (!obs->have_cert) {
        problem(&v, PROBE_CRITICAL, "the server sent no certificate");
    } else {
        judge_dates(cf, obs, now_ms, &v, r, metrics);
        if (!obs->name_ok) {
            snprintf(text, sizeof(text), "certificate is not valid for '%s' (it is for %s)",
                     probe_tls_name(cf), obs->names);
            problem(&v, PROBE_CRITICAL, text);
        }
    }
    judge_chain(cf, obs, now_ms, &v);
    if (obs->handshake_us >= 0)
        add_metric(r, metrics, "handshake_seconds", "s", (double)obs->handshake_us / 1e6);

    r->status = v.status;
    snprintf(r->message, sizeof(r->message), "%s%s%s", v.problems, v.problems[0] ? "; " : "",
             v.context);
}

/* ---- SMTP replies ------------------------------------------------------------- */

/* True when a line's text (after "250-") is the STARTTLS keyword. */
static bool is_starttls(const char *s, size_t n)
{
    return n >= 8 && strncasecmp(s, "STARTTLS", 8) == 0 && (n == 8 || s[8] == ' ');
}

int probe_tls_smtp_reply(const char *buf, size_t len, struct probe_tls_smtp_reply *ret)
{
    size_t lim = MIN(len, (size_t)PROBE_TLS_SMTP_MAX_REPLY), pos = 0, first_len = 0;
    bool starttls = false;
    int code = -1;

    for (unsigned line_no = 0; pos < lim; line_no++) {
        const char *line = buf + pos, *nl;
        size_t avail = lim - pos, n;
        int c;

        for (size_t i = 0; i < MIN(avail, (size_t)3); i++)
            if (!isdigit((unsigned char)line[i]))
                return -EBADMSG;
        if (avail > 3 && !strchr(" -\r\n", line[3]))
            return -EBADMSG;
        nl = memchr(line, '\n', avail);
        if (!nl)
            break;
        n = (size_t)(nl - line);
        if (n && line[n - 1] == '\r')
            n--;
        if (n < 3)
            return -EBADMSG;
        c = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        if (code >= 0 && c != code)
            return -EBADMSG;
        code = c;
        if (line_no == 0)
            first_len = n;
        else if (n > 4 && is_starttls(line + 4, n - 4))
            starttls = true;
        pos = (size_t)(nl - buf) + 1;
        if (n == 3 || line[3] == ' ') {
            size_t k = MIN(first_len, sizeof(ret->text) - 1);

            ret->code = code;
            ret->starttls = starttls;
            for (size_t i = 0; i < k; i++) {
                unsigned char ch = (unsigned char)buf[i];
                ret->text[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
            }
            ret->text[k] = '\0';
            return (int)pos;
        }
    }
    return len >= PROBE_TLS_SMTP_MAX_REPLY ? -EMSGSIZE : 0;
}
