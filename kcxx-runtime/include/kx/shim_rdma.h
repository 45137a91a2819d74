/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The RDMA part of the C/C++ boundary: rdma_cm (shim/rdma_cm.c) and verbs
 * (shim/verbs.c). Same rules as kx/shim.h, which includes this header at its
 * end: extern "C", fixed-width types, opaque handles, plain mirror structs.
 * Every constant mirrored here is static_assert'ed against the kernel's value
 * in the C file that uses it.
 *
 * Unlike the rest of the shim these functions need ib_core and rdma_cm, so
 * they are NOT in kx_shim_all.c: an RDMA module opts in with a
 * kx_rdma_shim_<module>.o object and kcxx-runtime/kbuild-cxx-rdma.mk.
 *
 * Return convention: int functions return 0 (or a count where stated) or a
 * negative errno; constructors return the handle through an out parameter so
 * that the errno stays precise (PTR_ERR of the kernel call). Every failure is
 * logged once by the shim.
 *
 * Contexts: "process" = may sleep; "any" = also softirq/irq (no sleeping);
 * "handler" = only from inside this cm_id's event handler (the cm_id's
 * handler mutex is held), or between kx_cm_lock_handler/kx_cm_unlock_handler.
 */
#ifndef KX_SHIM_RDMA_H
#define KX_SHIM_RDMA_H

#include <kx/shim.h>

/* ---- opaque handles ------------------------------------------------------- */
struct kx_cm_id;      /* struct rdma_cm_id */
struct kx_ib_device;  /* struct ib_device */
struct kx_pd;         /* struct ib_pd */
struct kx_cq;         /* struct ib_cq */
struct kx_qp;         /* struct ib_qp */
struct kx_mr;         /* struct ib_mr */
/*
 * Embedded by C++ by value (sizes in kx_layout.h):
 *   struct kx_cqe  KX_SIZEOF_CQE / KX_ALIGNOF_CQE: { ib_cqe, done, ctx }
 *   struct kx_sgl  KX_SIZEOF_SCATTERLIST per entry: a struct scatterlist table
 *   sockaddr       KX_SIZEOF_SOCKADDR / KX_ALIGNOF_SOCKADDR: sockaddr_storage
 */
struct kx_cqe;
struct kx_sgl;

/* ---- mirrored constants ----------------------------------------------------- */
enum kx_cm_event_type { /* enum rdma_cm_event_type */
	KX_CM_EVENT_ADDR_RESOLVED = 0,
	KX_CM_EVENT_ADDR_ERROR = 1,
	KX_CM_EVENT_ROUTE_RESOLVED = 2,
	KX_CM_EVENT_ROUTE_ERROR = 3,
	KX_CM_EVENT_CONNECT_REQUEST = 4,
	KX_CM_EVENT_CONNECT_RESPONSE = 5,
	KX_CM_EVENT_CONNECT_ERROR = 6,
	KX_CM_EVENT_UNREACHABLE = 7,
	KX_CM_EVENT_REJECTED = 8,
	KX_CM_EVENT_ESTABLISHED = 9,
	KX_CM_EVENT_DISCONNECTED = 10,
	KX_CM_EVENT_DEVICE_REMOVAL = 11,
	KX_CM_EVENT_MULTICAST_JOIN = 12,
	KX_CM_EVENT_MULTICAST_ERROR = 13,
	KX_CM_EVENT_ADDR_CHANGE = 14,
	KX_CM_EVENT_TIMEWAIT_EXIT = 15,
};

enum kx_cm_port_space { /* RDMA_PS_TCP for IP addresses, RDMA_PS_IB for AF_IB (gid:) */
	KX_CM_PS_TCP = 0,
	KX_CM_PS_IB = 1,
};

/* IB CM private data sizes as seen by an rdma_cm user (RDMA_PS_TCP): */
enum {
	KX_CM_REQ_PDATA_MAX = 56,  /* connect: 92 - sizeof(struct cma_hdr) */
	KX_CM_REP_PDATA_MAX = 196, /* accept */
	KX_CM_REJ_PDATA_MAX = 148, /* reject */
};

