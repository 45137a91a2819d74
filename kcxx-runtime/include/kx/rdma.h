/* SPDX-License-Identifier: GPL-2.0 */
// RDMA over the shim (kx/shim_rdma.h): RAII handles with two-phase creation,
// completion entries and CM handlers bound to member functions.
//
// Needs the module's RDMA shim object (kcxx-runtime/kbuild-cxx-rdma.mk).
// The userspace build only compiles it (layout fallbacks below); nothing here
// links there unless the fake shim implements the RDMA functions.
//
// Ownership and order. The types are unique handles (movable, not copyable)
// except Cqe and CmHandler, which are pinned storage the kernel points at.
// An owner declares its members so that the reverse order is a valid
// teardown order, e.g.
//
//   class Conn {
//     int on_cm_event(kx_cm_id* id, const kx_cm_event& ev);   // process context
//     void on_recv(const kx_wc& wc);                         // per Cq's PollCtx
//     rdma::CmHandler<Conn, &Conn::on_cm_event> cm_handler_{this};
//     rdma::Cqe<Conn, &Conn::on_recv> recv_cqe_{this};
//     rdma::CmId id_;      // destroyed last
//     rdma::Pd pd_;
//     rdma::Cq cq_;
//     rdma::FastRegMr mr_;
//     rdma::Qp qp_;        // destroyed first (drains, then rdma_destroy_qp)
//   };
//
// Callback contexts:
//  * CM handler (CmHandler): process context on the rdma_cm work queue, one
//    event at a time per id, with the id's handler mutex held: may sleep and
//    allocate with Gfp::kernel. Must NOT destroy its own CmId (deadlock on
//    that mutex) nor, for CONNECT_REQUEST, the listener's. To get rid of the
//    id from inside the handler: destroy its QP, CmId::release() the handle
//    and return non-zero; rdma_cm destroys the id after the handler returns.
//    Otherwise return 0 and destroy it later from process context (a work
//    item), where destruction waits for a running handler to finish.
//    Inside the handler use connect_locked(), and accept() is only legal
//    there (or under CmId::HandlerLock).
//  * QP events (CmHandler's third parameter): possibly atomic; no sleeping.
//  * Completions (Cqe): in the context of the Cq they were reaped from:
//    PollCtx::softirq -> softirq (no sleeping, no Mutex, SpinGuardBh
//    for state shared with process context); workqueue -> process context;
//    direct -> inside Cq::poll(), in its caller's context.
#pragma once

#include <kx/layout.h>
#include <kx/result.h>
#include <kx/runtime.h>
#include <kx/shim.h>
#include <kx/shim_rdma.h>
#include <kx/types.h>

// The userspace fake layout has no RDMA entries; generous stand-ins let the
// header compile there (-DKX_USERSPACE).
#if defined(KX_USERSPACE) && !defined(KX_SIZEOF_CQE)
#define KX_SIZEOF_CQE 64
#define KX_ALIGNOF_CQE 8
#define KX_SIZEOF_SCATTERLIST 64
#define KX_ALIGNOF_SCATTERLIST 8
#define KX_SIZEOF_SOCKADDR 128
#define KX_ALIGNOF_SOCKADDR 8
#endif
#ifndef KX_SIZEOF_CQE
#error "kx_layout.h lacks the RDMA entries: kx_layout.c must include kx_layout_rdma.h"
#endif

