// SPDX-License-Identifier: GPL-2.0
// The C++ half of rdma_smoke (see rdma_smoke_main.c). One translation unit:
// the runtime definitions are included here, once.
//
// A server (listener on 10.99.0.1) and a client (from 10.99.0.2) in one
// module, driven step by step from module init (process context):
//   (1) addr        address helpers (parse, to_str, family, compare)
//   (2) cm_reject   a connect with bad private data is rejected; the client
//                   reads the server's reject private data
//   (3) cm_connect  56-byte private data checked by the server, answered in
//                   accept's private data, checked by the client
//   (4) device      attributes of both rxe devices (different devices: the
//                   traffic crosses the veth wire)
//   (5) reg_mr_send server REG_MR of its buffer chained with a SEND of
//                   {addr, rkey} into the client's receive buffer
//   (6) write_imm   client REG_MR of its buffer + RDMA_WRITE_WITH_IMM (data
//                   from the MR, a descriptor from a DMA-mapped buffer) into
//                   the server buffer; server checks bytes, length and imm
//   (7) send_with_inv  server RDMA_WRITE into the client MR + SEND_WITH_INV
//                   of its rkey + empty WRITE_WITH_IMM; the client sees the
//                   invalidation and the bytes, then re-registers the MR
//                   (rxe refuses REG_MR on a still-valid MR)
//   (8) local_inv   the RTRS write chain REG_MR -> WRITE_WITH_IMM ->
//                   LOCAL_INV, then a REG_MR that only works if LOCAL_INV did
//   (9) unsignaled  256 WRITE_WITH_IMMs, 1 in 16 signaled, through a 32-deep
//                   send queue, flow-controlled by the signaled completions
//   (10) cq_direct  client send completions reaped by ib_process_cq_direct
//   (11) disconnect, (12) drain (every posted receive completed or flushed),
//   (13) teardown, (14) no_leak
//
// Contexts: CM handlers run on the rdma_cm work queue; server completions
// and client receive completions in softirq (IB_POLL_SOFTIRQ); client send
// completions in this thread (IB_POLL_DIRECT, polled by wait_until()).
// State shared across contexts is in Atomics; waiters sleep on one
// WaitQueue that every handler wakes.
#include <kx/kx.h>
#include <kx/rdma.h>
#include <runtime/runtime.cpp>

namespace {

using namespace kx;
using namespace kx::rdma;

#define EXPECT(cond)                                                           \
  do {                                                                         \
    if (!(cond)) return #cond;                                                 \
  } while (0)

constexpr u32 kTimeoutMs = 20000;      // TCG guests are slow; a hang fails, slowness does not
constexpr u32 kResolveTimeoutMs = 5000;
constexpr u32 kBufOrder = 2;           // 16 KiB buffers, 4 pages in one MR
constexpr u32 kBufPages = 1u << kBufOrder;
constexpr usize kBufSize = kPageSize << kBufOrder;
constexpr u32 kWriteLen = 2 * kPageSize;  // client -> server, crosses a page boundary
constexpr u32 kReplyLen = kPageSize;      // server -> client
constexpr u32 kCliSq = 32;
constexpr u32 kCliRq = 16;
constexpr u32 kSrvSq = 32;
constexpr u32 kSrvRq = 128;
constexpr u32 kSignalInterval = 16;
constexpr u32 kUnsignaledWrs = 256;
constexpr u32 kImmWrite = 0x1c0de001;
constexpr u32 kImmReply = 0x2badf00d;
constexpr u32 kImmWrite2 = 0x3c0de002;
constexpr u32 kSeqBase = 0x40000000;
constexpr u32 kAccess = KX_ACCESS_LOCAL_WRITE | KX_ACCESS_REMOTE_WRITE;

constexpr u32 kReqMagic = 0x4b585251;  // "KXRQ"
constexpr u32 kRspMagic = 0x4b585253;  // "KXRS"
constexpr u32 kRejMagic = 0x4b58524a;  // "KXRJ"
constexpr u32 kInfoMagic = 0x4b58494e; // "KXIN"

// Connect private data: exactly the 56 bytes RDMA_PS_TCP leaves (as RTRS's
// rtrs_msg_conn_req).
struct ConnReq {
  u32 magic;
  u16 version;
  u16 flags;
  u32 token;
  u8 fill[44];
};
static_assert(sizeof(ConnReq) == KX_CM_REQ_PDATA_MAX);

// Accept / reject private data (56 bytes, as rtrs_msg_conn_rsp).
struct ConnRsp {
  u32 magic;
  u32 token;
  i32 status;
  u8 fill[44];
};
static_assert(sizeof(ConnRsp) == 56);

// Server -> client SEND after the server's REG_MR.
struct Info {
  u64 addr;
  u32 rkey;
  u32 len;
  u32 magic;
  u32 pad;
};

// Client -> server, the second SGE of the WRITE_WITH_IMM: where to reply.
struct Desc {
  u64 addr;
  u32 rkey;
  u32 len;
};

u8 req_fill(u32 token, u32 i) { return static_cast<u8>(token + i); }
u8 rsp_fill(u32 token, u32 i) { return static_cast<u8>(~token + 3 * i); }
u8 pattern_a(usize i) { return static_cast<u8>(i * 7 + 1); }
u8 pattern_b(usize i) { return static_cast<u8>(i * 13 + 5); }

// Physically contiguous pages from the counted runtime allocator.
class Pages {
 public:
  Pages() = default;
  static Result<Pages> create(u32 order) {
    void* p = alloc_pages(order, Gfp::kernel | kGfpZero);
    if (!p) return Error(-ENOMEM);
    return Pages(static_cast<u8*>(p), order);
  }
  Pages(Pages&& o) : p_(exchange(o.p_, nullptr)), order_(o.order_) {}
  Pages& operator=(Pages&& o) {
    if (this != &o) {
      reset();
      p_ = exchange(o.p_, nullptr);
      order_ = o.order_;
    }
    return *this;
  }
  KX_NONCOPYABLE(Pages);
  ~Pages() { reset(); }
  void reset() {
    if (p_) free_pages(exchange(p_, nullptr), order_);
  }
  u8* data() const { return p_; }
  usize size() const { return kPageSize << order_; }

 private:
  Pages(u8* p, u32 order) : p_(p), order_(order) {}
  u8* p_ = nullptr;
  u32 order_ = 0;
};

struct Shared {
  WaitQueue wq{KX_LOCK_CLASS("rdma_smoke.wq")};
  void wake() { wq.wake_all(); }
};

// ---------------------------------------------------------------------------
// Server: the listener and the one accepted connection.
class Server {
 public:
  explicit Server(Shared& sh) : sh_(sh) {}
  KX_PINNED(Server);
  ~Server() { teardown(); }

