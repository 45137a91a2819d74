// SPDX-License-Identifier: GPL-2.0
/*
 * kcxx shim: the IBNBD server's backing store (kx/shim_bdev.h). Opens a block
 * device or a regular file beneath a root directory, reports what an RNBD
 * OPEN_RSP needs, and runs one IO over a caller's physically contiguous
 * buffer: one bio for block devices (zero copy, as rnbd-srv does), the VFS
 * from a workqueue for files (as the loop driver does: vfs_iter_* over a
 * bio_vec, vfs_fsync* for flush/FUA, vfs_fallocate for discard/zeroes).
 * No policy: ranges, access modes and op support are checked in kx/bdev.h.
 *
 * Built once per module that opts in, as kx_bdev_shim_<module>.o
 * (kbuild-cxx-bdev.mk).
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/cred.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/path.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <kx/shim_bdev.h>
#include "kx_shim_bdev_types.h"

#define KX_WQ(w) ((struct workqueue_struct *)(w))

/* ---- open / close ------------------------------------------------------------ */

static void kx_bdev_props_blk(struct kx_bdev *b)
{
	struct block_device *bdev = b->bdev;
	struct kx_bdev_props *p = &b->props;

	p->size_bytes = bdev_nr_bytes(bdev);
	p->logical_block_size = bdev_logical_block_size(bdev);
	p->physical_block_size = bdev_physical_block_size(bdev);
	p->max_hw_sectors = queue_max_hw_sectors(bdev_get_queue(bdev));
	p->max_segments = bdev_max_segments(bdev);
	p->max_discard_sectors = bdev_max_discard_sectors(bdev);
	p->discard_granularity = bdev_discard_granularity(bdev);
	p->discard_alignment = bdev_discard_alignment(bdev);
	p->max_secure_erase_sectors = bdev_max_secure_erase_sectors(bdev);
	p->max_write_zeroes_sectors = bdev_write_zeroes_sectors(bdev);
	p->write_cache = bdev_write_cache(bdev);
	p->fua = bdev_fua(bdev);
	p->rotational = !bdev_nonrot(bdev);
}

/*
 * Files: the limits the loop driver gives a file (loop_config_discard):
 * discard and write-zeroes if the fs has ->fallocate, granularity = fs block.
 * Buffered IO is a volatile cache that fsync flushes; FUA is emulated with
 * vfs_fsync_range. O_DIRECT needs the fs device's logical block alignment.
 */
static void kx_bdev_props_file(struct kx_bdev *b)
{
	struct inode *inode = file_inode(b->file);
	struct block_device *sb_bdev = inode->i_sb->s_bdev;
	struct kx_bdev_props *p = &b->props;
	u32 lbs = (b->props.direct && sb_bdev) ? bdev_logical_block_size(sb_bdev) : SECTOR_SIZE;

	p->size_bytes = i_size_read(inode);
	p->logical_block_size = lbs;
	p->physical_block_size = max_t(u32, lbs, i_blocksize(inode));
	if (b->file->f_op->fallocate) {
		p->max_discard_sectors = UINT_MAX >> SECTOR_SHIFT;
		p->discard_granularity = i_blocksize(inode);
		p->max_write_zeroes_sectors = UINT_MAX >> SECTOR_SHIFT;
	}
	p->write_cache = 1;
	p->fua = 1;
	p->is_file = 1;
}

/* lookup_bdev's may_open_dev(), which is not exported. */
static bool kx_bdev_nodev(const struct path *p)
{
	return (p->mnt->mnt_flags & MNT_NODEV) || (p->mnt->mnt_sb->s_iflags & SB_I_NODEV);
}

static int kx_bdev_open_blk(struct kx_bdev *b, const struct path *p, bool write)
{
	struct block_device *bdev;

	if (kx_bdev_nodev(p))
		return -EACCES;
	/* Not FMODE_EXCL: RNBD opens a device read-only many times, and twice
	 * for writing during migration; the holder is unused without EXCL. */
	b->mode = FMODE_READ | (write ? FMODE_WRITE : 0);
	bdev = blkdev_get_by_dev(d_inode(p->dentry)->i_rdev, b->mode, NULL);
	if (IS_ERR(bdev))
		return PTR_ERR(bdev);
	b->bdev = bdev;
	/* bio_check_ro() only warns: a write to a read-only disk would go down. */
	if (write && bdev_read_only(bdev))
		return -EROFS;
	kx_bdev_props_blk(b);
	return 0;
}

