/* SPDX-License-Identifier: MIT */
/* The JSON report (schema version 1, docs/report.schema.json): formats the
 * model's figures, computes none. 0 or -errno. */
#ifndef GS_JSON_REPORT_H
#define GS_JSON_REPORT_H

#include <stdio.h>
#include "model/figures.h"

int gs_report__print_json(const struct gs_report *r, FILE *f);

#endif