  Result<void> listen(u16 port) {
    listen_id_ = KX_TRY(CmId::create(listen_handler_.get()));
    const SockAddr addr = KX_TRY(SockAddr::parse("ip:10.99.0.1", port));
    KX_TRY(listen_id_.bind(addr));
    return listen_id_.listen(8);
  }

  // Listener: only CONNECT_REQUEST, with the new connection's id.
  int on_listen_event(kx_cm_id* id, const CmEvent& ev) {
    if (ev.type != KX_CM_EVENT_CONNECT_REQUEST) {
      kx_info("server: listener event %s (%d)", cm_event_str(ev), ev.status);
      return 0;
    }
    const ConnReq* req = static_cast<const ConnReq*>(ev.private_data);
    req_len_.store(ev.private_data_len);
    const i32 bad = check_req(req, ev.private_data_len);
    if (bad || conn_id_) {
      const ConnRsp rsp = make_rsp(kRejMagic, req ? req->token : 0, bad ? bad : -EBUSY);
      (void)kx_cm_reject(id, &rsp, sizeof(rsp));
      rejects_.add_fetch(1);
      sh_.wake();
      // Non-zero: rdma_cm destroys this id (no QP on it) after we return;
      // destroying it here ourselves is forbidden.
      return 1;
    }
    auto r = accept_conn(id, *req);
    if (r.is_error()) {
      kx_err("server: accept failed: %d", r.error().code());
      // The same rule: tear down the QP, forget the id, let rdma_cm destroy it.
      abort_conn();
      failed_.store(1);
      sh_.wake();
      return 1;
    }
    return 0;
  }

  // The accepted connection's events.
  int on_conn_event(kx_cm_id* id, const CmEvent& ev) {
    switch (ev.type) {
      case KX_CM_EVENT_ESTABLISHED:
        established_.store(1);
        break;
      case KX_CM_EVENT_DISCONNECTED:
        // Answer the client's DREQ (DREP); rdma_disconnect is legal here.
        (void)kx_cm_disconnect(id);
        disconnected_.store(1);
        break;
      case KX_CM_EVENT_TIMEWAIT_EXIT:
        break;
      default:
        kx_err("server: connection event %s (%d)", cm_event_str(ev), ev.status);
        failed_.store(1);
        break;
    }
    sh_.wake();
    return 0;
  }

  void on_qp_event(kx_cm_id* id, u32 type) {
    kx_info("server: QP event %s", kx_ib_event_msg(type));
    if (type == KX_IB_EVENT_COMM_EST) (void)kx_cm_established(id);
  }

  // Softirq: every receive of the connection (all are empty receives).
  void on_recv(const Wc& wc) {
    if (!wc_ok(wc)) {
      if (wc.status == KX_WC_WR_FLUSH_ERR)
        recv_flushed_.add_fetch(1);
      else
        recv_errors_.add_fetch(1);
      recv_done_.add_fetch(1);
      sh_.wake();
      return;
    }
    if (wc.opcode == KX_WC_RECV_RDMA_WITH_IMM) {
      const u32 imm = wc.imm_data;
      if (imm >= kSeqBase && imm < kSeqBase + kUnsignaledWrs) {
        // RC delivers in order: the n-th sequenced write carries kSeqBase + n.
        if (imm != kSeqBase + seq_seen_.load()) seq_errors_.add_fetch(1);
        seq_seen_.add_fetch(1);
      } else {
        last_imm_.store(imm);
        last_len_.store(wc.byte_len);
        imm_writes_.add_fetch(1);
      }
    } else {
      other_recvs_.add_fetch(1);
    }
    recv_done_.add_fetch(1);
    repost();
    sh_.wake();
  }

  // Softirq: signaled sends (and any flushed WR).
  void on_send(const Wc& wc) {
    if (wc_ok(wc)) {
      last_send_opcode_.store(wc.opcode);
      send_ok_.add_fetch(1);
    } else if (wc.status != KX_WC_WR_FLUSH_ERR) {
      kx_err("server: send completion %s", wc_status_str(wc));
      send_errors_.add_fetch(1);
    }
    sh_.wake();
  }

  // (5) REG_MR of the buffer chained with the SEND that tells the client.
  Result<void> send_info() {
    const u32 rkey = buf_mr_.bump_key();
    Info* info = reinterpret_cast<Info*>(info_.data());
    *info = Info{buf_mr_.iova(), rkey, static_cast<u32>(kBufSize), kInfoMagic, 0};
    info_dma_.sync_for_device();
    const Sge sge = info_dma_.sge(pd_.local_dma_lkey(), 0, sizeof(Info));
    const SendWr wrs[2] = {
        buf_mr_.reg_wr(send_cqe_.get(), kAccess, 0),
        wr_send(send_cqe_.get(), &sge, 1, KX_SEND_SIGNALED),
    };
    return qp_.post_send(wrs, 2);
  }

  // (7) The RTRS read-response chain into the client's MR.
  Result<void> reply(const Desc& d) {
    u8* src = buf_.data() + kBufSize / 2;
    for (usize i = 0; i < kReplyLen; i++) src[i] = pattern_b(i);
    const Sge sge{buf_mr_.iova() + kBufSize / 2, kReplyLen, buf_mr_.lkey()};
    const SendWr wrs[3] = {
        wr_write(send_cqe_.get(), &sge, 1, d.addr, d.rkey, 0),
        wr_send_inv(send_cqe_.get(), nullptr, 0, d.rkey, 0),
        // Zero bytes: no rkey needed (the client's was just invalidated).
        wr_write_imm(send_cqe_.get(), nullptr, 0, 0, 0, kImmReply, KX_SEND_SIGNALED),
    };
    return qp_.post_send(wrs, 3);
  }

  const u8* buf() const { return buf_.data(); }
  CmId& conn_id() { return conn_id_; }

  // Stops reposting receives, then drains. Process context.
  void drain() {
    stopping_.store(1);
    qp_.drain();
  }

  // Reverse order of creation; idempotent. Process context.
  void teardown() {
    drain();
    qp_.reset();
    info_dma_.reset();
    buf_mr_.reset();
    buf_sg_.reset();
    info_ = OwnArray<u8>();
    buf_.reset();
    cq_.reset();
    pd_.reset();
    conn_id_.reset();
    listen_id_.reset();
  }
  bool torn_down() const {
    return !qp_.get() && !buf_mr_.get() && !cq_.get() && !pd_.get() && !conn_id_ && !listen_id_;
  }

