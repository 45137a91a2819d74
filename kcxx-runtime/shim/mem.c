// SPDX-License-Identifier: GPL-2.0
/* kcxx shim: memory, logging and small kernel services. No policy here. */
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/gfp.h>
#include <linux/printk.h>
#include <linux/string.h>
#include <linux/bug.h>
#include <linux/ktime.h>
#include <linux/random.h>
#include <linux/delay.h>
#include <linux/sched.h>
#include <kx/shim.h>

void *kx_mem_alloc(kx_usize size, kx_u32 gfp)
{
	return kmalloc(size, (__force gfp_t)gfp);
}

void kx_mem_free(const void *p)
{
	kfree(p);
}

void *kx_vmem_alloc(kx_usize size, kx_u32 gfp)
{
	return kvmalloc(size, (__force gfp_t)gfp);
}

void kx_vmem_free(const void *p)
{
	kvfree(p);
}

void *kx_pages_alloc(kx_u32 order, kx_u32 gfp)
{
	struct page *page = alloc_pages((__force gfp_t)gfp, order);

	return page ? page_address(page) : NULL;
}

void kx_pages_free(void *addr, kx_u32 order)
{
	if (addr)
		free_pages((unsigned long)addr, order);
}

/*
 * Callers write formats with or without a final newline; the record gets
 * exactly one (a second one would print an empty line after it).
 */
static void kx_vlog(int level, bool ratelimited, struct va_format *vaf)
{
	size_t n = strlen(vaf->fmt);
	const char *nl = (n && vaf->fmt[n - 1] == '\n') ? "" : "\n";

	/* printk needs the level in the literal format: one call per level. */
	switch (level) {
	case KX_LOG_ERR:
		if (ratelimited)
			pr_err_ratelimited(KBUILD_MODNAME ": %pV%s", vaf, nl);
		else
			pr_err(KBUILD_MODNAME ": %pV%s", vaf, nl);
		break;
	case KX_LOG_WARN:
		if (ratelimited)
			pr_warn_ratelimited(KBUILD_MODNAME ": %pV%s", vaf, nl);
		else
			pr_warn(KBUILD_MODNAME ": %pV%s", vaf, nl);
		break;
	case KX_LOG_NOTICE:
		pr_notice(KBUILD_MODNAME ": %pV%s", vaf, nl);
		break;
	case KX_LOG_INFO:
		if (ratelimited)
			pr_info_ratelimited(KBUILD_MODNAME ": %pV%s", vaf, nl);
		else
			pr_info(KBUILD_MODNAME ": %pV%s", vaf, nl);
		break;
	default:
		pr_debug(KBUILD_MODNAME ": %pV%s", vaf, nl);
		break;
	}
}

void kx_log(int level, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	kx_vlog(level, false, &vaf);
	va_end(args);
}

void kx_log_ratelimited(int level, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	kx_vlog(level, true, &vaf);
	va_end(args);
}

void kx_bug(const char *file, int line, const char *what)
{
	pr_crit(KBUILD_MODNAME ": BUG at %s:%d: %s\n", file, line, what);
	BUG();
}

void kx_warn(const char *file, int line, const char *what)
{
	WARN(1, KBUILD_MODNAME ": %s:%d: %s\n", file, line, what);
}

kx_u64 kx_ktime_ns(void)
{
	return ktime_get_ns();
}

kx_u32 kx_random_u32(void)
{
	return get_random_u32();
}

void kx_msleep(kx_u32 ms)
{
	msleep(ms);
}

void kx_might_sleep(void)
{
	might_sleep();
}

void kx_cond_resched(void)
{
	cond_resched();
}