namespace kx::rdma {

using Wc = kx_wc;
using CmEvent = kx_cm_event;
using Sge = kx_sge;
using SendWr = kx_send_wr;
using QpCaps = kx_qp_caps;
using DeviceAttr = kx_ib_device_attr;
using MrInfo = kx_mr_info;

enum class PollCtx : u32 {
  softirq = KX_POLL_SOFTIRQ,
  workqueue = KX_POLL_WORKQUEUE,
  unbound_workqueue = KX_POLL_UNBOUND_WORKQUEUE,
  direct = KX_POLL_DIRECT,
};

enum class DmaDir : u32 {
  bidirectional = KX_DMA_BIDIRECTIONAL,
  to_device = KX_DMA_TO_DEVICE,
  from_device = KX_DMA_FROM_DEVICE,
};

enum class PortSpace : u32 { tcp = KX_CM_PS_TCP, ib = KX_CM_PS_IB };

inline bool wc_ok(const Wc& wc) { return wc.status == KX_WC_SUCCESS; }
inline bool wc_is_recv(const Wc& wc) { return (wc.opcode & KX_WC_RECV) != 0; }
inline const char* wc_status_str(const Wc& wc) { return kx_wc_status_str(wc.status); }

// ---- completions and CM handlers --------------------------------------------

// A completion entry (struct kx_cqe: the ib_cqe a WR points at) that calls
// (owner->*Done)(wc). Pinned: the kernel holds its address while a WR that
// names it is outstanding. One Cqe may serve many WRs (e.g. all empty
// receives); wc.cqe_ctx is the owner.
template <typename Owner, void (Owner::*Done)(const Wc&)>
class Cqe {
 public:
  explicit Cqe(Owner* owner) { kx_cqe_init(get(), &trampoline, owner); }
  KX_PINNED(Cqe);

  kx_cqe* get() { return reinterpret_cast<kx_cqe*>(raw_.get()); }

 private:
  static void trampoline(void* ctx, const Wc* wc) { (static_cast<Owner*>(ctx)->*Done)(*wc); }
  Opaque<KX_SIZEOF_CQE, KX_ALIGNOF_CQE> raw_;
};

// Where a cm_id's events go: int Owner::OnEvent(kx_cm_id*, const CmEvent&)
// and optionally void Owner::OnQpEvent(kx_cm_id*, u32 ib_event_type).
// Pinned: the cm_id's context points at it. See the contexts above.
template <typename Owner, int (Owner::*OnEvent)(kx_cm_id*, const CmEvent&),
          void (Owner::*OnQpEvent)(kx_cm_id*, u32) = nullptr>
class CmHandler {
 public:
  explicit CmHandler(Owner* owner) : h_{&event_trampoline, qp_fn(), owner} {}
  KX_PINNED(CmHandler);

  kx_cm_handler* get() { return &h_; }

 private:
  static int event_trampoline(void* ctx, kx_cm_id* id, const CmEvent* ev) {
    return (static_cast<Owner*>(ctx)->*OnEvent)(id, *ev);
  }
  static void qp_trampoline(void* ctx, kx_cm_id* id, u32 type) {
    if constexpr (OnQpEvent != nullptr) (static_cast<Owner*>(ctx)->*OnQpEvent)(id, type);
  }
  static constexpr void (*qp_fn())(void*, kx_cm_id*, u32) {
    if constexpr (OnQpEvent == nullptr)
      return nullptr;
    else
      return &qp_trampoline;
  }
  kx_cm_handler h_;
};

// ---- addresses -------------------------------------------------------------

// A sockaddr_storage by value.
class SockAddr {
 public:
  SockAddr() = default;
  // "ip:10.99.0.1", "ip:fe80::1%eth0", "gid:fe80::..." with port.
  static Result<SockAddr> parse(const char* str, u16 port) {
    SockAddr a;
    KX_TRY(to_result(kx_addr_parse(str, ~usize(0) >> 1, port, a.get())));
    return a;
  }
  // Wildcard of family KX_AF_INET / KX_AF_INET6 (an IPv6 wildcard listener
  // also takes IPv4 unless afonly is set).
  static Result<SockAddr> any(u32 family, u16 port) {
    SockAddr a;
    KX_TRY(to_result(kx_addr_any(a.get(), family, port)));
    return a;
  }
  static SockAddr src_of(const kx_cm_id* id) {
    SockAddr a;
    kx_cm_src_addr(id, a.get());
    return a;
  }
  static SockAddr dst_of(const kx_cm_id* id) {
    SockAddr a;
    kx_cm_dst_addr(id, a.get());
    return a;
  }

