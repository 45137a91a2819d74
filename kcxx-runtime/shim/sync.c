// SPDX-License-Identifier: GPL-2.0
/*
 * kcxx shim: spinlocks, mutexes, completions, wait queues. Each *_init takes
 * the lockdep name and key from the C++ call site so that every call site is
 * its own lock class, as with the kernel's init macros.
 */
#include <linux/spinlock.h>
#include <linux/bottom_half.h>
#include <linux/mutex.h>
#include <linux/completion.h>
#include <linux/wait.h>
#include <linux/jiffies.h>
#include <kx/shim.h>

void kx_spin_init(void *lock, const char *name, void *key)
{
#ifdef CONFIG_DEBUG_SPINLOCK
	__raw_spin_lock_init(spinlock_check(lock), name, key, LD_WAIT_CONFIG);
#else
	spin_lock_init((spinlock_t *)lock);
#endif
}

void kx_spin_lock(void *lock)
{
	spin_lock(lock);
}

void kx_spin_unlock(void *lock)
{
	spin_unlock(lock);
}

void kx_spin_lock_bh(void *lock)
{
	spin_lock_bh(lock);
}

void kx_spin_unlock_bh(void *lock)
{
	spin_unlock_bh(lock);
}

void kx_local_bh_disable(void)
{
	local_bh_disable();
}

void kx_local_bh_enable(void)
{
	local_bh_enable();
}

unsigned long kx_spin_lock_irqsave(void *lock)
{
	unsigned long flags;

	spin_lock_irqsave((spinlock_t *)lock, flags);
	return flags;
}

void kx_spin_unlock_irqrestore(void *lock, unsigned long flags)
{
	spin_unlock_irqrestore(lock, flags);
}

int kx_spin_is_locked(void *lock)
{
	return spin_is_locked(lock);
}

void kx_mutex_init(void *mutex, const char *name, void *key)
{
	__mutex_init(mutex, name, key);
}

void kx_mutex_destroy(void *mutex)
{
	mutex_destroy(mutex);
}

void kx_mutex_lock(void *mutex)
{
	mutex_lock(mutex);
}

int kx_mutex_trylock(void *mutex)
{
	return mutex_trylock(mutex);
}

void kx_mutex_unlock(void *mutex)
{
	mutex_unlock(mutex);
}

int kx_mutex_is_locked(void *mutex)
{
	return mutex_is_locked(mutex);
}

void kx_completion_init(void *c, const char *name, void *key)
{
	struct completion *x = c;

	x->done = 0;
	__init_swait_queue_head(&x->wait, name, key);
}

void kx_completion_reinit(void *c)
{
	reinit_completion(c);
}

void kx_completion_complete(void *c)
{
	complete(c);
}

void kx_completion_complete_all(void *c)
{
	complete_all(c);
}

void kx_completion_wait(void *c)
{
	wait_for_completion(c);
}

int kx_completion_wait_timeout(void *c, kx_i64 timeout_ms)
{
	if (timeout_ms < 0) {
		wait_for_completion(c);
		return 1;
	}
	return wait_for_completion_timeout(c, msecs_to_jiffies(timeout_ms)) ? 1 : 0;
}

int kx_completion_done(void *c)
{
	return completion_done(c);
}

void kx_waitq_init(void *wq, const char *name, void *key)
{
	__init_waitqueue_head(wq, name, key);
}

void kx_waitq_wake_all(void *wq)
{
	wake_up_all((wait_queue_head_t *)wq);
}

int kx_waitq_wait(void *wq, int (*cond)(void *ctx), void *ctx, kx_i64 timeout_ms)
{
	wait_queue_head_t *head = wq;

	if (timeout_ms < 0) {
		wait_event(*head, cond(ctx));
		return 1;
	}
	return wait_event_timeout(*head, cond(ctx), msecs_to_jiffies(timeout_ms)) ? 1 : 0;
}