enum kx_poll_ctx { /* enum ib_poll_context */
	KX_POLL_SOFTIRQ = 0,            /* done() in softirq */
	KX_POLL_WORKQUEUE = 1,          /* done() in a bound workqueue */
	KX_POLL_UNBOUND_WORKQUEUE = 2,  /* done() in an unbound workqueue */
	KX_POLL_DIRECT = 3,             /* done() inside kx_ib_cq_poll(), caller's context */
};

enum kx_dma_dir { /* enum dma_data_direction */
	KX_DMA_BIDIRECTIONAL = 0,
	KX_DMA_TO_DEVICE = 1,
	KX_DMA_FROM_DEVICE = 2,
};

enum kx_wr_opcode { /* enum ib_wr_opcode (the subset the shim posts) */
	KX_WR_RDMA_WRITE = 0,
	KX_WR_RDMA_WRITE_WITH_IMM = 1,
	KX_WR_SEND = 2,
	KX_WR_SEND_WITH_IMM = 3,
	KX_WR_RDMA_READ = 4,
	KX_WR_LOCAL_INV = 7,
	KX_WR_SEND_WITH_INV = 9,
	KX_WR_REG_MR = 0x20,
};

enum kx_send_flags { /* enum ib_send_flags */
	KX_SEND_FENCE = 1,
	KX_SEND_SIGNALED = 2,
	KX_SEND_SOLICITED = 4,
	KX_SEND_INLINE = 8,
};

enum kx_access { /* enum ib_access_flags (REG_MR access) */
	KX_ACCESS_LOCAL_WRITE = 1,
	KX_ACCESS_REMOTE_WRITE = 2,
	KX_ACCESS_REMOTE_READ = 4,
};

enum kx_wc_status { /* enum ib_wc_status (kx_wc_status_str() names all of them) */
	KX_WC_SUCCESS = 0,
	KX_WC_LOC_LEN_ERR = 1,
	KX_WC_LOC_QP_OP_ERR = 2,
	KX_WC_LOC_PROT_ERR = 4,
	KX_WC_WR_FLUSH_ERR = 5,
	KX_WC_REM_INV_REQ_ERR = 9,
	KX_WC_REM_ACCESS_ERR = 10,
	KX_WC_REM_OP_ERR = 11,
	KX_WC_RETRY_EXC_ERR = 12,
	KX_WC_RNR_RETRY_EXC_ERR = 13,
};

enum kx_wc_opcode { /* enum ib_wc_opcode; valid only when status == KX_WC_SUCCESS */
	KX_WC_SEND = 0,
	KX_WC_RDMA_WRITE = 1,
	KX_WC_RDMA_READ = 2,
	KX_WC_LOCAL_INV = 6,
	KX_WC_REG_MR = 8,
	KX_WC_RECV = 128,                 /* opcode & KX_WC_RECV: a receive */
	KX_WC_RECV_RDMA_WITH_IMM = 129,
};

enum kx_wc_flags { /* enum ib_wc_flags */
	KX_WC_WITH_IMM = 2,
	KX_WC_WITH_INVALIDATE = 4,
};

enum kx_ib_event_type { /* enum ib_event_type: the QP events a ULP acts on */
	KX_IB_EVENT_QP_FATAL = 1,
	KX_IB_EVENT_COMM_EST = 4,
};

enum kx_addr_family {
	KX_AF_INET = 2,
	KX_AF_INET6 = 10,
	KX_AF_IB = 27,
};

/* ---- mirror structs ----------------------------------------------------------- */
/*
 * One rdma_cm event, filled by the shim's trampoline. private_data points into
 * the CM's message and is valid only during the handler call. Its length is
 * the transport's maximum for that message (KX_CM_*_PDATA_MAX), not what the
 * peer passed: IB CM does not carry a length, so a protocol must put its own
 * length or version into the data.
 */