  u32 family() const { return kx_addr_family(get()); }
  u16 port() const { return kx_addr_port(get()); }
  // Same family and address (ports ignored).
  bool same_host(const SockAddr& o) const { return kx_addr_cmp(get(), o.get()) == 0; }
  // "ip:10.99.0.1"; returns the length written.
  int to_str(char* buf, usize len) const { return kx_addr_to_str(get(), buf, len); }

  void* get() { return raw_.get(); }
  const void* get() const { return raw_.bytes; }

 private:
  Opaque<KX_SIZEOF_SOCKADDR, KX_ALIGNOF_SOCKADDR> raw_{};
};

// ---- cm_id -----------------------------------------------------------------

struct ConnParam {
  const void* private_data = nullptr;
  u8 private_data_len = 0;
  u8 responder_resources = 0;
  u8 initiator_depth = 0;
  u8 retry_count = 7;
  u8 rnr_retry_count = 7;  // retry forever on RNR (a receive not yet reposted)

  kx_conn_param raw() const {
    return kx_conn_param{private_data, private_data_len, responder_resources, initiator_depth,
                         0, retry_count, rnr_retry_count};
  }
};

// Unique owner of an rdma_cm id. Destruction (rdma_destroy_id) sleeps and
// waits for a running handler of the id: process context, never from the
// id's own handler (see release()).
class CmId {
 public:
  CmId() = default;
  static Result<CmId> create(kx_cm_handler* handler, PortSpace ps = PortSpace::tcp) {
    kx_cm_id* id = nullptr;
    KX_TRY(to_result(kx_cm_create_id(handler, static_cast<u32>(ps), &id)));
    return CmId(id);
  }
  // Takes ownership of the id a listener's handler got with CONNECT_REQUEST
  // and sends its further events to handler.
  static CmId adopt(kx_cm_id* id, kx_cm_handler* handler) {
    kx_cm_set_handler(id, handler);
    return CmId(id);
  }
  CmId(CmId&& o) : id_(exchange(o.id_, nullptr)) {}
  CmId& operator=(CmId&& o) {
    if (this != &o) {
      reset();
      id_ = exchange(o.id_, nullptr);
    }
    return *this;
  }
  KX_NONCOPYABLE(CmId);
  ~CmId() { reset(); }

  void reset() { kx_cm_destroy_id(exchange(id_, nullptr)); }
  // Forgets the id without destroying it: before returning non-zero from its
  // handler (rdma_cm destroys it then).
  [[nodiscard]] kx_cm_id* release() { return exchange(id_, nullptr); }
  kx_cm_id* get() const { return id_; }
  explicit operator bool() const { return id_ != nullptr; }

  Result<void> set_reuseaddr(bool on) { return to_result(kx_cm_set_reuseaddr(id_, on)); }
  Result<void> set_afonly(bool on) { return to_result(kx_cm_set_afonly(id_, on)); }
  Result<void> bind(const SockAddr& a) { return to_result(kx_cm_bind_addr(id_, a.get())); }
  Result<void> listen(int backlog) { return to_result(kx_cm_listen(id_, backlog)); }
  Result<void> resolve_addr(const SockAddr* src, const SockAddr& dst, u32 timeout_ms) {
    return to_result(kx_cm_resolve_addr(id_, src ? src->get() : nullptr, dst.get(), timeout_ms));
  }
  Result<void> resolve_route(u32 timeout_ms) {
    return to_result(kx_cm_resolve_route(id_, timeout_ms));
  }
  // Outside the handler.
  Result<void> connect(const ConnParam& p) {
    const kx_conn_param raw = p.raw();
    return to_result(kx_cm_connect(id_, &raw));
  }
  // From the ROUTE_RESOLVED handler.
  Result<void> connect_locked(const ConnParam& p) {
    const kx_conn_param raw = p.raw();
    return to_result(kx_cm_connect_locked(id_, &raw));
  }
  // From the CONNECT_REQUEST handler, or under a HandlerLock.
  Result<void> accept(const ConnParam& p) {
    const kx_conn_param raw = p.raw();
    return to_result(kx_cm_accept(id_, &raw));
  }
  Result<void> reject(const void* pdata, u8 len) { return to_result(kx_cm_reject(id_, pdata, len)); }
  Result<void> disconnect() { return to_result(kx_cm_disconnect(id_)); }

