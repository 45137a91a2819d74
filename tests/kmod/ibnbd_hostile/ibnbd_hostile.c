// SPDX-License-Identifier: GPL-2.0
/*
 * ibnbd_hostile: a misbehaving RNBD client for ibnbd-server, over the
 * ibtrs-client API (include/ibtrs.h). Loading it opens two sessions
 * ("<sessname>a", "<sessname>b") and sends well-formed and malformed RNBD
 * 2.0 messages, each with the errno the server must answer (0 = success).
 * Every item prints "ibnbd_hostile: PASS <item>" or "FAIL <item>: got X
 * want Y"; then "ibnbd_hostile: summary tried=N failed=M". Parameters
 * `tried` and `failed` hold the counts. With hold=1 the sessions (and their
 * opens) stay until unload, so that the case can look at the server's sysfs.
 *
 * Devices (relative to the server's dev_search_path): `rw_dev` (opened rw
 * by session a, nsectors must equal `rw_sectors`), `ro_dev` (opened ro by
 * a, rw by b later).
 *
 * random_cases=N adds N randomised IO messages (seed `seed`, 0 = pick one;
 * the seed used is printed and left in the parameter) on session a: each
 * field is drawn valid or broken, and the answer must be 0 for a message
 * with no defect and one of its defects' errnos otherwise (the rules of
 * ibnbd/core/proto.h decode_io and ibnbd/core/srv_io.h plan_io, restated
 * here independently). Valid writes stay at sector >= RND_FIRST_SECTOR, so
 * the pattern written at sector 8 must read back unchanged afterwards.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/gfp.h>
#include <linux/scatterlist.h>
#include <linux/completion.h>
#include <linux/err.h>
#include <linux/string.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <asm/unaligned.h>
#include <ibtrs.h>

static char *server = "ip:10.99.0.1";
module_param(server, charp, 0444);
static char *src = "ip:10.99.0.2";
module_param(src, charp, 0444);
static ushort port = IBTRS_PORT;
module_param(port, ushort, 0444);
static char *sessname = "hostile";
module_param(sessname, charp, 0444);
static char *rw_dev = "nullb0";
module_param(rw_dev, charp, 0444);
static char *ro_dev = "nullb1";
module_param(ro_dev, charp, 0444);
static unsigned long rw_sectors;
module_param(rw_sectors, ulong, 0444);
MODULE_PARM_DESC(rw_sectors, "expected capacity of rw_dev in 512-byte sectors");
static char *outside = "../tmp/ibnbd51-outside.img";
module_param(outside, charp, 0444);
MODULE_PARM_DESC(outside, "a path leaving the search path with '..'");
static bool hold;
module_param(hold, bool, 0444);

static unsigned int random_cases;
module_param(random_cases, uint, 0444);
static unsigned long long seed;
module_param(seed, ullong, 0444);
static int random_defective;
module_param(random_defective, int, 0444);
MODULE_PARM_DESC(random_defective, "random cases that carried at least one defect");

static int tried;
module_param(tried, int, 0444);
static int failed = -1;
module_param(failed, int, 0444);

/* RNBD 2.0 wire (drivers/block/rnbd/rnbd-proto.h layout, little-endian). */
enum { T_SESS_INFO = 0, T_SESS_INFO_RSP = 1, T_OPEN = 2, T_OPEN_RSP = 3, T_IO = 4, T_CLOSE = 5 };
enum { OP_READ = 0, OP_WRITE = 1, OP_FLUSH = 2, OP_DISCARD = 3, OP_SECURE_ERASE = 4,
       OP_WRITE_SAME = 5, OP_WRITE_ZEROES = 0x80 };
enum { F_SYNC = 1u << 8, F_FUA = 1u << 9, F_PREFLUSH = 1u << 10 };
#define OPEN_SIZE 264
#define OPEN_NAME_OFF 6
#define OPEN_NAME_LEN 255
#define OPEN_RSP_SIZE 56
#define IO_SIZE 32
#define SESS_INFO_SIZE 36

#define BUF_ORDER 5
#define BUF_BYTES (PAGE_SIZE << BUF_ORDER)

