// SPDX-License-Identifier: GPL-2.0
/*
 * kcxx shim: rdma_cm connection management and address helpers. No policy:
 * each function wraps one rdma_cm call (or macro) and converts types. The
 * event trampoline turns struct rdma_cm_event into struct kx_cm_event and
 * calls the kx_cm_handler the id's context points at.
 */
#include <linux/build_bug.h>
#include <linux/inet.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/socket.h>
#include <linux/string.h>
#include <linux/kernel.h>
#include <net/net_namespace.h>
#include <rdma/ib.h>
#include <rdma/ib_cm.h>
#include <rdma/rdma_cm.h>
#include <kx/shim_rdma.h>
#include "kx_shim_rdma_types.h"

KX_MIRROR(KX_CM_EVENT_ADDR_RESOLVED, RDMA_CM_EVENT_ADDR_RESOLVED);
KX_MIRROR(KX_CM_EVENT_ROUTE_RESOLVED, RDMA_CM_EVENT_ROUTE_RESOLVED);
KX_MIRROR(KX_CM_EVENT_CONNECT_REQUEST, RDMA_CM_EVENT_CONNECT_REQUEST);
KX_MIRROR(KX_CM_EVENT_REJECTED, RDMA_CM_EVENT_REJECTED);
KX_MIRROR(KX_CM_EVENT_ESTABLISHED, RDMA_CM_EVENT_ESTABLISHED);
KX_MIRROR(KX_CM_EVENT_DISCONNECTED, RDMA_CM_EVENT_DISCONNECTED);
KX_MIRROR(KX_CM_EVENT_DEVICE_REMOVAL, RDMA_CM_EVENT_DEVICE_REMOVAL);
KX_MIRROR(KX_CM_EVENT_ADDR_CHANGE, RDMA_CM_EVENT_ADDR_CHANGE);
KX_MIRROR(KX_CM_EVENT_TIMEWAIT_EXIT, RDMA_CM_EVENT_TIMEWAIT_EXIT);
KX_MIRROR(KX_CM_REQ_PDATA_MAX, IB_CM_REQ_PRIVATE_DATA_SIZE - 36 /* cma_hdr */);
KX_MIRROR(KX_CM_REP_PDATA_MAX, IB_CM_REP_PRIVATE_DATA_SIZE);
KX_MIRROR(KX_CM_REJ_PDATA_MAX, IB_CM_REJ_PRIVATE_DATA_SIZE);
KX_MIRROR(KX_IB_EVENT_QP_FATAL, IB_EVENT_QP_FATAL);
KX_MIRROR(KX_IB_EVENT_COMM_EST, IB_EVENT_COMM_EST);
KX_MIRROR(KX_AF_INET, AF_INET);
KX_MIRROR(KX_AF_INET6, AF_INET6);
KX_MIRROR(KX_AF_IB, AF_IB);

static inline struct rdma_cm_id *kx_id(const struct kx_cm_id *id)
{
	return (struct rdma_cm_id *)id;
}

static int kx_cm_trampoline(struct rdma_cm_id *id, struct rdma_cm_event *ev)
{
	struct kx_cm_handler *h = id->context;
	struct kx_cm_event kev = {
		.type = ev->event,
		.status = ev->status,
		.private_data = ev->param.conn.private_data,
		.private_data_len = ev->param.conn.private_data_len,
		.responder_resources = ev->param.conn.responder_resources,
		.initiator_depth = ev->param.conn.initiator_depth,
	};

	if (ev->event == RDMA_CM_EVENT_REJECTED) {
		/* NULL unless the peer's ULP rejected (IB_CM_REJ_CONSUMER_DEFINED). */
		kev.private_data = rdma_consumer_reject_data(id, ev, &kev.private_data_len);
		kev.consumer_reject = kev.private_data != NULL;
	}
	return h->event(h->ctx, (struct kx_cm_id *)id, &kev);
}

int kx_cm_create_id(struct kx_cm_handler *h, kx_u32 port_space, struct kx_cm_id **out)
{
	enum rdma_ucm_port_space ps = port_space == KX_CM_PS_IB ? RDMA_PS_IB : RDMA_PS_TCP;
	struct rdma_cm_id *id;

	id = rdma_create_id(&init_net, kx_cm_trampoline, h, ps, IB_QPT_RC);
	if (IS_ERR(id)) {
		pr_err(KBUILD_MODNAME ": rdma_create_id: %ld\n", PTR_ERR(id));
		return PTR_ERR(id);
	}
	*out = (struct kx_cm_id *)id;
	return 0;
}

void kx_cm_set_handler(struct kx_cm_id *id, struct kx_cm_handler *h)
{
	kx_id(id)->context = h;
}

void kx_cm_destroy_id(struct kx_cm_id *id)
{
	if (id)
		rdma_destroy_id(kx_id(id));
}

