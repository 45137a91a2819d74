/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Attribute ids shared by the C attribute tables (ibtrs_*_main.c) and the
 * C++ show/store dispatch (ibtrs_*.cpp). Layout: docs/ibtrs.md "sysfs".
 */
#ifndef IBTRS_SYSFS_IDS_H
#define IBTRS_SYSFS_IDS_H

#include <kx/shim_sysfs.h>

enum ibtrs_attr {
	/* client: /sys/class/ibtrs-client/<sess>/ */
	IBTRS_CLT_ATTR_MPATH_POLICY = 1,
	IBTRS_CLT_ATTR_MAX_RECONNECT_ATTEMPTS,
	IBTRS_CLT_ATTR_ADD_PATH,
	IBTRS_CLT_ATTR_RDMA_LAT, /* the session's paths merged */
	/* client: .../paths/<src@dst>/ */
	IBTRS_CLT_ATTR_STATE = 10,
	IBTRS_CLT_ATTR_RECONNECT,
	IBTRS_CLT_ATTR_DISCONNECT,
	IBTRS_CLT_ATTR_REMOVE_PATH,
	IBTRS_CLT_ATTR_HCA_NAME,
	IBTRS_CLT_ATTR_HCA_PORT,
	IBTRS_CLT_ATTR_SRC_ADDR,
	IBTRS_CLT_ATTR_DST_ADDR,
	IBTRS_CLT_ATTR_CUR_LATENCY,
	/* client: .../paths/<src@dst>/stats/ */
	IBTRS_CLT_ATTR_STATS_RDMA = 30,
	IBTRS_CLT_ATTR_STATS_RECONNECTS,
	IBTRS_CLT_ATTR_STATS_RESET_ALL,
	IBTRS_CLT_ATTR_STATS_RDMA_LAT,
	IBTRS_CLT_ATTR_STATS_POLL,
	/* server: /sys/class/ibtrs-server/<sess>/paths/<src@dst>/ */
	IBTRS_SRV_ATTR_DISCONNECT = 50,
	IBTRS_SRV_ATTR_HCA_NAME,
	IBTRS_SRV_ATTR_HCA_PORT,
	IBTRS_SRV_ATTR_SRC_ADDR,
	IBTRS_SRV_ATTR_DST_ADDR,
	/* server: .../stats/ */
	IBTRS_SRV_ATTR_STATS_RDMA = 60,
};

/* The C file's attribute groups, handed to C++ at module init. */
struct ibtrs_sysfs_groups {
	const struct kx_attr_group *const *sess;  /* session device */
	const struct kx_attr_group *const *path;  /* paths/<name>/ */
	const struct kx_attr_group *const *stats; /* paths/<name>/stats/ */
};

#endif
