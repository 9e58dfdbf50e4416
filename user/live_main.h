/* SPDX-License-Identifier: MIT */
/* gilscope top, gilscope serve (user/live_main.c). */
#ifndef GS_LIVE_MAIN_H
#define GS_LIVE_MAIN_H

#define GS_MAX_LIVE_PIDS 64

/* argv[0] is "top" or "serve". An exit code. */
int live_main(int argc, char **argv);

#endif