  Atomic<u32> stopping_{0};
  Atomic<u32> req_len_{0};
  Atomic<u32> rejects_{0};
  Atomic<u32> established_{0};
  Atomic<u32> disconnected_{0};
  Atomic<u32> failed_{0};
  Atomic<u32> recv_posted_{0};
  Atomic<u32> recv_done_{0};
  Atomic<u32> recv_flushed_{0};
  Atomic<u32> recv_errors_{0};
  Atomic<u32> other_recvs_{0};
  Atomic<u32> imm_writes_{0};
  Atomic<u32> last_imm_{0};
  Atomic<u32> last_len_{0};
  Atomic<u32> seq_seen_{0};
  Atomic<u32> seq_errors_{0};
  Atomic<u32> send_ok_{0};
  Atomic<u32> send_errors_{0};
  Atomic<u32> last_send_opcode_{0};
  ConnReq req_{};

 private:
  static ConnRsp make_rsp(u32 magic, u32 token, i32 status) {
    ConnRsp rsp{magic, token, status, {}};
    for (u32 i = 0; i < sizeof(rsp.fill); i++) rsp.fill[i] = rsp_fill(token, i);
    return rsp;
  }

  static i32 check_req(const ConnReq* req, u32 len) {
    if (!req || len < sizeof(ConnReq)) return -EINVAL;
    if (req->magic != kReqMagic || req->version != 1) return -EPROTO;
    for (u32 i = 0; i < sizeof(req->fill); i++)
      if (req->fill[i] != req_fill(req->token, i)) return -EPROTO;
    return 0;
  }

  // Handler context (CONNECT_REQUEST of id): resources, receives, accept.
  Result<void> accept_conn(kx_cm_id* id, const ConnReq& req) {
    req_ = req;
    conn_id_ = CmId::adopt(id, conn_handler_.get());
    kx_ib_device* dev = conn_id_.device();
    pd_ = KX_TRY(Pd::create(dev));
    cq_ = KX_TRY(Cq::from_pool(dev, kSrvSq + kSrvRq + 2, 0, PollCtx::softirq));
    buf_ = KX_TRY(Pages::create(kBufOrder));
    buf_sg_ = KX_TRY(SgTable::create(1, Gfp::kernel));
    buf_sg_.set_buf(0, buf_.data(), kBufSize);
    KX_TRY(buf_sg_.map(dev, DmaDir::bidirectional));
    buf_mr_ = KX_TRY(FastRegMr::create(pd_, kBufPages));
    KX_TRY(buf_mr_.map(buf_sg_, 1));
    info_ = KX_TRY(OwnArray<u8>::create(sizeof(Info), Gfp::kernel));
    info_dma_ = KX_TRY(DmaMapping::create(dev, info_.data(), sizeof(Info), DmaDir::to_device));
    QpCaps caps{kSrvSq, kSrvRq, 2, 1, 0};
    qp_ = KX_TRY(Qp::create(conn_id_, pd_, cq_, cq_, caps));
    for (u32 i = 0; i < kSrvRq; i++) KX_TRY(post_one_recv());
    const ConnRsp rsp = make_rsp(kRspMagic, req.token, 0);
    ConnParam p;
    p.private_data = &rsp;
    p.private_data_len = sizeof(rsp);
    return conn_id_.accept(p);
  }

  // After a failed accept_conn, still in the handler.
  void abort_conn() {
    qp_.reset();
    info_dma_.reset();
    buf_mr_.reset();
    buf_sg_.reset();
    info_ = OwnArray<u8>();
    buf_.reset();
    cq_.reset();
    pd_.reset();
    (void)conn_id_.release();  // rdma_cm destroys it when we return non-zero
  }

  Result<void> post_one_recv() {
    recv_posted_.add_fetch(1);
    auto r = qp_.post_recv(recv_cqe_.get());
    if (r.is_error()) recv_posted_.sub_fetch(1);
    return r;
  }

  // Not once draining: a receive posted behind the drain marker would
  // complete after the drain, possibly after the QP is gone.
  void repost() {
    if (stopping_.load()) return;
    if (post_one_recv().is_error()) recv_errors_.add_fetch(1);
  }

  Shared& sh_;
  CmHandler<Server, &Server::on_listen_event> listen_handler_{this};
  CmHandler<Server, &Server::on_conn_event, &Server::on_qp_event> conn_handler_{this};
  Cqe<Server, &Server::on_recv> recv_cqe_{this};
  Cqe<Server, &Server::on_send> send_cqe_{this};
  // Destroyed in reverse: qp, mappings, MR, buffers, CQ, PD, ids.
  CmId listen_id_;
  CmId conn_id_;
  Pd pd_;
  Cq cq_;
  Pages buf_;
  OwnArray<u8> info_;
  SgTable buf_sg_;
  FastRegMr buf_mr_;
  DmaMapping info_dma_;
  Qp qp_;
};

// ---------------------------------------------------------------------------
// Client: resolves, connects, and drives the data steps.
class Client {
 public:
  enum State : u32 { kIdle, kEstablished, kRejected, kError };

  Client(Shared& sh, bool bad_request) : sh_(sh), bad_request_(bad_request) {}
  KX_PINNED(Client);
  ~Client() { teardown(); }

  // Resolution and connection continue in the CM handler.
  Result<void> start(u16 port) {
    token_ = kx_random_u32();
    req_ = ConnReq{bad_request_ ? 0xbadbad00 : kReqMagic, 1, 0, token_, {}};
    for (u32 i = 0; i < sizeof(req_.fill); i++) req_.fill[i] = req_fill(token_, i);
    id_ = KX_TRY(CmId::create(handler_.get()));
    const SockAddr src = KX_TRY(SockAddr::parse("ip:10.99.0.2", 0));
    const SockAddr dst = KX_TRY(SockAddr::parse("ip:10.99.0.1", port));
    return id_.resolve_addr(&src, dst, kResolveTimeoutMs);
  }

