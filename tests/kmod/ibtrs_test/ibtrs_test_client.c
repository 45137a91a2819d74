// SPDX-License-Identifier: GPL-2.0
/*
 * ibtrs_test_client: drives IO against ibtrs_test_server using only
 * include/ibtrs.h and checks every byte. Loading it runs the items of `mode`
 * and prints "ibtrs_test: PASS <item>" or "ibtrs_test: FAIL <item>: why",
 * then one summary line; the module parameter `failed` holds the failure
 * count (-1 until run).
 *
 * mode=run             open; query; sizes (every size from 512 B to max IO
 *                      size, write then read back); queue_depth (the whole
 *                      queue depth in flight, writes then reads); long_run
 *                      (`ios` IOs, `depth` in flight, reads after writes with
 *                      content checks); with poll_queues > 0 also poll
 *                      (see item_poll); close.
 * mode=close_inflight  open, put `depth` IOs in flight, close at once: every
 *                      request must complete (ok or error) before close
 *                      returns; no hang, no leak.
 * mode=interop         against UPSTREAM rtrs-server + rnbd-server: open, then
 *                      an RNBD SESS_INFO sent as a READ (as rnbd-client does)
 *                      whose answer (SESS_INFO_RSP, protocol version) the
 *                      upstream server RDMA-writes into our buffer; close.
 * mode=hold            open and keep the session until unload; on every
 *                      RECONNECTED link event a work item writes and reads
 *                      back one block (param reconnect_io_ok counts them).
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/gfp.h>
#include <linux/scatterlist.h>
#include <linux/completion.h>
#include <linux/workqueue.h>
#include <linux/random.h>
#include <linux/err.h>
#include <linux/sched.h>
#include <linux/mutex.h>
#include <linux/delay.h>
#include <ibtrs.h>
#include "ibtrs_test.h"

static char *server = "ip:10.99.0.1";
module_param(server, charp, 0444);
static char *src = "ip:10.99.0.2";
module_param(src, charp, 0444);
/* A second path of the same session (fail-over tests): empty = one path. */
static char *server2 = "";
module_param(server2, charp, 0444);
static char *src2 = "";
module_param(src2, charp, 0444);
/* mode=soak runs the long run until this is set to 1. */
static int stop;
module_param(stop, int, 0644);
MODULE_PARM_DESC(stop, "mode=soak: write 1 to end the run");
static ushort port = IBTRS_PORT;
module_param(port, ushort, 0444);
static char *mode = "run";
module_param(mode, charp, 0444);
static char *sessname = "ibtrs-test";
module_param(sessname, charp, 0444);
static int ios = 100000;
module_param(ios, int, 0444);
MODULE_PARM_DESC(ios, "IOs of the long run");
static int depth = 32;
module_param(depth, int, 0444);
MODULE_PARM_DESC(depth, "IOs in flight in the long run and close_inflight");
static int reconnect_delay_sec = 1;
module_param(reconnect_delay_sec, int, 0444);

/* Poll connections per path given to ibtrs_clt_open; > 0 adds item poll to mode=run. */
static int poll_queues;
module_param(poll_queues, int, 0444);
MODULE_PARM_DESC(poll_queues, "nr_poll_queues of the session; > 0 runs item poll in mode=run");
static int poll_ios = 2000;
module_param(poll_ios, int, 0444);
MODULE_PARM_DESC(poll_ios, "IOs of item poll with the queue depth in flight");
static int poll_ios_done;
module_param(poll_ios_done, int, 0444);
static int poll_cqes;
module_param(poll_cqes, int, 0444);
MODULE_PARM_DESC(poll_cqes, "CQEs reaped by ibtrs_clt_rdma_cq_direct in item poll");
static int poll_wrong_ctx;
module_param(poll_wrong_ctx, int, 0444);
MODULE_PARM_DESC(poll_wrong_ctx, "polled IOs completed outside the poller's ibtrs_clt_rdma_cq_direct");

