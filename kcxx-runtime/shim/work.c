// SPDX-License-Identifier: GPL-2.0
/*
 * kcxx shim: workqueues, work items, delayed work and timers. The kernel
 * callback receives the embedded kernel object; the trampolines below recover
 * the wrapper with container_of and call the C++ function with its context.
 */
#include <linux/workqueue.h>
#include <linux/timer.h>
#include <linux/jiffies.h>
#include <kx/shim.h>
#include "kx_shim_types.h"

struct kx_workqueue *kx_wq_alloc(const char *name, int unbound)
{
	unsigned int flags = WQ_MEM_RECLAIM | (unbound ? WQ_UNBOUND : 0);

	return (struct kx_workqueue *)alloc_workqueue("%s", flags, 0, name);
}

void kx_wq_destroy(struct kx_workqueue *wq)
{
	if (wq)
		destroy_workqueue((struct workqueue_struct *)wq);
}

void kx_wq_flush(struct kx_workqueue *wq)
{
	flush_workqueue((struct workqueue_struct *)wq);
}

static struct workqueue_struct *kx_wq_or_system(struct kx_workqueue *wq)
{
	return wq ? (struct workqueue_struct *)wq : system_wq;
}

static void kx_work_trampoline(struct work_struct *ws)
{
	struct kx_work *w = container_of(ws, struct kx_work, work);

	w->fn(w->ctx);
}

void kx_work_init(void *work, void (*fn)(void *ctx), void *ctx, const char *name, void *key)
{
	struct kx_work *w = work;

	w->fn = fn;
	w->ctx = ctx;
	INIT_WORK(&w->work, kx_work_trampoline);
#ifdef CONFIG_LOCKDEP
	/* Replace the class INIT_WORK made here with the C++ call site's. */
	lockdep_init_map(&w->work.lockdep_map, name, key, 0);
#endif
}

int kx_work_queue(struct kx_workqueue *wq, void *work)
{
	return queue_work(kx_wq_or_system(wq), &((struct kx_work *)work)->work);
}

int kx_work_queue_on(struct kx_workqueue *wq, int cpu, void *work)
{
	return queue_work_on(cpu, kx_wq_or_system(wq), &((struct kx_work *)work)->work);
}

int kx_work_cancel_sync(void *work)
{
	return cancel_work_sync(&((struct kx_work *)work)->work);
}

int kx_work_flush(void *work)
{
	return flush_work(&((struct kx_work *)work)->work);
}

int kx_work_pending(void *work)
{
	return work_pending(&((struct kx_work *)work)->work);
}

static void kx_dwork_trampoline(struct work_struct *ws)
{
	struct kx_dwork *w = container_of(to_delayed_work(ws), struct kx_dwork, dwork);

	w->fn(w->ctx);
}

void kx_dwork_init(void *dwork, void (*fn)(void *ctx), void *ctx, const char *name, void *key)
{
	struct kx_dwork *w = dwork;

	w->fn = fn;
	w->ctx = ctx;
	/* The work part gets the caller's lockdep class; the timer is internal. */
	INIT_DELAYED_WORK(&w->dwork, kx_dwork_trampoline);
#ifdef CONFIG_LOCKDEP
	lockdep_init_map(&w->dwork.work.lockdep_map, name, key, 0);
#endif
}

int kx_dwork_queue(struct kx_workqueue *wq, void *dwork, kx_u32 delay_ms)
{
	return queue_delayed_work(kx_wq_or_system(wq), &((struct kx_dwork *)dwork)->dwork,
				  msecs_to_jiffies(delay_ms));
}

int kx_dwork_mod(struct kx_workqueue *wq, void *dwork, kx_u32 delay_ms)
{
	return mod_delayed_work(kx_wq_or_system(wq), &((struct kx_dwork *)dwork)->dwork,
				msecs_to_jiffies(delay_ms));
}

int kx_dwork_cancel_sync(void *dwork)
{
	return cancel_delayed_work_sync(&((struct kx_dwork *)dwork)->dwork);
}

int kx_dwork_flush(void *dwork)
{
	return flush_delayed_work(&((struct kx_dwork *)dwork)->dwork);
}

static void kx_timer_trampoline(struct timer_list *t)
{
	struct kx_timer *w = from_timer(w, t, timer);

	w->fn(w->ctx);
}

void kx_timer_init(void *timer, void (*fn)(void *ctx), void *ctx, const char *name, void *key)
{
	struct kx_timer *w = timer;

	w->fn = fn;
	w->ctx = ctx;
	init_timer_key(&w->timer, kx_timer_trampoline, 0, name, key);
}

int kx_timer_mod(void *timer, kx_u32 delay_ms)
{
	return mod_timer(&((struct kx_timer *)timer)->timer, jiffies + msecs_to_jiffies(delay_ms));
}

int kx_timer_del(void *timer)
{
	return del_timer(&((struct kx_timer *)timer)->timer);
}

int kx_timer_del_sync(void *timer)
{
	return del_timer_sync(&((struct kx_timer *)timer)->timer);
}

int kx_timer_pending(void *timer)
{
	return timer_pending(&((struct kx_timer *)timer)->timer);
}
