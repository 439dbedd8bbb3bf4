/* Unit tests for tls monitors: the judgement of what a handshake showed
 * (expiry thresholds at their edges, expired and not yet valid, the name,
 * the chain with and without tls_verify, the message and metrics), the
 * reading of certificates made here in memory with OpenSSL (names,
 * wildcards, addresses, dates), and the SMTP reply parser. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "probe/probe.h"

#define UNTOUCHED 0x5a
#define DAY 86400LL

/* --- helpers --- */

static bool untouched(const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        if (b[i] != UNTOUCHED)
            return false;
    return true;
}

/* "2026-11-23 00:00:00" UTC as Unix seconds. */
static int64_t at(const char *s)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    assert_non_null(strptime(s, "%Y-%m-%d %H:%M:%S", &tm));
    return (int64_t)timegm(&tm);
}

static struct conf_monitor mon(void)
{
    struct conf_monitor cf;

    memset(&cf, 0, sizeof(cf));
    cf.type = CONF_MON_TLS;
    cf.host = "example.com";
    cf.port = 443;
    cf.tls_verify = true;
    cf.warn_days = 21;
    cf.critical_days = 7;
    return cf;
}

/* A good handshake at NOW whose leaf expires days_left days and
 * extra_s seconds after it. */
#define NOW_S at("2026-11-23 00:00:00")
static struct probe_tls_obs obs_with(int64_t days_left, int64_t extra_s)
{
    struct probe_tls_obs o;

    memset(&o, 0, sizeof(o));
    o.have_cert = true;
    o.not_before_s = NOW_S - 30 * DAY;
    o.not_after_s = NOW_S + days_left * DAY + extra_s;
    o.name_ok = true;
    snprintf(o.names, sizeof(o.names), "example.com, www.example.com");
    o.version = "TLSv1.3";
    o.cipher = "TLS_AES_256_GCM_SHA384";
    o.handshake_us = 1500;
    return o;
}

struct judged {
    struct probe_result r;
    struct probe_metric metrics[PROBE_TLS_METRICS];
};

static void judge(const struct conf_monitor *cf, const struct probe_tls_obs *o, struct judged *j)
{
    probe_result_init(&j->r, 1);
    probe_tls_evaluate(cf, o, (uint64_t)NOW_S * 1000, &j->r, j->metrics);
}

static const struct probe_metric *metric(const struct judged *j, const char *name)
{
    for (size_t i = 0; i < j->r.n_metrics; i++)
        if (strcmp(j->r.metrics[i].name, name) == 0)
            return &j->r.metrics[i];
    return NULL;
}

/* --- the judgement --- */

static void test_ok_message_and_metrics(void **state)
{
    struct conf_monitor cf = mon();
    struct probe_tls_obs o = obs_with(61, 12 * 3600);
    struct judged j;
    const struct probe_metric *m;

    (void)state;
    judge(&cf, &o, &j);
    assert_int_equal(j.r.status, PROBE_OK);
    assert_string_equal(j.r.message, "TLSv1.3 (TLS_AES_256_GCM_SHA384), certificate for "
                                     "example.com valid 61 days (until 2027-01-23), chain ok");
    assert_int_equal(j.r.cert_days, 61);
    assert_int_equal(j.r.n_metrics, 2);
    assert_ptr_equal(j.r.metrics, j.metrics);
    m = metric(&j, "cert_days");
    assert_non_null(m);
    assert_string_equal(m->unit, "");
    assert_true(m->value == 61.0);
    m = metric(&j, "handshake_seconds");
    assert_non_null(m);
    assert_string_equal(m->unit, "s");
    assert_true(m->value > 0.00149 && m->value < 0.00151);
}