struct kx_cm_event {
	kx_u32 type;               /* enum kx_cm_event_type */
	kx_i32 status;             /* -errno; for REJECTED the IB CM reject reason */
	const void *private_data;  /* CONNECT_REQUEST, ESTABLISHED (client), REJECTED */
	kx_u8 private_data_len;
	kx_u8 responder_resources; /* CONNECT_REQUEST: what the peer asked for */
	kx_u8 initiator_depth;
	/* REJECTED: 1 if the peer rejected with rdma_reject() (private_data is theirs) */
	kx_u8 consumer_reject;
};

/*
 * Where the CM and QP events of a cm_id go: the cm_id's context points at
 * this struct, which the C++ owner embeds (it must not move while the id
 * exists). Contexts:
 *  event():    process context (the rdma_cm work queue), serialized per id
 *              with the id's handler mutex held. May sleep. Must NOT destroy
 *              this id (nor, for CONNECT_REQUEST, the listening id): return
 *              non-zero instead and rdma_cm destroys the id after the call
 *              (destroy its QP first, and forget the handle). With
 *              CONNECT_REQUEST the id passed is the NEW connection's id, whose
 *              context still points at the listener's handler: point it at
 *              the connection's own handler with kx_cm_set_handler().
 *  qp_event(): the QP's async events (ib_event type, see kx_ib_event_msg);
 *              may be called in atomic context: must not sleep. May be NULL.
 */
struct kx_cm_handler {
	int (*event)(void *ctx, struct kx_cm_id *id, const struct kx_cm_event *ev);
	void (*qp_event)(void *ctx, struct kx_cm_id *id, kx_u32 type);
	void *ctx;
};

/* Connection parameters for connect/accept (struct rdma_conn_param). */
struct kx_conn_param {
	const void *private_data;
	kx_u8 private_data_len;    /* <= KX_CM_REQ_PDATA_MAX / KX_CM_REP_PDATA_MAX */
	kx_u8 responder_resources; /* incoming RDMA READs; 0 if the peer never reads */
	kx_u8 initiator_depth;     /* outgoing RDMA READs */
	kx_u8 flow_control;
	kx_u8 retry_count;         /* connect only: transport retries, 0..7 */
	kx_u8 rnr_retry_count;     /* 7 = retry forever on receiver-not-ready */
};

/* Identical layout to struct ib_sge (asserted), so arrays pass unconverted. */
struct kx_sge {
	kx_u64 addr;
	kx_u32 length;
	kx_u32 lkey;
};

/*
 * One send-queue work request; the shim builds the ib_*_wr from it. Which
 * fields matter depends on opcode:
 *   SEND / SEND_WITH_IMM / RDMA_WRITE[_WITH_IMM] / RDMA_READ: sg_list, num_sge
 *   *_WITH_IMM:        imm_data, host order (the shim does cpu_to_be32; the
 *                      receiver's kx_wc.imm_data is host order again)
 *   RDMA_*:            remote_addr, rkey
 *   SEND_WITH_INV / LOCAL_INV: invalidate_rkey
 *   REG_MR:            mr (mapped with kx_ib_mr_map_sg; registered with the
 *                      MR's current key), access (enum kx_access)
 * cqe is required for every WR, signaled or not: on a QP error every WR is
 * flushed with a completion, unsignaled ones included.
 */
struct kx_send_wr {
	struct kx_cqe *cqe;
	const struct kx_sge *sg_list;
	kx_u32 num_sge;
	kx_u32 opcode;        /* enum kx_wr_opcode */
	kx_u32 flags;         /* enum kx_send_flags */
	kx_u32 imm_data;
	kx_u32 invalidate_rkey;
	kx_u32 rkey;
	kx_u64 remote_addr;
	struct kx_mr *mr;
	kx_u32 access;
};

/* Longest chain kx_ib_post_send() takes in one call (the WRs live on its stack). */
#define KX_SEND_CHAIN_MAX 8

/*
 * One completion, converted from struct ib_wc by the shim's ib_cqe.done
 * trampoline. When status != KX_WC_SUCCESS only cqe_ctx, status and
 * vendor_err are meaningful (verbs leaves the rest undefined).
 */
