// SPDX-License-Identifier: GPL-2.0
/*
 * kcxx_ramdisk: a memory-backed blk-mq disk written in C++ (ramdisk_cxx.cpp)
 * through kx/blk.h and kx/sysfs.h. It exists to prove those wrappers in the
 * guest (tests/vm/cases/12-ramdisk-blkmq.sh). This file holds only what is
 * declarative C: module init/exit, the blk_mq_ops table with its
 * trampolines, and the sysfs attribute tables.
 *
 *   /sys/class/kcxx-ramdisk/ctl/create          echo size_mb=64 > create
 *   /sys/class/kcxx-ramdisk/ctl/devices/kxrdN -> /sys/block/kxrdN
 *   /sys/block/kxrdN/kcxx/{size_mb,resize,remove,pause,stats}
 */
#include <linux/blk-mq.h>
#include <linux/module.h>
#include "ramdisk.h"

static blk_status_t kxrd_mq_queue_rq(struct blk_mq_hw_ctx *hctx, const struct blk_mq_queue_data *bd)
{
	return (__force blk_status_t)kxrd_queue_rq(hctx->queue->queuedata, (struct kx_blk_hctx *)hctx,
						   (struct kx_request *)bd->rq,
						   blk_mq_rq_to_pdu(bd->rq), bd->last);
}

static void kxrd_mq_complete(struct request *rq)
{
	kxrd_complete(rq->q->queuedata, (struct kx_request *)rq, blk_mq_rq_to_pdu(rq));
}

static enum blk_eh_timer_return kxrd_mq_timeout(struct request *rq)
{
	return kxrd_timeout(rq->q->queuedata, (struct kx_request *)rq, blk_mq_rq_to_pdu(rq));
}

static int kxrd_mq_init_request(struct blk_mq_tag_set *set, struct request *rq,
				unsigned int hctx_idx, unsigned int numa_node)
{
	return kxrd_init_request(set->driver_data, (struct kx_request *)rq, blk_mq_rq_to_pdu(rq));
}

static void kxrd_mq_exit_request(struct blk_mq_tag_set *set, struct request *rq,
				 unsigned int hctx_idx)
{
	kxrd_exit_request(set->driver_data, blk_mq_rq_to_pdu(rq));
}

static const struct blk_mq_ops kxrd_mq_ops = {
	.queue_rq = kxrd_mq_queue_rq,
	.complete = kxrd_mq_complete,
	.timeout = kxrd_mq_timeout,
	.init_request = kxrd_mq_init_request,
	.exit_request = kxrd_mq_exit_request,
};

/* /sys/class/kcxx-ramdisk/ctl/ */
static KX_DEV_ATTR_WO(create, KXRD_ATTR_CREATE);

static struct attribute *kxrd_ctl_attrs[] = {
	KX_DEV_ATTR_PTR(create),
	NULL,
};

static const struct attribute_group kxrd_ctl_group = {
	.attrs = kxrd_ctl_attrs,
};

static const struct attribute_group *kxrd_ctl_groups[] = {
	&kxrd_ctl_group,
	NULL,
};

/* /sys/block/kxrdN/kcxx/ */
static KX_KOBJ_ATTR_RO(size_mb, KXRD_ATTR_SIZE_MB);
static KX_KOBJ_ATTR_WO(resize, KXRD_ATTR_RESIZE);
static KX_KOBJ_ATTR_WO(remove, KXRD_ATTR_REMOVE);
static KX_KOBJ_ATTR_RW(pause, KXRD_ATTR_PAUSE);
static KX_KOBJ_ATTR_RO(stats, KXRD_ATTR_STATS);

static struct attribute *kxrd_disk_attrs[] = {
	KX_KOBJ_ATTR_PTR(size_mb),
	KX_KOBJ_ATTR_PTR(resize),
	KX_KOBJ_ATTR_PTR(remove),
	KX_KOBJ_ATTR_PTR(pause),
	KX_KOBJ_ATTR_PTR(stats),
	NULL,
};

static const struct attribute_group kxrd_disk_group = {
	.attrs = kxrd_disk_attrs,
};

static const struct attribute_group *kxrd_disk_groups[] = {
	&kxrd_disk_group,
	NULL,
};

static int __init kxrd_mod_init(void)
{
	int ret = kxrd_init((const struct kx_blk_mq_ops *)&kxrd_mq_ops,
			    KX_ATTR_GROUPS(kxrd_ctl_groups), KX_ATTR_GROUPS(kxrd_disk_groups));

	if (ret)
		kx_runtime_exit();
	return ret;
}

static void __exit kxrd_mod_exit(void)
{
	kxrd_exit();
	kx_runtime_exit();
}

module_init(kxrd_mod_init);
module_exit(kxrd_mod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kcxx C++ blk-mq RAM disk (test module for kx/blk.h and kx/sysfs.h)");
