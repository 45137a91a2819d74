// SPDX-License-Identifier: GPL-2.0
/*
 * kcxx shim: verbs. Device attributes, PD, CQ, QP on an rdma_cm id, DMA
 * mapping, fast-registration MRs, and the post functions, which build the
 * ib_*_wr structures on their own stack from kx descriptors. No policy: the
 * signal interval, chain layout and key management belong to the caller.
 *
 * Completions: every WR points at a struct kx_cqe (kx_shim_rdma_types.h)
 * embedded in a C++ object; kx_cqe_done() converts the ib_wc and calls the
 * C++ function stored next to the ib_cqe.
 */
#include <linux/build_bug.h>
#include <linux/scatterlist.h>
#include <linux/string.h>
#include <linux/kernel.h>
#include <rdma/ib_verbs.h>
#include <rdma/rdma_cm.h>
#include <kx/shim_rdma.h>
#include "kx_shim_rdma_types.h"

KX_MIRROR(KX_POLL_SOFTIRQ, IB_POLL_SOFTIRQ);
KX_MIRROR(KX_POLL_WORKQUEUE, IB_POLL_WORKQUEUE);
KX_MIRROR(KX_POLL_UNBOUND_WORKQUEUE, IB_POLL_UNBOUND_WORKQUEUE);
KX_MIRROR(KX_POLL_DIRECT, IB_POLL_DIRECT);
KX_MIRROR(KX_DMA_BIDIRECTIONAL, DMA_BIDIRECTIONAL);
KX_MIRROR(KX_DMA_TO_DEVICE, DMA_TO_DEVICE);
KX_MIRROR(KX_DMA_FROM_DEVICE, DMA_FROM_DEVICE);
KX_MIRROR(KX_WR_RDMA_WRITE, IB_WR_RDMA_WRITE);
KX_MIRROR(KX_WR_RDMA_WRITE_WITH_IMM, IB_WR_RDMA_WRITE_WITH_IMM);
KX_MIRROR(KX_WR_SEND, IB_WR_SEND);
KX_MIRROR(KX_WR_SEND_WITH_IMM, IB_WR_SEND_WITH_IMM);
KX_MIRROR(KX_WR_RDMA_READ, IB_WR_RDMA_READ);
KX_MIRROR(KX_WR_LOCAL_INV, IB_WR_LOCAL_INV);
KX_MIRROR(KX_WR_SEND_WITH_INV, IB_WR_SEND_WITH_INV);
KX_MIRROR(KX_WR_REG_MR, IB_WR_REG_MR);
KX_MIRROR(KX_SEND_FENCE, IB_SEND_FENCE);
KX_MIRROR(KX_SEND_SIGNALED, IB_SEND_SIGNALED);
KX_MIRROR(KX_SEND_SOLICITED, IB_SEND_SOLICITED);
KX_MIRROR(KX_SEND_INLINE, IB_SEND_INLINE);
KX_MIRROR(KX_ACCESS_LOCAL_WRITE, IB_ACCESS_LOCAL_WRITE);
KX_MIRROR(KX_ACCESS_REMOTE_WRITE, IB_ACCESS_REMOTE_WRITE);
KX_MIRROR(KX_ACCESS_REMOTE_READ, IB_ACCESS_REMOTE_READ);
KX_MIRROR(KX_WC_SUCCESS, IB_WC_SUCCESS);
KX_MIRROR(KX_WC_LOC_LEN_ERR, IB_WC_LOC_LEN_ERR);
KX_MIRROR(KX_WC_LOC_QP_OP_ERR, IB_WC_LOC_QP_OP_ERR);
KX_MIRROR(KX_WC_LOC_PROT_ERR, IB_WC_LOC_PROT_ERR);
KX_MIRROR(KX_WC_WR_FLUSH_ERR, IB_WC_WR_FLUSH_ERR);
KX_MIRROR(KX_WC_REM_INV_REQ_ERR, IB_WC_REM_INV_REQ_ERR);
KX_MIRROR(KX_WC_REM_ACCESS_ERR, IB_WC_REM_ACCESS_ERR);
KX_MIRROR(KX_WC_REM_OP_ERR, IB_WC_REM_OP_ERR);
KX_MIRROR(KX_WC_RETRY_EXC_ERR, IB_WC_RETRY_EXC_ERR);
KX_MIRROR(KX_WC_RNR_RETRY_EXC_ERR, IB_WC_RNR_RETRY_EXC_ERR);
KX_MIRROR(KX_WC_SEND, IB_WC_SEND);
KX_MIRROR(KX_WC_RDMA_WRITE, IB_WC_RDMA_WRITE);
KX_MIRROR(KX_WC_RDMA_READ, IB_WC_RDMA_READ);
KX_MIRROR(KX_WC_LOCAL_INV, IB_WC_LOCAL_INV);
KX_MIRROR(KX_WC_REG_MR, IB_WC_REG_MR);
KX_MIRROR(KX_WC_RECV, IB_WC_RECV);
KX_MIRROR(KX_WC_RECV_RDMA_WITH_IMM, IB_WC_RECV_RDMA_WITH_IMM);
KX_MIRROR(KX_WC_WITH_IMM, IB_WC_WITH_IMM);
KX_MIRROR(KX_WC_WITH_INVALIDATE, IB_WC_WITH_INVALIDATE);
static_assert(sizeof(struct kx_sge) == sizeof(struct ib_sge));
static_assert(offsetof(struct kx_sge, addr) == offsetof(struct ib_sge, addr));
static_assert(offsetof(struct kx_sge, length) == offsetof(struct ib_sge, length));
static_assert(offsetof(struct kx_sge, lkey) == offsetof(struct ib_sge, lkey));
static_assert(sizeof(((struct kx_ib_device_attr *)0)->name) == IB_DEVICE_NAME_MAX);