  int on_cm_event(kx_cm_id* id, const CmEvent& ev) {
    (void)id;
    switch (ev.type) {
      case KX_CM_EVENT_ADDR_RESOLVED: {
        // As RTRS: resources once the device is known, then the route.
        auto r = setup();
        if (r.is_ok()) r = id_.resolve_route(kResolveTimeoutMs);
        if (r.is_error()) fail("setup/resolve_route", r.error().code());
        break;
      }
      case KX_CM_EVENT_ROUTE_RESOLVED: {
        ConnParam p;
        p.private_data = &req_;
        p.private_data_len = sizeof(req_);
        // In the handler: the _locked variant (the handler mutex is held).
        auto r = id_.connect_locked(p);
        if (r.is_error()) fail("connect_locked", r.error().code());
        break;
      }
      case KX_CM_EVENT_ESTABLISHED:
        rsp_len_ = ev.private_data_len;
        if (ev.private_data && ev.private_data_len >= sizeof(ConnRsp))
          __builtin_memcpy(&rsp_, ev.private_data, sizeof(ConnRsp));
        state_.store(kEstablished);
        break;
      case KX_CM_EVENT_REJECTED:
        rsp_len_ = ev.private_data_len;
        consumer_reject_ = ev.consumer_reject;
        reject_status_ = ev.status;
        if (ev.private_data && ev.private_data_len >= sizeof(ConnRsp))
          __builtin_memcpy(&rsp_, ev.private_data, sizeof(ConnRsp));
        state_.store(kRejected);
        break;
      case KX_CM_EVENT_DISCONNECTED:
        disconnected_.store(1);
        break;
      case KX_CM_EVENT_TIMEWAIT_EXIT:
        break;
      default:
        fail(cm_event_str(ev), ev.status);
        break;
    }
    sh_.wake();
    return 0;  // the id is destroyed by teardown(), never here
  }

  // Softirq: the empty receives (SEND_WITH_INV, WRITE_WITH_IMM).
  void on_recv(const Wc& wc) {
    if (!wc_ok(wc)) {
      count_recv_error(wc);
      return;
    }
    if (wc.opcode == KX_WC_RECV) {
      inv_flags_.store(wc.wc_flags);
      inv_rkey_.store(wc.invalidated_rkey);
      inv_len_.store(wc.byte_len);
      invs_.add_fetch(1);
    } else if (wc.opcode == KX_WC_RECV_RDMA_WITH_IMM) {
      last_imm_.store(wc.imm_data);
      imms_.add_fetch(1);
    }
    recv_done_.add_fetch(1);
    if (stopping_.load()) {
      sh_.wake();
      return;
    }
    recv_posted_.add_fetch(1);
    if (qp_.post_recv(recv_cqe_.get()).is_error()) {
      recv_posted_.sub_fetch(1);
      recv_errors_.add_fetch(1);
    }
    sh_.wake();
  }

  // Softirq: the one receive with a buffer (the server's Info).
  void on_info_recv(const Wc& wc) {
    if (!wc_ok(wc)) {
      count_recv_error(wc);
      return;
    }
    info_dma_.sync_for_cpu();
    info_ = *reinterpret_cast<const Info*>(info_buf_.data());
    info_len_ = wc.byte_len;
    recv_done_.add_fetch(1);
    info_received_.store(1);
    sh_.wake();
  }

  // Direct CQ: runs inside poll_send_cq() (this thread) or the drain.
  void on_send(const Wc& wc) {
    if (wc_ok(wc)) {
      last_send_opcode_ = wc.opcode;
      send_ok_++;
    } else if (wc.status == KX_WC_WR_FLUSH_ERR) {
      send_flushed_++;
    } else {
      kx_err("client: send completion %s (vendor %u)", wc_status_str(wc), wc.vendor_err);
      last_send_status_ = wc.status;
      send_errors_++;
    }
  }

  void poll_send_cq() {
    if (ready_.load_acquire()) direct_reaped_ += static_cast<u32>(send_cq_.poll(16));
  }

  // (6) REG_MR + WRITE_WITH_IMM [data from the MR][descriptor] to the server.
  Result<void> write_imm() {
    u8* b = buf_.data();
    for (usize i = 0; i < kBufSize; i++) b[i] = pattern_a(i);
    KX_TRY(mr_.map(sg_, 1));
    const u32 rkey = mr_.bump_key();
    desc_ = Desc{mr_.iova(), rkey, static_cast<u32>(kBufSize)};
    *reinterpret_cast<Desc*>(desc_buf_.data()) = desc_;
    desc_dma_.sync_for_device();
    const Sge sges[2] = {
        {mr_.iova(), kWriteLen, mr_.lkey()},
        desc_dma_.sge(pd_.local_dma_lkey(), 0, sizeof(Desc)),
    };
    const SendWr wrs[2] = {
        mr_.reg_wr(send_cqe_.get(), kAccess, 0),
        wr_write_imm(send_cqe_.get(), sges, 2, info_.addr, info_.rkey, kImmWrite, KX_SEND_SIGNALED),
    };
    return qp_.post_send(wrs, 2);
  }

  // Map + new key + signaled REG_MR: succeeds only on a free (invalidated) MR.
  Result<void> reregister() {
    KX_TRY(mr_.map(sg_, 1));
    desc_.rkey = mr_.bump_key();
    return qp_.post_send(mr_.reg_wr(send_cqe_.get(), kAccess, KX_SEND_SIGNALED));
  }

  // (8) REG_MR -> WRITE_WITH_IMM -> LOCAL_INV, only the last one signaled.
  Result<void> write_then_local_inv() {
    KX_TRY(mr_.map(sg_, 1));
    desc_.rkey = mr_.bump_key();
    const Sge sge{mr_.iova() + kWriteLen, kWriteLen, mr_.lkey()};
    const SendWr wrs[3] = {
        mr_.reg_wr(send_cqe_.get(), kAccess, 0),
        wr_write_imm(send_cqe_.get(), &sge, 1, info_.addr + kWriteLen, info_.rkey, kImmWrite2, 0),
        mr_.local_inv_wr(send_cqe_.get(), KX_SEND_SIGNALED),
    };
    return qp_.post_send(wrs, 3);
  }

  Result<void> local_inv() { return qp_.post_send(mr_.local_inv_wr(send_cqe_.get(), KX_SEND_SIGNALED)); }

  Result<void> post_seq(u32 i, u32 flags) {
    return qp_.post_send(wr_write_imm(send_cqe_.get(), nullptr, 0, 0, 0, kSeqBase + i, flags));
  }

  // Stops reposting receives, then drains. Process context.
  void drain() {
    stopping_.store(1);
    qp_.drain();
  }

