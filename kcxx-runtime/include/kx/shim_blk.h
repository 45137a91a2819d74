/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The blk-mq part of the C/C++ boundary (shim/blk.c). Same rules as kx/shim.h,
 * which includes this header at its end: extern "C", fixed-width types,
 * opaque handles, plain mirror structs. Every constant mirrored here is
 * static_assert'ed against the kernel's value in shim/blk.c.
 *
 * Division of labour (kernel-cxx.md §A8):
 *  - The module's C file owns its struct blk_mq_ops table (and, optionally, a
 *    struct block_device_operations). Each op is a 1-3 line trampoline that
 *    calls the module's extern "C" C++ entry with the disk's queuedata, the
 *    request and its PDU (blk_mq_rq_to_pdu). C++ passes the table back to
 *    kx_blk_tagset_init as an opaque pointer.
 *  - C++ embeds the tag set by value (KX_SIZEOF_BLK_TAG_SET from kx_layout.h)
 *    and sizes the PDU itself: cmd_size = its per-request object followed by
 *    an inline scatterlist table (KX_SIZEOF_SCATTERLIST per entry). The
 *    per-request object is placement-constructed in init_request and
 *    destroyed in exit_request, so queue_rq never allocates.
 *  - Everything else (limits, capacity, quiesce/freeze, request start/end/
 *    complete/requeue, map_sg, segment iteration) is a thin call here.
 *
 * Return convention: int functions return 0 or a negative errno (or a count
 * where stated); constructors return the handle through an out parameter so
 * that the errno stays precise. Nothing here logs: the caller knows what the
 * failure means.
 *
 * Contexts: "process" = may sleep; "atomic" = any context except hardirq,
 * must not sleep (queue_rq without BLK_MQ_F_BLOCKING, softirq); "any" = also
 * hardirq.
 */
#ifndef KX_SHIM_BLK_H
#define KX_SHIM_BLK_H

#include <kx/shim.h>

/* ---- opaque handles ------------------------------------------------------- */
struct kx_request;      /* struct request */
struct kx_blk_hctx;     /* struct blk_mq_hw_ctx */
struct kx_gendisk;      /* struct gendisk; its request_queue is reached through it */
struct kx_blk_mq_ops;   /* const struct blk_mq_ops, declared in the module's C file */
struct kx_blk_fops;     /* const struct block_device_operations (module's C file) */
struct kx_sgl;          /* a struct scatterlist table, KX_SIZEOF_SCATTERLIST per entry */
struct kx_kobject;      /* struct kobject (kx/shim_sysfs.h) */
/*
 * Embedded by C++ by value (sizes in kx_layout.h):
 *   struct blk_mq_tag_set   KX_SIZEOF_BLK_TAG_SET / KX_ALIGNOF_BLK_TAG_SET
 *   struct scatterlist      KX_SIZEOF_SCATTERLIST / KX_ALIGNOF_SCATTERLIST
 */

/* ---- mirrored constants --------------------------------------------------- */
enum kx_blk_op { /* enum req_op */
	KX_BLK_OP_READ = 0,
	KX_BLK_OP_WRITE = 1,
	KX_BLK_OP_FLUSH = 2,
	KX_BLK_OP_DISCARD = 3,
	KX_BLK_OP_SECURE_ERASE = 5,
	KX_BLK_OP_WRITE_ZEROES = 9,
	KX_BLK_OP_DRV_IN = 34,
	KX_BLK_OP_DRV_OUT = 35,
	/* any other value: zone management and the like */
};

/* Request flags, translated (the kernel's REQ_* bit numbers are not ABI). */
enum kx_rq_flag {
	KX_RQ_FUA = 1 << 0,       /* REQ_FUA: data on stable media before completion */
	KX_RQ_PREFLUSH = 1 << 1,  /* REQ_PREFLUSH: flush the volatile cache first */
	KX_RQ_SYNC = 1 << 2,      /* REQ_SYNC */
	KX_RQ_META = 1 << 3,      /* REQ_META */
	KX_RQ_NOUNMAP = 1 << 4,   /* REQ_NOUNMAP: write-zeroes must not deallocate */
	KX_RQ_FAILFAST = 1 << 5,  /* any of REQ_FAILFAST_{DEV,TRANSPORT,DRIVER} */
};