struct kx_wc {
	void *cqe_ctx;            /* the ctx given to kx_cqe_init() */
	kx_u32 status;            /* enum kx_wc_status */
	kx_u32 opcode;            /* enum kx_wc_opcode */
	kx_u32 byte_len;          /* receives: bytes placed (RDMA_WITH_IMM: the write's length) */
	kx_u32 imm_data;          /* host order; valid with KX_WC_WITH_IMM */
	kx_u32 invalidated_rkey;  /* valid with KX_WC_WITH_INVALIDATE */
	kx_u32 wc_flags;          /* enum kx_wc_flags */
	kx_u32 vendor_err;
	kx_u32 qp_num;
};

struct kx_ib_device_attr {
	char name[64];                     /* "rxe0" (IB_DEVICE_NAME_MAX) */
	kx_u64 node_guid;                  /* host order */
	kx_u64 max_mr_size;
	kx_u64 page_size_cap;              /* bitmap of supported MR page sizes */
	kx_u32 max_qp_wr;                  /* max send/recv WRs per queue */
	kx_u32 max_send_sge;
	kx_u32 max_recv_sge;
	kx_u32 max_cqe;
	kx_u32 max_mr;
	kx_u32 max_qp_rd_atom;
	kx_u32 max_qp_init_rd_atom;
	kx_u32 max_fast_reg_page_list_len; /* pages per REG_MR (rxe: 512) */
	kx_u32 num_comp_vectors;
	kx_u32 phys_port_cnt;
	kx_u8 mem_mgt_extensions;          /* IB_DEVICE_MEM_MGT_EXTENSIONS: REG_MR/LOCAL_INV/SEND_WITH_INV */
	kx_u8 sg_gaps_reg;                 /* IBK_SG_GAPS_REG: an MR may map gappy SG lists */
	kx_u8 local_dma_lkey;              /* IBK_LOCAL_DMA_LKEY: device has a global lkey */
};

struct kx_ib_port_attr {
	kx_u32 state;       /* enum ib_port_state: 4 = ACTIVE */
	kx_u32 active_mtu;  /* bytes */
	kx_u32 max_mtu;     /* bytes */
	kx_u32 gid_tbl_len;
};

/* QP sizes: in = requested, out (kx_cm_create_qp) = what the device granted. */
struct kx_qp_caps {
	kx_u32 max_send_wr;
	kx_u32 max_recv_wr;
	kx_u32 max_send_sge;
	kx_u32 max_recv_sge;
	kx_u32 max_inline_data;
};

struct kx_mr_info {
	kx_u64 iova;    /* address to hand to the peer (first byte mapped) */
	kx_u64 length;  /* bytes mapped by the last kx_ib_mr_map_sg() */
	kx_u32 lkey;
	kx_u32 rkey;
	kx_u32 page_size;
};

/* ---- rdma_cm (shim/rdma_cm.c) ------------------------------------------------ */
/*
 * rdma_create_id(&init_net, trampoline, h, RDMA_PS_TCP or RDMA_PS_IB,
 * IB_QPT_RC). Kernel ULPs live in the initial network namespace (rxe 6.1
 * works only there). h must stay valid until the id is destroyed. Process.
 */
KX_EXTERN_C int kx_cm_create_id(struct kx_cm_handler *h, kx_u32 port_space,
				struct kx_cm_id **out) KX_NOEXCEPT;
/* Points the id's events at h (a CONNECT_REQUEST child id). Handler or before use. */
KX_EXTERN_C void kx_cm_set_handler(struct kx_cm_id *id, struct kx_cm_handler *h) KX_NOEXCEPT;
/*
 * rdma_destroy_id: cancels pending operations and waits for a running
 * handler of this id to return; no event is delivered after it returns.
 * Destroy the QP first. Process context, never from this id's handler.
 */
