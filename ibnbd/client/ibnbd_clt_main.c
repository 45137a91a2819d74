// SPDX-License-Identifier: GPL-2.0
/*
 * ibnbd-client: the C half (module init/exit and parameters, the blk_mq_ops
 * and block_device_operations tables with their trampolines, the sysfs
 * attribute tables). The driver itself is C++ (ibnbd_clt.cpp); see
 * docs/ibnbd-client.md.
 *
 *   /sys/class/ibnbd-client/ctl/map_device
 *   /sys/class/ibnbd-client/ctl/devices/<device_path with / as !>@<sessname> -> /sys/block/ibnbdN
 *   /sys/block/ibnbdN/ibnbd/{state,unmap_device,remap_device,resize,session,
 *                            mapping_path,access_mode,nr_poll_queues,io_fail_timeout_sec,stats}
 */
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/scatterlist.h>
#include "ibnbd_clt.h"

int ibnbd_clt_reconnect_delay_sec = 2;
module_param_named(reconnect_delay_sec, ibnbd_clt_reconnect_delay_sec, int, 0444);
MODULE_PARM_DESC(reconnect_delay_sec, "delay before a failed path reconnects, 1..255 (default 2)");

int ibnbd_clt_io_fail_timeout_sec = 0;
module_param_named(io_fail_timeout_sec, ibnbd_clt_io_fail_timeout_sec, int, 0444);
MODULE_PARM_DESC(io_fail_timeout_sec,
		 "initial per-device outage timeout: IO waits this long for a remap, 0 = fail at once (default 0)");

void ibnbd_clt_sg_init_one(void *sg, void *buf, kx_u32 len)
{
	sg_init_one(sg, buf, len);
}

kx_u32 ibnbd_clt_sizeof_sg(void)
{
	return sizeof(struct scatterlist);
}

/* The poll connection of a HCTX_TYPE_POLL hctx (0..nr_poll_queues-1), else -1. */
static int ibnbd_mq_poll_index(struct blk_mq_hw_ctx *hctx)
{
	struct blk_mq_tag_set *set = hctx->queue->tag_set;

	if (hctx->type != HCTX_TYPE_POLL || set->nr_maps <= HCTX_TYPE_POLL)
		return -1;
	return (int)(hctx->queue_num - set->map[HCTX_TYPE_POLL].queue_offset);
}

static blk_status_t ibnbd_mq_queue_rq(struct blk_mq_hw_ctx *hctx, const struct blk_mq_queue_data *bd)
{
	return (__force blk_status_t)ibnbd_clt_queue_rq(hctx->queue->queuedata,
							(struct kx_blk_hctx *)hctx,
							(struct kx_request *)bd->rq,
							blk_mq_rq_to_pdu(bd->rq), bd->last,
							ibnbd_mq_poll_index(hctx));
}

/*
 * The session's layout (ibnbd/core/map_options.h queue_layout): DEFAULT and
 * READ share the per-CPU queues, POLL gets the rest. Without poll queues
 * nr_maps is 1 and only DEFAULT exists.
 */
static void ibnbd_mq_map_queues(struct blk_mq_tag_set *set)
{
	kx_u32 io = 0, poll = 0;

	ibnbd_clt_queue_layout(set->driver_data, &io, &poll);
	set->map[HCTX_TYPE_DEFAULT].nr_queues = io;
	set->map[HCTX_TYPE_DEFAULT].queue_offset = 0;
	blk_mq_map_queues(&set->map[HCTX_TYPE_DEFAULT]);
	if (set->nr_maps <= HCTX_TYPE_POLL)
		return;
	set->map[HCTX_TYPE_READ].nr_queues = io;
	set->map[HCTX_TYPE_READ].queue_offset = 0;
	blk_mq_map_queues(&set->map[HCTX_TYPE_READ]);
	set->map[HCTX_TYPE_POLL].nr_queues = poll;
	set->map[HCTX_TYPE_POLL].queue_offset = io;
	blk_mq_map_queues(&set->map[HCTX_TYPE_POLL]);
}

/* blk-mq polls a HCTX_TYPE_POLL hctx: reap its poll connection on every path. */
static int ibnbd_mq_poll(struct blk_mq_hw_ctx *hctx, struct io_comp_batch *iob)
{
	int idx = ibnbd_mq_poll_index(hctx);

	if (idx < 0)
		return 0;
	return ibnbd_clt_poll(hctx->queue->tag_set->driver_data, (kx_u32)idx);
}

static void ibnbd_mq_complete(struct request *rq)
{
	ibnbd_clt_complete(rq->q->queuedata, (struct kx_request *)rq, blk_mq_rq_to_pdu(rq));
}

static enum blk_eh_timer_return ibnbd_mq_timeout(struct request *rq)
{
	return ibnbd_clt_timeout(rq->q->queuedata, (struct kx_request *)rq, blk_mq_rq_to_pdu(rq));
}