static int kx_bdev_open_file(struct kx_bdev *b, const struct path *p, bool write, bool direct)
{
	struct inode *inode = d_inode(p->dentry);
	const struct address_space_operations *aops = inode->i_mapping->a_ops;
	struct file *file;
	int flags;

	direct = direct && aops && aops->direct_IO; /* what open(O_DIRECT) requires on 6.1 */
	flags = (write ? O_RDWR : O_RDONLY) | O_LARGEFILE | (direct ? O_DIRECT : 0);
	if (write && (IS_APPEND(inode) || IS_IMMUTABLE(inode)))
		return -EPERM;
	/* dentry_open: the object that was checked, no second lookup (no race
	 * with a symlink swapped in between). */
	file = dentry_open(p, flags, current_cred());
	if (IS_ERR(file))
		return PTR_ERR(file);
	b->file = file;
	b->props.direct = direct;
	kx_bdev_props_file(b);
	return 0;
}

static int kx_bdev_open_path(struct kx_bdev *b, const struct path *root, const char *path,
			     kx_u32 open_flags)
{
	bool write = open_flags & KX_BDEV_OPEN_WRITE;
	struct path p;
	umode_t mode;
	int ret;

	ret = kern_path(path, LOOKUP_FOLLOW, &p);
	if (ret)
		return ret;
	mode = d_inode(p.dentry)->i_mode;
	if (!path_is_under(&p, root))
		ret = -EXDEV;
	else if (S_ISDIR(mode))
		ret = -EISDIR;
	else if (S_ISBLK(mode))
		ret = kx_bdev_open_blk(b, &p, write);
	else if (S_ISREG(mode))
		ret = kx_bdev_open_file(b, &p, write, open_flags & KX_BDEV_OPEN_DIRECT);
	else
		ret = -ENOTBLK;
	path_put(&p);
	return ret;
}

static int kx_bdev_open_beneath(struct kx_bdev *b, const char *root, const char *path,
				kx_u32 open_flags)
{
	struct path r;
	int ret;

	ret = kern_path(root, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &r);
	if (ret)
		return ret;
	ret = kx_bdev_open_path(b, &r, path, open_flags);
	path_put(&r);
	return ret;
}

int kx_bdev_open(const char *root, const char *path, kx_u32 open_flags,
		 struct kx_workqueue *wq, struct kx_bdev **out)
{
	struct kx_bdev *b;
	int ret = -EINVAL;

	*out = NULL;
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	b->wq = KX_WQ(wq);
	b->props.writable = !!(open_flags & KX_BDEV_OPEN_WRITE);
	if (b->wq)
		ret = kx_bdev_open_beneath(b, root, path, open_flags);
	/*
	 * No log line here: the caller logs the refusal once, with its context
	 * (ibnbd-server: the session, rate-limited). Logging here too gave two
	 * lines per refused OPEN, and a client could flood the log with them
	 * (pr_warn was not rate-limited).
	 */
	if (ret) {
		kx_bdev_close(b);
		return ret;
	}
	*out = b;
	return 0;
}

void kx_bdev_close(struct kx_bdev *b)
{
	if (!b)
		return;
	if (b->bdev)
		blkdev_put(b->bdev, b->mode);
	if (b->file)
		fput(b->file);
	kfree(b);
}

void kx_bdev_get_props(const struct kx_bdev *b, struct kx_bdev_props *out)
{
	*out = b->props;
}

/* ---- block device IO: one bio per IO --------------------------------------------- */

static void kx_bdev_end_io(struct bio *bio)
{
	struct kx_bdev_io *io = bio->bi_private;
	int err = blk_status_to_errno(bio->bi_status);

	if (err)
		pr_err_ratelimited(KBUILD_MODNAME ": bdev: %pg: op %u sector %llu len %u: %d\n",
				   bio->bi_bdev, io->op, (unsigned long long)io->pos >> SECTOR_SHIFT,
				   io->len, err);
	bio_put(bio);
	io->done(io->ctx, err);
}

