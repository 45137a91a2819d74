// SPDX-License-Identifier: GPL-2.0
/*
 * ibtrs_test_server: serves a RAM buffer over IBTRS using only
 * include/ibtrs.h. A WRITE stores its data at the offset in the user header,
 * a READ returns the bytes at that offset. Every request is answered at once
 * from the IO event (softirq), out-of-range ones with -EINVAL.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/vmalloc.h>
#include <linux/atomic.h>
#include <linux/string.h>
#include <linux/err.h>
#include <ibtrs.h>
#include "ibtrs_test.h"

static ushort port = IBTRS_PORT;
module_param(port, ushort, 0444);
MODULE_PARM_DESC(port, "RDMA-CM port to listen on");

static int buf_mb = 32;
module_param(buf_mb, int, 0444);
MODULE_PARM_DESC(buf_mb, "size of the served RAM buffer in MiB");

static atomic_t ios = ATOMIC_INIT(0);
static int ios_served;
module_param(ios_served, int, 0444);
static int sessions;
module_param(sessions, int, 0444);
MODULE_PARM_DESC(sessions, "client sessions connected now");

static u8 *ram;
static size_t ram_size;
static struct ibtrs_srv_ctx *ctx;

static int test_rdma_ev(void *priv, struct ibtrs_srv_op *id, int dir, void *data, u32 datalen,
			const void *usr, u32 usrlen)
{
	struct ibtrs_test_hdr h;
	u64 off;
	u32 len;

	if (usrlen < sizeof(h))
		return -EBADMSG;
	memcpy(&h, usr, sizeof(h));
	if (le32_to_cpu(h.magic) != IBTRS_TEST_MAGIC)
		return -EBADMSG;
	off = le64_to_cpu(h.offset);
	len = le32_to_cpu(h.len);
	if (len != datalen || off > ram_size || len > ram_size - off)
		return -EINVAL;
	if (dir == IBTRS_WRITE)
		memcpy(ram + off, data, len);
	else
		memcpy(data, ram + off, len);
	ios_served = atomic_inc_return(&ios);
	ibtrs_srv_resp_rdma(id, 0);
	return 0;
}

static int test_link_ev(struct ibtrs_srv_sess *sess, enum ibtrs_srv_link_ev ev, void *priv)
{
	char name[IBTRS_SESSNAME_MAX];

	ibtrs_srv_get_path_name(sess, name, sizeof(name));
	if (ev == IBTRS_SRV_LINK_EV_CONNECTED) {
		sessions++;
		pr_info("ibtrs_test_server: session '%s' connected, queue depth %d\n", name,
			ibtrs_srv_get_queue_depth(sess));
	} else {
		sessions--;
		pr_info("ibtrs_test_server: session '%s' disconnected\n", name);
	}
	return 0;
}

static const struct ibtrs_srv_ops test_ops = {
	.rdma_ev = test_rdma_ev,
	.link_ev = test_link_ev,
};

static int __init ibtrs_test_server_init(void)
{
	ram_size = (size_t)buf_mb << 20;
	ram = vzalloc(ram_size);
	if (!ram)
		return -ENOMEM;
	ctx = ibtrs_srv_open(&test_ops, port);
	if (IS_ERR(ctx)) {
		vfree(ram);
		return PTR_ERR(ctx);
	}
	pr_info("ibtrs_test_server: serving %d MiB on port %u\n", buf_mb, port);
	return 0;
}

static void __exit ibtrs_test_server_exit(void)
{
	ibtrs_srv_close(ctx);
	vfree(ram);
	pr_info("ibtrs_test_server: unloaded after %d IOs\n", atomic_read(&ios));
}

module_init(ibtrs_test_server_init);
module_exit(ibtrs_test_server_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("IBTRS transport test: RAM buffer server");