int kx_cm_set_reuseaddr(struct kx_cm_id *id, int reuse)
{
	int ret = rdma_set_reuseaddr(kx_id(id), reuse);

	if (ret)
		pr_err(KBUILD_MODNAME ": rdma_set_reuseaddr: %d\n", ret);
	return ret;
}

int kx_cm_set_afonly(struct kx_cm_id *id, int afonly)
{
	int ret = rdma_set_afonly(kx_id(id), afonly);

	if (ret)
		pr_err(KBUILD_MODNAME ": rdma_set_afonly: %d\n", ret);
	return ret;
}

int kx_cm_bind_addr(struct kx_cm_id *id, const void *addr)
{
	int ret = rdma_bind_addr(kx_id(id), (struct sockaddr *)addr);

	if (ret)
		pr_err(KBUILD_MODNAME ": rdma_bind_addr %pISpc: %d\n", addr, ret);
	return ret;
}

int kx_cm_listen(struct kx_cm_id *id, int backlog)
{
	int ret = rdma_listen(kx_id(id), backlog);

	if (ret)
		pr_err(KBUILD_MODNAME ": rdma_listen: %d\n", ret);
	return ret;
}

int kx_cm_resolve_addr(struct kx_cm_id *id, const void *src, const void *dst, kx_u32 timeout_ms)
{
	int ret = rdma_resolve_addr(kx_id(id), (struct sockaddr *)src,
				    (const struct sockaddr *)dst, timeout_ms);

	if (ret)
		pr_err(KBUILD_MODNAME ": rdma_resolve_addr %pISpc: %d\n", dst, ret);
	return ret;
}

int kx_cm_resolve_route(struct kx_cm_id *id, kx_u32 timeout_ms)
{
	int ret = rdma_resolve_route(kx_id(id), timeout_ms);

	if (ret)
		pr_err(KBUILD_MODNAME ": rdma_resolve_route: %d\n", ret);
	return ret;
}

static void kx_conn_param(struct rdma_conn_param *cp, const struct kx_conn_param *p)
{
	*cp = (struct rdma_conn_param){
		.private_data = p->private_data,
		.private_data_len = p->private_data_len,
		.responder_resources = p->responder_resources,
		.initiator_depth = p->initiator_depth,
		.flow_control = p->flow_control,
		.retry_count = p->retry_count,
		.rnr_retry_count = p->rnr_retry_count,
	};
}

int kx_cm_connect(struct kx_cm_id *id, const struct kx_conn_param *p)
{
	struct rdma_conn_param cp;
	int ret;

	kx_conn_param(&cp, p);
	ret = rdma_connect(kx_id(id), &cp);
	if (ret)
		pr_err(KBUILD_MODNAME ": rdma_connect: %d\n", ret);
	return ret;
}

int kx_cm_connect_locked(struct kx_cm_id *id, const struct kx_conn_param *p)
{
	struct rdma_conn_param cp;
	int ret;

	kx_conn_param(&cp, p);
	ret = rdma_connect_locked(kx_id(id), &cp);
	if (ret)
		pr_err(KBUILD_MODNAME ": rdma_connect_locked: %d\n", ret);
	return ret;
}

int kx_cm_accept(struct kx_cm_id *id, const struct kx_conn_param *p)
{
	struct rdma_conn_param cp;
	int ret;

	kx_conn_param(&cp, p);
	ret = rdma_accept(kx_id(id), &cp);
	if (ret)
		pr_err(KBUILD_MODNAME ": rdma_accept: %d\n", ret);
	return ret;
}

int kx_cm_reject(struct kx_cm_id *id, const void *pdata, kx_u8 len)
{
	int ret = rdma_reject(kx_id(id), pdata, len, IB_CM_REJ_CONSUMER_DEFINED);

	if (ret)
		pr_err(KBUILD_MODNAME ": rdma_reject: %d\n", ret);
	return ret;
}

int kx_cm_disconnect(struct kx_cm_id *id)
{
	int ret = rdma_disconnect(kx_id(id));

	if (ret)
		pr_err(KBUILD_MODNAME ": rdma_disconnect: %d\n", ret);
	return ret;
}

int kx_cm_established(struct kx_cm_id *id)
{
	int ret = rdma_notify(kx_id(id), IB_EVENT_COMM_EST);

	if (ret)
		pr_err(KBUILD_MODNAME ": rdma_notify(COMM_EST): %d\n", ret);
	return ret;
}

void kx_cm_lock_handler(struct kx_cm_id *id)
{
	rdma_lock_handler(kx_id(id));
}

void kx_cm_unlock_handler(struct kx_cm_id *id)
{
	rdma_unlock_handler(kx_id(id));
}

struct kx_ib_device *kx_cm_device(const struct kx_cm_id *id)
{
	return (struct kx_ib_device *)kx_id(id)->device;
}