static int failed = -1;
module_param(failed, int, 0444);
static int ios_done;
module_param(ios_done, int, 0444);
static int mismatches;
module_param(mismatches, int, 0444);
static int link_down;
module_param(link_down, int, 0444);
static int link_up;
module_param(link_up, int, 0444);
static int reconnect_io_ok;
module_param(reconnect_io_ok, int, 0444);
static int retried;
module_param(retried, int, 0444);
MODULE_PARM_DESC(retried, "long run IOs that failed with a path error (lost request, reconnect) and were redone");

#define BUF_ORDER 5 /* 128 KiB per slot: >= max IO size of the default chunk */
#define BUF_BYTES (PAGE_SIZE << BUF_ORDER)
#define MAX_SG ((BUF_BYTES / PAGE_SIZE) + 1)

struct slot {
	struct ibtrs_permit *permit;
	void *buf;
	struct scatterlist sg[MAX_SG];
	struct completion done;
	int err;
	bool busy;
	bool verify; /* the IO in flight is a read to check */
	bool put_on_complete; /* close_inflight: the permit goes back from conf */
	bool polled; /* item poll: conf must run inside the poller's cq_direct */
	int dir;
	u64 offset;
	u32 len;
	u32 seq;
	u64 region; /* this slot's region of the server buffer */
};

static struct ibtrs_clt_sess *sess;
static struct ibtrs_attrs attrs;
static struct slot *slots;
static int nr_slots;
static atomic_t completions;

/*
 * Item poll: the thread that polls, set while it is inside
 * ibtrs_clt_rdma_cq_direct. conf of a polled IO appends its slot index to
 * poll_done[] (poll_lock; conf may run in any context if the transport
 * misroutes it, which poll_wrong_ctx then counts).
 */
static struct task_struct *poll_task;
static bool poll_reaping;
static DEFINE_SPINLOCK(poll_lock);
static int *poll_done;
static int poll_done_nr;

static void fill(void *buf, u32 len, u64 offset, u32 seq)
{
	u32 *w = buf;
	u32 i;

	for (i = 0; i < len / 4; i++)
		w[i] = (seq * 2654435761u) ^ (u32)(offset / 4 + i);
}

static int check(const void *buf, u32 len, u64 offset, u32 seq)
{
	const u32 *w = buf;
	u32 i;

	for (i = 0; i < len / 4; i++)
		if (w[i] != ((seq * 2654435761u) ^ (u32)(offset / 4 + i)))
			return -1;
	return 0;
}

static void conf(void *priv, int err)
{
	struct slot *s = priv;

	s->err = err;
	if (s->polled) {
		unsigned long flags;

		spin_lock_irqsave(&poll_lock, flags);
		if (!(in_task() && current == poll_task && READ_ONCE(poll_reaping)))
			poll_wrong_ctx++;
		poll_done[poll_done_nr++] = s - slots;
		spin_unlock_irqrestore(&poll_lock, flags);
	}
	if (s->put_on_complete && s->permit) {
		ibtrs_clt_put_permit(sess, s->permit);
		s->permit = NULL;
	}
	atomic_inc(&completions);
	complete(&s->done);
}

static int submit(struct slot *s, int dir, u64 offset, u32 len, u32 seq)
{
	struct ibtrs_test_hdr h = {
		.magic = cpu_to_le32(IBTRS_TEST_MAGIC),
		.len = cpu_to_le32(len),
		.offset = cpu_to_le64(offset),
		.seq = cpu_to_le32(seq),
	};
	struct kvec vec = { .iov_base = &h, .iov_len = sizeof(h) };
	struct ibtrs_clt_req_ops ops = { .priv = s, .conf_fn = conf };
	u32 left = len, n = 0;
	int ret;

	sg_init_table(s->sg, MAX_SG);
	while (left) {
		u32 l = min_t(u32, left, PAGE_SIZE);

		sg_set_buf(&s->sg[n], s->buf + n * PAGE_SIZE, l);
		left -= l;
		n++;
	}
	if (n)
		sg_mark_end(&s->sg[n - 1]);
	if (dir == IBTRS_WRITE)
		fill(s->buf, len, offset, seq);
	else
		memset(s->buf, 0xa5, len);
	s->dir = dir;
	s->offset = offset;
	s->len = len;
	s->seq = seq;
	s->err = 0;
	reinit_completion(&s->done);
	ret = ibtrs_clt_request(dir, &ops, sess, s->permit, &vec, 1, len, n ? s->sg : NULL, n);
	s->busy = ret == 0;
	return ret;
}