  kx_ib_device* device() const { return kx_cm_device(id_); }
  u32 port() const { return kx_cm_port(id_); }
  SockAddr src_addr() const { return SockAddr::src_of(id_); }
  SockAddr dst_addr() const { return SockAddr::dst_of(id_); }

  // Holds the id's handler mutex (to accept() outside the handler). Process.
  class [[nodiscard]] HandlerLock {
   public:
    explicit HandlerLock(CmId& id) : id_(id.get()) { kx_cm_lock_handler(id_); }
    ~HandlerLock() { kx_cm_unlock_handler(id_); }
    KX_PINNED(HandlerLock);

   private:
    kx_cm_id* id_;
  };

 private:
  explicit CmId(kx_cm_id* id) : id_(id) {}
  kx_cm_id* id_ = nullptr;
};

inline const char* cm_event_str(const CmEvent& ev) { return kx_cm_event_msg(ev.type); }

// ---- device, PD, CQ ----------------------------------------------------------

inline DeviceAttr query_device(const kx_ib_device* dev) {
  DeviceAttr a;
  kx_ib_device_query(dev, &a);
  return a;
}

// Protection domain without IB_PD_UNSAFE_GLOBAL_RKEY (see kx_ib_pd_alloc).
class Pd {
 public:
  Pd() = default;
  static Result<Pd> create(kx_ib_device* dev) {
    kx_pd* pd = nullptr;
    KX_TRY(to_result(kx_ib_pd_alloc(dev, &pd)));
    return Pd(pd);
  }
  Pd(Pd&& o) : pd_(exchange(o.pd_, nullptr)) {}
  Pd& operator=(Pd&& o) {
    if (this != &o) {
      reset();
      pd_ = exchange(o.pd_, nullptr);
    }
    return *this;
  }
  KX_NONCOPYABLE(Pd);
  ~Pd() { reset(); }

  // Every MR and QP of the PD must be gone.
  void reset() { kx_ib_pd_free(exchange(pd_, nullptr)); }
  kx_pd* get() const { return pd_; }
  // lkey for SGEs over DMA-mapped kernel memory.
  u32 local_dma_lkey() const { return kx_ib_pd_local_dma_lkey(pd_); }

 private:
  explicit Pd(kx_pd* pd) : pd_(pd) {}
  kx_pd* pd_ = nullptr;
};

// A completion queue: its own (create) or a share of the device pool
// (from_pool, not PollCtx::direct). Destroy its QPs first.
class Cq {
 public:
  Cq() = default;
  static Result<Cq> create(kx_ib_device* dev, u32 nr_cqe, int comp_vector, PollCtx ctx) {
    kx_cq* cq = nullptr;
    KX_TRY(to_result(kx_ib_cq_alloc(dev, nr_cqe, comp_vector, static_cast<u32>(ctx), &cq)));
    return Cq(cq, 0, ctx);
  }
  static Result<Cq> from_pool(kx_ib_device* dev, u32 nr_cqe, int vector_hint, PollCtx ctx) {
    kx_cq* cq = nullptr;
    KX_TRY(to_result(kx_ib_cq_pool_get(dev, nr_cqe, vector_hint, static_cast<u32>(ctx), &cq)));
    return Cq(cq, nr_cqe, ctx);
  }
  Cq(Cq&& o)
      : cq_(exchange(o.cq_, nullptr)), pool_nr_cqe_(exchange(o.pool_nr_cqe_, 0u)), ctx_(o.ctx_) {}
  Cq& operator=(Cq&& o) {
    if (this != &o) {
      reset();
      cq_ = exchange(o.cq_, nullptr);
      pool_nr_cqe_ = exchange(o.pool_nr_cqe_, 0u);
      ctx_ = o.ctx_;
    }
    return *this;
  }
  KX_NONCOPYABLE(Cq);
  ~Cq() { reset(); }