static void test_thresholds_at_their_edges(void **state)
{
    static const struct {
        int64_t days;
        enum probe_status st;
        const char *msg;
    } cases[] = {
        { 22, PROBE_OK,
          "TLSv1.3 (TLS_AES_256_GCM_SHA384), certificate for example.com valid 22 "
          "days (until 2026-12-15), chain ok" },
        { 21, PROBE_WARNING,
          "certificate for example.com expires in 21 days (2026-12-14; "
          "warn_days 21); TLSv1.3 (TLS_AES_256_GCM_SHA384), chain ok" },
        { 8, PROBE_WARNING,
          "certificate for example.com expires in 8 days (2026-12-01; "
          "warn_days 21); TLSv1.3 (TLS_AES_256_GCM_SHA384), chain ok" },
        { 7, PROBE_CRITICAL,
          "certificate for example.com expires in 7 days (2026-11-30; "
          "critical_days 7); TLSv1.3 (TLS_AES_256_GCM_SHA384), chain ok" },
        { 1, PROBE_CRITICAL,
          "certificate for example.com expires in 1 day (2026-11-24; "
          "critical_days 7); TLSv1.3 (TLS_AES_256_GCM_SHA384), chain ok" },
        { 0, PROBE_CRITICAL,
          "certificate for example.com expires in less than a day (2026-11-23; "
          "critical_days 7); TLSv1.3 (TLS_AES_256_GCM_SHA384), chain ok" },
    };
    struct conf_monitor cf = mon();

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct probe_tls_obs o = obs_with(cases[i].days, 3600);
        struct judged j;

        judge(&cf, &o, &j);
        assert_int_equal(j.r.status, cases[i].st);
        assert_string_equal(j.r.message, cases[i].msg);
        assert_int_equal(j.r.cert_days, cases[i].days);
    }
}

static void test_thresholds_are_the_monitors(void **state)
{
    struct conf_monitor cf = mon();
    struct probe_tls_obs o = obs_with(30, 60);
    struct judged j;

    (void)state;
    cf.warn_days = 45;
    cf.critical_days = 30;
    judge(&cf, &o, &j);
    assert_int_equal(j.r.status, PROBE_CRITICAL);
    assert_non_null(strstr(j.r.message, "expires in 30 days (2026-12-23; critical_days 30)"));

    /* 0 and 0: only the last day is critical, nothing warns. */
    cf.warn_days = cf.critical_days = 0;
    o = obs_with(1, 60);
    judge(&cf, &o, &j);
    assert_int_equal(j.r.status, PROBE_OK);
    o = obs_with(0, 60);
    judge(&cf, &o, &j);
    assert_int_equal(j.r.status, PROBE_CRITICAL);
}

static void test_expired(void **state)
{
    struct conf_monitor cf = mon();
    struct probe_tls_obs o = obs_with(0, -3600);
    struct judged j;

    (void)state;
    judge(&cf, &o, &j);
    assert_int_equal(j.r.status, PROBE_CRITICAL);
    assert_string_equal(j.r.message,
                        "certificate for example.com expired on 2026-11-22 (less than a "
                        "day ago); "
                        "TLSv1.3 (TLS_AES_256_GCM_SHA384), chain ok");
    assert_int_equal(j.r.cert_days, -1);

    o = obs_with(-1, 0);
    judge(&cf, &o, &j);
    assert_non_null(strstr(j.r.message, "expired on 2026-11-22 (1 day ago)"));
    assert_int_equal(j.r.cert_days, -1);

    o = obs_with(-40, -60);
    judge(&cf, &o, &j);
    assert_non_null(strstr(j.r.message, "expired on 2026-10-13 (40 days ago)"));
    assert_int_equal(j.r.cert_days, -41);

    /* The very second of notAfter is past it. */
    o = obs_with(0, 0);
    judge(&cf, &o, &j);
    assert_int_equal(j.r.status, PROBE_CRITICAL);
    assert_non_null(strstr(j.r.message, "expired on 2026-11-23 (less than a day ago)"));
    assert_int_equal(j.r.cert_days, 0);
}