  void teardown() {
    drain();
    qp_.reset();
    ready_.store(0);
    desc_dma_.reset();
    info_dma_.reset();
    mr_.reset();
    sg_.reset();
    desc_buf_ = OwnArray<u8>();
    info_buf_ = OwnArray<u8>();
    buf_.reset();
    recv_cq_.reset();
    send_cq_.reset();
    pd_.reset();
    id_.reset();
  }
  bool torn_down() const {
    return !qp_.get() && !mr_.get() && !send_cq_.get() && !recv_cq_.get() && !pd_.get() && !id_;
  }

  State state() const { return static_cast<State>(state_.load()); }
  CmId& id() { return id_; }
  const u8* buf() const { return buf_.data(); }
  u32 sq_depth() const { return caps_.max_send_wr; }

  Atomic<u32> state_{kIdle};
  Atomic<u32> stopping_{0};
  Atomic<u32> ready_{0};
  Atomic<u32> disconnected_{0};
  Atomic<u32> info_received_{0};
  Atomic<u32> recv_posted_{0};
  Atomic<u32> recv_done_{0};
  Atomic<u32> recv_flushed_{0};
  Atomic<u32> recv_errors_{0};
  Atomic<u32> invs_{0};
  Atomic<u32> inv_flags_{0};
  Atomic<u32> inv_rkey_{0};
  Atomic<u32> inv_len_{0};
  Atomic<u32> imms_{0};
  Atomic<u32> last_imm_{0};
  // Written only in this thread (direct CQ).
  u32 send_ok_ = 0;
  u32 send_errors_ = 0;
  u32 send_flushed_ = 0;
  u32 last_send_opcode_ = 0;
  u32 last_send_status_ = 0;
  u32 direct_reaped_ = 0;
  // Written by the CM handler before state_ changes.
  ConnRsp rsp_{};
  u32 rsp_len_ = 0;
  u32 consumer_reject_ = 0;
  i32 reject_status_ = 0;
  i32 error_ = 0;
  u32 token_ = 0;
  QpCaps caps_{};
  DeviceAttr attr_{};
  // Written by on_info_recv before info_received_.
  Info info_{};
  u32 info_len_ = 0;
  Desc desc_{};

 private:
  void fail(const char* what, int code) {
    kx_err("client: %s failed: %d", what, code);
    error_ = code;
    state_.store(kError);
  }

  void count_recv_error(const Wc& wc) {
    if (wc.status == KX_WC_WR_FLUSH_ERR)
      recv_flushed_.add_fetch(1);
    else
      recv_errors_.add_fetch(1);
    recv_done_.add_fetch(1);
    sh_.wake();
  }

  // Handler context (ADDR_RESOLVED): the device is known now.
  Result<void> setup() {
    kx_ib_device* dev = id_.device();
    attr_ = query_device(dev);
    pd_ = KX_TRY(Pd::create(dev));
    // Sends: polled here (IB_POLL_DIRECT); receives: softirq. +1 each for the drain.
    send_cq_ = KX_TRY(Cq::create(dev, kCliSq + 1, 0, PollCtx::direct));
    recv_cq_ = KX_TRY(Cq::create(dev, kCliRq + 1, 0, PollCtx::softirq));
    buf_ = KX_TRY(Pages::create(kBufOrder));
    sg_ = KX_TRY(SgTable::create(1, Gfp::kernel));
    sg_.set_buf(0, buf_.data(), kBufSize);
    KX_TRY(sg_.map(dev, DmaDir::bidirectional));
    mr_ = KX_TRY(FastRegMr::create(pd_, kBufPages));
    info_buf_ = KX_TRY(OwnArray<u8>::create(sizeof(Info), Gfp::kernel));
    desc_buf_ = KX_TRY(OwnArray<u8>::create(sizeof(Desc), Gfp::kernel));
    info_dma_ = KX_TRY(DmaMapping::create(dev, info_buf_.data(), sizeof(Info), DmaDir::from_device));
    desc_dma_ = KX_TRY(DmaMapping::create(dev, desc_buf_.data(), sizeof(Desc), DmaDir::to_device));
    caps_ = QpCaps{kCliSq, kCliRq, 2, 1, 0};
    qp_ = KX_TRY(Qp::create(id_, pd_, send_cq_, recv_cq_, caps_));
    // Receives are consumed in order: the Info first, then empty ones.
    const Sge info_sge = info_dma_.sge(pd_.local_dma_lkey());
    recv_posted_.add_fetch(1);
    KX_TRY(qp_.post_recv(info_cqe_.get(), &info_sge, 1));
    for (u32 i = 1; i < kCliRq; i++) {
      recv_posted_.add_fetch(1);
      KX_TRY(qp_.post_recv(recv_cqe_.get()));
    }
    ready_.store_release(1);
    return ok();
  }

  Shared& sh_;
  const bool bad_request_;
  CmHandler<Client, &Client::on_cm_event> handler_{this};
  Cqe<Client, &Client::on_recv> recv_cqe_{this};
  Cqe<Client, &Client::on_info_recv> info_cqe_{this};
  Cqe<Client, &Client::on_send> send_cqe_{this};
  ConnReq req_{};
  CmId id_;
  Pd pd_;
  Cq send_cq_;
  Cq recv_cq_;
  Pages buf_;
  OwnArray<u8> info_buf_;
  OwnArray<u8> desc_buf_;
  SgTable sg_;
  FastRegMr mr_;
  DmaMapping info_dma_;
  DmaMapping desc_dma_;
  Qp qp_;
};

// ---------------------------------------------------------------------------
struct Report {
  int passed = 0;
  int failed = 0;
  bool item(const char* name, const char* why) {
    if (why) {
      failed++;
      kx_err("FAIL %s: %s", name, why);
      return false;
    }
    passed++;
    kx_info("PASS %s", name);
    return true;
  }
};

class Smoke {
 public:
  explicit Smoke(u16 port) : port_(port) {}
  KX_PINNED(Smoke);

  // Sleeps until pred() or the timeout, polling the client's direct send CQ.
  template <typename Pred>
  bool wait_until(Pred pred, u32 timeout_ms = kTimeoutMs) {
    const u64 deadline = kx_ktime_ns() + u64(timeout_ms) * 1000000;
    for (;;) {
      if (client_) client_->poll_send_cq();
      if (pred()) return true;
      if (kx_ktime_ns() >= deadline) return false;
      (void)sh_.wq.wait_for(pred, 2);
    }
  }