  void reset() {
    kx_cq* cq = exchange(cq_, nullptr);
    if (!cq) return;
    if (pool_nr_cqe_)
      kx_ib_cq_pool_put(cq, exchange(pool_nr_cqe_, 0u));
    else
      kx_ib_cq_free(cq);
  }
  // PollCtx::direct only: reaps up to budget completions, running their
  // Cqe callbacks here. Never concurrently with itself for one Cq.
  int poll(int budget) {
    KX_ASSERT(ctx_ == PollCtx::direct);
    return kx_ib_cq_poll(cq_, budget);
  }
  kx_cq* get() const { return cq_; }
  PollCtx poll_ctx() const { return ctx_; }

 private:
  Cq(kx_cq* cq, u32 pool_nr_cqe, PollCtx ctx) : cq_(cq), pool_nr_cqe_(pool_nr_cqe), ctx_(ctx) {}
  kx_cq* cq_ = nullptr;
  u32 pool_nr_cqe_ = 0;  // != 0: from the pool, put back with this count
  PollCtx ctx_ = PollCtx::softirq;
};

// ---- QP ------------------------------------------------------------------------

// The RC QP of a cm_id (rdma_create_qp). Does not own the id: destroy the Qp
// before the CmId and before its Cqs. Destruction drains first (unless
// drain() ran), so every posted WR has completed (flushed) and no Cqe is
// referenced any more. Destruction and drain() sleep: process context.
class Qp {
 public:
  Qp() = default;
  // caps: requested sizes in, granted sizes out.
  static Result<Qp> create(CmId& id, Pd& pd, Cq& send_cq, Cq& recv_cq, QpCaps& caps) {
    kx_qp* qp = nullptr;
    KX_TRY(to_result(kx_cm_create_qp(id.get(), pd.get(), send_cq.get(), recv_cq.get(), &caps, &qp)));
    return Qp(id.get(), qp);
  }
  Qp(Qp&& o)
      : id_(exchange(o.id_, nullptr)), qp_(exchange(o.qp_, nullptr)),
        drained_(exchange(o.drained_, false)) {}
  Qp& operator=(Qp&& o) {
    if (this != &o) {
      reset();
      id_ = exchange(o.id_, nullptr);
      qp_ = exchange(o.qp_, nullptr);
      drained_ = exchange(o.drained_, false);
    }
    return *this;
  }
  KX_NONCOPYABLE(Qp);
  ~Qp() { reset(); }

  void reset() {
    if (!qp_) return;
    drain();
    qp_ = nullptr;
    kx_cm_destroy_qp(exchange(id_, nullptr));
  }
  // Error state + wait for every posted WR's completion. Idempotent.
  void drain() {
    if (qp_ && !drained_) {
      kx_ib_drain_qp(qp_);
      drained_ = true;
    }
  }

  // n WRs as one chain. On failure *bad (if given) = first WR not posted.
  Result<void> post_send(const SendWr* wrs, u32 n, u32* bad = nullptr) {
    return to_result(kx_ib_post_send(qp_, wrs, n, bad));
  }
  Result<void> post_send(const SendWr& wr) { return post_send(&wr, 1); }
  // One receive; n == 0 is an empty receive (for WRITE_WITH_IMM / 0-byte SEND).
  Result<void> post_recv(kx_cqe* cqe, const Sge* sges = nullptr, u32 n = 0) {
    return to_result(kx_ib_post_recv(qp_, cqe, sges, n));
  }

