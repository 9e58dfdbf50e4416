// SPDX-License-Identifier: MIT
/* --light's user-space pieces: the on-CPU split by ticks (model/light.c),
 * its self-check (model/selfcheck.c), the C library a process runs on and
 * whether --light can trace it (inspect/libc.c). Inputs built by hand. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "inspect/libc.h"
#include "model/light.h"
#include "model/selfcheck.h"

static void test_split(void)
{
	struct gs_thread st;
	uint64_t h, n;

	memset(&st, 0, sizeof(st));
	st.ns[GS_HELD_ON] = 900;      /* as the state machine accounted it */
	st.ns[GS_NOGIL_ON] = 100;
	st.ns[GS_WAIT_ON] = 7;        /* not split: waits are exact */
	st.light_ticks = 4;
	st.light_ticks_held = 1;

	light__split(&st, false, &h, &n);   /* exact mode: as accounted */
	CHECK_U64(h, 900);
	CHECK_U64(n, 100);
	light__split(&st, true, &h, &n);    /* 1 of 4 ticks held */
	CHECK_U64(h, 250);
	CHECK_U64(n, 750);
	CHECK_U64(h + n, 1000);             /* on-CPU time is kept */

	st.light_ticks = 0;                 /* no tick: as accounted */
	st.light_ticks_held = 0;
	light__split(&st, true, &h, &n);
	CHECK_U64(h, 900);
	CHECK_U64(n, 100);

	st.light_ticks = 3;                 /* a count past the ticks is capped */
	st.light_ticks_held = 5;
	light__split(&st, true, &h, &n);
	CHECK_U64(h, 1000);
	CHECK_U64(n, 0);
}

static struct selfcheck_raw edges(uint64_t start, uint64_t end)
{
	struct selfcheck_raw r;

	memset(&r, 0, sizeof(r));
	r.have_start = r.have_end = true;
	r.sn_start = start;
	r.sn_end_a = end;
	r.sn_end_b = end + 1;
	return r;
}

static void test_selfcheck(void)
{
	struct selfcheck c;
	struct selfcheck_raw r = edges(100, 1100);

	/* 900 hand-offs of 1000 switches (the rest to threads that found
	 * the GIL free): consistent */
	selfcheck__eval_light(&r, true, 900, 5000, 3000, 0, &c);
	CHECK(c.ok);
	CHECK(c.light);
	CHECK_U64(c.interp, 1000);
	CHECK_U64(c.gilscope, 900);
	CHECK_STR(c.interp_at, "window edges");

	/* within the tolerance above the interpreter's count (1% of it) */
	selfcheck__eval_light(&r, true, 1010, 5000, 3000, 0, &c);
	CHECK(c.ok);
	/* more hand-offs than switches: the futex calls are not the GIL's */
	selfcheck__eval_light(&r, true, 1011, 5000, 3000, 0, &c);
	CHECK(!c.ok);
	CHECK(c.nproblems == 1 && strstr(c.problems[0], "not the GIL's"));

	/* a read whose locked is neither 0 nor 1 */
	selfcheck__eval_light(&r, true, 0, 5000, 3000, 1, &c);
	CHECK(!c.ok);
	CHECK(strstr(c.problems[0], "neither 0 nor 1") != NULL);

	/* switching, read often, never seen locked: not the GIL */
	selfcheck__eval_light(&r, true, 0, 5000, 0, 0, &c);
	CHECK(!c.ok);
	/* ...but a GIL that hardly switched may be free at every read */
	r = edges(100, 110);
	selfcheck__eval_light(&r, true, 0, 5000, 0, 0, &c);
	CHECK(c.ok);
	/* too few reads to tell */
	r = edges(100, 1100);
	selfcheck__eval_light(&r, true, 0, GS_SELFCHECK_LIGHT_MIN - 1, 0, 0, &c);
	CHECK(c.ok);

	/* the counter unreadable: nothing confirms the figures */
	memset(&r, 0, sizeof(r));
	selfcheck__eval_light(&r, true, 5, 100, 50, 0, &c);
	CHECK(!c.ok);
	CHECK(!c.have_interp);

	/* no GIL: not applicable */
	selfcheck__eval_light(&r, false, 0, 0, 0, 0, &c);
	CHECK(c.ok);
	CHECK(!c.applies);
}

static void maps(struct proc_maps *m, const char *const *paths, size_t n)
{
	m->n = n;
	m->v = calloc(n, sizeof(*m->v));
	for (size_t i = 0; i < n; i++)
		m->v[i].path = strdup(paths[i]);
}

static void test_libc(void)
{
	static const char *const glibc[] = { "/usr/bin/python3.13", "", "/usr/lib/x86_64-linux-gnu/libc.so.6",
					     "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" };
	static const char *const musl[] = { "/usr/bin/python3.12", "/usr/lib/libpython3.12.so.1.0",
					    "/lib/ld-musl-x86_64.so.1" };
	static const char *const old[] = { "/srv/root/lib/x86_64-linux-gnu/libc-2.19.so" };
	static const char *const none[] = { "/opt/python-static", "[heap]", "" };
	struct proc_maps m;
	struct py_target pt;
	char buf[200];

	maps(&m, glibc, 4);
	CHECK(libc__of_maps(&m) == GS_LIBC_GLIBC);
	proc_maps__free(&m);
	maps(&m, musl, 3);
	CHECK(libc__of_maps(&m) == GS_LIBC_MUSL);
	proc_maps__free(&m);
	maps(&m, old, 1);
	CHECK(libc__of_maps(&m) == GS_LIBC_GLIBC);
	proc_maps__free(&m);
	maps(&m, none, 3);
	CHECK(libc__of_maps(&m) == GS_LIBC_UNKNOWN);
	proc_maps__free(&m);

	memset(&pt, 0, sizeof(pt));
	pt.minor = 13;
	pt.gil_addr = 0x7f0000001000;
	snprintf(pt.version, sizeof(pt.version), "3.13.5");
	CHECK(libc__light_refusal(&pt, GS_LIBC_GLIBC, buf, sizeof(buf)) == NULL);
	CHECK(libc__light_refusal(&pt, GS_LIBC_MUSL, buf, sizeof(buf)) == buf && strstr(buf, "musl"));
	CHECK(libc__light_refusal(&pt, GS_LIBC_UNKNOWN, buf, sizeof(buf)) != NULL);
	pt.minor = 6;
	CHECK(libc__light_refusal(&pt, GS_LIBC_GLIBC, buf, sizeof(buf)) != NULL && strstr(buf, "3.7+"));
	pt.minor = 12;
	pt.gil_addr = 0;
	CHECK(libc__light_refusal(&pt, GS_LIBC_GLIBC, buf, sizeof(buf)) != NULL);
	pt.gil_addr = 0x1000;
	pt.free_threaded = true;
	CHECK(libc__light_refusal(&pt, GS_LIBC_GLIBC, buf, sizeof(buf)) != NULL);
}

int main(void)
{
	test_split();
	test_selfcheck();
	test_libc();
	return check_summary("test_light");
}