static void test_not_yet_valid(void **state)
{
    struct conf_monitor cf = mon();
    struct probe_tls_obs o = obs_with(100, 0);
    struct judged j;

    (void)state;
    o.not_before_s = NOW_S + 5 * DAY + 10;
    judge(&cf, &o, &j);
    assert_int_equal(j.r.status, PROBE_CRITICAL);
    assert_string_equal(j.r.message,
                        "certificate for example.com is not valid until 2026-11-28 (in 5 days); "
                        "TLSv1.3 (TLS_AES_256_GCM_SHA384), chain ok");
    o.not_before_s = NOW_S + 60;
    judge(&cf, &o, &j);
    assert_non_null(strstr(j.r.message, "not valid until 2026-11-23 (in less than a day)"));
    /* Valid from this very second on. */
    o.not_before_s = NOW_S;
    judge(&cf, &o, &j);
    assert_int_equal(j.r.status, PROBE_OK);
}

static void test_wrong_name(void **state)
{
    struct conf_monitor cf = mon();
    struct probe_tls_obs o = obs_with(61, 60);
    struct judged j;

    (void)state;
    o.name_ok = false;
    snprintf(o.names, sizeof(o.names), "wrong.example, *.wrong.example");
    judge(&cf, &o, &j);
    assert_int_equal(j.r.status, PROBE_CRITICAL);
    assert_string_equal(j.r.message,
                        "certificate is not valid for 'example.com' (it is for wrong.example, "
                        "*.wrong.example); TLSv1.3 (TLS_AES_256_GCM_SHA384), certificate valid 61 "
                        "days (until 2027-01-23), chain ok");

    /* server_name is the name checked when set. */
    cf.server_name = "mail.example.com";
    judge(&cf, &o, &j);
    assert_non_null(strstr(j.r.message, "not valid for 'mail.example.com'"));

    /* tls_verify: false does not excuse a wrong name. */
    cf.tls_verify = false;
    judge(&cf, &o, &j);
    assert_int_equal(j.r.status, PROBE_CRITICAL);
}

static void test_chain_with_and_without_tls_verify(void **state)
{
    struct conf_monitor cf = mon();
    struct probe_tls_obs o = obs_with(61, 60);
    struct judged j;

    (void)state;
    o.verify_result = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
    judge(&cf, &o, &j);
    assert_int_equal(j.r.status, PROBE_CRITICAL);
    assert_string_equal(j.r.message, "chain: unable to get local issuer certificate; TLSv1.3 "
                                     "(TLS_AES_256_GCM_SHA384), certificate for example.com valid "
                                     "61 days (until 2027-01-23)");

    cf.tls_verify = false;
    judge(&cf, &o, &j);
    assert_int_equal(j.r.status, PROBE_OK);
    assert_string_equal(j.r.message,
                        "TLSv1.3 (TLS_AES_256_GCM_SHA384), certificate for example.com valid 61 "
                        "days (until 2027-01-23), chain not trusted: unable to get local issuer "
                        "certificate (ignored: tls_verify is false)");

    /* Expiry still counts without verification. */
    o = obs_with(3, 60);
    o.verify_result = X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT;
    judge(&cf, &o, &j);
    assert_int_equal(j.r.status, PROBE_CRITICAL);
    assert_non_null(strstr(j.r.message, "expires in 3 days"));
    assert_non_null(strstr(j.r.message, "chain not trusted: self-signed certificate"));

    /* Where in the chain, when not the leaf. */
    cf.tls_verify = true;
    o = obs_with(61, 60);
    o.verify_result = X509_V_ERR_CERT_HAS_EXPIRED;
    o.verify_depth = 1;
    judge(&cf, &o, &j);
    assert_int_equal(j.r.status, PROBE_CRITICAL);
    assert_non_null(
        strstr(j.r.message, "chain: certificate has expired (certificate 1 up the chain)"));
}

static void test_expired_leaf_is_not_said_twice(void **state)
{
    struct conf_monitor cf = mon();
    struct probe_tls_obs o = obs_with(-2, 0);
    struct judged j;

    (void)state;
    o.verify_result = X509_V_ERR_CERT_HAS_EXPIRED;
    judge(&cf, &o, &j);
    assert_int_equal(j.r.status, PROBE_CRITICAL);
    assert_string_equal(j.r.message, "certificate for example.com expired on 2026-11-21 (2 days "
                                     "ago); TLSv1.3 (TLS_AES_256_GCM_SHA384)");
}

