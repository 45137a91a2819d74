/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The storage-backend part of the C/C++ boundary (shim/bdev.c): the IBNBD
 * server's backing store, a block device or a regular file opened BENEATH a
 * root directory, and asynchronous IO on it over a caller-provided,
 * physically contiguous buffer (an RDMA chunk). Same rules as kx/shim.h, which
 * includes this header: extern "C", fixed-width types, opaque handles.
 *
 * Opt-in per module (kbuild-cxx-bdev.mk: a kx_bdev_shim_<module>.o object).
 *
 * No policy here: the shim does not check ranges, access modes or op support
 * against the properties; kx/bdev.h (kx::bdev::Backend) does, before calling
 * kx_bdev_submit. Return convention: 0 or a negative errno; every failure of
 * open/submit is logged once (rate-limited on the IO path).
 */
#ifndef KX_SHIM_BDEV_H
#define KX_SHIM_BDEV_H

#include <kx/shim.h>

/* Opaque: { struct block_device * or struct file *, mode, workqueue }. */
struct kx_bdev;
struct kx_workqueue;
/*
 * Per-IO state the caller embeds by value (KX_SIZEOF_BDEV_IO /
 * KX_ALIGNOF_BDEV_IO from kx_layout.h): the callback, the file-IO work item
 * and bio_vec. It must stay valid from kx_bdev_submit until done() was called.
 */
struct kx_bdev_io;

enum kx_bdev_op {
	KX_BDEV_OP_READ = 0,
	KX_BDEV_OP_WRITE = 1,
	KX_BDEV_OP_FLUSH = 2,        /* empty REQ_PREFLUSH write / fdatasync */
	KX_BDEV_OP_DISCARD = 3,      /* REQ_OP_DISCARD / PUNCH_HOLE|KEEP_SIZE */
	KX_BDEV_OP_SECURE_ERASE = 4, /* REQ_OP_SECURE_ERASE / files: -EOPNOTSUPP */
	KX_BDEV_OP_WRITE_ZEROES = 5, /* REQ_OP_WRITE_ZEROES / ZERO_RANGE or PUNCH_HOLE */
};

enum kx_bdev_flags {
	KX_BDEV_F_FUA = 1u << 0,      /* REQ_FUA / vfs_fsync_range after the write */
	KX_BDEV_F_PREFLUSH = 1u << 1, /* REQ_PREFLUSH / vfs_fsync before the write */
	KX_BDEV_F_NOUNMAP = 1u << 2,  /* WRITE_ZEROES: REQ_NOUNMAP / ZERO_RANGE (not PUNCH_HOLE) */
	KX_BDEV_F_SYNC = 1u << 3,     /* REQ_SYNC (block devices; RNBD_F_SYNC) */
};

enum kx_bdev_open_flags {
	KX_BDEV_OPEN_WRITE = 1u << 0,  /* FMODE_WRITE / O_RDWR */
	/* Regular files: O_DIRECT if the file system can (a_ops->direct_IO, what
	 * open(O_DIRECT) checks), else buffered; props.direct says which. */
	KX_BDEV_OPEN_DIRECT = 1u << 1,
};

/*
 * What an RNBD OPEN_RSP needs, filled at open (a file's size is the size at
 * open). Limits in 512-byte sectors unless marked bytes; 0 = not supported,
 * except max_hw_sectors and max_segments of a file: 0 = no device limit (the
 * server picks its own, e.g. the chunk size). Files get the loop driver's
 * limits: discard and write-zeroes if the fs has ->fallocate (whether
 * ZERO_RANGE works shows only at run time: -EOPNOTSUPP on tmpfs), granularity
 * = fs block size, write_cache and fua = 1 (page cache / device cache
 * flushed by fsync).
 */
struct kx_bdev_props {
	kx_u64 size_bytes;
	kx_u32 logical_block_size;
	kx_u32 physical_block_size;
	kx_u32 max_hw_sectors;
	kx_u32 max_segments;
	kx_u32 max_discard_sectors;
	kx_u32 discard_granularity;      /* bytes */
	kx_u32 discard_alignment;        /* bytes */
	kx_u32 max_secure_erase_sectors;
	kx_u32 max_write_zeroes_sectors;
	kx_u8 write_cache;               /* volatile cache: FLUSH means something */
	kx_u8 fua;
	kx_u8 rotational;
	kx_u8 is_file;                   /* 0 = block device, 1 = regular file */
	kx_u8 direct;                    /* file opened O_DIRECT */
	kx_u8 writable;                  /* opened for writing */
	kx_u8 pad[2];
};

/*
 * Opens path (absolute, NUL-terminated), following symlinks, and refuses it
 * with -EXDEV if the resolved object is not beneath root (an existing
 * directory): the errno openat2(RESOLVE_BENEATH) gives for an escape. A
 * directory is -EISDIR, anything but a block device or regular file is
 * -ENOTBLK, a device node on a nodev mount -EACCES (lookup_bdev's rule), a
 * writable open of a read-only block device -EROFS, a writable open of an
 * append-only or immutable file -EPERM. The object checked is the object
 * opened (no second lookup). Block devices are opened NOT exclusively
 * (several readers, and two writers during migration, as RNBD allows; write
 * exclusivity is the server's open rules). wq: a WQ_MEM_RECLAIM workqueue
 * (kx_wq_alloc) for file IO and queued submissions; required (-EINVAL).
 * Logs nothing on failure (the caller logs it once, with its context).
 * Process context.
 */
KX_EXTERN_C int kx_bdev_open(const char *root, const char *path, kx_u32 open_flags,
			     struct kx_workqueue *wq, struct kx_bdev **out) KX_NOEXCEPT;
/* Process context; no IO in flight or queued. */
KX_EXTERN_C void kx_bdev_close(struct kx_bdev *b) KX_NOEXCEPT;
KX_EXTERN_C void kx_bdev_get_props(const struct kx_bdev *b, struct kx_bdev_props *out) KX_NOEXCEPT;

/*
 * Starts one IO. buf (READ/WRITE only, else NULL) must be in the kernel's
 * direct map (kmalloc / alloc_pages: physically contiguous), -EFAULT if not;
 * it is used in place (zero copy). len is the byte count (0 for FLUSH).
 * Returns 0 if started: done(ctx, 0 or -errno) is then called exactly once,
 * from the bio's end_io (any context, incl. hardirq) or from wq (process).
 * Returns -errno if not started (done is not called).
 *
 * kx_bdev_submit: block devices allocate one bio per IO with GFP_NOIO from
 * the kernel's fs_bio_set, a mempool (may wait, always makes progress: the
 * kernel's own reserve for exactly this), and submit_bio may wait for a tag,
 * so: process context. Files: queued to wq.
 * kx_bdev_queue: any context (e.g. an RDMA completion in softirq): the whole
 * submission runs from wq; a failure there is reported through done().
 */
KX_EXTERN_C int kx_bdev_submit(struct kx_bdev *b, struct kx_bdev_io *io, kx_u32 op, kx_u32 flags,
			       kx_u64 sector, void *buf, kx_u32 len,
			       void (*done)(void *ctx, int err), void *ctx) KX_NOEXCEPT;
KX_EXTERN_C int kx_bdev_queue(struct kx_bdev *b, struct kx_bdev_io *io, kx_u32 op, kx_u32 flags,
			      kx_u64 sector, void *buf, kx_u32 len,
			      void (*done)(void *ctx, int err), void *ctx) KX_NOEXCEPT;

#endif /* KX_SHIM_BDEV_H */