static int ibnbd_mq_init_request(struct blk_mq_tag_set *set, struct request *rq,
				 unsigned int hctx_idx, unsigned int numa_node)
{
	return ibnbd_clt_init_request(set->driver_data, (struct kx_request *)rq,
				      blk_mq_rq_to_pdu(rq));
}

static void ibnbd_mq_exit_request(struct blk_mq_tag_set *set, struct request *rq,
				  unsigned int hctx_idx)
{
	ibnbd_clt_exit_request(set->driver_data, blk_mq_rq_to_pdu(rq));
}

static const struct blk_mq_ops ibnbd_mq_ops = {
	.queue_rq = ibnbd_mq_queue_rq,
	.complete = ibnbd_mq_complete,
	.timeout = ibnbd_mq_timeout,
	.init_request = ibnbd_mq_init_request,
	.exit_request = ibnbd_mq_exit_request,
	.map_queues = ibnbd_mq_map_queues,
	.poll = ibnbd_mq_poll,
};

static int ibnbd_bd_open(struct block_device *bdev, fmode_t mode)
{
	return ibnbd_clt_bdev_open(bdev->bd_disk->private_data, (mode & FMODE_WRITE) != 0);
}

static void ibnbd_bd_release(struct gendisk *disk, fmode_t mode)
{
	ibnbd_clt_bdev_release(disk->private_data);
}

static const struct block_device_operations ibnbd_bd_ops = {
	.owner = THIS_MODULE,
	.open = ibnbd_bd_open,
	.release = ibnbd_bd_release,
};

/* /sys/class/ibnbd-client/ctl/ */
static KX_DEV_ATTR_RW(map_device, IBNBD_CLT_ATTR_MAP_DEVICE);
static struct attribute *ibnbd_ctl_attrs[] = { KX_DEV_ATTR_PTR(map_device), NULL };
static const struct attribute_group ibnbd_ctl_group = { .attrs = ibnbd_ctl_attrs };
static const struct attribute_group *ibnbd_ctl_groups[] = { &ibnbd_ctl_group, NULL };

/* /sys/block/ibnbdN/ibnbd/ */
static KX_KOBJ_ATTR_RO(state, IBNBD_CLT_ATTR_STATE);
static KX_KOBJ_ATTR_RW(unmap_device, IBNBD_CLT_ATTR_UNMAP_DEVICE);
static KX_KOBJ_ATTR_RW(remap_device, IBNBD_CLT_ATTR_REMAP_DEVICE);
static KX_KOBJ_ATTR_RW(resize, IBNBD_CLT_ATTR_RESIZE);
static KX_KOBJ_ATTR_RO(session, IBNBD_CLT_ATTR_SESSION);
static KX_KOBJ_ATTR_RO(mapping_path, IBNBD_CLT_ATTR_MAPPING_PATH);
static KX_KOBJ_ATTR_RO(access_mode, IBNBD_CLT_ATTR_ACCESS_MODE);
static KX_KOBJ_ATTR_RO(nr_poll_queues, IBNBD_CLT_ATTR_NR_POLL_QUEUES);
static KX_KOBJ_ATTR_RW(io_fail_timeout_sec, IBNBD_CLT_ATTR_IO_FAIL_TIMEOUT);
static KX_KOBJ_ATTR_RO(stats, IBNBD_CLT_ATTR_STATS);
static struct attribute *ibnbd_dev_attrs[] = {
	KX_KOBJ_ATTR_PTR(state),	  KX_KOBJ_ATTR_PTR(unmap_device),
	KX_KOBJ_ATTR_PTR(remap_device),	  KX_KOBJ_ATTR_PTR(resize),
	KX_KOBJ_ATTR_PTR(session),	  KX_KOBJ_ATTR_PTR(mapping_path),
	KX_KOBJ_ATTR_PTR(access_mode),	  KX_KOBJ_ATTR_PTR(nr_poll_queues),
	KX_KOBJ_ATTR_PTR(io_fail_timeout_sec), KX_KOBJ_ATTR_PTR(stats),
	NULL,
};
static const struct attribute_group ibnbd_dev_group = { .attrs = ibnbd_dev_attrs };
static const struct attribute_group *ibnbd_dev_groups[] = { &ibnbd_dev_group, NULL };

static int __init ibnbd_clt_mod_init(void)
{
	int ret = ibnbd_clt_init((const struct kx_blk_mq_ops *)&ibnbd_mq_ops,
				 (const struct kx_blk_fops *)&ibnbd_bd_ops,
				 KX_ATTR_GROUPS(ibnbd_ctl_groups), KX_ATTR_GROUPS(ibnbd_dev_groups));

	if (ret)
		kx_runtime_exit();
	return ret;
}

static void __exit ibnbd_clt_mod_exit(void)
{
	ibnbd_clt_exit();
	kx_runtime_exit();
}

module_init(ibnbd_clt_mod_init);
module_exit(ibnbd_clt_mod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("IBNBD client: /dev/ibnbdN over IBTRS (RNBD 2.0 wire format)");