enum kx_blk_status { /* blk_status_t */
	KX_BLK_STS_OK = 0,
	KX_BLK_STS_NOTSUPP = 1,
	KX_BLK_STS_TIMEOUT = 2,
	KX_BLK_STS_NOSPC = 3,
	KX_BLK_STS_TRANSPORT = 4,
	KX_BLK_STS_TARGET = 5,
	KX_BLK_STS_MEDIUM = 7,
	KX_BLK_STS_PROTECTION = 8,
	KX_BLK_STS_RESOURCE = 9,      /* queue_rq: retry later (blk-mq reruns the queue) */
	KX_BLK_STS_IOERR = 10,
	KX_BLK_STS_AGAIN = 12,
	KX_BLK_STS_DEV_RESOURCE = 13, /* queue_rq: retry when one of our requests completes */
	KX_BLK_STS_OFFLINE = 17,
};

enum kx_blk_eh { /* enum blk_eh_timer_return */
	KX_BLK_EH_DONE = 0,           /* the driver has completed (or will complete) it */
	KX_BLK_EH_RESET_TIMER = 1,    /* keep waiting */
};

enum kx_blk_mq_flag { /* BLK_MQ_F_* */
	KX_BLK_MQ_F_SHOULD_MERGE = 1 << 0,
	KX_BLK_MQ_F_TAG_QUEUE_SHARED = 1 << 1,
	KX_BLK_MQ_F_TAG_HCTX_SHARED = 1 << 3,
	KX_BLK_MQ_F_BLOCKING = 1 << 5,    /* queue_rq may sleep (SRCU instead of RCU) */
	KX_BLK_MQ_F_NO_SCHED = 1 << 6,
	KX_BLK_MQ_F_NO_SCHED_BY_DEFAULT = 1 << 7,
};

enum kx_blk_queue_flag { /* QUEUE_FLAG_* (bit numbers) */
	KX_QUEUE_FLAG_SAME_COMP = 4,   /* complete on the submitting CPU's group */
	KX_QUEUE_FLAG_NONROT = 6,      /* non-rotational */
	KX_QUEUE_FLAG_SAME_FORCE = 12, /* complete on exactly the submitting CPU */
};

enum kx_rq_state { /* enum mq_rq_state */
	KX_RQ_IDLE = 0,
	KX_RQ_IN_FLIGHT = 1,
	KX_RQ_COMPLETE = 2,
};

/* ---- plain mirror structs --------------------------------------------------- */
/* What a driver reads from a request, filled by one call (kx_blk_rq_info). */
struct kx_rq_info {
	kx_u64 pos;               /* blk_rq_pos: first 512-byte sector */
	kx_u32 bytes;             /* blk_rq_bytes */
	kx_u32 tag;               /* rq->tag */
	kx_u32 unique_tag;        /* blk_mq_unique_tag: hw queue << 16 | tag */
	kx_u16 nr_phys_segments;  /* blk_rq_nr_phys_segments: scatterlist entries needed */
	kx_u16 flags;             /* KX_RQ_* */
	kx_u8 op;                 /* enum kx_blk_op (req_op) */
	kx_u8 pad[3];
};

struct kx_blk_tagset_cfg {
	kx_u32 nr_hw_queues;
	kx_u32 queue_depth;       /* tags per hw queue, reserved ones included */
	kx_u32 reserved_tags;
	kx_u32 cmd_size;          /* PDU bytes after each struct request */
	kx_u32 flags;             /* KX_BLK_MQ_F_* */
	kx_u32 timeout_ms;        /* request timeout; 0 = the block layer's 30 s */
	kx_i32 numa_node;         /* -1 = NUMA_NO_NODE */
	kx_u32 nr_maps;           /* hctx type maps; 0 = 1 (HCTX_TYPE_DEFAULT only) */
};

/* ---- tag set (embedded by C++, KX_SIZEOF_BLK_TAG_SET) ----------------------- */
/*
 * memset + fill + blk_mq_alloc_tag_set. ops is the module's blk_mq_ops table;
 * driver_data is what its init_request/exit_request/init_hctx trampolines get
 * (set->driver_data). Calls init_request for every request. Process.
 */
KX_EXTERN_C int kx_blk_tagset_init(void *set, const struct kx_blk_mq_ops *ops, void *driver_data,
				   const struct kx_blk_tagset_cfg *cfg) KX_NOEXCEPT;
/* blk_mq_free_tag_set (calls exit_request). Every disk must be put. Process. */
KX_EXTERN_C void kx_blk_tagset_free(void *set) KX_NOEXCEPT;
/*
 * blk_mq_tagset_busy_iter: fn(rq, ctx) for each started request of every
 * queue on the set; fn returns nonzero to go on, 0 to stop. fn runs under
 * RCU / the tags lock: atomic. Call: process (e.g. fail-over, teardown).
 */