  kx_qp* get() const { return qp_; }
  u32 qp_num() const { return kx_ib_qp_num(qp_); }

 private:
  Qp(kx_cm_id* id, kx_qp* qp) : id_(id), qp_(qp) {}
  kx_cm_id* id_ = nullptr;
  kx_qp* qp_ = nullptr;
  bool drained_ = false;
};

// ---- work request builders -------------------------------------------------------
// flags: KX_SEND_SIGNALED etc. imm is host order.

inline SendWr wr_send(kx_cqe* cqe, const Sge* sg, u32 n, u32 flags) {
  return SendWr{.cqe = cqe, .sg_list = sg, .num_sge = n, .opcode = KX_WR_SEND, .flags = flags};
}
inline SendWr wr_send_imm(kx_cqe* cqe, const Sge* sg, u32 n, u32 imm, u32 flags) {
  return SendWr{.cqe = cqe, .sg_list = sg, .num_sge = n, .opcode = KX_WR_SEND_WITH_IMM,
                .flags = flags, .imm_data = imm};
}
// A SEND that also invalidates the peer's MR with rkey (remote invalidation).
inline SendWr wr_send_inv(kx_cqe* cqe, const Sge* sg, u32 n, u32 rkey, u32 flags) {
  return SendWr{.cqe = cqe, .sg_list = sg, .num_sge = n, .opcode = KX_WR_SEND_WITH_INV,
                .flags = flags, .invalidate_rkey = rkey};
}
inline SendWr wr_write(kx_cqe* cqe, const Sge* sg, u32 n, u64 remote_addr, u32 rkey, u32 flags) {
  return SendWr{.cqe = cqe, .sg_list = sg, .num_sge = n, .opcode = KX_WR_RDMA_WRITE,
                .flags = flags, .rkey = rkey, .remote_addr = remote_addr};
}
inline SendWr wr_write_imm(kx_cqe* cqe, const Sge* sg, u32 n, u64 remote_addr, u32 rkey, u32 imm,
                           u32 flags) {
  return SendWr{.cqe = cqe, .sg_list = sg, .num_sge = n, .opcode = KX_WR_RDMA_WRITE_WITH_IMM,
                .flags = flags, .imm_data = imm, .rkey = rkey, .remote_addr = remote_addr};
}
// Registers mr (after map_sg and a key bump) with its current key.
inline SendWr wr_reg_mr(kx_cqe* cqe, kx_mr* mr, u32 access, u32 flags) {
  return SendWr{.cqe = cqe, .opcode = KX_WR_REG_MR, .flags = flags, .mr = mr, .access = access};
}
inline SendWr wr_local_inv(kx_cqe* cqe, u32 rkey, u32 flags) {
  return SendWr{.cqe = cqe, .opcode = KX_WR_LOCAL_INV, .flags = flags, .invalidate_rkey = rkey};
}

// ---- DMA ---------------------------------------------------------------------------

// ib_dma_map_single of kmalloc/page memory (not vmalloc) for the life of
// the object. The device must outlive it (it lives as long as the cm_id).
class DmaMapping {
 public:
  DmaMapping() = default;
  static Result<DmaMapping> create(kx_ib_device* dev, void* buf, usize len, DmaDir dir) {
    u64 addr = 0;
    KX_TRY(to_result(kx_ib_dma_map_single(dev, buf, len, static_cast<u32>(dir), &addr)));
    return DmaMapping(dev, buf, addr, len, dir);
  }
  DmaMapping(DmaMapping&& o)
      : dev_(exchange(o.dev_, nullptr)), buf_(o.buf_), addr_(o.addr_), len_(o.len_), dir_(o.dir_) {}
  DmaMapping& operator=(DmaMapping&& o) {
    if (this != &o) {
      reset();
      dev_ = exchange(o.dev_, nullptr);
      buf_ = o.buf_;
      addr_ = o.addr_;
      len_ = o.len_;
      dir_ = o.dir_;
    }
    return *this;
  }
  KX_NONCOPYABLE(DmaMapping);
  ~DmaMapping() { reset(); }

