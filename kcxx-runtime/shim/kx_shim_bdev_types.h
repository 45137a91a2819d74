/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-side definitions of the storage-backend shim's objects. Only
 * shim/bdev.c and layout/kx_layout_bdev.h include this; C++ sees the size and
 * alignment of struct kx_bdev_io through kx_layout.h.
 */
#ifndef KX_SHIM_BDEV_TYPES_H
#define KX_SHIM_BDEV_TYPES_H

#include <linux/bvec.h>
#include <linux/fs.h>
#include <linux/workqueue.h>
#include <kx/shim_bdev.h>

/* The open backing store: exactly one of bdev / file is set. */
struct kx_bdev {
	struct block_device *bdev;
	fmode_t mode;                  /* blkdev_put needs the open mode */
	struct file *file;
	struct workqueue_struct *wq;   /* file IO and queued submissions run here */
	struct kx_bdev_props props;
};

/*
 * One IO in flight, embedded by the caller (bi_private points here). The work
 * item runs file IO and queued (kx_bdev_queue) submissions; bvec is the file
 * IO's iov_iter over buf.
 */
struct kx_bdev_io {
	void (*done)(void *ctx, int err);
	void *ctx;
	struct kx_bdev *b;
	void *buf;
	struct work_struct work;
	struct bio_vec bvec;
	u64 pos;
	u32 len;
	u32 op;
	u32 flags;
};

#endif /* KX_SHIM_BDEV_TYPES_H */
