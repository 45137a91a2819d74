/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kcxx_ramdisk: what its C half (ramdisk_main.c: module init/exit, the
 * blk_mq_ops table, the sysfs attribute tables) and its C++ half
 * (ramdisk_cxx.cpp) share: the attribute ids and the C++ entry points.
 */
#ifndef KXRD_RAMDISK_H
#define KXRD_RAMDISK_H

#include <kx/shim_blk.h>
#include <kx/shim_sysfs.h>

/* Attribute ids (the "id" of each KX_DEV_ATTR / KX_KOBJ_ATTR). */
enum kxrd_attr {
	/* /sys/class/kcxx-ramdisk/ctl/ */
	KXRD_ATTR_CREATE = 1,     /* write "size_mb=<N>": creates /dev/kxrd<id> */
	/* /sys/block/kxrd<id>/kcxx/ */
	KXRD_ATTR_SIZE_MB = 10,   /* read: size in MiB */
	KXRD_ATTR_RESIZE = 11,    /* write <MiB>: grow, notify */
	KXRD_ATTR_REMOVE = 12,    /* write 1: remove the disk and this directory */
	KXRD_ATTR_PAUSE = 13,     /* write 1/0: quiesce/unquiesce the queue; read: state */
	KXRD_ATTR_STATS = 14,     /* read: per-path and per-op counters */
};

/* Module init/exit: 0 or -errno. The tables are the C file's. */
KX_EXTERN_C int kxrd_init(const struct kx_blk_mq_ops *ops,
			  const struct kx_attr_group *const *ctl_groups,
			  const struct kx_attr_group *const *disk_groups) KX_NOEXCEPT;
KX_EXTERN_C void kxrd_exit(void) KX_NOEXCEPT;
KX_EXTERN_C long kx_runtime_exit(void) KX_NOEXCEPT;

/*
 * blk_mq_ops entries. disk = rq->q->queuedata, driver = set->driver_data,
 * pdu = blk_mq_rq_to_pdu(rq). Contexts: see kx/blk.h.
 */
KX_EXTERN_C kx_u8 kxrd_queue_rq(void *disk, struct kx_blk_hctx *hctx, struct kx_request *rq,
				void *pdu, int last) KX_NOEXCEPT;
KX_EXTERN_C void kxrd_complete(void *disk, struct kx_request *rq, void *pdu) KX_NOEXCEPT;
KX_EXTERN_C int kxrd_timeout(void *disk, struct kx_request *rq, void *pdu) KX_NOEXCEPT;
KX_EXTERN_C int kxrd_init_request(void *driver, struct kx_request *rq, void *pdu) KX_NOEXCEPT;
KX_EXTERN_C void kxrd_exit_request(void *driver, void *pdu) KX_NOEXCEPT;

#endif /* KXRD_RAMDISK_H */
