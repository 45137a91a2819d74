// SPDX-License-Identifier: GPL-2.0
/*
 * kcxx_selftest: exercises every piece of the C++ runtime inside the kernel.
 * Loading it runs the checks; each prints "kcxx_selftest: PASS <item>" or
 * "FAIL <item>: why", then one summary line. tests/vm/cases check every item.
 * The module parameter "failed" holds the failure count for scripts.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

int kx_selftest_run(void);
long kx_runtime_exit(void);

static int failed = -1;
module_param(failed, int, 0444);
MODULE_PARM_DESC(failed, "number of failed self-test items (-1 until run)");

static int __init kcxx_selftest_init(void)
{
	failed = kx_selftest_run();
	return 0;
}

static void __exit kcxx_selftest_exit(void)
{
	kx_runtime_exit();
}

module_init(kcxx_selftest_init);
module_exit(kcxx_selftest_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kcxx C++ runtime self-test");
