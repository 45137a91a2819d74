// SPDX-License-Identifier: GPL-2.0
/*
 * ibnbd-server: module tables and parameters (the C half). The server
 * itself is C++ (ibnbd_srv.cpp); see docs/ibnbd-server.md.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <ibtrs.h>
#include "sysfs_ids.h"

int ibnbd_srv_module_init(const struct ibnbd_srv_sysfs_groups *groups);
void ibnbd_srv_module_exit(void);

ushort ibnbd_srv_port_nr = IBTRS_PORT;
module_param_named(port_nr, ibnbd_srv_port_nr, ushort, 0444);
MODULE_PARM_DESC(port_nr, "RDMA-CM port to listen on (default 1234)");

char *ibnbd_srv_dev_search_path = "/";
module_param_named(dev_search_path, ibnbd_srv_dev_search_path, charp, 0444);
MODULE_PARM_DESC(dev_search_path,
		 "absolute directory the clients' device paths are relative to; %SESSNAME% is replaced by the session name (default /)");

/* /sys/class/ibnbd-server/ctl/devices/<name>/ */
static KX_KOBJ_ATTR_RO(block_dev, IBNBD_SRV_ATTR_BLOCK_DEV);
static struct attribute *ibnbd_srv_dev_attrs[] = { KX_KOBJ_ATTR_PTR(block_dev), NULL };
static const struct attribute_group ibnbd_srv_dev_group = { .attrs = ibnbd_srv_dev_attrs };
static const struct attribute_group *ibnbd_srv_dev_groups[] = { &ibnbd_srv_dev_group, NULL };

/* .../devices/<name>/sessions/<sess>/ */
static KX_KOBJ_ATTR_RO(read_only, IBNBD_SRV_ATTR_READ_ONLY);
static KX_KOBJ_ATTR_RO(access_mode, IBNBD_SRV_ATTR_ACCESS_MODE);
static KX_KOBJ_ATTR_RO(mapping_path, IBNBD_SRV_ATTR_MAPPING_PATH);
static KX_KOBJ_ATTR_WO(force_close, IBNBD_SRV_ATTR_FORCE_CLOSE);
static struct attribute *ibnbd_srv_sess_dev_attrs[] = {
	KX_KOBJ_ATTR_PTR(read_only), KX_KOBJ_ATTR_PTR(access_mode),
	KX_KOBJ_ATTR_PTR(mapping_path), KX_KOBJ_ATTR_PTR(force_close), NULL,
};
static const struct attribute_group ibnbd_srv_sess_dev_group = { .attrs = ibnbd_srv_sess_dev_attrs };
static const struct attribute_group *ibnbd_srv_sess_dev_groups[] = { &ibnbd_srv_sess_dev_group,
								     NULL };

/* /sys/class/ibnbd-server/ctl/: no attributes of its own (the server is passive). */
static const struct attribute_group *ibnbd_srv_ctl_groups[] = { NULL };

static int __init ibnbd_srv_init(void)
{
	static const struct ibnbd_srv_sysfs_groups groups = {
		.ctl = KX_ATTR_GROUPS(ibnbd_srv_ctl_groups),
		.dev = KX_ATTR_GROUPS(ibnbd_srv_dev_groups),
		.sess_dev = KX_ATTR_GROUPS(ibnbd_srv_sess_dev_groups),
	};

	return ibnbd_srv_module_init(&groups);
}

static void __exit ibnbd_srv_exit(void)
{
	ibnbd_srv_module_exit();
}

module_init(ibnbd_srv_init);
module_exit(ibnbd_srv_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("IBNBD server: network block device over IBTRS (RNBD 2.0 wire format)");
