// SPDX-License-Identifier: GPL-2.0
/* kcxx shim: per-CPU storage and CPU enumeration. */
#include <linux/percpu.h>
#include <linux/cpumask.h>
#include <linux/smp.h>
#include <kx/shim.h>

void *kx_percpu_alloc(kx_usize size, kx_usize align, kx_u32 gfp)
{
	return (void __force *)__alloc_percpu_gfp(size, align, (__force gfp_t)gfp);
}

void kx_percpu_free(void *pcpu)
{
	free_percpu((void __percpu __force *)pcpu);
}

void *kx_percpu_ptr(void *pcpu, int cpu)
{
	return per_cpu_ptr((void __percpu __force *)pcpu, cpu);
}

int kx_cpu_get(void)
{
	return get_cpu();
}

void kx_cpu_put(void)
{
	put_cpu();
}

int kx_cpu_current(void)
{
	return raw_smp_processor_id();
}

int kx_nr_cpu_ids(void)
{
	return nr_cpu_ids;
}

int kx_num_online_cpus(void)
{
	return num_online_cpus();
}

int kx_cpu_next_possible(int prev)
{
	return cpumask_next(prev, cpu_possible_mask);
}