/* Waits for s's IO; returns its errno (-ETIME if it never came back). */
static int wait_slot(struct slot *s)
{
	if (!s->busy)
		return 0;
	if (!wait_for_completion_timeout(&s->done, 120 * HZ))
		return -ETIME;
	s->busy = false;
	ios_done++;
	if (s->err)
		return s->err;
	if (s->dir == IBTRS_READ && s->verify && check(s->buf, s->len, s->offset, s->seq)) {
		mismatches++;
		return -EILSEQ;
	}
	return 0;
}

static int alloc_slots(int n, enum ibtrs_clt_con_type type)
{
	int i;

	slots = kcalloc(n, sizeof(*slots), GFP_KERNEL);
	if (!slots)
		return -ENOMEM;
	nr_slots = n;
	for (i = 0; i < n; i++) {
		struct slot *s = &slots[i];

		init_completion(&s->done);
		s->buf = (void *)__get_free_pages(GFP_KERNEL, BUF_ORDER);
		if (!s->buf)
			return -ENOMEM;
		s->permit = ibtrs_clt_get_permit(sess, type, IBTRS_PERMIT_NOWAIT);
		if (!s->permit)
			return -EBUSY;
	}
	return 0;
}

static void free_slots(void)
{
	int i;

	for (i = 0; i < nr_slots; i++) {
		if (slots[i].permit)
			ibtrs_clt_put_permit(sess, slots[i].permit);
		if (slots[i].buf)
			free_pages((unsigned long)slots[i].buf, BUF_ORDER);
	}
	kfree(slots);
	slots = NULL;
	nr_slots = 0;
}

static int nfail;

#define REPORT(item, err)                                                               \
	do {                                                                            \
		int __e = (err);                                                        \
		if (__e) {                                                              \
			nfail++;                                                        \
			pr_info("ibtrs_test: FAIL %s: %d\n", item, __e);                \
		} else {                                                                \
			pr_info("ibtrs_test: PASS %s\n", item);                         \
		}                                                                       \
	} while (0)

static void link_ev(void *priv, enum ibtrs_clt_link_ev ev);

static int do_open(void)
{
	struct ibtrs_addr addr[2] = { { .src = src, .dst = server }, { .src = src2, .dst = server2 } };
	struct ibtrs_clt_ops ops = { .priv = NULL, .link_ev = link_ev };

	sess = ibtrs_clt_open(&ops, sessname, addr, server2[0] ? 2 : 1, port, 16,
			      reconnect_delay_sec, -1, poll_queues);
	if (IS_ERR(sess)) {
		int err = PTR_ERR(sess);

		sess = NULL;
		return err;
	}
	return ibtrs_clt_query(sess, &attrs);
}

/* One write + read-back per size, 512 B steps up to max_io_size. */
static int item_sizes(void)
{
	struct slot *s = &slots[0];
	u32 len;
	int err;

	for (len = 512; len <= attrs.max_io_size; len += 512) {
		err = submit(s, IBTRS_WRITE, 4096, len, len);
		if (!err)
			err = wait_slot(s);
		if (err) {
			pr_info("ibtrs_test: write of %u bytes: %d\n", len, err);
			return err;
		}
		s->verify = true;
		err = submit(s, IBTRS_READ, 4096, len, len);
		if (!err)
			err = wait_slot(s);
		if (err) {
			pr_info("ibtrs_test: read of %u bytes: %d\n", len, err);
			return err;
		}
	}
	return 0;
}