static void test_every_problem_first(void **state)
{
    struct conf_monitor cf = mon();
    struct probe_tls_obs o = obs_with(10, 60);
    struct judged j;

    (void)state;
    o.name_ok = false;
    snprintf(o.names, sizeof(o.names), "other.example");
    o.verify_result = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
    judge(&cf, &o, &j);
    /* A warning (10 days) and two critical problems: critical. */
    assert_int_equal(j.r.status, PROBE_CRITICAL);
    assert_string_equal(j.r.message,
                        "certificate expires in 10 days (2026-12-03; warn_days 21); certificate is "
                        "not valid for 'example.com' (it is for other.example); chain: unable to "
                        "get local issuer certificate; TLSv1.3 (TLS_AES_256_GCM_SHA384)");
}

static void test_no_certificate_and_no_cipher(void **state)
{
    struct conf_monitor cf = mon();
    struct probe_tls_obs o;
    struct judged j;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.version = "TLSv1.2";
    o.handshake_us = PROBE_NO_VALUE;
    judge(&cf, &o, &j);
    assert_int_equal(j.r.status, PROBE_CRITICAL);
    assert_string_equal(j.r.message, "the server sent no certificate; TLSv1.2");
    assert_int_equal(j.r.cert_days, PROBE_NO_VALUE);
    assert_int_equal(j.r.n_metrics, 0);

    o.version = NULL;
    o.handshake_us = 0;
    judge(&cf, &o, &j);
    assert_string_equal(j.r.message, "the server sent no certificate; TLS");
    assert_int_equal(j.r.n_metrics, 1);
    assert_string_equal(j.r.metrics[0].name, "handshake_seconds");
}

static void test_name_helpers(void **state)
{
    struct conf_monitor cf = mon();

    (void)state;
    assert_string_equal(probe_tls_name(&cf), "example.com");
    cf.server_name = "smtp.example.com";
    assert_string_equal(probe_tls_name(&cf), "smtp.example.com");
    assert_true(probe_tls_name_is_ip("127.0.0.1"));
    assert_true(probe_tls_name_is_ip("::1"));
    assert_true(probe_tls_name_is_ip("fe80::1%eth0"));
    assert_false(probe_tls_name_is_ip("example.com"));
    assert_false(probe_tls_name_is_ip("10.0.0"));
    assert_false(probe_tls_name_is_ip("1.example"));
}

/* --- certificates made here --- */

static EVP_PKEY *key(void)
{
    static EVP_PKEY *k;

    if (!k)
        k = EVP_EC_gen("P-256");
    assert_non_null(k);
    return k;
}

static void add_san(GENERAL_NAMES *gens, int type, const void *data, int len)
{
    GENERAL_NAME *g = GENERAL_NAME_new();
    ASN1_STRING *s = ASN1_STRING_type_new(type == GEN_DNS ? V_ASN1_IA5STRING : V_ASN1_OCTET_STRING);

    assert_non_null(g);
    assert_non_null(s);
    assert_int_equal(ASN1_STRING_set(s, data, len), 1);
    GENERAL_NAME_set0_value(g, type, s);
    assert_true(sk_GENERAL_NAME_push(gens, g) > 0);
}

/* A self-signed certificate for cn (or no CN when NULL) with the given DNS
 * names and addresses (NULL-terminated lists), valid [nb, na]. */
