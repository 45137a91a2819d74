// SPDX-License-Identifier: GPL-2.0
/*
 * ibtrs-server: module tables, parameters and exports (the C half). The
 * transport itself is C++ (ibtrs_srv.cpp); see docs/ibtrs.md.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/stddef.h>
#include <ibtrs.h>
#include "../common/sysfs_ids.h"

int ibtrs_srv_module_init(const struct ibtrs_sysfs_groups *groups);
void ibtrs_srv_module_exit(void);

/* struct kvec as the C++ side declares it (include/ibtrs.h). */
static_assert(sizeof(struct kvec) == 2 * sizeof(void *));
static_assert(offsetof(struct kvec, iov_base) == 0);
static_assert(offsetof(struct kvec, iov_len) == sizeof(void *));

int ibtrs_srv_sess_queue_depth = 512;
module_param_named(sess_queue_depth, ibtrs_srv_sess_queue_depth, int, 0444);
MODULE_PARM_DESC(sess_queue_depth,
		 "chunks (requests in flight) per client session, 1..65535 (default 512)");

int ibtrs_srv_max_chunk_size = 128 << 10;
module_param_named(max_chunk_size, ibtrs_srv_max_chunk_size, int, 0444);
MODULE_PARM_DESC(max_chunk_size,
		 "bytes per chunk, a power of two >= 8192; max IO = chunk - PAGE_SIZE (default 131072)");

/*
 * On by default, as upstream: a client may touch a chunk only while one of
 * its requests owns it (docs/security.md). Writable: a path takes the value
 * when it is set up (see SrvPath).
 */
bool ibtrs_srv_always_invalidate = true;
module_param_named(always_invalidate, ibtrs_srv_always_invalidate, bool, 0644);
MODULE_PARM_DESC(always_invalidate,
		 "invalidate each chunk's MR on every request and re-register it with a new key, so a client can touch a chunk only while its request owns it; applies to paths set up after a change (default Y)");

/*
 * How a READ is answered when it needs no remote invalidation (always_invalidate
 * off, NEED_INVAL clear): Y, the data and the answer's immediate travel in one
 * RDMA WRITE_WITH_IMM (on soft-RoCE two packets fewer per READ: no separate
 * answer and no ACK for it); N, a data WRITE followed by a zero-length
 * WRITE_WITH_IMM, as upstream rtrs-server answers. Both are RTRS 2.0: a
 * client takes the immediate from the completion and does not look at its
 * length. Read once per answer.
 */
bool ibtrs_srv_merge_read_answer = true;
module_param_named(merge_read_answer, ibtrs_srv_merge_read_answer, bool, 0644);
MODULE_PARM_DESC(merge_read_answer,
		 "Y: a READ's data and its answer go in one RDMA WRITE_WITH_IMM; N: a data WRITE, then a zero-length WRITE_WITH_IMM (upstream's way) (default Y)");

int ibtrs_srv_max_sessions = 16;
module_param_named(max_sessions, ibtrs_srv_max_sessions, int, 0444);
MODULE_PARM_DESC(max_sessions,
		 "client sessions served at once; each pins sess_queue_depth x max_chunk_size bytes (default 16)");

int ibtrs_srv_max_sessions_per_peer = 8;
module_param_named(max_sessions_per_peer, ibtrs_srv_max_sessions_per_peer, int, 0444);
MODULE_PARM_DESC(max_sessions_per_peer,
		 "sessions one client address may hold at once; more are refused with EUSERS (default 8)");

int ibtrs_srv_max_pinned_mb = 1024;
module_param_named(max_pinned_mb, ibtrs_srv_max_pinned_mb, int, 0444);
MODULE_PARM_DESC(max_pinned_mb,
		 "MiB of session chunk memory allocated at once over all sessions; a session that would exceed it is refused with ENOMEM (default 1024)");

int ibtrs_srv_setup_timeout_ms = 30000;
module_param_named(setup_timeout_ms, ibtrs_srv_setup_timeout_ms, int, 0444);
MODULE_PARM_DESC(setup_timeout_ms,
		 "a path whose connections and INFO_REQ are not complete this long after its first CONN_REQ is closed (default 30000)");

int ibtrs_srv_max_conns_per_peer = 1024;
module_param_named(max_conns_per_peer, ibtrs_srv_max_conns_per_peer, int, 0644);
MODULE_PARM_DESC(max_conns_per_peer,
		 "RDMA connections (QP + CQ each) one client address may hold over all its sessions; more are refused with EUSERS; writable, read at every connect (default 1024)");

EXPORT_SYMBOL_GPL(ibtrs_srv_open);
EXPORT_SYMBOL_GPL(ibtrs_srv_close);
EXPORT_SYMBOL_GPL(ibtrs_srv_resp_rdma);
EXPORT_SYMBOL_GPL(ibtrs_srv_set_sess_priv);
EXPORT_SYMBOL_GPL(ibtrs_srv_get_path_name);
EXPORT_SYMBOL_GPL(ibtrs_srv_get_queue_depth);

/* /sys/class/ibtrs-server/<sess>/paths/<src@dst>/ and its stats/ */
static KX_KOBJ_ATTR_WO(disconnect, IBTRS_SRV_ATTR_DISCONNECT);
static KX_KOBJ_ATTR_RO(hca_name, IBTRS_SRV_ATTR_HCA_NAME);
static KX_KOBJ_ATTR_RO(hca_port, IBTRS_SRV_ATTR_HCA_PORT);
static KX_KOBJ_ATTR_RO(src_addr, IBTRS_SRV_ATTR_SRC_ADDR);
static KX_KOBJ_ATTR_RO(dst_addr, IBTRS_SRV_ATTR_DST_ADDR);
static KX_KOBJ_ATTR_RO(rdma, IBTRS_SRV_ATTR_STATS_RDMA);

static struct attribute *ibtrs_srv_path_attrs[] = {
	KX_KOBJ_ATTR_PTR(disconnect), KX_KOBJ_ATTR_PTR(hca_name), KX_KOBJ_ATTR_PTR(hca_port),
	KX_KOBJ_ATTR_PTR(src_addr),   KX_KOBJ_ATTR_PTR(dst_addr), NULL,
};
static const struct attribute_group ibtrs_srv_path_group = { .attrs = ibtrs_srv_path_attrs };
static const struct attribute_group *ibtrs_srv_path_groups[] = { &ibtrs_srv_path_group, NULL };

static struct attribute *ibtrs_srv_stats_attrs[] = { KX_KOBJ_ATTR_PTR(rdma), NULL };
static const struct attribute_group ibtrs_srv_stats_group = { .attrs = ibtrs_srv_stats_attrs };
static const struct attribute_group *ibtrs_srv_stats_groups[] = { &ibtrs_srv_stats_group, NULL };

static const struct attribute_group *ibtrs_srv_sess_groups[] = { NULL };

static int __init ibtrs_srv_init(void)
{
	static const struct ibtrs_sysfs_groups groups = {
		.sess = KX_ATTR_GROUPS(ibtrs_srv_sess_groups),
		.path = KX_ATTR_GROUPS(ibtrs_srv_path_groups),
		.stats = KX_ATTR_GROUPS(ibtrs_srv_stats_groups),
	};

	return ibtrs_srv_module_init(&groups);
}

static void __exit ibtrs_srv_exit(void)
{
	ibtrs_srv_module_exit();
}

module_init(ibtrs_srv_init);
module_exit(ibtrs_srv_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("IBTRS server: RDMA transport (RTRS 2.0 wire format)");
