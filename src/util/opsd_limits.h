/* Hard caps on everything sized by remote or user input, in one place. */
#pragma once

#define OPSD_MAX_BODY_CAPTURE (64 * 1024)  /* bytes of an HTTP probe's body kept for matching */
#define OPSD_MAX_API_BODY (64 * 1024)      /* bytes accepted in an API request body */
#define OPSD_MAX_MESSAGE 512               /* bytes of a result message stored */
#define OPSD_MAX_RESULT_BODY (10 * 1024)   /* bytes of a heartbeat ping's body kept with its result */
#define OPSD_MAX_MONITORS 200000           /* monitors in one config */
#define OPSD_MAX_NAME 128                  /* bytes in a monitor name */
#define OPSD_MAX_LABELS 32                 /* labels per monitor */
#define OPSD_MAX_CONFIG_BYTES (16 << 20)   /* size of a config file */
#define OPSD_MIN_TOKEN_LEN 16              /* heartbeat token length */
#define OPSD_MAX_TOKEN_LEN 128
#define OPSD_MAX_RESULTS_LIMIT 10000       /* rows one results query returns */
#define OPSD_MAX_STATS_ALERTS 1000000      /* alerts one statistics query reads */
#define OPSD_MAX_CONFIG_DIAGS 200          /* diagnostics kept from one config load */
#define OPSD_MAX_ALERT_JSON (16 * 1024)    /* bytes of an alert's stored labels JSON */
#define OPSD_MAX_NOTIFY_PAYLOAD (256 * 1024) /* bytes of one stored notification payload */
#define OPSD_MAX_INBOUND_BODY (1 << 20)    /* bytes of an inbound alert push (Prometheus batches) */
#define OPSD_MAX_INBOUND_ALERTS 1000       /* alerts in one inbound push */
#define OPSD_MAX_RECEIVERS 256             /* receivers in one config */
#define OPSD_MAX_POLICIES 256              /* escalation policies in one config */
#define OPSD_MAX_MAINTENANCE 1024          /* maintenance windows in one config */
#define OPSD_MAX_ROUTES 1024               /* nodes of the route tree */
#define OPSD_MAX_ROUTE_DEPTH 16            /* levels of routes under the root */
#define OPSD_MAX_MATCHERS 64               /* matchers on one route */
#define OPSD_MAX_NOTIFY_RESPONSE (4 * 1024) /* bytes of a receiver's response body read */