KX_EXTERN_C void kx_blk_tagset_busy_iter(void *set, int (*fn)(struct kx_request *rq, void *ctx),
					 void *ctx) KX_NOEXCEPT;
/* blk_mq_tagset_wait_completed_request. Process. */
KX_EXTERN_C void kx_blk_tagset_wait_completed(void *set) KX_NOEXCEPT;
/* blk_mq_tag_to_rq(set->tags[hwq], tag): NULL if out of range; the request may be idle. Any. */
KX_EXTERN_C struct kx_request *kx_blk_tagset_tag_to_rq(void *set, kx_u32 hwq, kx_u32 tag) KX_NOEXCEPT;

/* ---- block major (optional: without one, add_disk uses the extended dev_t range) */
/* register_blkdev(0, name): returns the dynamic major (> 0) or -errno. Process. */
KX_EXTERN_C int kx_blk_register_major(const char *name) KX_NOEXCEPT;
KX_EXTERN_C void kx_blk_unregister_major(int major, const char *name) KX_NOEXCEPT;

/* ---- gendisk --------------------------------------------------------------- */
/*
 * __blk_mq_alloc_disk(set, queuedata, key) with disk_name = name,
 * private_data = queuedata, fops = fops (NULL: the shim's own table, which
 * has only .owner = THIS_MODULE, so an open disk pins the module). The queue
 * and its hctxs exist on return (init_hctx has run). lock_key: static storage
 * from the C++ call site (one lockdep class per call site, as the macro).
 * -ENAMETOOLONG if name does not fit DISK_NAME_LEN. Process.
 */
KX_EXTERN_C int kx_blk_disk_alloc(void *set, void *queuedata, const struct kx_blk_fops *fops,
				  const char *name, void *lock_key,
				  struct kx_gendisk **out) KX_NOEXCEPT;
/* Use a registered major: disk->major/first_minor/minors. Before add. */
KX_EXTERN_C void kx_blk_disk_set_devt(struct kx_gendisk *d, int major, int first_minor,
				      int minors) KX_NOEXCEPT;
/* add_disk: the disk goes live (uevent, partition scan = IO). Process. */
KX_EXTERN_C int kx_blk_disk_add(struct kx_gendisk *d) KX_NOEXCEPT;
/* del_gendisk: unlinks it, fails new IO, drains the queue. Only after a successful add. Process. */
KX_EXTERN_C void kx_blk_disk_del(struct kx_gendisk *d) KX_NOEXCEPT;
/* put_disk: drops the allocation reference (queue cleanup, hctx exit). Process. */
KX_EXTERN_C void kx_blk_disk_put(struct kx_gendisk *d) KX_NOEXCEPT;
KX_EXTERN_C const char *kx_blk_disk_name(struct kx_gendisk *d) KX_NOEXCEPT;
/* &disk_to_dev(d)->kobj: /sys/block/<name>, parent for driver dirs and symlink target. */
KX_EXTERN_C struct kx_kobject *kx_blk_disk_kobj(struct kx_gendisk *d) KX_NOEXCEPT;
/* For each hctx of the disk's queue: fn(hctx, index, ctx). Process. */
KX_EXTERN_C void kx_blk_disk_for_each_hctx(struct kx_gendisk *d,
					   void (*fn)(struct kx_blk_hctx *h, kx_u32 index, void *ctx),
					   void *ctx) KX_NOEXCEPT;

/* Capacity, in 512-byte sectors. */
KX_EXTERN_C void kx_blk_set_capacity(struct kx_gendisk *d, kx_u64 sectors) KX_NOEXCEPT;      /* any */
/* set_capacity_and_notify: 1 if a RESIZE=1 uevent was sent (live disk, size changed). Process. */
KX_EXTERN_C int kx_blk_set_capacity_notify(struct kx_gendisk *d, kx_u64 sectors) KX_NOEXCEPT;
KX_EXTERN_C kx_u64 kx_blk_capacity(struct kx_gendisk *d) KX_NOEXCEPT;                        /* any */
KX_EXTERN_C void kx_blk_set_read_only(struct kx_gendisk *d, int ro) KX_NOEXCEPT;             /* process */