KX_EXTERN_C void kx_cm_destroy_id(struct kx_cm_id *id) KX_NOEXCEPT;
KX_EXTERN_C int kx_cm_set_reuseaddr(struct kx_cm_id *id, int reuse) KX_NOEXCEPT;
/* IPv6 listener: afonly=0 also accepts IPv4 (must precede bind). */
KX_EXTERN_C int kx_cm_set_afonly(struct kx_cm_id *id, int afonly) KX_NOEXCEPT;
/* rdma_bind_addr + rdma_listen (a wildcard address listens on every device). Process. */
KX_EXTERN_C int kx_cm_bind_addr(struct kx_cm_id *id, const void *addr) KX_NOEXCEPT;
KX_EXTERN_C int kx_cm_listen(struct kx_cm_id *id, int backlog) KX_NOEXCEPT;
/*
 * Client steps. Each completes asynchronously with an event:
 * resolve_addr -> ADDR_RESOLVED/ADDR_ERROR, resolve_route -> ROUTE_RESOLVED/
 * ROUTE_ERROR, connect -> ESTABLISHED/REJECTED/UNREACHABLE/CONNECT_ERROR.
 * src may be NULL. Process or handler.
 */
KX_EXTERN_C int kx_cm_resolve_addr(struct kx_cm_id *id, const void *src, const void *dst,
				   kx_u32 timeout_ms) KX_NOEXCEPT;
KX_EXTERN_C int kx_cm_resolve_route(struct kx_cm_id *id, kx_u32 timeout_ms) KX_NOEXCEPT;
/* rdma_connect: NOT from the handler (it takes the handler mutex). Process. */
KX_EXTERN_C int kx_cm_connect(struct kx_cm_id *id, const struct kx_conn_param *p) KX_NOEXCEPT;
/* rdma_connect_locked: only from the ROUTE_RESOLVED handler. */
KX_EXTERN_C int kx_cm_connect_locked(struct kx_cm_id *id,
				     const struct kx_conn_param *p) KX_NOEXCEPT;
/*
 * rdma_accept on a CONNECT_REQUEST id with a QP: handler context (from the
 * CONNECT_REQUEST event), or later between kx_cm_lock_handler/unlock_handler.
 * On failure the CM has already rejected the peer.
 */
KX_EXTERN_C int kx_cm_accept(struct kx_cm_id *id, const struct kx_conn_param *p) KX_NOEXCEPT;
/*
 * rdma_reject with IB_CM_REJ_CONSUMER_DEFINED, so the peer's REJECTED event
 * carries pdata (kx_cm_event.consumer_reject = 1). len <= KX_CM_REJ_PDATA_MAX.
 */
KX_EXTERN_C int kx_cm_reject(struct kx_cm_id *id, const void *pdata, kx_u8 len) KX_NOEXCEPT;
/* rdma_disconnect: QP to error, DREQ (or DREP when answering DISCONNECTED). Process or handler. */
KX_EXTERN_C int kx_cm_disconnect(struct kx_cm_id *id) KX_NOEXCEPT;
/* rdma_notify(IB_EVENT_COMM_EST): data arrived before the RTU. Any. */
KX_EXTERN_C int kx_cm_established(struct kx_cm_id *id) KX_NOEXCEPT;
/* Takes/drops the id's handler mutex (to accept outside the handler). Process. */
KX_EXTERN_C void kx_cm_lock_handler(struct kx_cm_id *id) KX_NOEXCEPT;
KX_EXTERN_C void kx_cm_unlock_handler(struct kx_cm_id *id) KX_NOEXCEPT;
/* Device/port the id is bound to (after ADDR_RESOLVED or on CONNECT_REQUEST ids). */
KX_EXTERN_C struct kx_ib_device *kx_cm_device(const struct kx_cm_id *id) KX_NOEXCEPT;
KX_EXTERN_C kx_u32 kx_cm_port(const struct kx_cm_id *id) KX_NOEXCEPT;
KX_EXTERN_C struct kx_qp *kx_cm_qp(const struct kx_cm_id *id) KX_NOEXCEPT;
/* Copies the id's local / peer address into sockaddr storage (KX_SIZEOF_SOCKADDR). */
KX_EXTERN_C void kx_cm_src_addr(const struct kx_cm_id *id, void *addr) KX_NOEXCEPT;
KX_EXTERN_C void kx_cm_dst_addr(const struct kx_cm_id *id, void *addr) KX_NOEXCEPT;
/* Static strings for logs: rdma_event_msg, rdma_reject_msg, ib_event_msg. Any. */
KX_EXTERN_C const char *kx_cm_event_msg(kx_u32 type) KX_NOEXCEPT;
KX_EXTERN_C const char *kx_cm_reject_msg(struct kx_cm_id *id, kx_i32 status) KX_NOEXCEPT;
KX_EXTERN_C const char *kx_ib_event_msg(kx_u32 type) KX_NOEXCEPT;