  const char* check_addr() {
    char s[64];
    auto a = SockAddr::parse("ip:10.99.0.1", 4242);
    EXPECT(a.is_ok());
    EXPECT(a.value().family() == KX_AF_INET && a.value().port() == 4242);
    a.value().to_str(s, sizeof(s));
    EXPECT(__builtin_strcmp(s, "ip:10.99.0.1") == 0);
    auto b = SockAddr::parse("ip:10.99.0.1", 1);
    EXPECT(b.is_ok() && b.value().same_host(a.value()));
    auto c = SockAddr::parse("ip:10.99.0.2", 4242);
    EXPECT(c.is_ok() && !c.value().same_host(a.value()));
    auto v6 = SockAddr::parse("ip:fe80::1", 7);
    EXPECT(v6.is_ok() && v6.value().family() == KX_AF_INET6 && v6.value().port() == 7);
    v6.value().to_str(s, sizeof(s));
    EXPECT(__builtin_strcmp(s, "ip:fe80::1") == 0);
    auto gid = SockAddr::parse("gid:fe80::2:3", 9);
    EXPECT(gid.is_ok() && gid.value().family() == KX_AF_IB);
    gid.value().to_str(s, sizeof(s));
    EXPECT(__builtin_strcmp(s, "gid:fe80:0000:0000:0000:0000:0000:0002:0003") == 0);
    auto any = SockAddr::any(KX_AF_INET6, 5);
    EXPECT(any.is_ok() && any.value().family() == KX_AF_INET6 && any.value().port() == 5);
    auto bad_prefix = SockAddr::parse("tcp:10.99.0.1", 1);
    EXPECT(bad_prefix.is_error() && bad_prefix.error().code() == -EPROTONOSUPPORT);
    EXPECT(SockAddr::parse("ip:10.99.0.300", 1).is_error());
    EXPECT(SockAddr::parse("gid:zz", 1).is_error());
    return nullptr;
  }

  const char* connect_client(bool bad, Client::State want) {
    auto c = make_own<Client>(Gfp::kernel, sh_, bad);
    EXPECT(c.is_ok());
    client_ = c.release_value();
    EXPECT(client_->start(port_).is_ok());
    Client* cl = client_.get();
    if (!wait_until([cl] { return cl->state() != Client::kIdle; })) return "no CM outcome in time";
    if (client_->state() != want) {
      kx_err("client: state %u (error %d, reject status %d), wanted %u", client_->state(),
             client_->error_, client_->reject_status_, want);
      return "unexpected CM outcome";
    }
    return nullptr;
  }

  const char* check_reject() {
    const u32 rejects = server_->rejects_.load();
    if (const char* why = connect_client(true, Client::kRejected)) return why;
    EXPECT(server_->rejects_.load() == rejects + 1);
    EXPECT(server_->req_len_.load() == KX_CM_REQ_PDATA_MAX);
    EXPECT(client_->consumer_reject_ == 1);
    EXPECT(client_->rsp_len_ == KX_CM_REJ_PDATA_MAX);
    EXPECT(client_->rsp_.magic == kRejMagic);
    EXPECT(client_->rsp_.token == client_->token_);
    EXPECT(client_->rsp_.status == -EPROTO);
    for (u32 i = 0; i < sizeof(client_->rsp_.fill); i++)
      EXPECT(client_->rsp_.fill[i] == rsp_fill(client_->token_, i));
    // The rejected client's QP never connected; drain and destroy it all.
    client_->teardown();
    EXPECT(client_->torn_down());
    client_ = nullptr;
    EXPECT(!server_->conn_id());
    return nullptr;
  }

  const char* check_connect() {
    if (const char* why = connect_client(false, Client::kEstablished)) return why;
    Server* s = server_.get();
    if (!wait_until([s] { return s->established_.load() || s->failed_.load(); }))
      return "server never saw ESTABLISHED";
    EXPECT(!server_->failed_.load());
    EXPECT(server_->req_.magic == kReqMagic && server_->req_.token == client_->token_);
    EXPECT(client_->rsp_len_ == KX_CM_REP_PDATA_MAX);
    EXPECT(client_->rsp_.magic == kRspMagic);
    EXPECT(client_->rsp_.token == client_->token_);
    EXPECT(client_->rsp_.status == 0);
    for (u32 i = 0; i < sizeof(client_->rsp_.fill); i++)
      EXPECT(client_->rsp_.fill[i] == rsp_fill(client_->token_, i));
    // Each side sees the other's address.
    auto srv = SockAddr::parse("ip:10.99.0.1", 0);
    auto cli = SockAddr::parse("ip:10.99.0.2", 0);
    EXPECT(srv.is_ok() && cli.is_ok());
    EXPECT(client_->id().dst_addr().same_host(srv.value()));
    EXPECT(client_->id().src_addr().same_host(cli.value()));
    EXPECT(server_->conn_id().dst_addr().same_host(cli.value()));
    EXPECT(server_->conn_id().dst_addr().port() == client_->id().src_addr().port());
    EXPECT(server_->conn_id().src_addr().port() == port_);
    return nullptr;
  }

  const char* check_device() {
    const DeviceAttr s = query_device(server_->conn_id().device());
    const DeviceAttr& c = client_->attr_;
    const DeviceAttr* both[2] = {&s, &c};
    for (const DeviceAttr* a : both) {
      kx_info("device %s: guid %016llx max_fast_reg_page_list_len %u max_qp_wr %u "
              "max_send_sge %u max_recv_sge %u max_cqe %u mem_mgt_ext %u sg_gaps %u "
              "comp_vectors %u",
              a->name, static_cast<unsigned long long>(a->node_guid),
              a->max_fast_reg_page_list_len, a->max_qp_wr, a->max_send_sge, a->max_recv_sge,
              a->max_cqe, a->mem_mgt_extensions, a->sg_gaps_reg, a->num_comp_vectors);
      EXPECT(a->mem_mgt_extensions);
      EXPECT(a->max_fast_reg_page_list_len >= kBufPages);
      EXPECT(a->max_send_sge >= 2 && a->max_qp_wr >= kSrvRq);
    }
    // Server on 10.99.0.1 = rxe0, client from 10.99.0.2 = rxe1.
    EXPECT(__builtin_strcmp(s.name, c.name) != 0);
    EXPECT(s.node_guid != c.node_guid);
    kx_ib_port_attr pa;
    EXPECT(kx_ib_port_query(client_->id().device(), client_->id().port(), &pa) == 0);
    kx_info("client port %u: state %u active_mtu %u", client_->id().port(), pa.state,
            pa.active_mtu);
    EXPECT(pa.state == 4 /* IB_PORT_ACTIVE */);
    EXPECT(client_->sq_depth() >= kCliSq);
    return nullptr;
  }