struct hsess {
	struct ibtrs_clt_sess *sess;
	struct ibtrs_permit *permit;
	const char *name;
};

static struct hsess sa, sb;
static void *buf;
static struct completion done;
static int done_err;
static int nfail;

static void conf(void *priv, int err)
{
	done_err = err;
	complete(&done);
}

static void link_ev(void *priv, enum ibtrs_clt_link_ev ev)
{
}

/* One request; returns the server's answer (or a local -errno). */
static int xfer(struct hsess *h, int dir, const void *msg, size_t msg_len, size_t data_len)
{
	struct ibtrs_clt_req_ops ops = { .priv = NULL, .conf_fn = conf };
	struct kvec vec = { .iov_base = (void *)msg, .iov_len = msg_len };
	struct scatterlist sg[1];
	int err;

	sg_init_one(sg, buf, data_len ? data_len : 1);
	reinit_completion(&done);
	err = ibtrs_clt_request(dir, &ops, h->sess, h->permit, &vec, 1, data_len,
				data_len ? sg : NULL, data_len ? 1 : 0);
	if (err)
		return err;
	if (!wait_for_completion_timeout(&done, 30 * HZ)) {
		pr_err("ibnbd_hostile: request timed out\n");
		return -ETIMEDOUT; /* the permit stays busy: later items fail */
	}
	return done_err;
}

static void expect(const char *item, int got, int want)
{
	tried++;
	if (got != want) {
		nfail++;
		pr_info("ibnbd_hostile: FAIL %s: got %d want %d\n", item, got, want);
	} else {
		pr_info("ibnbd_hostile: PASS %s (%d)\n", item, got);
	}
}

static int sess_info(struct hsess *h, size_t len)
{
	u8 m[SESS_INFO_SIZE] = {};
	int err;

	put_unaligned_le16(T_SESS_INFO, m);
	m[4] = 2;
	memset(buf, 0, SESS_INFO_SIZE);
	err = xfer(h, IBTRS_READ, m, len, SESS_INFO_SIZE);
	if (!err && (get_unaligned_le16(buf) != T_SESS_INFO_RSP || ((u8 *)buf)[4] != 2))
		err = -EPROTO;
	return err;
}

/* OPEN name (NUL-terminated unless name_len == 255 and raw). Sets *id, *nsectors. */
static int open_raw(struct hsess *h, const char *name, size_t name_len, u8 mode, int dir,
		    size_t rsp_len, u32 *id, u64 *nsectors)
{
	u8 m[OPEN_SIZE] = {};
	int err;

	put_unaligned_le16(T_OPEN, m);
	m[4] = mode;
	memcpy(m + OPEN_NAME_OFF, name, min_t(size_t, name_len, OPEN_NAME_LEN));
	memset(buf, 0, OPEN_RSP_SIZE);
	err = xfer(h, dir, m, sizeof(m), dir == IBTRS_READ ? rsp_len : 0);
	if (!err) {
		if (get_unaligned_le16(buf) != T_OPEN_RSP)
			return -EPROTO;
		if (id)
			*id = get_unaligned_le32((u8 *)buf + 4);
		if (nsectors)
			*nsectors = get_unaligned_le64((u8 *)buf + 8);
	}
	return err;
}

static int open_dev(struct hsess *h, const char *name, u8 mode, u32 *id, u64 *nsectors)
{
	return open_raw(h, name, strlen(name), mode, IBTRS_READ, OPEN_RSP_SIZE, id, nsectors);
}

static int io_raw(struct hsess *h, size_t msg_len, u32 id, u64 sector, u32 rw, u32 bi_size,
		  int dir, size_t data_len)
{
	u8 m[IO_SIZE] = {};

	put_unaligned_le16(T_IO, m);
	put_unaligned_le32(id, m + 4);
	put_unaligned_le64(sector, m + 8);
	put_unaligned_le32(rw, m + 16);
	put_unaligned_le32(bi_size, m + 20);
	return xfer(h, dir, m, msg_len, data_len);
}

