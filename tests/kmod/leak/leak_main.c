// SPDX-License-Identifier: GPL-2.0
/*
 * kcxx_leak: a deliberately leaking module, the negative test of the leak
 * detector. It allocates through the C++ runtime at load and frees nothing,
 * so its exit path must print "kcxx_leak: kcxx-leak: N allocations still live
 * at module exit" and the guest runner must flag the run.
 */
#include <linux/module.h>

int kx_leak_allocate(int count);
long kx_runtime_exit(void);

static int count = 3;
module_param(count, int, 0444);
MODULE_PARM_DESC(count, "allocations to leak");

static int __init kcxx_leak_init(void)
{
	return kx_leak_allocate(count);
}

static void __exit kcxx_leak_exit(void)
{
	kx_runtime_exit();
}

module_init(kcxx_leak_init);
module_exit(kcxx_leak_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kcxx leak-detector negative test");