static blk_opf_t kx_bdev_opf(kx_u32 op, kx_u32 flags)
{
	blk_opf_t sync = (flags & KX_BDEV_F_SYNC) ? REQ_SYNC : 0;
	blk_opf_t fua = (flags & KX_BDEV_F_FUA) ? REQ_FUA : 0;
	blk_opf_t preflush = (flags & KX_BDEV_F_PREFLUSH) ? REQ_PREFLUSH : 0;

	switch (op) {
	case KX_BDEV_OP_READ:
		return REQ_OP_READ | sync;
	case KX_BDEV_OP_WRITE:
		return REQ_OP_WRITE | sync | fua | preflush;
	case KX_BDEV_OP_FLUSH:
		return REQ_OP_WRITE | REQ_PREFLUSH | sync;
	case KX_BDEV_OP_DISCARD:
		return REQ_OP_DISCARD;
	case KX_BDEV_OP_SECURE_ERASE:
		return REQ_OP_SECURE_ERASE;
	case KX_BDEV_OP_WRITE_ZEROES:
		return REQ_OP_WRITE_ZEROES | ((flags & KX_BDEV_F_NOUNMAP) ? REQ_NOUNMAP : 0);
	}
	return REQ_OP_LAST;
}

static int kx_bdev_submit_bio(struct kx_bdev *b, struct kx_bdev_io *io, void *buf)
{
	blk_opf_t opf = kx_bdev_opf(io->op, io->flags);
	struct bio *bio;

	if (opf == REQ_OP_LAST)
		return -EINVAL;
	/* GFP_NOIO from fs_bio_set (a mempool): waits, never fails. */
	bio = bio_alloc(b->bdev, buf ? 1 : 0, opf, GFP_NOIO);
	if (!bio)
		return -ENOMEM;
	bio->bi_iter.bi_sector = io->pos >> SECTOR_SHIFT;
	/* One multi-page bvec over the contiguous buffer: no copy. */
	if (buf && bio_add_page(bio, virt_to_page(buf), io->len, offset_in_page(buf)) != io->len) {
		pr_err_ratelimited(KBUILD_MODNAME ": bdev: %pg: bio_add_page %u bytes failed\n",
				   b->bdev, io->len);
		bio_put(bio);
		return -EINVAL;
	}
	if (!buf)
		bio->bi_iter.bi_size = io->len;
	bio->bi_end_io = kx_bdev_end_io;
	bio->bi_private = io;
	submit_bio(bio);
	return 0;
}

/* ---- file IO and queued submissions: process context on b->wq ---------------------- */

static int kx_bdev_file_read(struct kx_bdev_io *io, struct file *f, void *buf)
{
	loff_t pos = io->pos;
	struct iov_iter it;
	ssize_t n;

	iov_iter_bvec(&it, ITER_DEST, &io->bvec, 1, io->len);
	n = vfs_iter_read(f, &it, &pos, 0);
	if (n < 0)
		return n;
	/* Past EOF (file shrunk since open) reads as zeroes, as in the loop driver. */
	if (n < io->len)
		memset(buf + n, 0, io->len - n);
	return 0;
}

static int kx_bdev_file_write(struct kx_bdev_io *io, struct file *f)
{
	loff_t pos = io->pos;
	struct iov_iter it;
	ssize_t n;
	int ret;

	if (io->flags & KX_BDEV_F_PREFLUSH) {
		ret = vfs_fsync(f, 1);
		if (ret)
			return ret;
	}
	iov_iter_bvec(&it, ITER_SOURCE, &io->bvec, 1, io->len);
	file_start_write(f);
	n = vfs_iter_write(f, &it, &pos, 0);
	file_end_write(f);
	if (n < 0)
		return n;
	if (n != io->len)
		return -EIO;
	if (io->flags & KX_BDEV_F_FUA)
		return vfs_fsync_range(f, io->pos, io->pos + io->len - 1, 1);
	return 0;
}