static int io(struct hsess *h, u32 id, u64 sector, u32 rw, u32 bi_size)
{
	const u32 op = rw & 0xff;
	const int dir = (op == OP_READ || op == OP_FLUSH) ? IBTRS_READ : IBTRS_WRITE;
	const size_t data = (op == OP_READ || op == OP_WRITE) ? bi_size : 0;

	return io_raw(h, IO_SIZE, id, sector, rw, bi_size, dir, data);
}

static int close_dev(struct hsess *h, u32 id, int dir)
{
	u8 m[8] = {};

	put_unaligned_le16(T_CLOSE, m);
	put_unaligned_le32(id, m + 4);
	return xfer(h, dir, m, sizeof(m), dir == IBTRS_READ ? 64 : 0);
}

static int hopen(struct hsess *h, const char *suffix)
{
	struct ibtrs_addr addr = { .src = src, .dst = server };
	struct ibtrs_clt_ops ops = { .priv = NULL, .link_ev = link_ev };
	char *name = kasprintf(GFP_KERNEL, "%s%s", sessname, suffix);

	if (!name)
		return -ENOMEM;
	h->name = name;
	h->sess = ibtrs_clt_open(&ops, name, &addr, 1, port, 16, 1, 0, 0);
	if (IS_ERR(h->sess)) {
		int err = PTR_ERR(h->sess);

		h->sess = NULL;
		return err;
	}
	h->permit = ibtrs_clt_get_permit(h->sess, IBTRS_ADMIN_CON, IBTRS_PERMIT_WAIT);
	return h->permit ? 0 : -ENOMEM;
}

static void hclose(struct hsess *h)
{
	if (h->sess) {
		if (h->permit)
			ibtrs_clt_put_permit(h->sess, h->permit);
		ibtrs_clt_close(h->sess);
	}
	kfree(h->name);
	memset(h, 0, sizeof(*h));
}


/* ---- randomised IO messages ------------------------------------------- */

#define RND_FIRST_SECTOR 64	/* below: the fixed items' data, never written */
#define RND_MAX_SECTORS 128	/* 64 KiB per request, below every max_io_size */

static u64 rnd_state;

static u64 rnd(void)	/* xorshift64*: reproducible from the printed seed */
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545F4914F6CDD1DULL;
}

static u32 rnd_below(u32 n)
{
	return (u32)(rnd() % n);
}

/* The answers a message may get: 0 alone for a valid one, else its defects' errnos. */
struct allowed {
	int err[8];
	int n;
};

static void allow(struct allowed *a, int err)
{
	int i;

	for (i = 0; i < a->n; i++)
		if (a->err[i] == err)
			return;
	if (a->n < ARRAY_SIZE(a->err))
		a->err[a->n++] = err;
}

static bool allowed_has(const struct allowed *a, int got)
{
	int i;

	for (i = 0; i < a->n; i++)
		if (a->err[i] == got)
			return true;
	return false;
}