/* ---- addresses (shim/rdma_cm.c) ------------------------------------------------ */
/*
 * Parses "ip:<IPv4>", "ip:<IPv6>[%scope]" or "gid:<GID>" (len bytes, need not
 * be NUL-terminated) with port into sockaddr storage: sockaddr_in/_in6, or
 * sockaddr_ib with the service id RDMA_IB_IP_PS_IB | port (an AF_IB address
 * needs a KX_CM_PS_IB id). -EINVAL bad address, -EPROTONOSUPPORT bad prefix.
 */
KX_EXTERN_C int kx_addr_parse(const char *str, kx_usize len, kx_u16 port, void *addr) KX_NOEXCEPT;
/* "ip:10.0.0.1", "ip:fe80::1", "gid:fe80::..." (no port); returns the length. */
KX_EXTERN_C int kx_addr_to_str(const void *addr, char *buf, kx_usize len) KX_NOEXCEPT;
/* Wildcard address of family KX_AF_INET/KX_AF_INET6 with port (for listening). */
KX_EXTERN_C int kx_addr_any(void *addr, kx_u32 family, kx_u16 port) KX_NOEXCEPT;
KX_EXTERN_C kx_u32 kx_addr_family(const void *addr) KX_NOEXCEPT;
/* Port in host order (0 for AF_IB). */
KX_EXTERN_C kx_u16 kx_addr_port(const void *addr) KX_NOEXCEPT;
/* 0 if a and b are the same family and address (ports ignored). */
KX_EXTERN_C int kx_addr_cmp(const void *a, const void *b) KX_NOEXCEPT;

/* ---- device, PD, CQ (shim/verbs.c) ------------------------------------------------ */
KX_EXTERN_C void kx_ib_device_query(const struct kx_ib_device *dev,
				    struct kx_ib_device_attr *out) KX_NOEXCEPT;
KX_EXTERN_C int kx_ib_port_query(struct kx_ib_device *dev, kx_u32 port,
				 struct kx_ib_port_attr *out) KX_NOEXCEPT;
/*
 * ib_alloc_pd(dev, 0): no IB_PD_UNSAFE_GLOBAL_RKEY, so nothing is remotely
 * accessible except through an MR the ULP registered (the peer can only
 * touch what a REG_MR exposed, and only until it is invalidated). Local SGEs
 * use kx_ib_pd_local_dma_lkey(). Process.
 */
KX_EXTERN_C int kx_ib_pd_alloc(struct kx_ib_device *dev, struct kx_pd **out) KX_NOEXCEPT;
KX_EXTERN_C void kx_ib_pd_free(struct kx_pd *pd) KX_NOEXCEPT;
KX_EXTERN_C kx_u32 kx_ib_pd_local_dma_lkey(const struct kx_pd *pd) KX_NOEXCEPT;
/*
 * A CQ of its own (ib_alloc_cq): any poll_ctx incl. KX_POLL_DIRECT. The CQ
 * entries' done() run in the context poll_ctx names. Process.
 */
KX_EXTERN_C int kx_ib_cq_alloc(struct kx_ib_device *dev, kx_u32 nr_cqe, int comp_vector,
			       kx_u32 poll_ctx, struct kx_cq **out) KX_NOEXCEPT;
