// SPDX-License-Identifier: GPL-2.0
/*
 * rdma_smoke: the RDMA shim end to end over soft-RoCE, inside one module: a
 * listener on 10.99.0.1:<port> and a client from 10.99.0.2 (rxe_setup 1 in
 * the guest), so every byte crosses the veth wire between rxe0 and rxe1.
 * Loading it runs the checks; each prints "rdma_smoke: PASS <item>" or
 * "FAIL <item>: why", then one summary line. The module parameter "failed"
 * holds the failure count for scripts (tests/vm/cases/20-rdma-smoke.sh).
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

int rdma_smoke_run(unsigned short port);
long kx_runtime_exit(void);

static int failed = -1;
module_param(failed, int, 0444);
MODULE_PARM_DESC(failed, "number of failed smoke-test items (-1 until run)");

static ushort port = 19791;
module_param(port, ushort, 0444);
MODULE_PARM_DESC(port, "rdma_cm port of the test listener on 10.99.0.1");

static int __init rdma_smoke_init(void)
{
	failed = rdma_smoke_run(port);
	return 0;
}

static void __exit rdma_smoke_exit(void)
{
	kx_runtime_exit();
}

module_init(rdma_smoke_init);
module_exit(rdma_smoke_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kcxx RDMA shim smoke test over soft-RoCE");