#define KX_IBDEV(d) ((struct ib_device *)(d))
#define KX_PD(p) ((struct ib_pd *)(p))
#define KX_CQ(c) ((struct ib_cq *)(c))
#define KX_QP(q) ((struct ib_qp *)(q))
#define KX_MR(m) ((struct ib_mr *)(m))
#define KX_SGL(s) ((struct scatterlist *)(s))

/* ---- device, PD, CQ -------------------------------------------------------------- */

void kx_ib_device_query(const struct kx_ib_device *d, struct kx_ib_device_attr *out)
{
	const struct ib_device *dev = (const struct ib_device *)d;
	const struct ib_device_attr *a = &dev->attrs;

	memset(out, 0, sizeof(*out));
	strscpy(out->name, dev_name(&dev->dev), sizeof(out->name));
	out->node_guid = be64_to_cpu(dev->node_guid);
	out->max_mr_size = a->max_mr_size;
	out->page_size_cap = a->page_size_cap;
	out->max_qp_wr = a->max_qp_wr;
	out->max_send_sge = a->max_send_sge;
	out->max_recv_sge = a->max_recv_sge;
	out->max_cqe = a->max_cqe;
	out->max_mr = a->max_mr;
	out->max_qp_rd_atom = a->max_qp_rd_atom;
	out->max_qp_init_rd_atom = a->max_qp_init_rd_atom;
	out->max_fast_reg_page_list_len = a->max_fast_reg_page_list_len;
	out->num_comp_vectors = dev->num_comp_vectors;
	out->phys_port_cnt = dev->phys_port_cnt;
	out->mem_mgt_extensions = !!(a->device_cap_flags & IB_DEVICE_MEM_MGT_EXTENSIONS);
	out->sg_gaps_reg = !!(a->kernel_cap_flags & IBK_SG_GAPS_REG);
	out->local_dma_lkey = !!(a->kernel_cap_flags & IBK_LOCAL_DMA_LKEY);
}