/* Queue limits: one blk_queue_* call each. Normally before add. Process. */
KX_EXTERN_C void kx_blk_set_logical_block_size(struct kx_gendisk *d, kx_u32 bytes) KX_NOEXCEPT;
KX_EXTERN_C void kx_blk_set_physical_block_size(struct kx_gendisk *d, kx_u32 bytes) KX_NOEXCEPT;
KX_EXTERN_C void kx_blk_set_io_min(struct kx_gendisk *d, kx_u32 bytes) KX_NOEXCEPT;
KX_EXTERN_C void kx_blk_set_io_opt(struct kx_gendisk *d, kx_u32 bytes) KX_NOEXCEPT;
KX_EXTERN_C void kx_blk_set_max_hw_sectors(struct kx_gendisk *d, kx_u32 sectors) KX_NOEXCEPT;
KX_EXTERN_C void kx_blk_set_max_segments(struct kx_gendisk *d, kx_u16 n) KX_NOEXCEPT;
KX_EXTERN_C void kx_blk_set_max_segment_size(struct kx_gendisk *d, kx_u32 bytes) KX_NOEXCEPT;
/* blk_queue_virt_boundary: each middle segment page-aligned on mask+1 (also lifts max_segment_size). */
KX_EXTERN_C void kx_blk_set_virt_boundary(struct kx_gendisk *d, kx_u64 mask) KX_NOEXCEPT;
/* Discard: max sectors per request (0 = no discard), granularity in bytes, max ranges per request. */
KX_EXTERN_C void kx_blk_set_discard(struct kx_gendisk *d, kx_u32 max_sectors, kx_u32 granularity,
				    kx_u16 max_segments) KX_NOEXCEPT;
KX_EXTERN_C void kx_blk_set_max_secure_erase_sectors(struct kx_gendisk *d, kx_u32 sectors) KX_NOEXCEPT;
KX_EXTERN_C void kx_blk_set_max_write_zeroes_sectors(struct kx_gendisk *d, kx_u32 sectors) KX_NOEXCEPT;
/* blk_queue_write_cache: volatile write cache (flushes are sent) and FUA support. */
KX_EXTERN_C void kx_blk_set_write_cache(struct kx_gendisk *d, int write_cache, int fua) KX_NOEXCEPT;
/* blk_queue_rq_timeout, per queue (the tag set's timeout is the default). */
KX_EXTERN_C void kx_blk_set_rq_timeout(struct kx_gendisk *d, kx_u32 ms) KX_NOEXCEPT;
/* blk_queue_flag_set / _clear of a KX_QUEUE_FLAG_* bit. */
KX_EXTERN_C void kx_blk_set_queue_flag(struct kx_gendisk *d, kx_u32 flag, int on) KX_NOEXCEPT;

/* ---- queue control (the disk's request_queue) ------------------------------ */
/* blk_mq_quiesce_queue: waits until no queue_rq is running; none starts until unquiesce. Process. */
KX_EXTERN_C void kx_blk_quiesce(struct kx_gendisk *d) KX_NOEXCEPT;
KX_EXTERN_C void kx_blk_unquiesce(struct kx_gendisk *d) KX_NOEXCEPT;                         /* any */
/* blk_mq_freeze_queue: blocks new requests and waits until every request has completed. Process. */
KX_EXTERN_C void kx_blk_freeze(struct kx_gendisk *d) KX_NOEXCEPT;
KX_EXTERN_C void kx_blk_unfreeze(struct kx_gendisk *d) KX_NOEXCEPT;                          /* process */
KX_EXTERN_C void kx_blk_run_queues(struct kx_gendisk *d, int async) KX_NOEXCEPT;             /* atomic */
KX_EXTERN_C void kx_blk_delay_run_queues(struct kx_gendisk *d, kx_u32 ms) KX_NOEXCEPT;       /* any */
KX_EXTERN_C void kx_blk_kick_requeue_list(struct kx_gendisk *d) KX_NOEXCEPT;                 /* any */

/* ---- hardware queue context (what queue_rq/init_hctx get) ------------------- */
KX_EXTERN_C kx_u32 kx_blk_hctx_index(struct kx_blk_hctx *h) KX_NOEXCEPT;                     /* any */
KX_EXTERN_C void *kx_blk_hctx_data(struct kx_blk_hctx *h) KX_NOEXCEPT;                       /* any */
KX_EXTERN_C void kx_blk_hctx_set_data(struct kx_blk_hctx *h, void *data) KX_NOEXCEPT;        /* any */
KX_EXTERN_C void kx_blk_hctx_run(struct kx_blk_hctx *h, int async) KX_NOEXCEPT;              /* atomic */
KX_EXTERN_C void kx_blk_hctx_delay_run(struct kx_blk_hctx *h, kx_u32 ms) KX_NOEXCEPT;        /* any */
KX_EXTERN_C void kx_blk_hctx_stop(struct kx_blk_hctx *h) KX_NOEXCEPT;                        /* any */
/* blk_mq_start_stopped_hw_queue */
KX_EXTERN_C void kx_blk_hctx_start(struct kx_blk_hctx *h, int async) KX_NOEXCEPT;            /* atomic */

