/* SPDX-License-Identifier: MIT */
/* The human-readable report of one process (and, with --children, its
 * tree): formats the model's figures, computes none. */
#ifndef GS_TEXT_H
#define GS_TEXT_H

#include <stdio.h>
#include "model/figures.h"

void gs_report__print_text(const struct gs_report *r, FILE *f);

#endif