/* Every slot (= the whole queue depth) in flight at once, writes then reads. */
static int item_queue_depth(void)
{
	int i, err = 0, e;

	for (i = 0; i < nr_slots; i++) {
		slots[i].verify = false;
		e = submit(&slots[i], IBTRS_WRITE, (u64)i * 4096, 4096, 1000 + i);
		if (e && !err)
			err = e;
	}
	for (i = 0; i < nr_slots; i++) {
		e = wait_slot(&slots[i]);
		if (e && !err)
			err = e;
	}
	for (i = 0; i < nr_slots && !err; i++) {
		slots[i].verify = true;
		e = submit(&slots[i], IBTRS_READ, (u64)i * 4096, 4096, 1000 + i);
		if (e && !err)
			err = e;
	}
	for (i = 0; i < nr_slots; i++) {
		e = wait_slot(&slots[i]);
		if (e && !err)
			err = e;
	}
	return err;
}

static bool path_error(int err)
{
	return err == -ETIMEDOUT || err == -ECONNABORTED || err == -ECONNRESET;
}

/* submit(), waiting up to 60 s while the session has no connected path. */
static int submit_retry(struct slot *s, int dir, u64 offset, u32 len, u32 seq)
{
	int err, tries;

	for (tries = 0; tries < 600; tries++) {
		err = submit(s, dir, offset, len, seq);
		if (err != -ECONNABORTED)
			break;
		msleep(100);
	}
	return err;
}

/*
 * Redoes slot s's failed IO once the session has a connected path again
 * (the transport turned a lost request into a path error and reconnects).
 */
static int redo(struct slot *s)
{
	int err, tries;

	for (tries = 0; tries < 600; tries++) {
		bool verify = s->verify;

		err = submit(s, s->dir, s->offset, s->len, s->seq);
		s->verify = verify;
		if (err != -ECONNABORTED)
			break;
		msleep(100);
	}
	if (!err)
		err = wait_slot(s);
	return err;
}

/* ios IOs with depth in flight: each slot writes a random size to its own
 * region, then reads it back and checks it. An IO failed by a path error is
 * redone after the reconnect (at most `depth` x 8 times in all). */
static int item_long_run(int n, int d)
{
	u32 seq = 1;
	int i, err = 0, e;
	u64 max = attrs.max_io_size;

	for (i = 0; i < d; i++) {
		slots[i].region = (u64)(16 << 20) + (u64)i * BUF_BYTES;
		slots[i].busy = false;
		slots[i].dir = IBTRS_READ;
	}
	for (i = 0; i < n && !err && !READ_ONCE(stop); i++) {
		struct slot *s = &slots[i % d];

		e = wait_slot(s);
		while (path_error(e) && retried < 8 * d) {
			retried++;
			pr_info("ibtrs_test: IO %s of %u bytes failed (%d): redo after reconnect\n",
				s->dir == IBTRS_READ ? "read" : "write", s->len, e);
			e = redo(s);
		}
		if (e) {
			err = e;
			break;
		}
		if (s->dir == IBTRS_READ) {
			u32 len = 512 * (1 + get_random_u32() % (u32)(max / 512));

			s->verify = false;
			err = submit_retry(s, IBTRS_WRITE, s->region, len, seq++);
		} else {
			s->verify = true;
			err = submit_retry(s, IBTRS_READ, s->offset, s->len, s->seq);
		}
		if ((i & 4095) == 0)
			cond_resched();
	}
	for (i = 0; i < d; i++) {
		e = wait_slot(&slots[i]);
		while (path_error(e) && retried < 8 * d) {
			retried++;
			e = redo(&slots[i]);
		}
		if (e && !err)
			err = e;
	}
	pr_info("ibtrs_test: long_run: %d IOs, %d mismatches, %d redone after path errors\n", n,
		mismatches, retried);
	return err;
}


/* ---- item poll ---- */

/* Reaps every poll index once from this thread; returns the CQEs or -errno. */
static int poll_reap(void)
{
	int q, r, sum = 0;

	for (q = 0; q < poll_queues; q++) {
		WRITE_ONCE(poll_reaping, true);
		r = ibtrs_clt_rdma_cq_direct(sess, q);
		WRITE_ONCE(poll_reaping, false);
		if (r < 0)
			return r;
		sum += r;
	}
	poll_cqes += sum;
	return sum;
}

