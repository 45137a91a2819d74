// SPDX-License-Identifier: GPL-2.0
/*
 * kcxx shim: blk-mq tag sets, gendisks, queue limits and control, requests.
 * Each function wraps one kernel call, macro or field access; the module's C
 * file owns the blk_mq_ops table (see kx/shim_blk.h). No policy here.
 */
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/highmem.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/string.h>
#include <kx/shim_blk.h>

/* Every mirrored constant equals the kernel's (compared as plain integers). */
#define KX_BLK_SAME(a, b) static_assert((long)(a) == (__force long)(b), #a " != " #b)
KX_BLK_SAME(KX_BLK_OP_READ, REQ_OP_READ);
KX_BLK_SAME(KX_BLK_OP_WRITE, REQ_OP_WRITE);
KX_BLK_SAME(KX_BLK_OP_FLUSH, REQ_OP_FLUSH);
KX_BLK_SAME(KX_BLK_OP_DISCARD, REQ_OP_DISCARD);
KX_BLK_SAME(KX_BLK_OP_SECURE_ERASE, REQ_OP_SECURE_ERASE);
KX_BLK_SAME(KX_BLK_OP_WRITE_ZEROES, REQ_OP_WRITE_ZEROES);
KX_BLK_SAME(KX_BLK_OP_DRV_IN, REQ_OP_DRV_IN);
KX_BLK_SAME(KX_BLK_OP_DRV_OUT, REQ_OP_DRV_OUT);
KX_BLK_SAME(KX_BLK_STS_OK, BLK_STS_OK);
KX_BLK_SAME(KX_BLK_STS_NOTSUPP, BLK_STS_NOTSUPP);
KX_BLK_SAME(KX_BLK_STS_TIMEOUT, BLK_STS_TIMEOUT);
KX_BLK_SAME(KX_BLK_STS_NOSPC, BLK_STS_NOSPC);
KX_BLK_SAME(KX_BLK_STS_TRANSPORT, BLK_STS_TRANSPORT);
KX_BLK_SAME(KX_BLK_STS_TARGET, BLK_STS_TARGET);
KX_BLK_SAME(KX_BLK_STS_MEDIUM, BLK_STS_MEDIUM);
KX_BLK_SAME(KX_BLK_STS_PROTECTION, BLK_STS_PROTECTION);
KX_BLK_SAME(KX_BLK_STS_RESOURCE, BLK_STS_RESOURCE);
KX_BLK_SAME(KX_BLK_STS_IOERR, BLK_STS_IOERR);
KX_BLK_SAME(KX_BLK_STS_AGAIN, BLK_STS_AGAIN);
KX_BLK_SAME(KX_BLK_STS_DEV_RESOURCE, BLK_STS_DEV_RESOURCE);
KX_BLK_SAME(KX_BLK_STS_OFFLINE, BLK_STS_OFFLINE);
KX_BLK_SAME(KX_BLK_EH_DONE, BLK_EH_DONE);
KX_BLK_SAME(KX_BLK_EH_RESET_TIMER, BLK_EH_RESET_TIMER);
KX_BLK_SAME(KX_BLK_MQ_F_SHOULD_MERGE, BLK_MQ_F_SHOULD_MERGE);
KX_BLK_SAME(KX_BLK_MQ_F_TAG_QUEUE_SHARED, BLK_MQ_F_TAG_QUEUE_SHARED);
KX_BLK_SAME(KX_BLK_MQ_F_TAG_HCTX_SHARED, BLK_MQ_F_TAG_HCTX_SHARED);
KX_BLK_SAME(KX_BLK_MQ_F_BLOCKING, BLK_MQ_F_BLOCKING);
KX_BLK_SAME(KX_BLK_MQ_F_NO_SCHED, BLK_MQ_F_NO_SCHED);
KX_BLK_SAME(KX_BLK_MQ_F_NO_SCHED_BY_DEFAULT, BLK_MQ_F_NO_SCHED_BY_DEFAULT);
KX_BLK_SAME(KX_QUEUE_FLAG_SAME_COMP, QUEUE_FLAG_SAME_COMP);
KX_BLK_SAME(KX_QUEUE_FLAG_NONROT, QUEUE_FLAG_NONROT);
KX_BLK_SAME(KX_QUEUE_FLAG_SAME_FORCE, QUEUE_FLAG_SAME_FORCE);
KX_BLK_SAME(KX_RQ_IDLE, MQ_RQ_IDLE);
KX_BLK_SAME(KX_RQ_IN_FLIGHT, MQ_RQ_IN_FLIGHT);
KX_BLK_SAME(KX_RQ_COMPLETE, MQ_RQ_COMPLETE);