static X509 *make_cert(const char *cn, const char *const *dns, const char *const *ips, int64_t nb,
                       int64_t na)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();

    assert_non_null(x);
    assert_int_equal(X509_set_version(x, 2), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    if (cn)
        assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                                    (const unsigned char *)cn, -1, -1, 0),
                         1);
    assert_int_equal(X509_set_subject_name(x, name), 1);
    assert_int_equal(X509_set_issuer_name(x, name), 1);
    X509_NAME_free(name);
    assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb));
    assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na));
    if ((dns && dns[0]) || (ips && ips[0])) {
        GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
        unsigned char a[16];

        for (size_t i = 0; dns && dns[i]; i++)
            add_san(gens, GEN_DNS, dns[i], (int)strlen(dns[i]));
        for (size_t i = 0; ips && ips[i]; i++) {
            bool v6 = strchr(ips[i], ':') != NULL;
            assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, ips[i], a), 1);
            add_san(gens, GEN_IPADD, a, v6 ? 16 : 4);
        }
        assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT),
                         1);
        GENERAL_NAMES_free(gens);
    }
    assert_int_equal(X509_set_pubkey(x, key()), 1);
    assert_true(X509_sign(x, key(), EVP_sha256()) > 0);
    return x;
}

static bool matches(X509 *x, const char *name)
{
    struct probe_tls_obs o;

    memset(&o, 0, sizeof(o));
    assert_int_equal(probe_tls_inspect(x, name, &o), 0);
    return o.name_ok;
}

static void test_inspect_names_and_dates(void **state)
{
    static const char *const dns[] = { "example.com", "*.example.org", NULL };
    static const char *const ips[] = { "10.0.0.1", "2001:db8::1", NULL };
    int64_t nb = at("2026-10-01 08:00:00"), na = at("2027-01-23 12:34:56");
    X509 *x = make_cert("ignored.example", dns, ips, nb, na);
    struct probe_tls_obs o;

    (void)state;
    memset(&o, UNTOUCHED, sizeof(o));
    assert_int_equal(probe_tls_inspect(x, "example.com", &o), 0);
    assert_true(o.have_cert);
    assert_true(o.name_ok);
    assert_int_equal(o.not_before_s, nb);
    assert_int_equal(o.not_after_s, na);
    /* With subject alternative names, the common name is not a name. */
    assert_string_equal(o.names, "example.com, *.example.org, 10.0.0.1, 2001:db8::1");
    /* The rest of obs is the caller's. */
    assert_true(untouched(&o.verify_result, sizeof(o.verify_result)));
    assert_true(untouched(&o.handshake_us, sizeof(o.handshake_us)));

    assert_true(matches(x, "EXAMPLE.com"));
    assert_true(matches(x, "example.com."));
    assert_true(matches(x, "www.example.org"));
    assert_false(matches(x, "example.org"));     /* a wildcard needs a label */
    assert_false(matches(x, "a.b.example.org")); /* and only one */
    assert_false(matches(x, "ignored.example"));
    assert_false(matches(x, "www.example.com"));
    assert_true(matches(x, "10.0.0.1"));
    assert_false(matches(x, "10.0.0.2"));
    assert_true(matches(x, "2001:db8::1"));
    assert_true(matches(x, "2001:db8:0::1%eth0"));
    assert_false(matches(x, "::1"));
    assert_false(matches(x, ""));
    X509_free(x);
}

static void test_inspect_common_name_only(void **state)
{
    X509 *x = make_cert("legacy.example", NULL, NULL, NOW_S, NOW_S + DAY);
    struct probe_tls_obs o;

    (void)state;
    memset(&o, 0, sizeof(o));
    assert_int_equal(probe_tls_inspect(x, "legacy.example", &o), 0);
    assert_true(o.name_ok);
    assert_string_equal(o.names, "legacy.example");
    assert_false(matches(x, "other.example"));
    X509_free(x);

    x = make_cert(NULL, NULL, NULL, NOW_S, NOW_S + DAY);
    memset(&o, 0, sizeof(o));
    assert_int_equal(probe_tls_inspect(x, "a.example", &o), 0);
    assert_false(o.name_ok);
    assert_string_equal(o.names, "no names");
    X509_free(x);
}