  void reset() {
    if (kx_ib_device* dev = exchange(dev_, nullptr))
      kx_ib_dma_unmap_single(dev, addr_, len_, static_cast<u32>(dir_));
  }
  // Before the CPU reads what the device wrote / before the device reads.
  void sync_for_cpu() { kx_ib_dma_sync_for_cpu(dev_, addr_, len_, static_cast<u32>(dir_)); }
  void sync_for_device() { kx_ib_dma_sync_for_device(dev_, addr_, len_, static_cast<u32>(dir_)); }

  u64 addr() const { return addr_; }
  usize len() const { return len_; }
  void* buf() const { return buf_; }
  Sge sge(u32 lkey, u32 offset, u32 len) const { return Sge{addr_ + offset, len, lkey}; }
  Sge sge(u32 lkey) const { return sge(lkey, 0, static_cast<u32>(len_)); }

 private:
  DmaMapping(kx_ib_device* dev, void* buf, u64 addr, usize len, DmaDir dir)
      : dev_(dev), buf_(buf), addr_(addr), len_(len), dir_(dir) {}
  kx_ib_device* dev_ = nullptr;  // non-null while mapped
  void* buf_ = nullptr;
  u64 addr_ = 0;
  usize len_ = 0;
  DmaDir dir_ = DmaDir::bidirectional;
};

// A scatterlist table (runtime-counted allocation) and its DMA mapping.
class SgTable {
 public:
  SgTable() = default;
  static Result<SgTable> create(u32 nents, Gfp gfp) {
    if (nents == 0) return Error(-EINVAL);
    void* p = alloc_raw(usize(nents) * KX_SIZEOF_SCATTERLIST, gfp);
    if (!p) return Error(-ENOMEM);
    SgTable t(static_cast<kx_sgl*>(p), nents);
    kx_sg_init_table(t.sgl_, nents);
    return t;
  }
  SgTable(SgTable&& o)
      : sgl_(exchange(o.sgl_, nullptr)), nents_(exchange(o.nents_, 0u)),
        dev_(exchange(o.dev_, nullptr)), mapped_(o.mapped_), dir_(o.dir_) {}
  SgTable& operator=(SgTable&& o) {
    if (this != &o) {
      reset();
      sgl_ = exchange(o.sgl_, nullptr);
      nents_ = exchange(o.nents_, 0u);
      dev_ = exchange(o.dev_, nullptr);
      mapped_ = o.mapped_;
      dir_ = o.dir_;
    }
    return *this;
  }
  KX_NONCOPYABLE(SgTable);
  ~SgTable() { reset(); }

  void reset() {
    unmap();
    free_raw(exchange(sgl_, nullptr));
    nents_ = 0;
  }
  // Entry i covers buf..buf+len (kmalloc or page memory). Before map().
  void set_buf(u32 i, const void* buf, u32 len) {
    KX_ASSERT(i < nents_ && !dev_);
    kx_sg_set_buf(sgl_, i, buf, len);
  }
  // ib_dma_map_sg of all entries; returns the number of DMA segments.
  Result<u32> map(kx_ib_device* dev, DmaDir dir) {
    KX_ASSERT(!dev_);
    const int n = kx_ib_dma_map_sg(dev, sgl_, nents_, static_cast<u32>(dir));
    if (n < 0) return Error(n);
    dev_ = dev;
    mapped_ = static_cast<u32>(n);
    dir_ = dir;
    return mapped_;
  }
  void unmap() {
    if (kx_ib_device* dev = exchange(dev_, nullptr))
      kx_ib_dma_unmap_sg(dev, sgl_, nents_, static_cast<u32>(dir_));
  }

