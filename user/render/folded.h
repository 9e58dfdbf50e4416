/* SPDX-License-Identifier: MIT */
/* Brendan Gregg's folded stacks, "view;thread;frame;...;leaf WEIGHT", for
 * flamegraph.pl and speedscope. */
#ifndef GS_FOLDED_H
#define GS_FOLDED_H

#include <stdio.h>
#include "model/stacks.h"

/* Every view's stacks; 0 or -errno. */
int stack_report__write_folded(const struct stack_report *sr, FILE *f);

#endif