/* Only .owner: an open disk pins the module that made it (this shim is per module). */
static const struct block_device_operations kx_blk_default_fops = {
	.owner = THIS_MODULE,
};

static struct request_queue *kx_blk_q(struct kx_gendisk *d)
{
	return ((struct gendisk *)d)->queue;
}

/* ---- tag set ---------------------------------------------------------------- */

int kx_blk_tagset_init(void *set, const struct kx_blk_mq_ops *ops, void *driver_data,
		       const struct kx_blk_tagset_cfg *cfg)
{
	struct blk_mq_tag_set *s = set;

	memset(s, 0, sizeof(*s));
	s->ops = (const struct blk_mq_ops *)ops;
	s->driver_data = driver_data;
	s->nr_hw_queues = cfg->nr_hw_queues;
	s->queue_depth = cfg->queue_depth;
	s->reserved_tags = cfg->reserved_tags;
	s->cmd_size = cfg->cmd_size;
	s->flags = cfg->flags;
	s->timeout = cfg->timeout_ms ? msecs_to_jiffies(cfg->timeout_ms) : 0;
	s->numa_node = cfg->numa_node;
	s->nr_maps = cfg->nr_maps;
	return blk_mq_alloc_tag_set(s);
}

void kx_blk_tagset_free(void *set)
{
	blk_mq_free_tag_set(set);
}

struct kx_blk_iter {
	int (*fn)(struct kx_request *rq, void *ctx);
	void *ctx;
};

static bool kx_blk_busy_iter_one(struct request *rq, void *data)
{
	struct kx_blk_iter *it = data;

	return it->fn((struct kx_request *)rq, it->ctx) != 0;
}

void kx_blk_tagset_busy_iter(void *set, int (*fn)(struct kx_request *rq, void *ctx), void *ctx)
{
	struct kx_blk_iter it = { .fn = fn, .ctx = ctx };

	blk_mq_tagset_busy_iter(set, kx_blk_busy_iter_one, &it);
}

void kx_blk_tagset_wait_completed(void *set)
{
	blk_mq_tagset_wait_completed_request(set);
}

struct kx_request *kx_blk_tagset_tag_to_rq(void *set, kx_u32 hwq, kx_u32 tag)
{
	struct blk_mq_tag_set *s = set;

	if (hwq >= s->nr_hw_queues || !s->tags[hwq])
		return NULL;
	return (struct kx_request *)blk_mq_tag_to_rq(s->tags[hwq], tag);
}

/* ---- major ------------------------------------------------------------------ */

int kx_blk_register_major(const char *name)
{
	return register_blkdev(0, name);
}

void kx_blk_unregister_major(int major, const char *name)
{
	unregister_blkdev(major, name);
}

/* ---- gendisk ------------------------------------------------------------------ */

int kx_blk_disk_alloc(void *set, void *queuedata, const struct kx_blk_fops *fops,
		      const char *name, void *lock_key, struct kx_gendisk **out)
{
	struct gendisk *disk;

	if (strlen(name) >= DISK_NAME_LEN)
		return -ENAMETOOLONG;
	disk = __blk_mq_alloc_disk(set, queuedata, lock_key);
	if (IS_ERR(disk))
		return PTR_ERR(disk);
	strscpy(disk->disk_name, name, DISK_NAME_LEN);
	disk->fops = fops ? (const struct block_device_operations *)fops : &kx_blk_default_fops;
	disk->private_data = queuedata;
	*out = (struct kx_gendisk *)disk;
	return 0;
}