/* Moves the slots completed since the last call to out[]; returns how many. */
static int poll_take(int *out)
{
	unsigned long flags;
	int n;

	spin_lock_irqsave(&poll_lock, flags);
	n = poll_done_nr;
	memcpy(out, poll_done, n * sizeof(*out));
	poll_done_nr = 0;
	spin_unlock_irqrestore(&poll_lock, flags);
	return n;
}

/* A polled slot's IO came back: its errno, or -EILSEQ for bad read data. */
static int poll_finish(struct slot *s)
{
	s->busy = false;
	poll_ios_done++;
	if (s->err)
		return s->err;
	if (s->dir == IBTRS_READ && s->verify && check(s->buf, s->len, s->offset, s->seq)) {
		mismatches++;
		pr_info("ibtrs_test: poll: read of %u bytes at %llu: data mismatch\n", s->len,
			s->offset);
		return -EILSEQ;
	}
	return 0;
}

/*
 * n IOs (write, then read back and check) on polled slots[0..d), slot i
 * with a fixed size sizes[i % 4] in its own region, all d in flight;
 * completions are reaped only by poll_reap() here. On an error no new IO is
 * issued and the ones in flight are reaped (up to 30 s without progress).
 */
static int poll_run(int n, int d, const u32 *sizes, int *done)
{
	int i, k, e, err = 0, issued = 0, inflight = 0;
	unsigned long idle_since;
	u64 off = 0;
	u32 seq = 50000;

	for (i = 0; i < d; i++) {
		slots[i].region = off;
		slots[i].len = sizes[i % 4];
		off += round_up(sizes[i % 4], 4096);
	}
	for (i = 0; i < d && issued + 2 <= n; i++) {
		slots[i].verify = false;
		err = submit(&slots[i], IBTRS_WRITE, slots[i].region, slots[i].len, seq++);
		if (err)
			break;
		inflight++;
		issued += 2; /* the read back follows */
	}
	idle_since = jiffies;
	while (inflight) {
		e = poll_reap();
		if (e < 0) {
			pr_info("ibtrs_test: poll: ibtrs_clt_rdma_cq_direct: %d (%d in flight)\n", e,
				inflight);
			if (!err)
				err = e;
			/* nothing connected: the transport fails what is in flight */
		}
		k = poll_take(done);
		if (!k) {
			if (time_after(jiffies, idle_since + 30 * HZ)) {
				pr_info("ibtrs_test: poll: %d IOs never completed\n", inflight);
				return err ? err : -ETIME;
			}
			cond_resched();
			continue;
		}
		idle_since = jiffies;
		for (i = 0; i < k; i++) {
			struct slot *s = &slots[done[i]];

			inflight--;
			e = poll_finish(s);
			if (e && !err)
				err = e;
			if (err)
				continue;
			if (s->dir == IBTRS_WRITE) {
				s->verify = true;
				e = submit(s, IBTRS_READ, s->offset, s->len, s->seq);
			} else if (issued + 2 <= n) {
				s->verify = false;
				e = submit(s, IBTRS_WRITE, s->region, s->len, seq++);
				issued += 2;
			} else {
				continue;
			}
			if (e)
				err = e;
			else
				inflight++;
		}
	}
	return err;
}

/*
 * The documented refusals of an invalid poll index (include/ibtrs.h):
 * ibtrs_clt_permit_set_poll and ibtrs_clt_rdma_cq_direct return -EINVAL
 * for index >= nr_poll_queues, and the refused permit keeps its routing: its
 * IO goes out on the submitting CPU's connection and completes by interrupt
 * without any polling (a misrouted one would sit on a poll CQ: reaped here
 * after 10 s, and failed).
 */
