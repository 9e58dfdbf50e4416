// SPDX-License-Identifier: MIT
/* The report's tracing cost from a result whose figures the test sets:
 * probe hits, acquisitions, window and the timed trap price. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "model/family.h"
#include "render/text.h"

static int near(double a, double b)
{
	return fabs(a - b) <= 1e-9 * (fabs(a) + fabs(b)) + 1e-12;
}

/* A 2 s window with 1,000,000 probe hits and 500,000 acquisitions. */
static void fill(struct gs_result *res, double trap_ns)
{
	memset(res, 0, sizeof(*res));
	res->t0 = 1000000000ull;
	res->t1 = res->t0 + 2000000000ull;
	res->counters[GS_C_PROBE_HITS] = 1000000;
	res->counters[GS_C_ACQUIRES] = 500000;
	res->trap_ns = trap_ns;
	res->interval_us = -1;
}

static char *text_of(const struct gs_report *r)
{
	static char buf[16384];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	if (!f)
		return NULL;
	gs_report__print_text(r, f);
	fclose(f);
	return buf;
}

int main(void)
{
	struct py_target pt;
	struct gs_result res;
	struct gs_report r = {};
	char *t;

	memset(&pt, 0, sizeof(pt));
	strcpy(pt.version, "3.11.7");

	/* 1e6 hits x 800 ns = 0.8 s of CPU in a 2 s window: 40% of one CPU */
	fill(&res, 800.0);
	CHECK(gs_report__build(&r, &pt, &res, NULL) == 0);
	CHECK_U64(r.probe_hits, 1000000);
	CHECK_MSG(near(r.probe_hits_per_s, 500000.0), "%f", r.probe_hits_per_s);
	CHECK_MSG(near(r.hits_per_acquire, 2.0), "%f", r.hits_per_acquire);
	CHECK_MSG(near(r.cost_cpu_pct, 40.0), "%f", r.cost_cpu_pct);
	t = text_of(&r);
	CHECK_MSG(t && strstr(t, "TRACING COST: 1000000 probe hits (500000/s, 2.00 per GIL acquisition)"),
		  "%s", t ? t : "(null)");
	CHECK_MSG(t && strstr(t, ">= 0.80 us each") && strstr(t, ">= 40.00% of one CPU"), "%s", t ? t : "(null)");
	gs_report__free(&r);

	/* the trap could not be timed: no CPU share, and the text says so */
	fill(&res, -1);
	CHECK(gs_report__build(&r, &pt, &res, NULL) == 0);
	CHECK_MSG(r.cost_cpu_pct < 0, "%f", r.cost_cpu_pct);
	t = text_of(&r);
	CHECK_MSG(t && strstr(t, "could not be timed"), "%s", t ? t : "(null)");
	gs_report__free(&r);

	/* --children: the hits of every process, priced over the target's window */
	{
		struct gs_result kres;
		struct gs_report kid = {};
		struct family_report fam = {};

		fill(&res, 800.0);
		fill(&kres, 800.0);
		kres.counters[GS_C_PROBE_HITS] = 250000;
		CHECK(gs_report__build(&r, &pt, &res, NULL) == 0);
		CHECK(gs_report__build(&kid, &pt, &kres, NULL) == 0);
		CHECK(family_report__build(&fam, &r, &kid, 1) == 0);
		CHECK_U64(fam.probe_hits, 1250000);
		CHECK_MSG(near(fam.cost_cpu_pct, 50.0), "%f", fam.cost_cpu_pct);
		family_report__free(&fam);
		gs_report__free(&kid);
		gs_report__free(&r);
	}

	/* no acquisition seen: no ratio, no division by zero */
	fill(&res, 800.0);
	res.counters[GS_C_ACQUIRES] = 0;
	CHECK(gs_report__build(&r, &pt, &res, NULL) == 0);
	CHECK_MSG(r.hits_per_acquire == 0, "%f", r.hits_per_acquire);
	gs_report__free(&r);
	return check_summary("test_cost");
}
