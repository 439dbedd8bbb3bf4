/* bench/curl-floor: the cheapest libcurl checker opsd could be, as a
 * reference for bench/probe-scale --vs curl.
 *
 *   curl-floor BASE_URL N INTERVAL_S TIMEOUT_S
 *
 * Requests BASE_URL1 .. BASE_URLN, each every INTERVAL_S seconds, spread
 * over the interval like opsd's slots, until SIGTERM or SIGINT. Every request
 * is a fresh connection with "Connection: close" and reads the five timings
 * opsd records, as opsd's checks do; nothing else happens: no storage, no
 * state machine, no metrics, no alerting. Its CPU per request is what libcurl
 * itself costs per check on this machine, so it bounds from below what any
 * libcurl-based checker can reach. It drives the multi handle with
 * curl_multi_poll(), the simplest loop libcurl offers, and like opsd starts
 * checks on 100 ms boundaries: on this kind of VM a wake-up per check costs
 * more than the check, and the floor should not pay what opsd does not.
 *
 * Prints "requests=R failed=F" on exit. Loopback use only: probe-scale
 * points it at its own nginx.
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUANTUM_MS 100

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static size_t discard(char *p, size_t sz, size_t n, void *u)
{
    (void)p;
    (void)u;
    return sz * n;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    struct curl_slist *hdrs;
    CURLU **urls;
    CURL **idle;
    uint64_t *due, interval_ms, t0, done = 0, failed = 0;
    long timeout_ms;
    size_t n, n_idle = 0, next = 0, inflight = 0;
    CURLM *multi;
    struct sigaction sa;

    if (argc != 5) {
        fprintf(stderr, "usage: curl-floor BASE_URL N INTERVAL_S TIMEOUT_S\n");
        return 2;
    }
    n = strtoul(argv[2], NULL, 10);
    interval_ms = strtoull(argv[3], NULL, 10) * 1000;
    timeout_ms = strtol(argv[4], NULL, 10) * 1000;
    if (n == 0 || interval_ms == 0 || timeout_ms <= 0) {
        fprintf(stderr, "curl-floor: N, INTERVAL_S and TIMEOUT_S must be positive\n");
        return 2;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    multi = curl_multi_init();
    hdrs = curl_slist_append(NULL, "Connection: close");
    urls = calloc(n, sizeof(*urls));
    idle = calloc(n, sizeof(*idle));
    due = calloc(n, sizeof(*due));
    if (!multi || !hdrs || !urls || !idle || !due) {
        fprintf(stderr, "curl-floor: out of memory\n");
        return 1;
    }
    /* parsed once, as opsd does (CURLOPT_CURLU) */
    t0 = now_ms();
    for (size_t i = 0; i < n; i++) {
        char buf[512];

        snprintf(buf, sizeof(buf), "%s%zu", argv[1], i + 1);
        urls[i] = curl_url();
        if (!urls[i] || curl_url_set(urls[i], CURLUPART_URL, buf, 0) != CURLUE_OK) {
            fprintf(stderr, "curl-floor: bad URL %s\n", buf);
            return 2;
        }
        due[i] = t0 + interval_ms * i / n;
    }

    while (!stop) {
        uint64_t t = now_ms(), wait;
        CURLMsg *msg;
        int running, left;

        /* due[] is in slot order, so the next due check is always due[next] */
        /* at most one transfer per URL is in flight (TIMEOUT_S < INTERVAL_S) */
        while (due[next] <= t && inflight < n) {
            CURL *e = n_idle ? idle[--n_idle] : curl_easy_init();

            if (!e)
                break;
            curl_easy_setopt(e, CURLOPT_CURLU, urls[next]);
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
            curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
            curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
            curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
            curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
            curl_multi_add_handle(multi, e);
            inflight++;
            due[next] += interval_ms;
            next = (next + 1) % n;
        }
        curl_multi_perform(multi, &running);
        while ((msg = curl_multi_info_read(multi, &left))) {
            curl_off_t dns, conn, tls, ttfb, total;
            long code = 0;
            CURL *e = msg->easy_handle;

            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
            curl_easy_getinfo(e, CURLINFO_NAMELOOKUP_TIME_T, &dns);
            curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &conn);
            curl_easy_getinfo(e, CURLINFO_APPCONNECT_TIME_T, &tls);
            curl_easy_getinfo(e, CURLINFO_STARTTRANSFER_TIME_T, &ttfb);
            curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total);
            if (msg->data.result != CURLE_OK || code != 200)
                failed++;
            done++;
            curl_multi_remove_handle(multi, e);
            idle[n_idle++] = e;
            inflight--;
        }
        t = now_ms();
        /* until the quantum boundary at or after the next due check */
        wait = due[next] > t ? (due[next] + QUANTUM_MS - 1) / QUANTUM_MS * QUANTUM_MS - t : 0;
        if (wait > 0)
            curl_multi_poll(multi, NULL, 0, (int)(wait > 1000 ? 1000 : wait), NULL);
    }
    printf("requests=%llu failed=%llu\n", (unsigned long long)done, (unsigned long long)failed);
    return 0;
}