  kx_sgl* get() const { return sgl_; }
  u32 nents() const { return nents_; }
  u32 mapped() const { return dev_ ? mapped_ : 0; }  // DMA segments while mapped
  u64 dma_address(u32 i) const { return kx_sg_dma_address(sgl_, i); }
  u32 dma_len(u32 i) const { return kx_sg_dma_len(sgl_, i); }

 private:
  SgTable(kx_sgl* sgl, u32 nents) : sgl_(sgl), nents_(nents) {}
  kx_sgl* sgl_ = nullptr;
  u32 nents_ = 0;
  kx_ib_device* dev_ = nullptr;  // non-null while mapped
  u32 mapped_ = 0;
  DmaDir dir_ = DmaDir::bidirectional;
};

// ---- fast-registration MR ------------------------------------------------------------

// An IB_MR_TYPE_MEM_REG MR, registered and invalidated by WRs on a QP:
//   map(sg) -> bump_key() -> post wr_reg_mr(...) -> peer uses rkey() ->
//   peer SEND_WITH_INV or our wr_local_inv(rkey()) -> map again ...
// A registration must be invalidated before the next REG_MR (rxe fails a
// REG_MR of a valid MR with LOC_QP_OP_ERR and the QP goes to error), and no
// WR naming the MR may be outstanding when it is destroyed. max_pages should
// stay <= DeviceAttr::max_fast_reg_page_list_len (rxe: 512, i.e. 2 MiB of
// 4 KiB pages; rxe does not refuse larger MRs, so the caller must check).
class FastRegMr {
 public:
  FastRegMr() = default;
  static Result<FastRegMr> create(Pd& pd, u32 max_pages) {
    kx_mr* mr = nullptr;
    KX_TRY(to_result(kx_ib_mr_alloc(pd.get(), max_pages, &mr)));
    return FastRegMr(mr, max_pages);
  }
  FastRegMr(FastRegMr&& o) : mr_(exchange(o.mr_, nullptr)), max_pages_(o.max_pages_) {}
  FastRegMr& operator=(FastRegMr&& o) {
    if (this != &o) {
      reset();
      mr_ = exchange(o.mr_, nullptr);
      max_pages_ = o.max_pages_;
    }
    return *this;
  }
  KX_NONCOPYABLE(FastRegMr);
  ~FastRegMr() { reset(); }

  void reset() { kx_ib_mr_free(exchange(mr_, nullptr)); }

  // Maps the first nents entries of a DMA-mapped table into page_size pages.
  // -EINVAL if not all of them fit (a partial map is useless for an IO).
  Result<u32> map(SgTable& sg, u32 nents, u32 page_size = kPageSize) {
    const int n = kx_ib_mr_map_sg(mr_, sg.get(), nents, page_size);
    if (n < 0) return Error(n);
    if (static_cast<u32>(n) < nents) return Error(-EINVAL);
    return static_cast<u32>(n);
  }
  // New key (low 8 bits + 1) for the next REG_MR; returns the new rkey.
  u32 bump_key() { return kx_ib_mr_bump_key(mr_); }
  SendWr reg_wr(kx_cqe* cqe, u32 access, u32 flags) { return wr_reg_mr(cqe, mr_, access, flags); }
  SendWr local_inv_wr(kx_cqe* cqe, u32 flags) { return wr_local_inv(cqe, rkey(), flags); }

  MrInfo info() const {
    MrInfo i;
    kx_ib_mr_query(mr_, &i);
    return i;
  }
  u32 lkey() const { return info().lkey; }
  u32 rkey() const { return info().rkey; }
  u64 iova() const { return info().iova; }
  u64 length() const { return info().length; }
  u32 max_pages() const { return max_pages_; }
  kx_mr* get() const { return mr_; }

 private:
  FastRegMr(kx_mr* mr, u32 max_pages) : mr_(mr), max_pages_(max_pages) {}
  kx_mr* mr_ = nullptr;
  u32 max_pages_ = 0;
};

}  // namespace kx::rdma
