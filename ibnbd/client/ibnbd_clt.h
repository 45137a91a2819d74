/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ibnbd-client: what its C half (ibnbd_clt_main.c: module init/exit, the
 * blk_mq_ops and block_device_operations tables, the sysfs attribute tables,
 * one scatterlist helper) and its C++ half (ibnbd_clt.cpp) share.
 */
#ifndef IBNBD_CLT_H
#define IBNBD_CLT_H

#include <kx/shim_blk.h>
#include <kx/shim_sysfs.h>

enum ibnbd_clt_attr {
	/* /sys/class/ibnbd-client/ctl/ */
	IBNBD_CLT_ATTR_MAP_DEVICE = 1,
	/* /sys/block/ibnbd<N>/ibnbd/ */
	IBNBD_CLT_ATTR_STATE = 10,
	IBNBD_CLT_ATTR_UNMAP_DEVICE = 11,
	IBNBD_CLT_ATTR_REMAP_DEVICE = 12,
	IBNBD_CLT_ATTR_RESIZE = 13,
	IBNBD_CLT_ATTR_SESSION = 14,
	IBNBD_CLT_ATTR_MAPPING_PATH = 15,
	IBNBD_CLT_ATTR_ACCESS_MODE = 16,
	IBNBD_CLT_ATTR_NR_POLL_QUEUES = 17,
	IBNBD_CLT_ATTR_IO_FAIL_TIMEOUT = 18,
	IBNBD_CLT_ATTR_STATS = 19,
};

struct kx_blk_fops;

KX_EXTERN_C int ibnbd_clt_init(const struct kx_blk_mq_ops *ops, const struct kx_blk_fops *fops,
			       const struct kx_attr_group *const *ctl_groups,
			       const struct kx_attr_group *const *dev_groups) KX_NOEXCEPT;
KX_EXTERN_C void ibnbd_clt_exit(void) KX_NOEXCEPT;
KX_EXTERN_C long kx_runtime_exit(void) KX_NOEXCEPT;

/* sg_init_one(sg, buf, len) on a struct scatterlist the C++ side stores. */
KX_EXTERN_C void ibnbd_clt_sg_init_one(void *sg, void *buf, kx_u32 len) KX_NOEXCEPT;
/* sizeof(struct scatterlist), for static checks. */
KX_EXTERN_C kx_u32 ibnbd_clt_sizeof_sg(void) KX_NOEXCEPT;

/* blk_mq_ops entries: disk = rq->q->queuedata, driver = set->driver_data. */
/* poll_index: the hctx's poll connection (HCTX_TYPE_POLL), -1 for the others. */
KX_EXTERN_C kx_u8 ibnbd_clt_queue_rq(void *disk, struct kx_blk_hctx *hctx, struct kx_request *rq,
				     void *pdu, int last, int poll_index) KX_NOEXCEPT;
/* map_queues: per-CPU hw queues and poll hw queues of the session's tag set. Process. */
KX_EXTERN_C void ibnbd_clt_queue_layout(void *driver, kx_u32 *io_queues,
					kx_u32 *poll_queues) KX_NOEXCEPT;
/* .poll: ibtrs_clt_rdma_cq_direct on poll connection index; completions reaped or -errno. */
KX_EXTERN_C int ibnbd_clt_poll(void *driver, kx_u32 index) KX_NOEXCEPT;
KX_EXTERN_C void ibnbd_clt_complete(void *disk, struct kx_request *rq, void *pdu) KX_NOEXCEPT;
KX_EXTERN_C int ibnbd_clt_timeout(void *disk, struct kx_request *rq, void *pdu) KX_NOEXCEPT;
KX_EXTERN_C int ibnbd_clt_init_request(void *driver, struct kx_request *rq, void *pdu) KX_NOEXCEPT;
KX_EXTERN_C void ibnbd_clt_exit_request(void *driver, void *pdu) KX_NOEXCEPT;

/* block_device_operations: disk = gendisk->private_data (the queuedata). */
KX_EXTERN_C int ibnbd_clt_bdev_open(void *disk, int write) KX_NOEXCEPT;
KX_EXTERN_C void ibnbd_clt_bdev_release(void *disk) KX_NOEXCEPT;

#endif /* IBNBD_CLT_H */
