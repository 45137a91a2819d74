// SPDX-License-Identifier: GPL-2.0
/*
 * Source of the generated kx_layout.h (the asm-offsets technique): kbuild
 * compiles this to assembly against the real kernel headers and turns each
 * DEFINE() into a #define, so C++ can embed kernel objects by size and
 * alignment and use the GFP values of *this* kernel without including a
 * kernel header. Nothing about kernel layouts is written down by hand.
 */
#include <linux/kbuild.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/completion.h>
#include <linux/wait.h>
#include <linux/lockdep.h>
#include <linux/gfp.h>
#include <linux/slab.h>
#include "../shim/kx_shim_types.h"

#define KX_LAYOUT(name, type)                                   \
	DEFINE(KX_SIZEOF_##name, sizeof(type));                 \
	DEFINE(KX_ALIGNOF_##name, __alignof__(type))

void kx_layout(void);
void kx_layout(void)
{
	KX_LAYOUT(SPINLOCK, spinlock_t);
	KX_LAYOUT(MUTEX, struct mutex);
	KX_LAYOUT(COMPLETION, struct completion);
	KX_LAYOUT(WAITQ, wait_queue_head_t);
	KX_LAYOUT(WORK, struct kx_work);
	KX_LAYOUT(DWORK, struct kx_dwork);
	KX_LAYOUT(TIMER, struct kx_timer);
	/* struct lock_class_key is empty without LOCKDEP; C++ reserves >= 1. */
	KX_LAYOUT(LOCK_CLASS_KEY, struct lock_class_key);
	BLANK();
	DEFINE(KX_GFP_KERNEL, GFP_KERNEL);
	DEFINE(KX_GFP_NOIO, GFP_NOIO);
	DEFINE(KX_GFP_ATOMIC, GFP_ATOMIC);
	DEFINE(KX_GFP_NOWAIT, GFP_NOWAIT);
	DEFINE(KX_GFP_ZERO, __GFP_ZERO);
	DEFINE(KX_GFP_NOWARN, __GFP_NOWARN);
	BLANK();
	DEFINE(KX_PAGE_SIZE, PAGE_SIZE);
	DEFINE(KX_PAGE_SHIFT, PAGE_SHIFT);
	DEFINE(KX_CACHELINE, L1_CACHE_BYTES);
}
#include "kx_layout_rdma.h"
#include "kx_layout_blk.h"
#include "kx_layout_bdev.h"