static void test_inspect_many_and_odd_names(void **state)
{
    char bufs[60][64];
    const char *dns[61];
    X509 *x;
    struct probe_tls_obs o;
    const char *more;

    (void)state;
    for (int i = 0; i < 60; i++) {
        snprintf(bufs[i], sizeof(bufs[i]), "host-%02d.a-rather-long-domain.example", i);
        dns[i] = bufs[i];
    }
    dns[60] = NULL;
    x = make_cert(NULL, dns, NULL, NOW_S, NOW_S + DAY);
    memset(&o, 0, sizeof(o));
    assert_int_equal(probe_tls_inspect(x, "host-59.a-rather-long-domain.example", &o), 0);
    assert_true(o.name_ok);
    assert_true(strlen(o.names) < sizeof(o.names));
    assert_int_equal(strncmp(o.names, "host-00.a-rather-long-domain.example, host-01.", 46), 0);
    more = strstr(o.names, " and ");
    assert_non_null(more);
    assert_non_null(strstr(more, " more"));
    X509_free(x);

    /* Names from the network never put control characters in a message. */
    static const char *const odd[] = { "bad\nname.example", "tab\there", NULL };
    x = make_cert(NULL, odd, NULL, NOW_S, NOW_S + DAY);
    memset(&o, 0, sizeof(o));
    assert_int_equal(probe_tls_inspect(x, "bad.example", &o), 0);
    assert_false(o.name_ok);
    assert_string_equal(o.names, "bad?name.example, tab?here");
    X509_free(x);
}

static void test_inspect_bad_dates_left_alone(void **state)
{
    X509 *x = make_cert("a.example", NULL, NULL, NOW_S, NOW_S + DAY);
    struct probe_tls_obs o;

    (void)state;
    assert_int_equal(ASN1_STRING_set(X509_getm_notAfter(x), "garbage", 7), 1);
    memset(&o, UNTOUCHED, sizeof(o));
    assert_int_equal(probe_tls_inspect(x, "a.example", &o), -EBADMSG);
    assert_true(untouched(&o, sizeof(o)));
    X509_free(x);
}

/* --- SMTP replies --- */

static int reply(const char *s, struct probe_tls_smtp_reply *rep)
{
    return probe_tls_smtp_reply(s, strlen(s), rep);
}

static void test_smtp_single_and_multiline(void **state)
{
    struct probe_tls_smtp_reply rep;
    const char *ehlo = "250-mail.example.com Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
                       "250-STARTTLS\r\n250 8BITMIME\r\n";

    (void)state;
    assert_int_equal(reply("220 mail.example.com ESMTP Postfix\r\n", &rep), 36);
    assert_int_equal(rep.code, 220);
    assert_false(rep.starttls);
    assert_string_equal(rep.text, "220 mail.example.com ESMTP Postfix");

    assert_int_equal(reply(ehlo, &rep), (int)strlen(ehlo));
    assert_int_equal(rep.code, 250);
    assert_true(rep.starttls);
    assert_string_equal(rep.text, "250-mail.example.com Hello");

    /* Bare LF, a code alone, a lowercase keyword on the last line. */
    assert_int_equal(reply("250-x\n250 starttls\n", &rep), 19);
    assert_true(rep.starttls);
    assert_int_equal(reply("250\r\n", &rep), 5);
    assert_int_equal(rep.code, 250);
    assert_string_equal(rep.text, "250");

    /* Only the keyword itself counts, and not on the first line. */
    assert_int_equal(reply("250-x\r\n250-STARTTLSX\r\n250 NOSTARTTLS\r\n", &rep), 38);
    assert_false(rep.starttls);
    assert_int_equal(reply("250 STARTTLS\r\n", &rep), 14);
    assert_false(rep.starttls);
    assert_int_equal(reply("250-x\r\n250 STARTTLS extra\r\n", &rep), 27);
    assert_true(rep.starttls);

    /* One reply at a time: the second one stays in the buffer. */
    assert_int_equal(reply("220 hi\r\n250 next\r\n", &rep), 8);
    assert_string_equal(rep.text, "220 hi");
}