kx_u32 kx_cm_port(const struct kx_cm_id *id)
{
	return kx_id(id)->port_num;
}

struct kx_qp *kx_cm_qp(const struct kx_cm_id *id)
{
	return (struct kx_qp *)kx_id(id)->qp;
}

void kx_cm_src_addr(const struct kx_cm_id *id, void *addr)
{
	memcpy(addr, &kx_id(id)->route.addr.src_addr, sizeof(struct sockaddr_storage));
}

void kx_cm_dst_addr(const struct kx_cm_id *id, void *addr)
{
	memcpy(addr, &kx_id(id)->route.addr.dst_addr, sizeof(struct sockaddr_storage));
}

const char *kx_cm_event_msg(kx_u32 type)
{
	return rdma_event_msg(type);
}

const char *kx_cm_reject_msg(struct kx_cm_id *id, kx_i32 status)
{
	return rdma_reject_msg(kx_id(id), status);
}

const char *kx_ib_event_msg(kx_u32 type)
{
	return ib_event_msg(type);
}

/* ---- addresses ---------------------------------------------------------------- */

static int kx_addr_parse_gid(const char *s, size_t len, u16 port, struct sockaddr_storage *ss)
{
	struct sockaddr_ib *sib = (struct sockaddr_ib *)ss;

	/* A GID is written like an IPv6 address. */
	if (!in6_pton(s, len, sib->sib_addr.sib_raw, '\0', NULL))
		return -EINVAL;
	sib->sib_family = AF_IB;
	/* The IP port becomes the service id in the IB port space, as RTRS does. */
	sib->sib_sid = cpu_to_be64(RDMA_IB_IP_PS_IB | port);
	sib->sib_sid_mask = cpu_to_be64(0xffffffffffffffffULL);
	sib->sib_pkey = cpu_to_be16(0xffff);
	return 0;
}

int kx_addr_parse(const char *str, kx_usize len, kx_u16 port, void *addr)
{
	char ip[INET6_ADDRSTRLEN + 16], port_str[8];

	memset(addr, 0, sizeof(struct sockaddr_storage));
	len = strnlen(str, len);
	if (len > 4 && !strncmp(str, "gid:", 4))
		return kx_addr_parse_gid(str + 4, len - 4, port, addr);
	if (len <= 3 || strncmp(str, "ip:", 3))
		return -EPROTONOSUPPORT;
	if (len - 3 >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, str + 3, len - 3);
	ip[len - 3] = '\0';
	snprintf(port_str, sizeof(port_str), "%u", port);
	return inet_pton_with_scope(&init_net, AF_UNSPEC, ip, port_str, addr);
}

int kx_addr_to_str(const void *addr, char *buf, kx_usize len)
{
	const struct sockaddr *sa = addr;

	switch (sa->sa_family) {
	case AF_IB:
		return scnprintf(buf, len, "gid:%pI6", &((struct sockaddr_ib *)sa)->sib_addr.sib_raw);
	case AF_INET:
		return scnprintf(buf, len, "ip:%pI4", &((struct sockaddr_in *)sa)->sin_addr);
	case AF_INET6:
		return scnprintf(buf, len, "ip:%pI6c", &((struct sockaddr_in6 *)sa)->sin6_addr);
	}
	return scnprintf(buf, len, "<family %u>", sa->sa_family);
}

int kx_addr_any(void *addr, kx_u32 family, kx_u16 port)
{
	struct sockaddr_in *sin = addr;
	struct sockaddr_in6 *sin6 = addr;

	memset(addr, 0, sizeof(struct sockaddr_storage));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		sin->sin_port = htons(port);
		return 0;
	}
	if (family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		sin6->sin6_port = htons(port);
		return 0;
	}
	return -EAFNOSUPPORT;
}

kx_u32 kx_addr_family(const void *addr)
{
	return ((const struct sockaddr *)addr)->sa_family;
}

kx_u16 kx_addr_port(const void *addr)
{
	const struct sockaddr *sa = addr;

	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

int kx_addr_cmp(const void *a, const void *b)
{
	const struct sockaddr *x = a, *y = b;

	if (x->sa_family != y->sa_family)
		return 1;
	switch (x->sa_family) {
	case AF_INET:
		return memcmp(&((const struct sockaddr_in *)x)->sin_addr,
			      &((const struct sockaddr_in *)y)->sin_addr, sizeof(struct in_addr));
	case AF_INET6:
		return memcmp(&((const struct sockaddr_in6 *)x)->sin6_addr,
			      &((const struct sockaddr_in6 *)y)->sin6_addr, sizeof(struct in6_addr));
	case AF_IB:
		return memcmp(&((const struct sockaddr_ib *)x)->sib_addr,
			      &((const struct sockaddr_ib *)y)->sib_addr, sizeof(struct ib_addr));
	}
	return 1;
}
