/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-side definitions of the small wrapper objects that C++ embeds by
 * value. Only the C shim and layout/kx_layout.c include this; C++ sees their
 * size and alignment through the generated kx_layout.h.
 */
#ifndef KX_SHIM_TYPES_H
#define KX_SHIM_TYPES_H

#include <linux/workqueue.h>
#include <linux/timer.h>

/* A work item that calls fn(ctx): the trampoline from work_func_t to C++. */
struct kx_work {
	struct work_struct work;
	void (*fn)(void *ctx);
	void *ctx;
};

struct kx_dwork {
	struct delayed_work dwork;
	void (*fn)(void *ctx);
	void *ctx;
};

struct kx_timer {
	struct timer_list timer;
	void (*fn)(void *ctx);
	void *ctx;
};

#endif /* KX_SHIM_TYPES_H */