static void test_smtp_incomplete_and_bad(void **state)
{
    struct probe_tls_smtp_reply rep;

    (void)state;
    memset(&rep, UNTOUCHED, sizeof(rep));
    assert_int_equal(reply("", &rep), 0);
    assert_int_equal(reply("22", &rep), 0);
    assert_int_equal(reply("220 hel", &rep), 0);
    assert_int_equal(reply("250-a\r\n250-b\r\n", &rep), 0);
    assert_int_equal(reply("250-a\r\n25", &rep), 0);
    assert_true(untouched(&rep, sizeof(rep)));

    assert_int_equal(reply("SSH-2.0-OpenSSH_9.2\r\n", &rep), -EBADMSG);
    assert_int_equal(reply("2a0 x\r\n", &rep), -EBADMSG);
    assert_int_equal(reply("250x\r\n", &rep), -EBADMSG);
    assert_int_equal(reply("\r\n", &rep), -EBADMSG);
    assert_int_equal(reply("25\r\n", &rep), -EBADMSG);
    assert_int_equal(reply("250-a\r\n220 b\r\n", &rep), -EBADMSG);
    assert_int_equal(reply("250-a\r\nHTTP/1.1", &rep), -EBADMSG);
    /* A TLS record where a greeting should be. */
    assert_int_equal(probe_tls_smtp_reply("\x16\x03\x01", 3, &rep), -EBADMSG);
    assert_true(untouched(&rep, sizeof(rep)));
}

static void test_smtp_limits(void **state)
{
    struct probe_tls_smtp_reply rep;
    char *buf = malloc(PROBE_TLS_SMTP_MAX_REPLY + 64);
    size_t n = 0;

    (void)state;
    assert_non_null(buf);
    /* Continuation lines that never end: too long once the cap is reached. */
    while (n + 10 <= PROBE_TLS_SMTP_MAX_REPLY) {
        memcpy(buf + n, "250-xxxx\r\n", 10);
        n += 10;
    }
    memset(&rep, UNTOUCHED, sizeof(rep));
    assert_int_equal(probe_tls_smtp_reply(buf, n, &rep), 0);
    while (n < PROBE_TLS_SMTP_MAX_REPLY)
        buf[n++] = '2';
    assert_int_equal(probe_tls_smtp_reply(buf, n, &rep), -EMSGSIZE);
    assert_true(untouched(&rep, sizeof(rep)));

    /* A reply that ends exactly at the cap is whole. */
    n = PROBE_TLS_SMTP_MAX_REPLY;
    memset(buf, 'x', n);
    memcpy(buf, "250 ", 4);
    memcpy(buf + n - 2, "\r\n", 2);
    assert_int_equal(probe_tls_smtp_reply(buf, n, &rep), PROBE_TLS_SMTP_MAX_REPLY);
    assert_int_equal(strlen(rep.text), PROBE_TLS_SMTP_TEXT_MAX - 1);

    /* Its first line's control characters are made printable. */
    assert_int_equal(reply("554 no\tservice\x01\r\n", &rep), 17);
    assert_string_equal(rep.text, "554 no?service?");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_message_and_metrics),
        cmocka_unit_test(test_thresholds_at_their_edges),
        cmocka_unit_test(test_thresholds_are_the_monitors),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_not_yet_valid),
        cmocka_unit_test(test_wrong_name),
        cmocka_unit_test(test_chain_with_and_without_tls_verify),
        cmocka_unit_test(test_expired_leaf_is_not_said_twice),
        cmocka_unit_test(test_every_problem_first),
        cmocka_unit_test(test_no_certificate_and_no_cipher),
        cmocka_unit_test(test_name_helpers),
        cmocka_unit_test(test_inspect_names_and_dates),
        cmocka_unit_test(test_inspect_common_name_only),
        cmocka_unit_test(test_inspect_many_and_odd_names),
        cmocka_unit_test(test_inspect_bad_dates_left_alone),
        cmocka_unit_test(test_smtp_single_and_multiline),
        cmocka_unit_test(test_smtp_incomplete_and_bad),
        cmocka_unit_test(test_smtp_limits),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    EVP_PKEY_free(key());
    return rc;
}
