// SPDX-License-Identifier: MIT
/* Thread rows (model/threads.c): a row per exited thread up to
 * GS_EXITED_ROWS, the rest merged into one row whose sums and maxima are
 * those of the threads it stands for; the main thread keeps its own row;
 * rows sort by TID with the merged row last; every thread counted. */
#include <stdlib.h>
#include "check.h"
#include "model/threads.h"

static struct gs_thread thread_of(uint32_t i)
{
	struct gs_thread st;

	memset(&st, 0, sizeof(st));
	st.ns[GS_HELD_ON] = 1000 + i;
	st.ns[GS_NOGIL_OFF] = 7;
	st.holds = 2;
	st.waits = 1;
	st.hold_ns = 500;
	st.runq_ns = 3;
	st.hold_max_ns = i;
	st.wait_max_ns = 2 * i;
	st.whist[i % GS_THIST_SLOTS] = 1;
	st.exited = 1;
	snprintf(st.comm, sizeof(st.comm), "t%u", i);
	return st;
}

int main(void)
{
	struct gs_result r;
	const uint32_t n = GS_EXITED_ROWS + 1000, main_tid = 100;
	uint64_t held_merged = 0, whist_merged = 0;

	memset(&r, 0, sizeof(r));
	/* the workers exit first (TIDs from 101 down... in any order), then the main thread */
	for (uint32_t i = 0; i < n; i++) {
		struct gs_thread st = thread_of(i);

		CHECK(threads__add_exited(&r, main_tid + 1 + (n - i), &st, false) != NULL);
		if (i >= GS_EXITED_ROWS)
			held_merged += st.ns[GS_HELD_ON];
	}
	struct gs_thread mst = thread_of(n);

	CHECK(threads__add_exited(&r, main_tid, &mst, true) != NULL);
	CHECK_U64(r.nthreads, GS_EXITED_ROWS + 2);        /* rows, merged, main */
	CHECK_U64(threads__count(&r), n + 1);

	threads__sort(&r);
	CHECK_U64(r.threads[0].tid, main_tid);              /* the main thread first */
	CHECK_U64(r.threads[0].st.ns[GS_HELD_ON], 1000 + n);
	for (size_t i = 1; i + 1 < r.nthreads; i++)
		CHECK_MSG(r.threads[i].tid > r.threads[i - 1].tid && !r.threads[i].merged, "row %zu", i);
	const struct thread_rec *m = &r.threads[r.nthreads - 1];

	CHECK_U64(r.merged_row, r.nthreads);
	CHECK_U64(m->tid, 0);
	CHECK_U64(m->merged, n - GS_EXITED_ROWS);
	CHECK(m->exited);
	CHECK_STR(m->name, "(1000 exited)");
	CHECK_U64(m->st.ns[GS_HELD_ON], held_merged);
	CHECK_U64(m->st.ns[GS_NOGIL_OFF], 7ull * 1000);
	CHECK_U64(m->st.holds, 2ull * 1000);
	CHECK_U64(m->st.waits, 1000);
	CHECK_U64(m->st.hold_ns, 500ull * 1000);
	CHECK_U64(m->st.runq_ns, 3ull * 1000);
	CHECK_U64(m->st.hold_max_ns, n - 1);
	CHECK_U64(m->st.wait_max_ns, 2ull * (n - 1));
	for (int i = 0; i < GS_THIST_SLOTS; i++)
		whist_merged += m->st.whist[i];
	CHECK_U64(whist_merged, 1000);
	CHECK(m->wait_p99_ns > 0);
	/* a row of its own keeps its thread's name and figures */
	CHECK_STR(r.threads[1].name, "t4095");
	free(r.threads);
	return check_summary("test_threads");
}
