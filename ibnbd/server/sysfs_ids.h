/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Attribute ids shared by the C attribute tables (ibnbd_srv_main.c) and the
 * C++ show/store dispatch (ibnbd_srv.cpp). Layout: docs/ibnbd-server.md.
 */
#ifndef IBNBD_SRV_SYSFS_IDS_H
#define IBNBD_SRV_SYSFS_IDS_H

#include <kx/shim_sysfs.h>

enum ibnbd_srv_attr {
	/* /sys/class/ibnbd-server/ctl/devices/<name>/ */
	IBNBD_SRV_ATTR_BLOCK_DEV = 1,
	/* .../devices/<name>/sessions/<sess>/ */
	IBNBD_SRV_ATTR_READ_ONLY = 10,
	IBNBD_SRV_ATTR_ACCESS_MODE,
	IBNBD_SRV_ATTR_MAPPING_PATH,
	IBNBD_SRV_ATTR_FORCE_CLOSE,
};

/* The C file's attribute groups, handed to C++ at module init. */
struct ibnbd_srv_sysfs_groups {
	const struct kx_attr_group *const *ctl;
	const struct kx_attr_group *const *dev;
	const struct kx_attr_group *const *sess_dev;
};

#endif /* IBNBD_SRV_SYSFS_IDS_H */
