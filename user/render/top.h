/* SPDX-License-Identifier: MIT */
/* `gilscope top`'s screen: each interval's live frame (model/live.h), as
 * a full-screen ncurses view on a terminal, or as one key=value line per
 * process per frame (logs, pipes). It formats the rows of model/top_rows.h
 * and computes no figure. The screen and its keys: docs/top.md. */
#ifndef GS_TOP_H
#define GS_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "model/live.h"

struct top_ui;

/* tty: a full-screen ncurses view on the terminal (stdin, stdout; TERM
 * names it); otherwise one line per process per frame to `plain` (logs,
 * pipes). 0 or -errno, a one-line reason in err. The first full-screen
 * open installs an atexit handler that restores the terminal if the view
 * is still open; one full-screen view at a time (-EBUSY). */
int top_ui__open(struct top_ui **out, bool tty, FILE *plain, char *err, size_t errlen);
/* The full-screen view on these streams instead of stdin/stdout (the
 * unit test's pseudo-terminal); otherwise as top_ui__open(tty=true). */
int top_ui__open_term(struct top_ui **out, FILE *in, FILE *term, char *err, size_t errlen);
/* Shows a frame; keeps a copy of what it needs to redraw on keys and
 * resizes (the frame is freed after the call). Plain: flushes each frame. */
void top_ui__draw(struct top_ui *u, const struct live_frame *f);
/* Handles pending keys and resizes without blocking (redrawing as
 * needed); 1 when the user asked to quit, else 0 (always 0 in plain
 * mode). */
int top_ui__keys(struct top_ui *u);
/* Restores the terminal and releases what the view holds. Safe to call
 * twice with the same handle and from an atexit or fatal path: the small
 * handle itself stays allocated (closed), so a second call is a no-op. */
void top_ui__close(struct top_ui *u);

#endif