void kx_blk_disk_set_devt(struct kx_gendisk *d, int major, int first_minor, int minors)
{
	struct gendisk *disk = (struct gendisk *)d;

	disk->major = major;
	disk->first_minor = first_minor;
	disk->minors = minors;
}

int kx_blk_disk_add(struct kx_gendisk *d)
{
	return add_disk((struct gendisk *)d);
}

void kx_blk_disk_del(struct kx_gendisk *d)
{
	del_gendisk((struct gendisk *)d);
}

void kx_blk_disk_put(struct kx_gendisk *d)
{
	put_disk((struct gendisk *)d);
}

const char *kx_blk_disk_name(struct kx_gendisk *d)
{
	return ((struct gendisk *)d)->disk_name;
}

struct kx_kobject *kx_blk_disk_kobj(struct kx_gendisk *d)
{
	return (struct kx_kobject *)&disk_to_dev((struct gendisk *)d)->kobj;
}

void kx_blk_disk_for_each_hctx(struct kx_gendisk *d,
			       void (*fn)(struct kx_blk_hctx *h, kx_u32 index, void *ctx), void *ctx)
{
	struct blk_mq_hw_ctx *hctx;
	unsigned long i;

	queue_for_each_hw_ctx(kx_blk_q(d), hctx, i)
		fn((struct kx_blk_hctx *)hctx, (kx_u32)i, ctx);
}

void kx_blk_set_capacity(struct kx_gendisk *d, kx_u64 sectors)
{
	set_capacity((struct gendisk *)d, sectors);
}

int kx_blk_set_capacity_notify(struct kx_gendisk *d, kx_u64 sectors)
{
	return set_capacity_and_notify((struct gendisk *)d, sectors);
}

kx_u64 kx_blk_capacity(struct kx_gendisk *d)
{
	return get_capacity((struct gendisk *)d);
}

void kx_blk_set_read_only(struct kx_gendisk *d, int ro)
{
	set_disk_ro((struct gendisk *)d, ro);
}

/* ---- limits --------------------------------------------------------------------- */

void kx_blk_set_logical_block_size(struct kx_gendisk *d, kx_u32 bytes)
{
	blk_queue_logical_block_size(kx_blk_q(d), bytes);
}

void kx_blk_set_physical_block_size(struct kx_gendisk *d, kx_u32 bytes)
{
	blk_queue_physical_block_size(kx_blk_q(d), bytes);
}

void kx_blk_set_io_min(struct kx_gendisk *d, kx_u32 bytes)
{
	blk_queue_io_min(kx_blk_q(d), bytes);
}

void kx_blk_set_io_opt(struct kx_gendisk *d, kx_u32 bytes)
{
	blk_queue_io_opt(kx_blk_q(d), bytes);
}

void kx_blk_set_max_hw_sectors(struct kx_gendisk *d, kx_u32 sectors)
{
	blk_queue_max_hw_sectors(kx_blk_q(d), sectors);
}

void kx_blk_set_max_segments(struct kx_gendisk *d, kx_u16 n)
{
	blk_queue_max_segments(kx_blk_q(d), n);
}

void kx_blk_set_max_segment_size(struct kx_gendisk *d, kx_u32 bytes)
{
	blk_queue_max_segment_size(kx_blk_q(d), bytes);
}

void kx_blk_set_virt_boundary(struct kx_gendisk *d, kx_u64 mask)
{
	blk_queue_virt_boundary(kx_blk_q(d), mask);
}

