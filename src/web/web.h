/* The HTTP face of opsd: JSON API, status page, /metrics, /healthz and the
 * heartbeat ping URLs. libmicrohttpd runs without threads of its own: its
 * epoll fd sits under a uv_poll_t on the engine's loop, so handlers read
 * engine state directly and never race it. */
#pragma once
#include <uv.h>

#include "sched/sched.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/error.h"

struct web;

/* Starts listening on listen ("127.0.0.1:8080", "[::1]:8080", "0.0.0.0:80").
 * Borrows loop, sched, store and clock for the web's life. */
int web_start(uv_loop_t *loop, const char *listen, struct sched *sched, struct store *store,
              const struct opsd_clock *clock, struct web **ret, struct opsd_error *err);
/* The base URL it listens on, e.g. "http://127.0.0.1:8080". */
const char *web_url(const struct web *w);
/* Stops accepting, closes the loop handles, frees w, then calls done(userdata)
 * from the loop (done may be NULL). */
void web_close(struct web *w, void (*done)(void *userdata), void *userdata);