  const char* check_reg_mr_send() {
    const u32 sent = server_->send_ok_.load();
    EXPECT(server_->send_info().is_ok());
    Client* c = client_.get();
    Server* s = server_.get();
    if (!wait_until([c, s, sent] {
          return c->info_received_.load() || c->recv_errors_.load() ||
                 s->send_ok_.load() > sent || s->send_errors_.load();
        }))
      return "no completion";
    if (!wait_until([c, s, sent] {
          return (c->info_received_.load() && s->send_ok_.load() > sent) ||
                 c->recv_errors_.load() || s->send_errors_.load();
        }))
      return "info or send completion missing";
    EXPECT(!server_->send_errors_.load() && !client_->recv_errors_.load());
    // Only the SEND was signaled: one completion, opcode SEND.
    EXPECT(server_->send_ok_.load() == sent + 1);
    EXPECT(server_->last_send_opcode_.load() == KX_WC_SEND);
    EXPECT(client_->info_len_ == sizeof(Info));
    EXPECT(client_->info_.magic == kInfoMagic && client_->info_.len == kBufSize);
    EXPECT(client_->info_.rkey != 0);
    return nullptr;
  }

  // Waits for n more signaled client sends (polling the direct CQ).
  const char* wait_client_sends(u32 base, u32 n) {
    Client* c = client_.get();
    if (!wait_until([c, base, n] { return c->send_ok_ >= base + n || c->send_errors_; }))
      return "client send completion missing";
    EXPECT(client_->send_errors_ == 0);
    EXPECT(client_->send_ok_ == base + n);
    return nullptr;
  }

  const char* check_write_imm() {
    const u32 sends = client_->send_ok_;
    const u32 writes = server_->imm_writes_.load();
    EXPECT(client_->write_imm().is_ok());
    if (const char* why = wait_client_sends(sends, 1)) return why;
    EXPECT(client_->last_send_opcode_ == KX_WC_RDMA_WRITE);
    Server* s = server_.get();
    if (!wait_until([s, writes] { return s->imm_writes_.load() > writes || s->recv_errors_.load(); }))
      return "server saw no WRITE_WITH_IMM";
    EXPECT(server_->recv_errors_.load() == 0);
    EXPECT(server_->last_imm_.load() == kImmWrite);
    EXPECT(server_->last_len_.load() == kWriteLen + sizeof(Desc));
    const u8* b = server_->buf();
    for (usize i = 0; i < kWriteLen; i++)
      if (b[i] != pattern_a(i)) return "data written to the server differs";
    const Desc* d = reinterpret_cast<const Desc*>(b + kWriteLen);
    EXPECT(d->addr == client_->desc_.addr && d->rkey == client_->desc_.rkey);
    EXPECT(d->len == kBufSize);
    // Nothing past what was written.
    EXPECT(b[kWriteLen + sizeof(Desc)] == 0);
    return nullptr;
  }

  const char* check_send_with_inv() {
    const Desc d = *reinterpret_cast<const Desc*>(server_->buf() + kWriteLen);
    const u32 invs = client_->invs_.load();
    const u32 imms = client_->imms_.load();
    const u32 srv_sends = server_->send_ok_.load();
    EXPECT(server_->reply(d).is_ok());
    Client* c = client_.get();
    Server* s = server_.get();
    if (!wait_until([c, s, imms, srv_sends] {
          return (c->imms_.load() > imms && s->send_ok_.load() > srv_sends) ||
                 c->recv_errors_.load() || s->send_errors_.load();
        }))
      return "reply not complete";
    EXPECT(!client_->recv_errors_.load() && !server_->send_errors_.load());
    // Three WRs, one signaled.
    EXPECT(server_->send_ok_.load() == srv_sends + 1);
    EXPECT(server_->last_send_opcode_.load() == KX_WC_RDMA_WRITE);
    // The zero-length SEND_WITH_INV took a receive and invalidated our MR.
    EXPECT(client_->invs_.load() == invs + 1);
    EXPECT(client_->inv_flags_.load() & KX_WC_WITH_INVALIDATE);
    EXPECT(client_->inv_rkey_.load() == d.rkey);
    EXPECT(client_->inv_len_.load() == 0);
    EXPECT(client_->imms_.load() == imms + 1);
    EXPECT(client_->last_imm_.load() == kImmReply);
    const u8* b = client_->buf();
    for (usize i = 0; i < kReplyLen; i++)
      if (b[i] != pattern_b(i)) return "data written to the client differs";
    for (usize i = kReplyLen; i < kWriteLen; i++)
      if (b[i] != pattern_a(i)) return "client data beyond the reply changed";
    // The MR is free again: a new registration succeeds (rxe fails REG_MR
    // on a valid MR with LOC_QP_OP_ERR).
    const u32 sends = client_->send_ok_;
    EXPECT(client_->reregister().is_ok());
    if (const char* why = wait_client_sends(sends, 1)) return why;
    EXPECT(client_->last_send_opcode_ == KX_WC_REG_MR);
    return nullptr;
  }

  const char* check_local_inv() {
    // The registration from send_with_inv is valid: invalidate it locally.
    u32 sends = client_->send_ok_;
    EXPECT(client_->local_inv().is_ok());
    if (const char* why = wait_client_sends(sends, 1)) return why;
    EXPECT(client_->last_send_opcode_ == KX_WC_LOCAL_INV);
    // The RTRS write chain: REG_MR -> WRITE_WITH_IMM -> LOCAL_INV.
    const u32 writes = server_->imm_writes_.load();
    sends = client_->send_ok_;
    EXPECT(client_->write_then_local_inv().is_ok());
    if (const char* why = wait_client_sends(sends, 1)) return why;
    EXPECT(client_->last_send_opcode_ == KX_WC_LOCAL_INV);
    Server* s = server_.get();
    if (!wait_until([s, writes] { return s->imm_writes_.load() > writes || s->recv_errors_.load(); }))
      return "server saw no second WRITE_WITH_IMM";
    EXPECT(server_->last_imm_.load() == kImmWrite2 && server_->last_len_.load() == kWriteLen);
    const u8* b = server_->buf() + kWriteLen;
    for (usize i = 0; i < kWriteLen; i++)
      if (b[i] != pattern_a(kWriteLen + i)) return "second write differs";
    // Free again after LOCAL_INV: register once more, then invalidate for good.
    sends = client_->send_ok_;
    EXPECT(client_->reregister().is_ok());
    if (const char* why = wait_client_sends(sends, 1)) return why;
    EXPECT(client_->last_send_opcode_ == KX_WC_REG_MR);
    return nullptr;
  }