void kx_blk_set_discard(struct kx_gendisk *d, kx_u32 max_sectors, kx_u32 granularity,
			kx_u16 max_segments)
{
	struct request_queue *q = kx_blk_q(d);

	blk_queue_max_discard_sectors(q, max_sectors);
	blk_queue_max_discard_segments(q, max_segments);
	q->limits.discard_granularity = granularity;
}

void kx_blk_set_max_secure_erase_sectors(struct kx_gendisk *d, kx_u32 sectors)
{
	blk_queue_max_secure_erase_sectors(kx_blk_q(d), sectors);
}

void kx_blk_set_max_write_zeroes_sectors(struct kx_gendisk *d, kx_u32 sectors)
{
	blk_queue_max_write_zeroes_sectors(kx_blk_q(d), sectors);
}

void kx_blk_set_write_cache(struct kx_gendisk *d, int write_cache, int fua)
{
	blk_queue_write_cache(kx_blk_q(d), write_cache, fua);
}

void kx_blk_set_rq_timeout(struct kx_gendisk *d, kx_u32 ms)
{
	blk_queue_rq_timeout(kx_blk_q(d), msecs_to_jiffies(ms));
}

void kx_blk_set_queue_flag(struct kx_gendisk *d, kx_u32 flag, int on)
{
	if (on)
		blk_queue_flag_set(flag, kx_blk_q(d));
	else
		blk_queue_flag_clear(flag, kx_blk_q(d));
}

/* ---- queue control ------------------------------------------------------------------ */

void kx_blk_quiesce(struct kx_gendisk *d)
{
	blk_mq_quiesce_queue(kx_blk_q(d));
}

void kx_blk_unquiesce(struct kx_gendisk *d)
{
	blk_mq_unquiesce_queue(kx_blk_q(d));
}

void kx_blk_freeze(struct kx_gendisk *d)
{
	blk_mq_freeze_queue(kx_blk_q(d));
}

void kx_blk_unfreeze(struct kx_gendisk *d)
{
	blk_mq_unfreeze_queue(kx_blk_q(d));
}

void kx_blk_run_queues(struct kx_gendisk *d, int async)
{
	blk_mq_run_hw_queues(kx_blk_q(d), async);
}

void kx_blk_delay_run_queues(struct kx_gendisk *d, kx_u32 ms)
{
	blk_mq_delay_run_hw_queues(kx_blk_q(d), ms);
}

void kx_blk_kick_requeue_list(struct kx_gendisk *d)
{
	blk_mq_kick_requeue_list(kx_blk_q(d));
}

/* ---- hctx --------------------------------------------------------------------------- */

kx_u32 kx_blk_hctx_index(struct kx_blk_hctx *h)
{
	return ((struct blk_mq_hw_ctx *)h)->queue_num;
}

void *kx_blk_hctx_data(struct kx_blk_hctx *h)
{
	return ((struct blk_mq_hw_ctx *)h)->driver_data;
}

void kx_blk_hctx_set_data(struct kx_blk_hctx *h, void *data)
{
	((struct blk_mq_hw_ctx *)h)->driver_data = data;
}

void kx_blk_hctx_run(struct kx_blk_hctx *h, int async)
{
	blk_mq_run_hw_queue((struct blk_mq_hw_ctx *)h, async);
}

void kx_blk_hctx_delay_run(struct kx_blk_hctx *h, kx_u32 ms)
{
	blk_mq_delay_run_hw_queue((struct blk_mq_hw_ctx *)h, ms);
}

void kx_blk_hctx_stop(struct kx_blk_hctx *h)
{
	blk_mq_stop_hw_queue((struct blk_mq_hw_ctx *)h);
}

void kx_blk_hctx_start(struct kx_blk_hctx *h, int async)
{
	blk_mq_start_stopped_hw_queue((struct blk_mq_hw_ctx *)h, async);
}

/* ---- requests ------------------------------------------------------------------------- */

