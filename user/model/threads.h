/* SPDX-License-Identifier: MIT */
/* A process's thread rows (struct thread_rec in raw.h): one per thread,
 * and at most GS_EXITED_ROWS exited threads each in its own row. Past
 * that, every exited thread is merged into one more row (tid 0,
 * `merged` = how many), summed and maxed field by field, so that a
 * process that starts threads without end (a thread per request) keeps
 * gilscope's memory bounded, and every thread is still counted. */
#ifndef GS_THREADS_H
#define GS_THREADS_H

#include <stdbool.h>
#include <stdint.h>
#include "model/raw.h"

/* 4096 rows of ~0.8 KiB: ~3 MiB per process at most for exited threads. */
#define GS_EXITED_ROWS 4096

/* A new zeroed row, NULL without memory. */
struct thread_rec *threads__add(struct gs_result *r);

/* Record exited thread tid with its final state st: its own row while
 * fewer than GS_EXITED_ROWS exited threads have one, or when own_row (the
 * main thread), else merged. Returns the row it went to, NULL without
 * memory. */
struct thread_rec *threads__add_exited(struct gs_result *r, uint32_t tid, const struct gs_thread *st,
				       bool own_row);

/* Rows in the order the threads were created (by TID), the main one
 * first, the merged row last. */
void threads__sort(struct gs_result *r);

/* Threads the rows stand for: one per row, `merged` for a merged row. */
uint64_t threads__count(const struct gs_result *r);

#endif
