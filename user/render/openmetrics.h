/* SPDX-License-Identifier: MIT */
/* gilscope serve: a live frame (model/live.h) as Prometheus text exposition
 * 0.0.4 or OpenMetrics 1.0.0 text. Every metric, its labels and units:
 * docs/metrics.md. */
#ifndef GS_OPENMETRICS_H
#define GS_OPENMETRICS_H

#include <stdbool.h>
#include <stddef.h>
#include "model/live.h"

enum om_format {
	OM_PROMETHEUS_TEXT,  /* text/plain; version=0.0.4 */
	OM_OPENMETRICS,      /* application/openmetrics-text; version=1.0.0 */
};

struct om_opts {
	enum om_format fmt;
	bool threads;        /* per-thread series (labels tid, thread) */
};

/* The frame as text: malloc'ed, NUL-terminated, *len its length (len may
 * be NULL); NULL on ENOMEM. */
char *openmetrics__render(const struct live_frame *f, const struct om_opts *o, size_t *len);

/* The Content-Type of a format. */
const char *openmetrics__content_type(enum om_format fmt);

#endif