int kx_ib_port_query(struct kx_ib_device *dev, kx_u32 port, struct kx_ib_port_attr *out)
{
	struct ib_port_attr pa;
	int ret = ib_query_port(KX_IBDEV(dev), port, &pa);

	if (ret) {
		pr_err(KBUILD_MODNAME ": ib_query_port %u: %d\n", port, ret);
		return ret;
	}
	out->state = pa.state;
	out->active_mtu = ib_mtu_enum_to_int(pa.active_mtu);
	out->max_mtu = ib_mtu_enum_to_int(pa.max_mtu);
	out->gid_tbl_len = pa.gid_tbl_len;
	return 0;
}

int kx_ib_pd_alloc(struct kx_ib_device *dev, struct kx_pd **out)
{
	struct ib_pd *pd = ib_alloc_pd(KX_IBDEV(dev), 0);

	if (IS_ERR(pd)) {
		pr_err(KBUILD_MODNAME ": ib_alloc_pd: %ld\n", PTR_ERR(pd));
		return PTR_ERR(pd);
	}
	*out = (struct kx_pd *)pd;
	return 0;
}

void kx_ib_pd_free(struct kx_pd *pd)
{
	if (pd)
		ib_dealloc_pd(KX_PD(pd));
}

kx_u32 kx_ib_pd_local_dma_lkey(const struct kx_pd *pd)
{
	return ((const struct ib_pd *)pd)->local_dma_lkey;
}

int kx_ib_cq_alloc(struct kx_ib_device *dev, kx_u32 nr_cqe, int comp_vector, kx_u32 poll_ctx,
		   struct kx_cq **out)
{
	struct ib_cq *cq = ib_alloc_cq(KX_IBDEV(dev), NULL, nr_cqe, comp_vector, poll_ctx);

	if (IS_ERR(cq)) {
		pr_err(KBUILD_MODNAME ": ib_alloc_cq(%u, poll %u): %ld\n", nr_cqe, poll_ctx,
		       PTR_ERR(cq));
		return PTR_ERR(cq);
	}
	*out = (struct kx_cq *)cq;
	return 0;
}

void kx_ib_cq_free(struct kx_cq *cq)
{
	if (cq)
		ib_free_cq(KX_CQ(cq));
}

int kx_ib_cq_pool_get(struct kx_ib_device *dev, kx_u32 nr_cqe, int vector_hint, kx_u32 poll_ctx,
		      struct kx_cq **out)
{
	struct ib_cq *cq;

	/* The pools have no IB_POLL_DIRECT CQs; ib_cq_pool_get would WARN. */
	if (poll_ctx > IB_POLL_LAST_POOL_TYPE) {
		pr_err(KBUILD_MODNAME ": ib_cq_pool_get: poll context %u has no pool\n", poll_ctx);
		return -EINVAL;
	}
	cq = ib_cq_pool_get(KX_IBDEV(dev), nr_cqe, vector_hint, poll_ctx);
	if (IS_ERR(cq)) {
		pr_err(KBUILD_MODNAME ": ib_cq_pool_get(%u, poll %u): %ld\n", nr_cqe, poll_ctx,
		       PTR_ERR(cq));
		return PTR_ERR(cq);
	}
	*out = (struct kx_cq *)cq;
	return 0;
}

void kx_ib_cq_pool_put(struct kx_cq *cq, kx_u32 nr_cqe)
{
	if (cq)
		ib_cq_pool_put(KX_CQ(cq), nr_cqe);
}

int kx_ib_cq_poll(struct kx_cq *cq, int budget)
{
	return ib_process_cq_direct(KX_CQ(cq), budget);
}

/* ---- QP ------------------------------------------------------------------------ */

/* qp_context is the cm_id; its context is the kx_cm_handler (rdma_cm.c). */
static void kx_qp_event_trampoline(struct ib_event *ev, void *qp_context)
{
	struct rdma_cm_id *id = qp_context;
	struct kx_cm_handler *h = id->context;

	if (h && h->qp_event)
		h->qp_event(h->ctx, (struct kx_cm_id *)id, ev->event);
	else
		pr_warn(KBUILD_MODNAME ": QP event %s\n", ib_event_msg(ev->event));
}