static int poll_bad_index(struct slot *s)
{
	int r, err;

	r = ibtrs_clt_permit_set_poll(sess, s->permit, poll_queues);
	if (r != -EINVAL) {
		pr_info("ibtrs_test: poll: set_poll(index %d) = %d, want -EINVAL\n", poll_queues, r);
		return -EINVAL;
	}
	r = ibtrs_clt_rdma_cq_direct(sess, poll_queues);
	if (r != -EINVAL) {
		pr_info("ibtrs_test: poll: cq_direct(index %d) = %d, want -EINVAL\n", poll_queues, r);
		return -EINVAL;
	}
	s->polled = false;
	s->verify = false;
	err = submit(s, IBTRS_WRITE, 0, 4096, 99);
	if (err)
		return err;
	if (!wait_for_completion_timeout(&s->done, 10 * HZ)) {
		pr_info("ibtrs_test: poll: IO with a refused poll index did not complete by interrupt\n");
		unsigned long t = jiffies + 10 * HZ;

		while (!completion_done(&s->done) && poll_reap() >= 0 && time_before(jiffies, t))
			cond_resched();
		s->busy = false;
		return -ETIME;
	}
	s->busy = false;
	ios_done++;
	return s->err;
}

/*
 * Item poll (poll_queues > 0): every permit (the queue depth, which a poll
 * connection's QP is sized for like any other) routed to poll connection
 * i % poll_queues; first each size once on one slot, then poll_ios IOs with
 * every slot in flight; every completion must run in this thread inside
 * ibtrs_clt_rdma_cq_direct. Prints the PASS line with IOs and CQEs.
 */
static int item_poll(void)
{
	const u32 sizes[4] = { 512, 4096, 65536, attrs.max_io_size };
	int i, err, wrong;

	err = poll_bad_index(&slots[0]);
	if (err) {
		pr_info("ibtrs_test: poll: invalid index check: %d\n", err);
		return err;
	}
	poll_done = kcalloc(nr_slots, sizeof(*poll_done), GFP_KERNEL);
	if (!poll_done)
		return -ENOMEM;
	poll_task = current;
	for (i = 0; i < nr_slots && !err; i++) {
		err = ibtrs_clt_permit_set_poll(sess, slots[i].permit, i % poll_queues);
		slots[i].polled = true;
		slots[i].busy = false;
	}
	/* one slot, each size alone: write, read back */
	for (i = 0; i < 4 && !err; i++) {
		u32 one[4] = { sizes[i], sizes[i], sizes[i], sizes[i] };

		err = poll_run(2, 1, one, poll_done);
	}
	if (!err)
		err = poll_run(poll_ios, nr_slots, sizes, poll_done);
	for (i = 0; i < nr_slots; i++)
		slots[i].polled = false;
	poll_task = NULL;
	kfree(poll_done);
	poll_done = NULL;
	wrong = READ_ONCE(poll_wrong_ctx);
	pr_info("ibtrs_test: poll: %d IOs (%d in flight), %d CQEs reaped, %d completed outside the poller, %d mismatches\n",
		poll_ios_done, nr_slots, poll_cqes, wrong, mismatches);
	if (!err && wrong)
		err = -EPERM;
	if (!err && (poll_ios_done < (poll_ios & ~1) + 8 || poll_cqes < poll_ios_done))
		err = -EPROTO;
	return err;
}