  const char* check_unsignaled() {
    const u32 sq = client_->sq_depth();
    const u32 base = client_->send_ok_;
    const u32 seq = server_->seq_seen_.load();
    Client* c = client_.get();
    // A WR's send-queue slot is known free only once a later signaled WR
    // completed: retired = completed signals * interval.
    for (u32 i = 0; i < kUnsignaledWrs;) {
      const u32 retired = (client_->send_ok_ - base) * kSignalInterval;
      if (i - retired >= sq) {
        if (!wait_until([c, base, retired] {
              return (c->send_ok_ - base) * kSignalInterval > retired || c->send_errors_;
            }))
          return "send queue never drained";
        EXPECT(client_->send_errors_ == 0);
        continue;
      }
      const u32 flags = (i + 1) % kSignalInterval == 0 ? KX_SEND_SIGNALED : 0u;
      if (client_->post_seq(i, flags).is_error()) return "post_send failed (send queue overrun?)";
      i++;
    }
    if (const char* why = wait_client_sends(base, kUnsignaledWrs / kSignalInterval)) return why;
    Server* s = server_.get();
    if (!wait_until([s, seq] { return s->seq_seen_.load() >= seq + kUnsignaledWrs; }))
      return "server did not receive every write";
    EXPECT(server_->seq_seen_.load() == seq + kUnsignaledWrs);
    EXPECT(server_->seq_errors_.load() == 0);
    EXPECT(server_->recv_errors_.load() == 0);
    kx_info("unsignaled: %u WRs through a %u-deep send queue, %u completions", kUnsignaledWrs, sq,
            kUnsignaledWrs / kSignalInterval);
    return nullptr;
  }

  const char* check_cq_direct() {
    // Every client send completion came through ib_process_cq_direct.
    EXPECT(client_->direct_reaped_ == client_->send_ok_ + client_->send_errors_ +
                                          client_->send_flushed_);
    EXPECT(client_->direct_reaped_ > 0);
    kx_info("cq_direct: %u completions reaped by polling", client_->direct_reaped_);
    return nullptr;
  }

  const char* check_disconnect() {
    EXPECT(client_->id().disconnect().is_ok());
    Client* c = client_.get();
    Server* s = server_.get();
    if (!wait_until([c, s] { return c->disconnected_.load() && s->disconnected_.load(); }))
      return "DISCONNECTED not seen on both sides";
    return nullptr;
  }

  const char* check_drain() {
    client_->drain();
    server_->drain();
    // After the drain every receive posted has completed, most as flushes.
    EXPECT(client_->recv_done_.load() == client_->recv_posted_.load());
    EXPECT(server_->recv_done_.load() == server_->recv_posted_.load());
    EXPECT(client_->recv_flushed_.load() > 0 && server_->recv_flushed_.load() > 0);
    EXPECT(client_->recv_errors_.load() == 0 && server_->recv_errors_.load() == 0);
    EXPECT(client_->send_errors_ == 0 && server_->send_errors_.load() == 0);
    kx_info("drain: client %u receives (%u flushed), server %u receives (%u flushed)",
            client_->recv_posted_.load(), client_->recv_flushed_.load(),
            server_->recv_posted_.load(), server_->recv_flushed_.load());
    return nullptr;
  }

  const char* check_teardown() {
    client_->teardown();
    server_->teardown();
    EXPECT(client_->torn_down() && server_->torn_down());
    client_ = nullptr;
    server_ = nullptr;
    return nullptr;
  }

  void run(Report& rep) {
    if (!rep.item("addr", check_addr())) return;
    auto s = make_own<Server>(Gfp::kernel, sh_);
    if (!rep.item("listen", s.is_ok() ? start_server(s.release_value()) : "no memory")) return;
    if (!rep.item("cm_reject", check_reject())) return;
    if (!rep.item("cm_connect", check_connect())) return;
    if (!rep.item("device", check_device())) return;
    observe_mr_limit();
    if (!rep.item("reg_mr_send", check_reg_mr_send())) return;
    if (!rep.item("write_imm", check_write_imm())) return;
    if (!rep.item("send_with_inv", check_send_with_inv())) return;
    if (!rep.item("local_inv", check_local_inv())) return;
    if (!rep.item("unsignaled", check_unsignaled())) return;
    if (!rep.item("cq_direct", check_cq_direct())) return;
    if (!rep.item("disconnect", check_disconnect())) return;
    if (!rep.item("drain", check_drain())) return;
    rep.item("teardown", check_teardown());
  }

  const char* start_server(OwnPtr<Server> s) {
    server_ = move(s);
    auto l = server_->listen(port_);
    if (l.is_error()) kx_err("listen: %d", l.error().code());
    return l.is_ok() ? nullptr : "bind/listen failed";
  }

  // Not an item: does the device refuse an MR above its advertised
  // max_fast_reg_page_list_len? (rxe 6.1 does not.)
  void observe_mr_limit() {
    const u32 max = client_->attr_.max_fast_reg_page_list_len;
    auto pd = Pd::create(client_->id().device());
    if (pd.is_error()) return;
    auto mr = FastRegMr::create(pd.value(), max + 1);
    kx_info("ib_alloc_mr(%u pages) above max_fast_reg_page_list_len %u: %d", max + 1, max,
            mr.is_ok() ? 0 : mr.error().code());
  }

 private:
  Shared sh_;
  const u16 port_;
  // The client is destroyed before the server (its id before the listener).
  OwnPtr<Server> server_;
  OwnPtr<Client> client_;
};

}  // namespace

extern "C" int rdma_smoke_run(unsigned short port) {
  Report rep;
  {
    auto smoke = make_own<Smoke>(Gfp::kernel, port);
    if (smoke.is_error()) {
      kx_err("FAIL setup: cannot allocate");
      return 1;
    }
    smoke.value()->run(rep);
  }  // everything left (after a failure) is torn down here
  if (runtime::live_allocations() != 0) {
    rep.item("no_leak", "allocations live after teardown");
    kx_err("%lld allocations live", static_cast<long long>(runtime::live_allocations()));
  } else {
    rep.item("no_leak", nullptr);
  }
  kx_info("summary: %d passed, %d failed", rep.passed, rep.failed);
  return rep.failed;
}
