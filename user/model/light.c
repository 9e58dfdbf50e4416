// SPDX-License-Identifier: MIT
#include "model/light.h"

void light__split(const struct gs_thread *st, bool light, uint64_t *held_on, uint64_t *nogil_on)
{
	uint64_t on = st->ns[GS_HELD_ON] + st->ns[GS_NOGIL_ON];
	uint32_t n = st->light_ticks, h = st->light_ticks_held;

	*held_on = st->ns[GS_HELD_ON];
	*nogil_on = st->ns[GS_NOGIL_ON];
	if (!light || !n)
		return;
	if (h > n)
		h = n;
	*held_on = (uint64_t)((double)on * h / n + 0.5);
	*nogil_on = on - *held_on;
}