static int run(void)
{
	int err;
	u64 t0;

	err = do_open();
	REPORT("open", err);
	if (err)
		return err;
	err = (attrs.queue_depth && attrs.max_io_size >= 4096 && attrs.max_segments) ? 0 : -EINVAL;
	pr_info("ibtrs_test: queue_depth %u max_io_size %u max_segments %u\n", attrs.queue_depth,
		attrs.max_io_size, attrs.max_segments);
	REPORT("query", err);
	err = alloc_slots(attrs.queue_depth, IBTRS_IO_CON);
	REPORT("permits", err);
	if (!err) {
		REPORT("sizes", item_sizes());
		REPORT("queue_depth", item_queue_depth());
		t0 = ktime_get_ns();
		err = item_long_run(ios, min_t(int, depth, nr_slots));
		pr_info("ibtrs_test: long_run took %llu ms\n", (ktime_get_ns() - t0) / 1000000);
		REPORT("long_run", err || mismatches);
		if (poll_queues > 0) {
			err = item_poll();
			if (err)
				REPORT("poll", err);
			else
				pr_info("ibtrs_test: PASS poll ios=%d cqes=%d\n", poll_ios_done,
					poll_cqes);
		}
		/* The admin connection carries IO too. */
		{
			struct ibtrs_permit *p;

			/* every permit is held by a slot: swap slot 0's for an admin one */
			ibtrs_clt_put_permit(sess, slots[0].permit);
			slots[0].permit = NULL;
			p = ibtrs_clt_get_permit(sess, IBTRS_ADMIN_CON, IBTRS_PERMIT_NOWAIT);
			err = -EBUSY;
			if (p) {
				slots[0].permit = p;
				slots[0].verify = false;
				err = submit(&slots[0], IBTRS_WRITE, 0, 8192, 7);
				if (!err)
					err = wait_slot(&slots[0]);
				slots[0].verify = true;
				if (!err)
					err = submit(&slots[0], IBTRS_READ, 0, 8192, 7);
				if (!err)
					err = wait_slot(&slots[0]);
			}
			REPORT("admin_con", err);
		}
	}
	free_slots();
	ibtrs_clt_close(sess);
	sess = NULL;
	REPORT("close", 0);
	return 0;
}

static int close_inflight(void)
{
	int i, err, submitted = 0, n;

	err = do_open();
	REPORT("open", err);
	if (err)
		return err;
	n = min_t(int, depth, attrs.queue_depth);
	err = alloc_slots(n, IBTRS_IO_CON);
	if (!err) {
		atomic_set(&completions, 0);
		for (i = 0; i < n; i++)
			slots[i].put_on_complete = true;
		for (i = 0; i < n; i++)
			if (!submit(&slots[i], i & 1 ? IBTRS_READ : IBTRS_WRITE, (u64)i * BUF_BYTES,
				    attrs.max_io_size, i))
				submitted++;
		/* close completes every request; conf puts the permits back */
	}
	ibtrs_clt_close(sess);
	n = atomic_read(&completions);
	pr_info("ibtrs_test: close_inflight: %d submitted, %d completed by close\n", submitted, n);
	for (i = 0; i < nr_slots; i++)
		if (slots[i].permit) {
			pr_info("ibtrs_test: slot %d was never completed\n", i);
			slots[i].permit = NULL; /* the session is gone */
		}
	free_slots();
	sess = NULL;
	REPORT("close_inflight", err || n != submitted || submitted == 0);
	return 0;
}

/* ---- hold mode ---- */

static DEFINE_MUTEX(hold_mutex);
static bool stopping;

static void reconnect_io(struct work_struct *w)
{
	int err;

	mutex_lock(&hold_mutex);
	if (stopping || !sess || !slots) {
		mutex_unlock(&hold_mutex);
		return;
	}
	slots[0].verify = false;
	err = submit(&slots[0], IBTRS_WRITE, 0, 4096, 77);
	if (!err)
		err = wait_slot(&slots[0]);
	slots[0].verify = true;
	if (!err)
		err = submit(&slots[0], IBTRS_READ, 0, 4096, 77);
	if (!err)
		err = wait_slot(&slots[0]);
	if (!err)
		reconnect_io_ok++;
	mutex_unlock(&hold_mutex);
	pr_info("ibtrs_test: IO after reconnect: %d\n", err);
}
static DECLARE_WORK(reconnect_work, reconnect_io);

static void link_ev(void *priv, enum ibtrs_clt_link_ev ev)
{
	if (ev == IBTRS_CLT_LINK_EV_DISCONNECTED) {
		link_down++;
		pr_info("ibtrs_test: link event DISCONNECTED\n");
	} else {
		link_up++;
		pr_info("ibtrs_test: link event RECONNECTED\n");
		if (!READ_ONCE(stopping))
			schedule_work(&reconnect_work);
	}
}