static void random_io(u32 rw_id, u64 ns_rw, u32 ro_id, u64 ns_ro, u32 n)
{
	u8 m[IO_SIZE];
	struct allowed a = {};
	u32 id, op, flags, bi_size, data_len, msg_len;
	u64 sector, ns;
	u16 prio = 0;
	int dir, got, pick;
	bool ro = false, ranged, defect;
	const char *what;

	/* Device: mostly the rw open, some the ro open, some unknown ids. */
	pick = rnd_below(20);
	if (pick < 14) {
		id = rw_id, ns = ns_rw;
	} else if (pick < 17) {
		id = ro_id, ns = ns_ro, ro = true;
	} else {
		do
			id = (u32)rnd();
		while (id == rw_id || id == ro_id);
		ns = 0;
		allow(&a, -ENOTCONN);
	}
	/* Op. */
	pick = rnd_below(100);
	if (pick < 35)
		op = OP_READ;
	else if (pick < 70)
		op = OP_WRITE;
	else if (pick < 80)
		op = OP_FLUSH;
	else if (pick < 85)
		op = OP_DISCARD;
	else if (pick < 88)
		op = OP_SECURE_ERASE;
	else if (pick < 91)
		op = OP_WRITE_SAME;
	else if (pick < 94)
		op = OP_WRITE_ZEROES;	/* not negotiated by this client */
	else
		op = 6 + rnd_below(0x80 - 6);	/* no such op */
	ranged = op != OP_FLUSH;
	if (op >= OP_WRITE_SAME)	/* refused by 6.1 servers / unknown / not negotiated */
		allow(&a, -EOPNOTSUPP);
	/* null_blk without discard=1: no discard, no secure erase. */
	if ((op == OP_DISCARD || op == OP_SECURE_ERASE) && ns)
		allow(&a, -EOPNOTSUPP);
	if (ns && ro && op != OP_READ && op != OP_FLUSH)
		allow(&a, -EROFS);
	/* Flags. */
	pick = rnd_below(20);
	flags = pick < 13 ? 0 : pick < 15 ? F_FUA : pick < 17 ? F_SYNC : pick < 18 ? F_PREFLUSH : 0;
	if (pick >= 18) {
		flags = 1u << (11 + rnd_below(21));	/* bits 11..31: none is valid here */
		allow(&a, -EPROTO);
	}
	/* Length. */
	pick = rnd_below(20);
	if (!ranged) {
		bi_size = pick < 17 ? 0 : 512 * (1 + rnd_below(8));
		if (bi_size)
			allow(&a, -EINVAL);
	} else if (pick < 17) {
		bi_size = 512 * (1 + rnd_below(RND_MAX_SECTORS));
	} else if (pick < 19) {
		bi_size = 1 + rnd_below(RND_MAX_SECTORS * 512 - 1);
		if (bi_size % 512 == 0)
			bi_size++;
		allow(&a, -EINVAL);
	} else {
		bi_size = 0;
		allow(&a, -EINVAL);
	}
	/* Sector: inside, straddling the end, past it, or overflowing. */
	pick = rnd_below(20);
	if (!ranged || pick < 15) {
		u64 room = ns > RND_FIRST_SECTOR + RND_MAX_SECTORS ? ns - RND_FIRST_SECTOR - RND_MAX_SECTORS : 1;

		sector = ranged ? RND_FIRST_SECTOR + rnd() % room : rnd();
	} else if (pick < 17) {
		sector = ns ? ns - 1 - rnd_below(bi_size / 512 ? bi_size / 512 : 1) : rnd_below(1 << 20);
		if (ns && sector + DIV_ROUND_UP(bi_size, 512) > ns)
			allow(&a, -ERANGE);
		if (!ns)
			allow(&a, -ERANGE);
	} else if (pick < 19) {
		sector = ns + rnd_below(1 << 20);
		allow(&a, -ERANGE);
	} else {
		sector = ~0ull - rnd_below(1 << 10);
		allow(&a, -ERANGE);
	}
	/* I/O priority: class above IDLE (3) is refused. */
	if (rnd_below(10) == 0) {
		prio = (u16)rnd();
		if ((prio >> 13) > 3)
			allow(&a, -EINVAL);
	}
	/* RTRS direction: READ must be a READ, FLUSH either, the rest WRITE. */
	dir = op == OP_READ ? IBTRS_READ : op == OP_FLUSH ? (rnd_below(2) ? IBTRS_READ : IBTRS_WRITE) :
								   IBTRS_WRITE;
	if (op != OP_FLUSH && rnd_below(12) == 0) {
		dir = dir == IBTRS_READ ? IBTRS_WRITE : IBTRS_READ;
		allow(&a, -EPROTO);
	}
	/* Data: READ/WRITE carry bi_size bytes, the others none. */
	if (op == OP_READ || op == OP_WRITE)
		data_len = bi_size;
	else if (op == OP_WRITE_SAME)
		data_len = 512;
	else
		data_len = 0;
	if (rnd_below(12) == 0) {
		data_len = data_len ? data_len - 1 - rnd_below(min_t(u32, data_len, 512)) : 512;
		if (op != OP_WRITE_SAME || data_len == 0 || bi_size % data_len)
			allow(&a, -EMSGSIZE);
	}
	if (op == OP_WRITE_SAME && (data_len == 0 || bi_size % data_len))
		allow(&a, -EMSGSIZE);
	/* Message length: a short message is only ever EBADMSG. */
	msg_len = IO_SIZE;
	if (rnd_below(25) == 0) {
		msg_len = 1 + rnd_below(IO_SIZE - 1);
		a.n = 0;
		allow(&a, -EBADMSG);
	}
	defect = a.n != 0;
	if (!defect)
		allow(&a, 0);
	else
		random_defective++;

	memset(m, 0, sizeof(m));
	put_unaligned_le16(T_IO, m);
	put_unaligned_le32(id, m + 4);
	put_unaligned_le64(sector, m + 8);
	put_unaligned_le32(op | flags, m + 16);
	put_unaligned_le32(bi_size, m + 20);
	put_unaligned_le16(prio, m + 24);
	if (op == OP_WRITE && data_len)
		memset(buf, (u8)n, data_len);
	got = xfer(&sa, dir, m, msg_len, data_len);
	tried++;
	if (allowed_has(&a, got))
		return;
	nfail++;
	what = defect ? "defective" : "valid";
	if (nfail <= 20) {
		char list[64];
		int i, off = 0;

		for (i = 0; i < a.n; i++)
			off += scnprintf(list + off, sizeof(list) - off, " %d", a.err[i]);
		pr_info("ibnbd_hostile: FAIL random #%u (%s): id=%u op=%#x flags=%#x sector=%llu bi_size=%u prio=%#x dir=%s data_len=%u msg_len=%u: got %d, allowed:%s\n",
			n, what, id, op, flags, sector, bi_size, prio, dir == IBTRS_READ ? "read" : "write",
			data_len, msg_len, got, list);
	}
}

