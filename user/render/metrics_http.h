/* SPDX-License-Identifier: MIT */
/* gilscope serve's endpoint: GET/HEAD /metrics on libmicrohttpd, which
 * runs its own thread. A frame is rendered (render/openmetrics.h) when a
 * scrape asks for it, once per frame and format; a scrape sends the one its
 * Accept header asks for (OpenMetrics if it accepts
 * application/openmetrics-text, else Prometheus text). Read-only: other
 * paths get 404, other methods 405; at most METRICS_HTTP_MAX_CONNS
 * connections, each closed after METRICS_HTTP_TIMEOUT_S idle. */
#ifndef GS_METRICS_HTTP_H
#define GS_METRICS_HTTP_H

#include <stddef.h>
#include "model/live.h"
#include "render/openmetrics.h"

#define METRICS_HTTP_MAX_CONNS 16
#define METRICS_HTTP_TIMEOUT_S 10

struct metrics_http;

/* listen: "PORT" (on 127.0.0.1), "ADDR:PORT" or "[IPv6]:PORT"; PORT 0
 * picks a free one (metrics_http__port). 0, or -errno with a one-line
 * reason in err. Until the first publish, /metrics answers 503. */
int metrics_http__start(struct metrics_http **out, const char *listen, char *err, size_t errlen);

/* Serve f from now on (o->fmt is ignored: a scrape picks the format).
 * f is borrowed until the next publish: the caller keeps it unchanged and
 * calls metrics_http__render_pending often (every ~100 ms), which renders
 * f in the formats scrapes are waiting for (they wait up to 3 s, then get
 * 503), once per frame and format. On ENOMEM: 503. */
void metrics_http__publish(struct metrics_http *h, const struct live_frame *f, const struct om_opts *o);
void metrics_http__render_pending(struct metrics_http *h);

/* The port it listens on. */
int metrics_http__port(const struct metrics_http *h);

/* Stop serving, close every connection, free h (NULL: nothing). */
void metrics_http__stop(struct metrics_http *h);

#endif