static int hold(void)
{
	int err = do_open();

	REPORT("open", err);
	if (err)
		return err;
	err = alloc_slots(1, IBTRS_IO_CON);
	if (!err) {
		err = submit(&slots[0], IBTRS_WRITE, 0, 4096, 5);
		if (!err)
			err = wait_slot(&slots[0]);
	}
	REPORT("hold_io", err);
	return 0;
}

/* RNBD 2.0 SESS_INFO / SESS_INFO_RSP (rnbd-proto.h): 36 bytes each. */
struct rnbd_sess_info {
	__le16 type; /* 0 = SESS_INFO, 1 = SESS_INFO_RSP */
	__le16 padding;
	u8 ver;
	u8 reserved[31];
};

static int interop(void)
{
	struct rnbd_sess_info req = { .type = cpu_to_le16(0), .ver = 2 };
	struct rnbd_sess_info *rsp;
	struct kvec vec = { .iov_base = &req, .iov_len = sizeof(req) };
	struct ibtrs_clt_req_ops ops;
	int err = do_open();

	REPORT("open", err);
	if (err)
		return err;
	err = alloc_slots(1, IBTRS_ADMIN_CON);
	if (!err) {
		struct slot *s = &slots[0];

		memset(s->buf, 0xa5, sizeof(*rsp));
		sg_init_one(s->sg, s->buf, sizeof(*rsp));
		reinit_completion(&s->done);
		ops.priv = s;
		ops.conf_fn = conf;
		s->dir = IBTRS_READ;
		s->verify = false;
		err = ibtrs_clt_request(IBTRS_READ, &ops, sess, s->permit, &vec, 1, sizeof(*rsp),
					s->sg, 1);
		s->busy = err == 0;
		if (!err)
			err = wait_slot(s);
		rsp = s->buf;
		pr_info("ibtrs_test: SESS_INFO answered %d: type %u ver %u\n", err,
			le16_to_cpu(rsp->type), rsp->ver);
		if (!err && (le16_to_cpu(rsp->type) != 1 || rsp->ver != 2))
			err = -EPROTO;
	}
	REPORT("interop_sess_info", err);
	free_slots();
	ibtrs_clt_close(sess);
	sess = NULL;
	REPORT("close", 0);
	return 0;
}

/* Verified IO (write, read back, compare) with depth in flight until `stop`
 * is written: the load under which a case cuts and heals paths. Every IO
 * must succeed: with fail-over, a path error never reaches the user while
 * another path is up (retried counts any that did). */
static int soak(void)
{
	int err;

	err = do_open();
	REPORT("open", err);
	if (err)
		return err;
	err = alloc_slots(attrs.queue_depth, IBTRS_IO_CON);
	REPORT("permits", err);
	if (!err) {
		err = item_long_run(INT_MAX, min_t(int, depth, nr_slots));
		REPORT("soak", err || mismatches || retried);
	}
	free_slots();
	ibtrs_clt_close(sess);
	sess = NULL;
	REPORT("close", 0);
	return 0;
}

static int __init ibtrs_test_client_init(void)
{
	nfail = 0;
	if (poll_queues < 0 || poll_ios < 2)
		return -EINVAL;
	if (!strcmp(mode, "run"))
		run();
	else if (!strcmp(mode, "close_inflight"))
		close_inflight();
	else if (!strcmp(mode, "hold"))
		hold();
	else if (!strcmp(mode, "interop"))
		interop();
	else if (!strcmp(mode, "soak"))
		soak();
	else
		return -EINVAL;
	failed = nfail;
	pr_info("ibtrs_test: summary mode=%s ios=%d mismatches=%d failed=%d\n", mode, ios_done,
		mismatches, failed);
	return 0;
}

static void __exit ibtrs_test_client_exit(void)
{
	mutex_lock(&hold_mutex);
	stopping = true;
	mutex_unlock(&hold_mutex);
	if (sess) {
		free_slots();
		ibtrs_clt_close(sess);
		sess = NULL;
	}
	cancel_work_sync(&reconnect_work);
}

module_init(ibtrs_test_client_init);
module_exit(ibtrs_test_client_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("IBTRS transport test: IO client with content checks");