/* The loop driver's mapping (lo_fallocate): discard and write-zeroes that may
 * unmap punch a hole; NOUNMAP zeroes the range in place. */
static int kx_bdev_file_fallocate(struct kx_bdev_io *io, struct file *f)
{
	int mode = FALLOC_FL_KEEP_SIZE;

	if (io->op == KX_BDEV_OP_WRITE_ZEROES && (io->flags & KX_BDEV_F_NOUNMAP))
		mode |= FALLOC_FL_ZERO_RANGE;
	else
		mode |= FALLOC_FL_PUNCH_HOLE;
	return vfs_fallocate(f, mode, io->pos, io->len);
}

static int kx_bdev_file_io(struct kx_bdev_io *io)
{
	struct file *f = io->b->file;
	int ret;

	switch (io->op) {
	case KX_BDEV_OP_READ:
		ret = kx_bdev_file_read(io, f, io->buf);
		break;
	case KX_BDEV_OP_WRITE:
		ret = kx_bdev_file_write(io, f);
		break;
	case KX_BDEV_OP_FLUSH:
		ret = vfs_fsync(f, 1);
		break;
	case KX_BDEV_OP_DISCARD:
	case KX_BDEV_OP_WRITE_ZEROES:
		ret = kx_bdev_file_fallocate(io, f);
		break;
	default: /* SECURE_ERASE: a file has no such thing */
		ret = -EOPNOTSUPP;
	}
	if (ret)
		pr_err_ratelimited(KBUILD_MODNAME ": bdev: %pD: op %u pos %llu len %u: %d\n", f,
				   io->op, (unsigned long long)io->pos, io->len, ret);
	return ret;
}

/* Process context on b->wq: a file IO, or a queued block-device submission. */
static void kx_bdev_work(struct work_struct *w)
{
	struct kx_bdev_io *io = container_of(w, struct kx_bdev_io, work);
	int ret;

	if (io->b->bdev) {
		ret = kx_bdev_submit_bio(io->b, io, io->buf);
		if (!ret)
			return; /* done() comes from end_io */
	} else {
		ret = kx_bdev_file_io(io);
	}
	io->done(io->ctx, ret);
}

static int kx_bdev_prep(struct kx_bdev *b, struct kx_bdev_io *io, kx_u32 op, kx_u32 flags,
			kx_u64 sector, void *buf, kx_u32 len, void (*done)(void *ctx, int err),
			void *ctx)
{
	if (buf && (!len || !virt_addr_valid(buf) || !virt_addr_valid(buf + len - 1))) {
		pr_err_ratelimited(KBUILD_MODNAME ": bdev: buffer %px+%u not in the direct map\n",
				   buf, len);
		return -EFAULT;
	}
	*io = (struct kx_bdev_io){ .done = done, .ctx = ctx, .b = b, .buf = buf, .op = op,
				   .flags = flags, .pos = sector << SECTOR_SHIFT, .len = len };
	if (buf)
		bvec_set_page(&io->bvec, virt_to_page(buf), len, offset_in_page(buf));
	INIT_WORK(&io->work, kx_bdev_work);
	return 0;
}

int kx_bdev_submit(struct kx_bdev *b, struct kx_bdev_io *io, kx_u32 op, kx_u32 flags,
		   kx_u64 sector, void *buf, kx_u32 len, void (*done)(void *ctx, int err), void *ctx)
{
	int ret = kx_bdev_prep(b, io, op, flags, sector, buf, len, done, ctx);

	if (ret)
		return ret;
	might_sleep();
	if (b->bdev)
		return kx_bdev_submit_bio(b, io, buf);
	queue_work(b->wq, &io->work);
	return 0;
}

int kx_bdev_queue(struct kx_bdev *b, struct kx_bdev_io *io, kx_u32 op, kx_u32 flags,
		  kx_u64 sector, void *buf, kx_u32 len, void (*done)(void *ctx, int err), void *ctx)
{
	int ret = kx_bdev_prep(b, io, op, flags, sector, buf, len, done, ctx);

	if (ret)
		return ret;
	queue_work(b->wq, &io->work);
	return 0;
}
