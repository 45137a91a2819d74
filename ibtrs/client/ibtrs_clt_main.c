// SPDX-License-Identifier: GPL-2.0
/*
 * ibtrs-client: module tables, parameters and exports (the C half). The
 * transport itself is C++ (ibtrs_clt.cpp); see docs/ibtrs.md.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/stddef.h>
#include <ibtrs.h>
#include "../common/sysfs_ids.h"

int ibtrs_clt_module_init(const struct ibtrs_sysfs_groups *groups);
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

/*
 * Read per request (a change applies to the next request posted): Y asks the
 * server to invalidate a READ's MR with a SEND_WITH_INV before its answer
 * (RTRS_MSG_NEED_INVAL_F, as upstream rtrs-client does); N leaves the MR
 * valid until the answer comes and invalidates it with a LOCAL_INV, which on
 * soft-RoCE puts no packet on the wire. Either way the MR is dead before the
 * buffer goes back to the user. N is the default: two packets fewer per READ
 * (docs/benchmarks.md, "Change 2"); Y is what upstream rtrs-client does.
 */
bool ibtrs_clt_remote_invalidate;
module_param_named(remote_invalidate, ibtrs_clt_remote_invalidate, bool, 0644);
MODULE_PARM_DESC(remote_invalidate,
		 "Y: the server invalidates READ buffers (SEND_WITH_INV); N: the client does (LOCAL_INV) (default N)");

EXPORT_SYMBOL_GPL(ibtrs_clt_open);
EXPORT_SYMBOL_GPL(ibtrs_clt_close);
EXPORT_SYMBOL_GPL(ibtrs_clt_get_permit);
EXPORT_SYMBOL_GPL(ibtrs_clt_put_permit);
EXPORT_SYMBOL_GPL(ibtrs_clt_permit_set_poll);
EXPORT_SYMBOL_GPL(ibtrs_permit_to_pdu);
EXPORT_SYMBOL_GPL(ibtrs_clt_request);
EXPORT_SYMBOL_GPL(ibtrs_clt_rdma_cq_direct);
EXPORT_SYMBOL_GPL(ibtrs_clt_query);
EXPORT_SYMBOL_GPL(ibtrs_clt_reconnected_path);

/* /sys/class/ibtrs-client/<sess>/ */
static KX_DEV_ATTR_RW(mpath_policy, IBTRS_CLT_ATTR_MPATH_POLICY);
static KX_DEV_ATTR_RW(max_reconnect_attempts, IBTRS_CLT_ATTR_MAX_RECONNECT_ATTEMPTS);
static KX_DEV_ATTR_RW(add_path, IBTRS_CLT_ATTR_ADD_PATH);
static KX_DEV_ATTR_RO(rdma_lat, IBTRS_CLT_ATTR_RDMA_LAT);
static struct attribute *ibtrs_clt_sess_attrs[] = {
	KX_DEV_ATTR_PTR(mpath_policy), KX_DEV_ATTR_PTR(max_reconnect_attempts),
	KX_DEV_ATTR_PTR(add_path), KX_DEV_ATTR_PTR(rdma_lat), NULL,
};
static const struct attribute_group ibtrs_clt_sess_group = { .attrs = ibtrs_clt_sess_attrs };
static const struct attribute_group *ibtrs_clt_sess_groups[] = { &ibtrs_clt_sess_group, NULL };

/* .../paths/<src@dst>/ */
static KX_KOBJ_ATTR_RO(state, IBTRS_CLT_ATTR_STATE);
static KX_KOBJ_ATTR_WO(reconnect, IBTRS_CLT_ATTR_RECONNECT);
static KX_KOBJ_ATTR_WO(disconnect, IBTRS_CLT_ATTR_DISCONNECT);
static KX_KOBJ_ATTR_WO(remove_path, IBTRS_CLT_ATTR_REMOVE_PATH);
static KX_KOBJ_ATTR_RO(hca_name, IBTRS_CLT_ATTR_HCA_NAME);
static KX_KOBJ_ATTR_RO(hca_port, IBTRS_CLT_ATTR_HCA_PORT);
static KX_KOBJ_ATTR_RO(src_addr, IBTRS_CLT_ATTR_SRC_ADDR);
static KX_KOBJ_ATTR_RO(dst_addr, IBTRS_CLT_ATTR_DST_ADDR);
static KX_KOBJ_ATTR_RO(cur_latency, IBTRS_CLT_ATTR_CUR_LATENCY);
static struct attribute *ibtrs_clt_path_attrs[] = {
	KX_KOBJ_ATTR_PTR(state),    KX_KOBJ_ATTR_PTR(reconnect), KX_KOBJ_ATTR_PTR(disconnect),
	KX_KOBJ_ATTR_PTR(remove_path), KX_KOBJ_ATTR_PTR(hca_name), KX_KOBJ_ATTR_PTR(hca_port),
	KX_KOBJ_ATTR_PTR(src_addr), KX_KOBJ_ATTR_PTR(dst_addr),  KX_KOBJ_ATTR_PTR(cur_latency),
	NULL,
};
static const struct attribute_group ibtrs_clt_path_group = { .attrs = ibtrs_clt_path_attrs };
static const struct attribute_group *ibtrs_clt_path_groups[] = { &ibtrs_clt_path_group, NULL };

/* .../paths/<src@dst>/stats/ */
static KX_KOBJ_ATTR_RO(rdma, IBTRS_CLT_ATTR_STATS_RDMA);
static KX_KOBJ_ATTR_RO(reconnects, IBTRS_CLT_ATTR_STATS_RECONNECTS);
static KX_KOBJ_ATTR_WO(reset_all, IBTRS_CLT_ATTR_STATS_RESET_ALL);
static KX_KOBJ_ATTR_RO(rdma_lat, IBTRS_CLT_ATTR_STATS_RDMA_LAT);
static KX_KOBJ_ATTR_RO(poll, IBTRS_CLT_ATTR_STATS_POLL);
static struct attribute *ibtrs_clt_stats_attrs[] = {
	KX_KOBJ_ATTR_PTR(rdma), KX_KOBJ_ATTR_PTR(reconnects), KX_KOBJ_ATTR_PTR(reset_all),
	KX_KOBJ_ATTR_PTR(rdma_lat), KX_KOBJ_ATTR_PTR(poll), NULL,
};
static const struct attribute_group ibtrs_clt_stats_group = { .attrs = ibtrs_clt_stats_attrs };
static const struct attribute_group *ibtrs_clt_stats_groups[] = { &ibtrs_clt_stats_group, NULL };

static int __init ibtrs_clt_init(void)
{
	static const struct ibtrs_sysfs_groups groups = {
		.sess = KX_ATTR_GROUPS(ibtrs_clt_sess_groups),
		.path = KX_ATTR_GROUPS(ibtrs_clt_path_groups),
		.stats = KX_ATTR_GROUPS(ibtrs_clt_stats_groups),
	};

	return ibtrs_clt_module_init(&groups);
}

static void __exit ibtrs_clt_exit(void)
{
	ibtrs_clt_module_exit();
}

module_init(ibtrs_clt_init);
module_exit(ibtrs_clt_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("IBTRS client: RDMA transport (RTRS 2.0 wire format)");
