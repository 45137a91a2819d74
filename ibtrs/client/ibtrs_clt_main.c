// SPDX-License-Identifier: GPL-2.0
/*
 * ibtrs-client: module tables, parameters and exports (the C half). The
 * transport itself is C++ (ibtrs_clt.cpp); see docs/ibtrs.md.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/stddef.h>
#include <ibtrs.h>

int ibtrs_clt_module_init(void);
void ibtrs_clt_module_exit(void);

/* struct kvec as the C++ side declares it (include/ibtrs.h). */
static_assert(sizeof(struct kvec) == 2 * sizeof(void *));
static_assert(offsetof(struct kvec, iov_base) == 0);
static_assert(offsetof(struct kvec, iov_len) == sizeof(void *));

int ibtrs_clt_io_timeout_ms = 30000;
module_param_named(io_timeout_ms, ibtrs_clt_io_timeout_ms, int, 0444);
MODULE_PARM_DESC(io_timeout_ms,
		 "a request unanswered this long fails its path (reconnect), >= 1000 (default 30000)");

int ibtrs_clt_hb_interval_ms = 5000;
module_param_named(hb_interval_ms, ibtrs_clt_hb_interval_ms, int, 0444);
MODULE_PARM_DESC(hb_interval_ms, "heartbeat interval (default 5000)");

int ibtrs_clt_hb_missed_max = 5;
module_param_named(hb_missed_max, ibtrs_clt_hb_missed_max, int, 0444);
MODULE_PARM_DESC(hb_missed_max, "heartbeats missed before the path fails (default 5)");

EXPORT_SYMBOL_GPL(ibtrs_clt_open);
EXPORT_SYMBOL_GPL(ibtrs_clt_close);
EXPORT_SYMBOL_GPL(ibtrs_clt_get_permit);
EXPORT_SYMBOL_GPL(ibtrs_clt_put_permit);
EXPORT_SYMBOL_GPL(ibtrs_permit_to_pdu);
EXPORT_SYMBOL_GPL(ibtrs_clt_request);
EXPORT_SYMBOL_GPL(ibtrs_clt_rdma_cq_direct);
EXPORT_SYMBOL_GPL(ibtrs_clt_query);

static int __init ibtrs_clt_init(void)
{
	return ibtrs_clt_module_init();
}

static void __exit ibtrs_clt_exit(void)
{
	ibtrs_clt_module_exit();
}

module_init(ibtrs_clt_init);
module_exit(ibtrs_clt_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("IBTRS client: RDMA transport (RTRS 2.0 wire format)");