static void random_phase(u32 rw_id, u64 ns_rw, u32 ro_id, u64 ns_ro)
{
	const int fail_before = nfail;
	int err;
	u32 i;

	if (!random_cases)
		return;
	if (!seed)
		seed = get_random_u64() | 1;
	rnd_state = seed;
	pr_info("ibnbd_hostile: random phase: %u cases, seed=%llu\n", random_cases, seed);
	for (i = 0; i < random_cases; i++) {
		random_io(rw_id, ns_rw, ro_id, ns_ro, i);
		if (nfail - fail_before >= 50) {
			pr_info("ibnbd_hostile: random phase stopped after %u cases: 50 failures\n", i + 1);
			break;
		}
		cond_resched();
	}
	pr_info("ibnbd_hostile: random phase: %u cases, %d defective, %d wrong answers, seed=%llu\n",
		i, random_defective, nfail - fail_before, seed);
	/* The fixed items' pattern at sector 8 is still there, and IO works. */
	memset(buf, 0, 4096);
	err = io(&sa, rw_id, 8, OP_READ, 4096);
	if (!err && (((u8 *)buf)[17] != 0x11 || ((u8 *)buf)[4095] != 0x5a))
		err = -EIO;
	expect("random_phase_left_data_intact", err, 0);
}

static void run(void)
{
	char name[OPEN_NAME_LEN];
	u32 rw_id = ~0u, ro_id = ~0u, id = 0;
	u64 ns = 0, ro_ns = 0;
	u8 raw[IO_SIZE];
	int err;

	err = hopen(&sa, "a");
	expect("session_a_open", err, 0);
	if (err)
		return;
	err = hopen(&sb, "b");
	expect("session_b_open", err, 0);
	if (err)
		return;

	/* SESS_INFO */
	expect("sess_info_short", sess_info(&sa, 4), -EBADMSG);
	expect("sess_info_ok", sess_info(&sa, SESS_INFO_SIZE), 0);
	expect("sess_info_ok_b", sess_info(&sb, SESS_INFO_SIZE), 0);

	/* Unknown message type. */
	memset(raw, 0, sizeof(raw));
	put_unaligned_le16(9, raw);
	expect("unknown_msg_type", xfer(&sa, IBTRS_READ, raw, sizeof(raw), 512), -EBADMSG);
	put_unaligned_le16(T_OPEN_RSP, raw);
	expect("response_type_as_request", xfer(&sa, IBTRS_READ, raw, sizeof(raw), 512), -EBADMSG);

	/* OPEN refusals */
	memset(name, 'a', sizeof(name));
	expect("open_name_fills_field_without_nul",
	       open_raw(&sa, name, sizeof(name), 1, IBTRS_READ, OPEN_RSP_SIZE, NULL, NULL), -EINVAL);
	expect("open_empty_name", open_raw(&sa, "", 0, 1, IBTRS_READ, OPEN_RSP_SIZE, NULL, NULL),
	       -EINVAL);
	expect("open_dotdot", open_dev(&sa, outside, 1, NULL, NULL), -EINVAL);
	expect("open_dotdot_middle", open_dev(&sa, "a/../../etc/passwd", 0, NULL, NULL), -EINVAL);
	expect("open_missing", open_dev(&sa, "no-such-device-here", 1, NULL, NULL), -ENOENT);
	expect("open_bad_access_mode", open_dev(&sa, rw_dev, 7, NULL, NULL), -EINVAL);
	expect("open_as_rtrs_write", open_raw(&sa, rw_dev, strlen(rw_dev), 1, IBTRS_WRITE, 0,
					      NULL, NULL), -EPROTO);
	expect("open_rsp_buffer_too_small",
	       open_raw(&sa, rw_dev, strlen(rw_dev), 1, IBTRS_READ, 16, NULL, NULL), -EMSGSIZE);
	put_unaligned_le16(T_OPEN, raw);
	expect("open_short_message", xfer(&sa, IBTRS_READ, raw, sizeof(raw), OPEN_RSP_SIZE),
	       -EBADMSG);

	/* Good opens. */
	err = open_dev(&sa, rw_dev, 1, &rw_id, &ns);
	expect("open_rw", err, 0);
	if (err)
		return;
	expect("open_rw_nsectors", rw_sectors && ns != rw_sectors ? -EIO : 0, 0);
	err = open_dev(&sa, ro_dev, 0, &ro_id, &ro_ns);
	expect("open_ro", err, 0);
	err = open_dev(&sa, rw_dev, 1, &id, NULL);
	expect("open_again_same_id", err ? err : (id == rw_id ? 0 : -EIO), 0);

	/* IO refusals */
	expect("io_unknown_op", io(&sa, rw_id, 0, 0x42, 4096), -EOPNOTSUPP);
	expect("io_unknown_device", io(&sa, 77, 0, OP_READ, 4096), -ENOTCONN);
	expect("io_device_id_huge", io(&sa, 0xffffffffu, 0, OP_READ, 4096), -ENOTCONN);
	expect("io_read_at_end", io(&sa, rw_id, ns, OP_READ, 4096), -ERANGE);
	expect("io_write_straddling_end", io(&sa, rw_id, ns - 4, OP_WRITE, 4096), -ERANGE);
	expect("io_sector_overflow", io(&sa, rw_id, 1ull << 62, OP_READ, 4096), -ERANGE);
	expect("io_write_on_ro_open", io(&sa, ro_id, 0, OP_WRITE, 4096), -EROFS);
	expect("io_flush_on_ro_open", io(&sa, ro_id, 0, OP_FLUSH, 0), 0);
	expect("io_bi_size_larger_than_data",
	       io_raw(&sa, IO_SIZE, rw_id, 0, OP_WRITE, 8192, IBTRS_WRITE, 4096), -EMSGSIZE);
	expect("io_read_bi_size_larger_than_buffer",
	       io_raw(&sa, IO_SIZE, rw_id, 0, OP_READ, 8192, IBTRS_READ, 4096), -EMSGSIZE);
	expect("io_bi_size_not_sectors", io_raw(&sa, IO_SIZE, rw_id, 0, OP_WRITE, 1000,
						IBTRS_WRITE, 1000), -EINVAL);
	expect("io_write_same", io_raw(&sa, IO_SIZE, rw_id, 0, OP_WRITE_SAME, 4096, IBTRS_WRITE,
				       512), -EOPNOTSUPP);
	expect("io_write_zeroes_not_negotiated", io(&sa, rw_id, 0, 0x80, 4096), -EOPNOTSUPP);
	expect("io_unknown_flag", io(&sa, rw_id, 0, OP_WRITE | (1u << 20), 4096), -EPROTO);
	expect("io_short_message", io_raw(&sa, 20, rw_id, 0, OP_READ, 4096, IBTRS_READ, 4096),
	       -EBADMSG);
	expect("io_read_as_rtrs_write", io_raw(&sa, IO_SIZE, rw_id, 0, OP_READ, 4096, IBTRS_WRITE,
					       4096), -EPROTO);
	expect("io_zero_length_read", io_raw(&sa, IO_SIZE, rw_id, 0, OP_READ, 0, IBTRS_READ, 0),
	       -EINVAL);
	expect("io_flush_with_size", io(&sa, rw_id, 0, OP_FLUSH, 4096), -EINVAL);
	/* A flush has no range: rnbd-client 6.1 sends blk_rq_pos() = all ones. */
	expect("io_flush_sector_all_ones", io(&sa, rw_id, ~0ull, OP_FLUSH | (1u << 9), 0), 0);
	expect("close_unknown_device", close_dev(&sa, 99, IBTRS_WRITE), -ENOTCONN);
	expect("close_as_rtrs_read", close_dev(&sa, rw_id, IBTRS_READ), -EPROTO);

	/* The server still serves: write a pattern, read it back, flush. */
	memset(buf, 0x5a, 4096);
	((u8 *)buf)[17] = 0x11;
	expect("good_write", io(&sa, rw_id, 8, OP_WRITE, 4096), 0);
	memset(buf, 0, 4096);
	err = io(&sa, rw_id, 8, OP_READ, 4096);
	if (!err && (((u8 *)buf)[17] != 0x11 || ((u8 *)buf)[4095] != 0x5a))
		err = -EIO;
	expect("good_read_back", err, 0);
	expect("good_flush", io(&sa, rw_id, 0, OP_FLUSH, 0), 0);
	expect("good_write_fua", io(&sa, rw_id, 16, OP_WRITE | (1u << 9), 4096), 0);
	expect("good_write_last_sector", io(&sa, rw_id, ns - 1, OP_WRITE, 512), 0);

	random_phase(rw_id, ns, ro_id, ro_ns);

	/* Access modes across sessions: a has rw_dev rw and ro_dev ro. */
	expect("b_second_rw_refused", open_dev(&sb, rw_dev, 1, NULL, NULL), -EPERM);
	err = open_dev(&sb, rw_dev, 2, &id, NULL);
	expect("b_migration_allowed", err, 0);
	if (!err) {
		memset(buf, 0x77, 4096);
		expect("b_migration_write", io(&sb, id, 24, OP_WRITE, 4096), 0);
		expect("b_close_migration", close_dev(&sb, id, IBTRS_WRITE), 0);
		expect("b_io_after_close", io(&sb, id, 0, OP_READ, 4096), -ENOTCONN);
	}
	expect("b_ro_while_writer", open_dev(&sb, rw_dev, 0, &id, NULL), 0);
	expect("b_rw_after_ro_of_a", open_dev(&sb, ro_dev, 1, &id, NULL), 0);
	memset(buf, 0x33, 4096);
	expect("b_write_rw_dev_of_ro_a", io(&sb, id, 0, OP_WRITE, 4096), 0);

	/* Close a's ro device: IO on it is refused afterwards. */
	if (!hold) {
		expect("a_close_ro", close_dev(&sa, ro_id, IBTRS_WRITE), 0);
		expect("a_io_after_close", io(&sa, ro_id, 0, OP_READ, 4096), -ENOTCONN);
	}
	expect("a_still_serves", io(&sa, rw_id, 8, OP_READ, 4096), 0);
}

static int __init ibnbd_hostile_init(void)
{
	buf = (void *)__get_free_pages(GFP_KERNEL | __GFP_ZERO, BUF_ORDER);
	if (!buf)
		return -ENOMEM;
	init_completion(&done);
	nfail = 0;
	tried = 0;
	run();
	failed = nfail;
	pr_info("ibnbd_hostile: summary tried=%d failed=%d\n", tried, failed);
	if (!hold) {
		hclose(&sb);
		hclose(&sa);
	}
	return 0;
}

static void __exit ibnbd_hostile_exit(void)
{
	hclose(&sb);
	hclose(&sa);
	free_pages((unsigned long)buf, BUF_ORDER);
}

module_init(ibnbd_hostile_init);
module_exit(ibnbd_hostile_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("IBNBD server test: malformed RNBD messages over IBTRS");