void kx_blk_rq_info(struct kx_request *r, struct kx_rq_info *out)
{
	struct request *rq = (struct request *)r;
	blk_opf_t f = rq->cmd_flags;

	out->pos = blk_rq_pos(rq);
	out->bytes = blk_rq_bytes(rq);
	out->tag = rq->tag;
	out->unique_tag = rq->mq_hctx ? blk_mq_unique_tag(rq) : rq->tag;
	out->nr_phys_segments = blk_rq_nr_phys_segments(rq);
	out->op = req_op(rq);
	out->flags = ((f & REQ_FUA) ? KX_RQ_FUA : 0) | ((f & REQ_PREFLUSH) ? KX_RQ_PREFLUSH : 0) |
		     ((f & REQ_SYNC) ? KX_RQ_SYNC : 0) | ((f & REQ_META) ? KX_RQ_META : 0) |
		     ((f & REQ_NOUNMAP) ? KX_RQ_NOUNMAP : 0) |
		     ((f & REQ_FAILFAST_MASK) ? KX_RQ_FAILFAST : 0);
}

void *kx_blk_rq_pdu(struct kx_request *rq)
{
	return blk_mq_rq_to_pdu((struct request *)rq);
}

struct kx_request *kx_blk_rq_from_pdu(void *pdu)
{
	return (struct kx_request *)blk_mq_rq_from_pdu(pdu);
}

void *kx_blk_rq_queuedata(struct kx_request *rq)
{
	return ((struct request *)rq)->q->queuedata;
}

int kx_blk_rq_state(struct kx_request *rq)
{
	return blk_mq_rq_state((struct request *)rq);
}

void kx_blk_rq_start(struct kx_request *rq)
{
	blk_mq_start_request((struct request *)rq);
}

void kx_blk_rq_end(struct kx_request *rq, kx_u8 status)
{
	blk_mq_end_request((struct request *)rq, (__force blk_status_t)status);
}

void kx_blk_rq_complete(struct kx_request *rq)
{
	blk_mq_complete_request((struct request *)rq);
}

int kx_blk_rq_complete_remote(struct kx_request *rq)
{
	return blk_mq_complete_request_remote((struct request *)rq);
}

void kx_blk_rq_requeue(struct kx_request *rq, int kick)
{
	blk_mq_requeue_request((struct request *)rq, kick);
}

int kx_blk_rq_map_sg(struct kx_request *r, struct kx_sgl *sgl, kx_u32 nents)
{
	struct request *rq = (struct request *)r;
	unsigned int n = blk_rq_nr_phys_segments(rq);

	if (n > nents)
		return -EINVAL;
	if (!n)
		return 0;
	sg_init_table((struct scatterlist *)sgl, n);
	return blk_rq_map_sg(rq->q, rq, (struct scatterlist *)sgl);
}

int kx_blk_rq_for_each_segment(struct kx_request *r, int (*fn)(void *ctx, void *addr, kx_u32 len),
			       void *ctx)
{
	struct request *rq = (struct request *)r;
	struct req_iterator iter;
	struct bio_vec bv;
	int ret;

	if (!rq->bio || !bio_has_data(rq->bio))
		return 0;
	/* Two nested loops: leave both on a nonzero return. */
	rq_for_each_segment(bv, rq, iter) {
		void *addr = kmap_local_page(bv.bv_page);

		ret = fn(ctx, addr + bv.bv_offset, bv.bv_len);
		kunmap_local(addr);
		if (ret)
			return ret;
	}
	return 0;
}

void *kx_blk_sg_virt(const struct kx_sgl *sgl, kx_u32 i)
{
	return sg_virt((struct scatterlist *)sgl + i);
}

kx_u32 kx_blk_sg_len(const struct kx_sgl *sgl, kx_u32 i)
{
	return ((const struct scatterlist *)sgl)[i].length;
}

kx_u8 kx_blk_status_from_errno(int err)
{
	return (__force kx_u8)errno_to_blk_status(err);
}

int kx_blk_status_to_errno(kx_u8 status)
{
	return blk_status_to_errno((__force blk_status_t)status);
}