int kx_cm_create_qp(struct kx_cm_id *kid, struct kx_pd *pd, struct kx_cq *send_cq,
		    struct kx_cq *recv_cq, struct kx_qp_caps *caps, struct kx_qp **out)
{
	struct rdma_cm_id *id = (struct rdma_cm_id *)kid;
	struct ib_qp_init_attr attr = {
		.event_handler = kx_qp_event_trampoline,
		.qp_context = id,
		.send_cq = KX_CQ(send_cq),
		.recv_cq = KX_CQ(recv_cq),
		.cap = {
			.max_send_wr = caps->max_send_wr,
			.max_recv_wr = caps->max_recv_wr,
			.max_send_sge = caps->max_send_sge,
			.max_recv_sge = caps->max_recv_sge,
			.max_inline_data = caps->max_inline_data,
		},
		.sq_sig_type = IB_SIGNAL_REQ_WR,
		.qp_type = IB_QPT_RC,
	};
	int ret = rdma_create_qp(id, KX_PD(pd), &attr);

	if (ret) {
		pr_err(KBUILD_MODNAME ": rdma_create_qp(sq %u, rq %u): %d\n", caps->max_send_wr,
		       caps->max_recv_wr, ret);
		return ret;
	}
	caps->max_send_wr = attr.cap.max_send_wr;
	caps->max_recv_wr = attr.cap.max_recv_wr;
	caps->max_send_sge = attr.cap.max_send_sge;
	caps->max_recv_sge = attr.cap.max_recv_sge;
	caps->max_inline_data = attr.cap.max_inline_data;
	*out = (struct kx_qp *)id->qp;
	return 0;
}

void kx_cm_destroy_qp(struct kx_cm_id *id)
{
	rdma_destroy_qp((struct rdma_cm_id *)id);
}

void kx_ib_drain_qp(struct kx_qp *qp)
{
	ib_drain_qp(KX_QP(qp));
}

void kx_ib_drain_sq(struct kx_qp *qp)
{
	ib_drain_sq(KX_QP(qp));
}

void kx_ib_drain_rq(struct kx_qp *qp)
{
	ib_drain_rq(KX_QP(qp));
}

kx_u32 kx_ib_qp_num(const struct kx_qp *qp)
{
	return ((const struct ib_qp *)qp)->qp_num;
}

/* ---- completions ------------------------------------------------------------------ */

static void kx_cqe_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct kx_cqe *c = container_of(wc->wr_cqe, struct kx_cqe, cqe);
	struct kx_wc k = {
		.cqe_ctx = c->ctx,
		.status = wc->status,
		.opcode = wc->opcode,
		.byte_len = wc->byte_len,
		.wc_flags = wc->wc_flags,
		.vendor_err = wc->vendor_err,
		.qp_num = wc->qp ? wc->qp->qp_num : 0,
	};

	/* ex is a union: which member is valid depends on the flags. */
	if (wc->wc_flags & IB_WC_WITH_IMM)
		k.imm_data = be32_to_cpu(wc->ex.imm_data);
	if (wc->wc_flags & IB_WC_WITH_INVALIDATE)
		k.invalidated_rkey = wc->ex.invalidate_rkey;
	c->done(c->ctx, &k);
}

void kx_cqe_init(struct kx_cqe *cqe, void (*done)(void *ctx, const struct kx_wc *wc), void *ctx)
{
	cqe->cqe.done = kx_cqe_done;
	cqe->done = done;
	cqe->ctx = ctx;
}

const char *kx_wc_status_str(kx_u32 status)
{
	return ib_wc_status_msg(status);
}

/* ---- posting ---------------------------------------------------------------------- */

int kx_ib_post_recv(struct kx_qp *qp, struct kx_cqe *cqe, const struct kx_sge *sges, kx_u32 num_sge)
{
	struct ib_recv_wr wr = {
		.wr_cqe = &cqe->cqe,
		.sg_list = (struct ib_sge *)sges,
		.num_sge = num_sge,
	};
	int ret = ib_post_recv(KX_QP(qp), &wr, NULL);

	if (unlikely(ret))
		pr_err_ratelimited(KBUILD_MODNAME ": ib_post_recv: %d\n", ret);
	return ret;
}