KX_EXTERN_C void kx_ib_cq_free(struct kx_cq *cq) KX_NOEXCEPT;
/* A share of the device's CQ pool (ib_cq_pool_get); no KX_POLL_DIRECT. Process. */
KX_EXTERN_C int kx_ib_cq_pool_get(struct kx_ib_device *dev, kx_u32 nr_cqe, int vector_hint,
				  kx_u32 poll_ctx, struct kx_cq **out) KX_NOEXCEPT;
KX_EXTERN_C void kx_ib_cq_pool_put(struct kx_cq *cq, kx_u32 nr_cqe) KX_NOEXCEPT;
/*
 * ib_process_cq_direct: reaps up to budget completions of a KX_POLL_DIRECT CQ
 * and runs their done() here; returns how many. Never concurrently for one CQ.
 */
KX_EXTERN_C int kx_ib_cq_poll(struct kx_cq *cq, int budget) KX_NOEXCEPT;

/* ---- QP (shim/verbs.c) ----------------------------------------------------------- */
/*
 * rdma_create_qp on the id: RC, IB_SIGNAL_REQ_WR (unsignaled sends allowed),
 * QP events to the id's kx_cm_handler.qp_event. caps in/out. Process.
 */
KX_EXTERN_C int kx_cm_create_qp(struct kx_cm_id *id, struct kx_pd *pd, struct kx_cq *send_cq,
				struct kx_cq *recv_cq, struct kx_qp_caps *caps,
				struct kx_qp **out) KX_NOEXCEPT;
/* rdma_destroy_qp. Drain first. Process (or handler of this id). */
KX_EXTERN_C void kx_cm_destroy_qp(struct kx_cm_id *id) KX_NOEXCEPT;
/*
 * ib_drain_qp / _sq / _rq: moves the QP to error and waits until every posted
 * WR has completed (flushed); DIRECT CQs are polled meanwhile. The CQs must
 * have room for one more entry per queue. Process.
 */
KX_EXTERN_C void kx_ib_drain_qp(struct kx_qp *qp) KX_NOEXCEPT;
KX_EXTERN_C void kx_ib_drain_sq(struct kx_qp *qp) KX_NOEXCEPT;
KX_EXTERN_C void kx_ib_drain_rq(struct kx_qp *qp) KX_NOEXCEPT;
KX_EXTERN_C kx_u32 kx_ib_qp_num(const struct kx_qp *qp) KX_NOEXCEPT;

/* ---- completions (shim/verbs.c) ---------------------------------------------------- */
/* Initializes kx_cqe storage: its completions call done(ctx, wc). Any. */
KX_EXTERN_C void kx_cqe_init(struct kx_cqe *cqe, void (*done)(void *ctx, const struct kx_wc *wc),
			     void *ctx) KX_NOEXCEPT;
KX_EXTERN_C const char *kx_wc_status_str(kx_u32 status) KX_NOEXCEPT;

/* ---- posting (shim/verbs.c) ---------------------------------------------------------- */
/*
 * ib_post_recv of one receive: num_sge == 0 (sges may be NULL) is an "empty"
 * receive that only an RDMA_WRITE_WITH_IMM or a zero-length SEND consumes.
 * Any context.
 */
KX_EXTERN_C int kx_ib_post_recv(struct kx_qp *qp, struct kx_cqe *cqe, const struct kx_sge *sges,
				kx_u32 num_sge) KX_NOEXCEPT;
/*
 * ib_post_send of n (1..KX_SEND_CHAIN_MAX) WRs chained in array order, one
 * doorbell. On failure *bad (if not NULL) is the index of the first WR not
 * posted (WRs before it were posted and will complete). Any context.
 */
KX_EXTERN_C int kx_ib_post_send(struct kx_qp *qp, const struct kx_send_wr *wrs, kx_u32 n,
				kx_u32 *bad) KX_NOEXCEPT;

/* ---- DMA (shim/verbs.c) ------------------------------------------------------------- */
/* ib_dma_map_single of kmalloc/page memory (not vmalloc). -ENOMEM on a mapping error. Any. */
KX_EXTERN_C int kx_ib_dma_map_single(struct kx_ib_device *dev, void *buf, kx_usize len,
				     kx_u32 dir, kx_u64 *dma) KX_NOEXCEPT;