/* ---- requests ---------------------------------------------------------------- */
KX_EXTERN_C void kx_blk_rq_info(struct kx_request *rq, struct kx_rq_info *out) KX_NOEXCEPT;  /* any */
KX_EXTERN_C void *kx_blk_rq_pdu(struct kx_request *rq) KX_NOEXCEPT;                          /* any */
KX_EXTERN_C struct kx_request *kx_blk_rq_from_pdu(void *pdu) KX_NOEXCEPT;                    /* any */
/* rq->q->queuedata: the C++ disk object given to kx_blk_disk_alloc. Any. */
KX_EXTERN_C void *kx_blk_rq_queuedata(struct kx_request *rq) KX_NOEXCEPT;
KX_EXTERN_C int kx_blk_rq_state(struct kx_request *rq) KX_NOEXCEPT;                          /* any: KX_RQ_* state */
/* blk_mq_start_request: from queue_rq, before the request is handed on. */
KX_EXTERN_C void kx_blk_rq_start(struct kx_request *rq) KX_NOEXCEPT;
/* blk_mq_end_request(rq, status): the request is gone on return. Any. */
KX_EXTERN_C void kx_blk_rq_end(struct kx_request *rq, kx_u8 status) KX_NOEXCEPT;
/*
 * blk_mq_complete_request: the module's .complete op runs, either right here
 * (in the caller's context) or in BLOCK_SOFTIRQ on the submitting CPU. Any.
 */
KX_EXTERN_C void kx_blk_rq_complete(struct kx_request *rq) KX_NOEXCEPT;
/*
 * blk_mq_complete_request_remote: 1 if the completion was sent to another CPU
 * or to softirq; 0 means the caller must call its own completion (batching). Any.
 */
KX_EXTERN_C int kx_blk_rq_complete_remote(struct kx_request *rq) KX_NOEXCEPT;
/* blk_mq_requeue_request: back to the requeue list; kick = run it now. Started requests only. Any. */
KX_EXTERN_C void kx_blk_rq_requeue(struct kx_request *rq, int kick) KX_NOEXCEPT;
/*
 * blk_rq_map_sg into sgl (nents entries of storage): initialises the first
 * blk_rq_nr_phys_segments(rq) entries and maps the request's bio segments.
 * Returns the number of entries used (0 for a request without data, e.g. a
 * flush) or -EINVAL if the request needs more than nents entries. Atomic.
 */
KX_EXTERN_C int kx_blk_rq_map_sg(struct kx_request *rq, struct kx_sgl *sgl, kx_u32 nents) KX_NOEXCEPT;
/*
 * rq_for_each_segment: fn(ctx, addr, len) for each (at most page-sized) data
 * segment in order, addr mapped with kmap_local_page for the call; fn must
 * not sleep. Stops at the first nonzero return and returns it; 0 at the end.
 * Requests without a data payload (flush, discard, write-zeroes) have none.
 * Atomic.
 */
KX_EXTERN_C int kx_blk_rq_for_each_segment(struct kx_request *rq,
					   int (*fn)(void *ctx, void *addr, kx_u32 len),
					   void *ctx) KX_NOEXCEPT;
/* Entry i of a table filled by kx_blk_rq_map_sg: kernel virtual address and length. Atomic. */
KX_EXTERN_C void *kx_blk_sg_virt(const struct kx_sgl *sgl, kx_u32 i) KX_NOEXCEPT;
KX_EXTERN_C kx_u32 kx_blk_sg_len(const struct kx_sgl *sgl, kx_u32 i) KX_NOEXCEPT;

/* errno_to_blk_status / blk_status_to_errno (the kernel's table; unknown -> IOERR). Any. */
KX_EXTERN_C kx_u8 kx_blk_status_from_errno(int err) KX_NOEXCEPT;
KX_EXTERN_C int kx_blk_status_to_errno(kx_u8 status) KX_NOEXCEPT;

#endif /* KX_SHIM_BLK_H */