/* Each WR of a chain, as the largest ib_*_wr the opcode needs. */
union kx_any_wr {
	struct ib_send_wr send;
	struct ib_rdma_wr rdma;
	struct ib_reg_wr reg;
};

static int kx_build_wr(const struct kx_send_wr *k, union kx_any_wr *w)
{
	memset(w, 0, sizeof(*w));
	if (unlikely(!k->cqe))
		return -EINVAL;
	w->send.wr_cqe = &k->cqe->cqe;
	w->send.sg_list = (struct ib_sge *)k->sg_list;
	w->send.num_sge = k->num_sge;
	w->send.opcode = k->opcode;
	w->send.send_flags = k->flags;
	switch (k->opcode) {
	case IB_WR_SEND:
		return 0;
	case IB_WR_SEND_WITH_IMM:
		w->send.ex.imm_data = cpu_to_be32(k->imm_data);
		return 0;
	case IB_WR_SEND_WITH_INV:
	case IB_WR_LOCAL_INV:
		w->send.ex.invalidate_rkey = k->invalidate_rkey;
		return 0;
	case IB_WR_RDMA_WRITE_WITH_IMM:
		w->send.ex.imm_data = cpu_to_be32(k->imm_data);
		fallthrough;
	case IB_WR_RDMA_WRITE:
	case IB_WR_RDMA_READ:
		w->rdma.remote_addr = k->remote_addr;
		w->rdma.rkey = k->rkey;
		return 0;
	case IB_WR_REG_MR:
		if (unlikely(!k->mr))
			return -EINVAL;
		w->reg.mr = KX_MR(k->mr);
		w->reg.key = KX_MR(k->mr)->rkey;
		w->reg.access = k->access;
		return 0;
	}
	return -EINVAL;
}

int kx_ib_post_send(struct kx_qp *qp, const struct kx_send_wr *wrs, kx_u32 n, kx_u32 *bad)
{
	union kx_any_wr w[KX_SEND_CHAIN_MAX];
	const struct ib_send_wr *bad_wr = NULL;
	kx_u32 i;
	int ret;

	if (bad)
		*bad = 0;
	if (unlikely(n == 0 || n > KX_SEND_CHAIN_MAX))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		ret = kx_build_wr(&wrs[i], &w[i]);
		if (unlikely(ret)) {
			pr_err_ratelimited(KBUILD_MODNAME ": bad send WR %u (opcode %u)\n", i,
					   wrs[i].opcode);
			return ret;
		}
		if (i)
			w[i - 1].send.next = &w[i].send;
	}
	ret = ib_post_send(KX_QP(qp), &w[0].send, &bad_wr);
	if (unlikely(ret)) {
		if (bad && bad_wr)
			*bad = (union kx_any_wr *)bad_wr - w;
		pr_err_ratelimited(KBUILD_MODNAME ": ib_post_send: %d\n", ret);
	}
	return ret;
}

/* ---- DMA ---------------------------------------------------------------------------- */

int kx_ib_dma_map_single(struct kx_ib_device *dev, void *buf, kx_usize len, kx_u32 dir,
			 kx_u64 *dma)
{
	u64 addr = ib_dma_map_single(KX_IBDEV(dev), buf, len, dir);

	if (ib_dma_mapping_error(KX_IBDEV(dev), addr)) {
		pr_err(KBUILD_MODNAME ": ib_dma_map_single(%zu bytes) failed\n", (size_t)len);
		return -ENOMEM;
	}
	*dma = addr;
	return 0;
}

void kx_ib_dma_unmap_single(struct kx_ib_device *dev, kx_u64 dma, kx_usize len, kx_u32 dir)
{
	ib_dma_unmap_single(KX_IBDEV(dev), dma, len, dir);
}

void kx_ib_dma_sync_for_cpu(struct kx_ib_device *dev, kx_u64 dma, kx_usize len, kx_u32 dir)
{
	ib_dma_sync_single_for_cpu(KX_IBDEV(dev), dma, len, dir);
}