KX_EXTERN_C void kx_ib_dma_unmap_single(struct kx_ib_device *dev, kx_u64 dma, kx_usize len,
					kx_u32 dir) KX_NOEXCEPT;
KX_EXTERN_C void kx_ib_dma_sync_for_cpu(struct kx_ib_device *dev, kx_u64 dma, kx_usize len,
					kx_u32 dir) KX_NOEXCEPT;
KX_EXTERN_C void kx_ib_dma_sync_for_device(struct kx_ib_device *dev, kx_u64 dma, kx_usize len,
					   kx_u32 dir) KX_NOEXCEPT;
/* Scatterlist tables in storage of nents * KX_SIZEOF_SCATTERLIST. Any. */
KX_EXTERN_C void kx_sg_init_table(struct kx_sgl *sgl, kx_u32 nents) KX_NOEXCEPT;
/* Entry i = buf..buf+len (kmalloc or page memory; not vmalloc). */
KX_EXTERN_C void kx_sg_set_buf(struct kx_sgl *sgl, kx_u32 i, const void *buf, kx_u32 len) KX_NOEXCEPT;
KX_EXTERN_C kx_u64 kx_sg_dma_address(const struct kx_sgl *sgl, kx_u32 i) KX_NOEXCEPT;
KX_EXTERN_C kx_u32 kx_sg_dma_len(const struct kx_sgl *sgl, kx_u32 i) KX_NOEXCEPT;
/* ib_dma_map_sg: returns the number of DMA segments (> 0) or -EIO. Any. */
KX_EXTERN_C int kx_ib_dma_map_sg(struct kx_ib_device *dev, struct kx_sgl *sgl, kx_u32 nents,
				 kx_u32 dir) KX_NOEXCEPT;
/* nents as passed to map, not the returned count. */
KX_EXTERN_C void kx_ib_dma_unmap_sg(struct kx_ib_device *dev, struct kx_sgl *sgl, kx_u32 nents,
				    kx_u32 dir) KX_NOEXCEPT;

/* ---- fast-registration MRs (shim/verbs.c) ---------------------------------------------- */
/* ib_alloc_mr(pd, IB_MR_TYPE_MEM_REG, max_pages). Process. */
KX_EXTERN_C int kx_ib_mr_alloc(struct kx_pd *pd, kx_u32 max_pages, struct kx_mr **out) KX_NOEXCEPT;
/* ib_dereg_mr. No WR using the MR may be outstanding. Process. */
KX_EXTERN_C void kx_ib_mr_free(struct kx_mr *mr) KX_NOEXCEPT;
/*
 * ib_map_mr_sg(mr, sgl, nents, NULL, page_size) over a DMA-mapped table:
 * returns how many entries were mapped (fewer than nents = did not fit) or
 * -errno. The MR must be free (never registered, or invalidated). Any.
 */
KX_EXTERN_C int kx_ib_mr_map_sg(struct kx_mr *mr, struct kx_sgl *sgl, kx_u32 nents,
				kx_u32 page_size) KX_NOEXCEPT;
KX_EXTERN_C void kx_ib_mr_query(const struct kx_mr *mr, struct kx_mr_info *out) KX_NOEXCEPT;
/* ib_update_fast_reg_key: sets the low 8 key bits of lkey and rkey. Any. */
KX_EXTERN_C void kx_ib_mr_update_key(struct kx_mr *mr, kx_u8 key) KX_NOEXCEPT;
/* ib_inc_rkey: the next key (low 8 bits incremented). */
KX_EXTERN_C kx_u32 kx_ib_inc_rkey(kx_u32 rkey) KX_NOEXCEPT;
/*
 * ib_update_fast_reg_key(mr, ib_inc_rkey(mr->rkey)): a fresh key before each
 * REG_MR, so a peer holding the old rkey cannot reach the new registration.
 * Returns the new rkey. Any.
 */
KX_EXTERN_C kx_u32 kx_ib_mr_bump_key(struct kx_mr *mr) KX_NOEXCEPT;

#endif /* KX_SHIM_RDMA_H */