void kx_ib_dma_sync_for_device(struct kx_ib_device *dev, kx_u64 dma, kx_usize len, kx_u32 dir)
{
	ib_dma_sync_single_for_device(KX_IBDEV(dev), dma, len, dir);
}

void kx_sg_init_table(struct kx_sgl *sgl, kx_u32 nents)
{
	sg_init_table(KX_SGL(sgl), nents);
}

void kx_sg_set_buf(struct kx_sgl *sgl, kx_u32 i, const void *buf, kx_u32 len)
{
	sg_set_buf(&KX_SGL(sgl)[i], buf, len);
}

kx_u64 kx_sg_dma_address(const struct kx_sgl *sgl, kx_u32 i)
{
	return sg_dma_address(&((const struct scatterlist *)sgl)[i]);
}

kx_u32 kx_sg_dma_len(const struct kx_sgl *sgl, kx_u32 i)
{
	return sg_dma_len(&((const struct scatterlist *)sgl)[i]);
}

int kx_ib_dma_map_sg(struct kx_ib_device *dev, struct kx_sgl *sgl, kx_u32 nents, kx_u32 dir)
{
	int count = ib_dma_map_sg(KX_IBDEV(dev), KX_SGL(sgl), nents, dir);

	if (count <= 0) {
		pr_err(KBUILD_MODNAME ": ib_dma_map_sg(%u entries) failed\n", nents);
		return -EIO;
	}
	return count;
}

void kx_ib_dma_unmap_sg(struct kx_ib_device *dev, struct kx_sgl *sgl, kx_u32 nents, kx_u32 dir)
{
	ib_dma_unmap_sg(KX_IBDEV(dev), KX_SGL(sgl), nents, dir);
}

/* ---- fast-registration MRs --------------------------------------------------------------- */

int kx_ib_mr_alloc(struct kx_pd *pd, kx_u32 max_pages, struct kx_mr **out)
{
	struct ib_mr *mr = ib_alloc_mr(KX_PD(pd), IB_MR_TYPE_MEM_REG, max_pages);

	if (IS_ERR(mr)) {
		pr_err(KBUILD_MODNAME ": ib_alloc_mr(%u pages): %ld\n", max_pages, PTR_ERR(mr));
		return PTR_ERR(mr);
	}
	*out = (struct kx_mr *)mr;
	return 0;
}

void kx_ib_mr_free(struct kx_mr *mr)
{
	int ret;

	if (!mr)
		return;
	ret = ib_dereg_mr(KX_MR(mr));
	if (ret)
		pr_err(KBUILD_MODNAME ": ib_dereg_mr: %d\n", ret);
}

int kx_ib_mr_map_sg(struct kx_mr *mr, struct kx_sgl *sgl, kx_u32 nents, kx_u32 page_size)
{
	int n = ib_map_mr_sg(KX_MR(mr), KX_SGL(sgl), nents, NULL, page_size);

	if (n < 0)
		pr_err_ratelimited(KBUILD_MODNAME ": ib_map_mr_sg(%u entries): %d\n", nents, n);
	return n;
}

void kx_ib_mr_query(const struct kx_mr *m, struct kx_mr_info *out)
{
	const struct ib_mr *mr = (const struct ib_mr *)m;

	out->iova = mr->iova;
	out->length = mr->length;
	out->lkey = mr->lkey;
	out->rkey = mr->rkey;
	out->page_size = mr->page_size;
}

void kx_ib_mr_update_key(struct kx_mr *mr, kx_u8 key)
{
	ib_update_fast_reg_key(KX_MR(mr), key);
}

kx_u32 kx_ib_inc_rkey(kx_u32 rkey)
{
	return ib_inc_rkey(rkey);
}

kx_u32 kx_ib_mr_bump_key(struct kx_mr *mr)
{
	ib_update_fast_reg_key(KX_MR(mr), ib_inc_rkey(KX_MR(mr)->rkey));
	return KX_MR(mr)->rkey;
}
