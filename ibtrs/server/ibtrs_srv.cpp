// SPDX-License-Identifier: GPL-2.0
// ibtrs-server: the C++ half (unity translation unit). The module tables,
// parameters and exports are in ibtrs_srv_main.c.
//
// Objects and ownership (structure guarded by ibtrs_srv_ctx::mutex):
//   ibtrs_srv_ctx   one per ibtrs_srv_open(): listeners, sessions
//   ibtrs_srv_sess  one per client session (paths_uuid): the chunk pool
//                   (queue_depth chunks, allocated once) and one op per chunk
//   SrvPath         one per client path (sess_uuid): cid_num connections and
//                   the chunk registration (FR MRs) on that path's device
//   SrvCon          one RC QP + CQ + cm_id
//   ibtrs_srv_op    the request occupying one chunk (busy from its IO_REQ
//                   until ibtrs_srv_resp_rdma)
// Contexts: CM events in process context (rdma_cm wq, handler mutex held);
// completions in softirq; INFO_REQ handling, path close and reaping in the
// module workqueue.
//
// Peer input is never trusted: a malformed message closes its path with one
// log line (rate limited), and nothing on the wire reaches a BUG or WARN.
#include <runtime/runtime.cpp>

#include "../common/common.h"
#include "../common/sysfs_ids.h"
#include <ibtrs/core/conn_admit.h>

#include <kx/sysfs.h>

extern "C" {
extern int ibtrs_srv_sess_queue_depth;
extern int ibtrs_srv_max_chunk_size;
extern bool ibtrs_srv_always_invalidate;
extern bool ibtrs_srv_merge_read_answer;  // 0644: read once per READ answer
extern int ibtrs_srv_max_sessions;
extern int ibtrs_srv_max_sessions_per_peer;
extern int ibtrs_srv_max_pinned_mb;
extern int ibtrs_srv_setup_timeout_ms;
extern int ibtrs_srv_max_conns_per_peer;
}

using namespace ibtrs;
namespace wire = ibtrs::wire;

namespace {

enum PathState : u32 { kConnecting = 0, kConnected = 1, kClosing = 2 };

kx_workqueue* g_wq;
// Bytes of session chunks allocated now, over every ibtrs_srv_open()
// context (bounded by max_pinned_mb).
kx::Atomic<u64> g_pinned_bytes;
kx::sysfs::Class* g_class;  // /sys/class/ibtrs-server (allocated at init)
ibtrs_sysfs_groups g_groups;

// Server chunk header room (upstream MAX_HDR_SIZE = PAGE_SIZE): max_io_size
// = chunk_size - kMaxHdrSize.
constexpr u32 kMaxHdrSize = static_cast<u32>(kPageSize);
// Pages per FR MR: rxe caps fast registration at 512 pages (test-bed.md).
constexpr u32 kMaxMrPages = 512;
constexpr u32 kInfoReqBufSize = sizeof(wire::InfoReqWire);
// Written over the type field of every decoded request trailer: no message
// type, so decode_io_request refuses a replay with EBADMSG.
constexpr u16 kConsumedTrailerType = 0xffff;

// Path lifecycle lines (connected, closing, closed) and every refusal of
// peer input are rate limited: a peer that opens and breaks paths in a loop
// must not flood the kernel log.
#define srv_info_rl(fmt, ...) kx_log_ratelimited(KX_LOG_INFO, fmt, ##__VA_ARGS__)

}  // namespace

struct SrvPath;

// ---------------------------------------------------------------------------
struct SrvCon {
  SrvCon(SrvPath* p, u16 c) : path(p), cid(c) {}
  KX_PINNED(SrvCon);

  int on_cm(kx_cm_id* id, const rdma::CmEvent& ev);
  void on_recv(const rdma::Wc& wc);
  void on_send(const rdma::Wc& wc);
  void on_info_recv(const rdma::Wc& wc);
  Result<void> post_empty_recvs(u32 n);
  bool claim_chunk(ibtrs_srv_op* op, u32 offset);
  void begin_request(ibtrs_srv_op* op, u32 offset);
  void start_request(ibtrs_srv_op* op, u32 offset);
  bool post_resp(ibtrs_srv_op* op, int err);

  SrvPath* path;
  u16 cid;
  bool established = false;
  SignalCounter sig;
  rdma::CmHandler<SrvCon, &SrvCon::on_cm> handler{this};
  rdma::Cqe<SrvCon, &SrvCon::on_recv> recv_cqe{this};
  rdma::Cqe<SrvCon, &SrvCon::on_send> send_cqe{this};
  rdma::Cqe<SrvCon, &SrvCon::on_info_recv> info_cqe{this};
  // Teardown order is explicit (SrvPath::teardown): qp, cq, id.
  rdma::CmId id;
  rdma::Cq cq;
  QpHandle qp;
};

// Where chunk i lives on one path: the MR covering it.
struct ChunkRef {
  u64 addr;  // MR iova of the chunk's first byte
  u32 lkey;
  u32 rkey;
  u64 dma;   // DMA address of the chunk (always_invalidate: one MR per chunk)
};

// always_invalidate: the LOCAL_INV of one chunk's MR on one path. It is
// posted when a request for the chunk arrives, and the request runs from its
// completion, so the client cannot write the chunk while our user works on
// it. While it is posted, the op's inv_owner points here; whoever clears
// that pointer (one compare-exchange) finishes the request: the completion
// (runs it), the path teardown once the queues are gone (a destroyed CQ
// drops completions; frees the chunk), or a fail-over copy from another
// path (claim_chunk: the first copy never started, the copy takes over).
struct ChunkInv {
  ChunkInv() = default;
  KX_PINNED(ChunkInv);
  void on_done(const rdma::Wc& wc);

  ibtrs_srv_op* op = nullptr;
  SrvCon* con = nullptr;
  u32 offset = 0;
  rdma::Cqe<ChunkInv, &ChunkInv::on_done> cqe{this};
};

struct SrvPath {
  SrvPath(ibtrs_srv_sess* s, const wire::Uuid& u, u16 n, u16 rc)
      : sess(s), sess_uuid(u), cid_num(n), recon_cnt(rc) {}
  KX_PINNED(SrvPath);

  void schedule_close(const char* why, int err);
  void close_work_fn();
  void info_work_fn();
  void hb_work_fn();
  void setup_timeout_fn();
  void sysfs_add();
  void sysfs_remove();
  long sysfs_show(int id, char* buf);
  long sysfs_store(int id, const char* buf, usize len, kx::sysfs::SelfFile self);
  void teardown();
  Result<void> register_chunks();
  Result<void> send_info_rsp();
  bool all_cons_up();

  ibtrs_srv_sess* sess;
  wire::Uuid sess_uuid;
  u16 cid_num;
  u16 recon_cnt;
  ListNode node;       // sess->paths (or ctx->dead_paths once closed)
  Atomic<u32> state{kConnecting};
  Atomic<u32> inflight{0};  // ops upcalled on this path and not yet answered
  char name[kPathNameMax] = {};
  rdma::SockAddr src, dst;
  kx_ib_device* dev = nullptr;
  rdma::DeviceAttr dev_attr{};
  rdma::Pd pd;
  OwnArray<SrvCon*> cons;
  // Chunk registration: nr_mrs MRs of chunks_per_mr chunks each.
  u32 chunks_per_mr = 0;
  Array<rdma::SgTable> mr_sg;
  Array<rdma::FastRegMr> mrs;
  OwnArray<ChunkRef> chunk_refs;
  bool registered = false;
  // always_invalidate (module parameter, read once when the path is set up;
  // a later write applies to later paths): one MR per chunk, invalidated on
  // every request and registered again with a new key that RKEY_RSP (one
  // 8-byte message per chunk, DMA-mapped) tells the client.
  const bool always_inv = __atomic_load_n(&ibtrs_srv_always_invalidate, __ATOMIC_RELAXED);
  RegFence reg_fence;  // in front of every REG_MR of an answer (common.h)
  Array<ChunkInv> invs;
  OwnArray<u8> rkey_rsp_buf;
  rdma::DmaMapping rkey_rsp_dma;
  // INFO_REQ receive buffer and INFO_RSP send buffer (con 0).
  OwnArray<u8> info_req_buf;
  rdma::DmaMapping info_req_dma;
  u32 info_req_len = 0;
  OwnArray<u8> info_rsp_buf;
  rdma::DmaMapping info_rsp_dma;
  WaitQueue idle_wq{KX_LOCK_CLASS("ibtrs_srv.path.idle")};
  Work<SrvPath, &SrvPath::info_work_fn> info_work{this, KX_LOCK_CLASS("ibtrs_srv.path.info")};
  u32 hca_port = 0;
  Atomic<u64> rd_cnt{0}, rd_bytes{0}, wr_cnt{0}, wr_bytes{0};
  Atomic<u64> parked_cnt{0};  // fail-over copies that waited for their chunk
  // always_invalidate: chunk LOCAL_INVs completed successfully (each
  // request that ran on this path had one); 0 on a path without it. Shown
  // in stats/rdma so a benchmark can prove the invalidations happened.
  Atomic<u64> inv_cnt{0};
  kx::sysfs::Target<SrvPath> sysfs_target{this};
  kx::sysfs::KObject kobj, stats_kobj;
  Atomic<u32> hb_missed{0};
  DelayedWork<SrvPath, &SrvPath::hb_work_fn> hb_work{this, KX_LOCK_CLASS("ibtrs_srv.path.hb")};
  Work<SrvPath, &SrvPath::close_work_fn> close_work{this, KX_LOCK_CLASS("ibtrs_srv.path.close")};
  // Armed when the path is created: a path still CONNECTING after
  // setup_timeout_ms (connections missing, no INFO_REQ) is closed, so a
  // half-open path cannot keep its session's memory pinned.
  DelayedWork<SrvPath, &SrvPath::setup_timeout_fn> setup_work{this, KX_LOCK_CLASS("ibtrs_srv.path.setup")};
};

// busy: kChunkFree, kChunkBusy (a request owns the chunk), kChunkParked
// (busy, and a fail-over copy of the request from another path waits in
// parked_con/parked_offset to run when the first copy is answered).
enum ChunkState : u32 { kChunkFree = 0, kChunkBusy = 1, kChunkParked = 2 };

struct ibtrs_srv_op {
  ibtrs_srv_op() = default;
  KX_PINNED(ibtrs_srv_op);
  void run_parked();

  ibtrs_srv_sess* sess = nullptr;
  SrvPath* path = nullptr;
  SrvCon* con = nullptr;
  u32 buf_id = 0;
  wire::IoRequest req{};
  Atomic<u32> busy{kChunkFree};
  // always_invalidate: the ChunkInv whose LOCAL_INV the request in this
  // chunk waits for, nullptr otherwise (see ChunkInv). Session-wide, so a
  // copy on another path can take the request over without touching the
  // first path's memory.
  Atomic<ChunkInv*> inv_owner{nullptr};
  // Written by the parking path before busy becomes kChunkParked; read by
  // whoever moves it back to kChunkBusy (busy orders the accesses).
  SrvCon* parked_con = nullptr;
  u32 parked_offset = 0;
  Work<ibtrs_srv_op, &ibtrs_srv_op::run_parked> parked_work{this, KX_LOCK_CLASS("ibtrs_srv.op.parked")};
};

struct ibtrs_srv_sess {
  ibtrs_srv_sess(ibtrs_srv_ctx* c, const wire::Uuid& u, const wire::ChunkGeometry& g,
                 const rdma::SockAddr& creator)
      : ctx(c), paths_uuid(u), geo(g), peer(creator) {}
  KX_PINNED(ibtrs_srv_sess);
  ~ibtrs_srv_sess() {
    for (usize i = 0; i < chunk_va.size(); i++)
      if (chunk_va[i]) kx::free_pages(chunk(i), chunk_order);
    if (pinned) g_pinned_bytes.fetch_sub(geo.total_size());
  }

  // Reserves the session's chunk memory against max_pinned_mb (released by
  // the destructor). ENOMEM if it would exceed the bound.
  Result<void> reserve_pinned() {
    const u64 limit = static_cast<u64>(ibtrs_srv_max_pinned_mb) << 20;
    if (g_pinned_bytes.add_fetch(geo.total_size()) > limit) {
      g_pinned_bytes.fetch_sub(geo.total_size());
      return Error(-ENOMEM);
    }
    pinned = true;
    return ok();
  }

  Result<void> init() {
    chunk_order = ilog2(geo.chunk_size() / kPageSize);
    chunk_va = KX_TRY(OwnArray<u64>::create(geo.queue_depth(), Gfp::kernel));
    for (u32 i = 0; i < geo.queue_depth(); i++) {
      void* p = kx::alloc_pages(chunk_order, Gfp::kernel | kGfpZero | KX_GFP_NOWARN);
      if (!p) return Error(-ENOMEM);
      chunk_va[i] = reinterpret_cast<uptr>(p);
    }
    ops = KX_TRY(Array<ibtrs_srv_op>::create(geo.queue_depth(), Gfp::kernel));
    for (u32 i = 0; i < geo.queue_depth(); i++) {
      ops[i].sess = this;
      ops[i].buf_id = i;
    }
    return ok();
  }
  u8* chunk(usize i) { return reinterpret_cast<u8*>(static_cast<uptr>(chunk_va[i])); }

  ibtrs_srv_ctx* ctx;
  wire::Uuid paths_uuid;
  wire::ChunkGeometry geo;
  // The client address that created the session: sessions are counted per
  // peer against max_sessions_per_peer.
  rdma::SockAddr peer;
  bool pinned = false;  // geo.total_size() counted in g_pinned_bytes
  // Accepted connections of all its paths (ctx->mutex): each owns a QP and
  // a CQ sized by the queue depth; counted per peer (max_conns_per_peer).
  u32 nr_cons = 0;
  ListNode node;  // ctx->sessions
  List<SrvPath, &SrvPath::node> paths;
  char name[IBTRS_SESSNAME_MAX] = {};
  OwnArray<u64> chunk_va;
  u32 chunk_order = 0;
  Array<ibtrs_srv_op> ops;
  bool link_up = false;  // LINK_EV_CONNECTED delivered
  void* priv = nullptr;
  // /sys/class/ibtrs-server/<name>/paths/ once the session has its name.
  long sysfs_store(int, const char*, usize, kx::sysfs::SelfFile) { return -EINVAL; }
  kx::sysfs::Target<ibtrs_srv_sess> sysfs_target{this};
  kx::sysfs::Device dev;         // destroyed after paths_dir
  kx::sysfs::KObject paths_dir;
};

struct ibtrs_srv_ctx {
  explicit ibtrs_srv_ctx(const ibtrs_srv_ops& o, u16 p) : ops(o), port(p) {}
  KX_PINNED(ibtrs_srv_ctx);

  int on_listen_cm(kx_cm_id* id, const rdma::CmEvent& ev);
  int reject(kx_cm_id* id, int err);
  int connect_request(kx_cm_id* id, const rdma::CmEvent& ev);
  Result<ibtrs_srv_sess*> create_sess(const wire::ConnReq& req, const rdma::SockAddr& peer);
  void reap_work_fn();

  ibtrs_srv_ops ops;
  u16 port;
  bool closing = false;
  Mutex mutex{KX_LOCK_CLASS("ibtrs_srv.ctx.mutex")};
  List<ibtrs_srv_sess, &ibtrs_srv_sess::node> sessions;  // mutex
  List<SrvPath, &SrvPath::node> dead_paths;               // mutex
  u32 nr_sessions = 0;
  rdma::CmHandler<ibtrs_srv_ctx, &ibtrs_srv_ctx::on_listen_cm> handler{this};
  rdma::CmId listen_id;
  Work<ibtrs_srv_ctx, &ibtrs_srv_ctx::reap_work_fn> reap_work{this, KX_LOCK_CLASS("ibtrs_srv.ctx.reap")};
};

// ---------------------------------------------------------------------------
// Connections

Result<void> SrvCon::post_empty_recvs(u32 n) {
  for (u32 i = 0; i < n; i++) KX_TRY(qp.post_recv(recv_cqe.get()));
  return ok();
}

int SrvCon::on_cm(kx_cm_id*, const rdma::CmEvent& ev) {
  switch (ev.type) {
    case KX_CM_EVENT_ESTABLISHED:
      established = true;
      return 0;
    case KX_CM_EVENT_DISCONNECTED:
    case KX_CM_EVENT_ADDR_CHANGE:
    case KX_CM_EVENT_DEVICE_REMOVAL:
    case KX_CM_EVENT_TIMEWAIT_EXIT:
    case KX_CM_EVENT_CONNECT_ERROR:
    case KX_CM_EVENT_UNREACHABLE:
    case KX_CM_EVENT_REJECTED:
      path->schedule_close(kx_cm_event_msg(ev.type), ev.status);
      return 0;
    default:
      return 0;
  }
}

void SrvCon::on_send(const rdma::Wc& wc) {
  if (kx_unlikely(!rdma::wc_ok(wc)) && !wc_flushed(wc))
    path->schedule_close(rdma::wc_status_str(wc), -EIO);
}

void SrvCon::on_info_recv(const rdma::Wc& wc) {
  if (!rdma::wc_ok(wc)) {
    if (!wc_flushed(wc)) path->schedule_close(rdma::wc_status_str(wc), -EIO);
    return;
  }
  if (cid != 0 || (wc.opcode & KX_WC_RECV) == 0 || wc.opcode == KX_WC_RECV_RDMA_WITH_IMM) {
    path->schedule_close("unexpected message instead of INFO_REQ", -EPROTO);
    return;
  }
  path->info_req_len = wc.byte_len;
  path->info_work.queue(g_wq);
}

void SrvCon::on_recv(const rdma::Wc& wc) {
  SrvPath* p = path;
  if (!rdma::wc_ok(wc)) {
    if (!wc_flushed(wc)) p->schedule_close(rdma::wc_status_str(wc), -EIO);
    return;
  }
  const u32 st = p->state.load();
  if (st == kConnecting) {
    // Nothing may arrive here before INFO_RSP went out (the client has no
    // chunk yet): an immediate now is a protocol error. Dropping it would
    // also lose the receive, so the peer could drain them one by one.
    kx_err_rl("path %s: message on con %u before INFO_REQ was answered\n", p->name, cid);
    p->schedule_close(nullptr, -EPROTO);
    return;
  }
  if (st != kConnected) return;
  if (wc.opcode != KX_WC_RECV_RDMA_WITH_IMM || !(wc.wc_flags & KX_WC_WITH_IMM)) {
    p->schedule_close("message without immediate", -EPROTO);
    return;
  }
  ibtrs_srv_sess* s = p->sess;
  p->hb_missed.store_relaxed(0);
  auto imm = wire::decode_server_imm(wc.imm_data, s->geo, cid);
  if (imm.is_error()) {
    kx_err_rl("path %s: bad immediate 0x%08x on con %u (%d)\n", p->name, wc.imm_data, cid,
              imm.error().code());
    p->schedule_close(nullptr, imm.error().code());
    return;
  }
  if (qp.post_recv(recv_cqe.get()).is_error()) {
    p->schedule_close("cannot repost receive", -EIO);
    return;
  }
  const wire::ServerImm m = imm.value();
  if (m.type == wire::ImmType::kHbMsg) {
    const rdma::SendWr wr = rdma::wr_write_imm(send_cqe.get(), nullptr, 0, 0, 0, wire::kHbAckImm,
                                               sig.flags_for(1));
    if (qp.post_send(wr).is_error()) p->schedule_close("cannot post heartbeat ack", -EIO);
    return;
  }
  if (m.type != wire::ImmType::kIoReq) return;  // HB_ACK: liveness only

  ibtrs_srv_op* op = &s->ops[m.buf_id];
  if (!claim_chunk(op, m.offset)) return;  // parked, or the path is closing
  begin_request(op, m.offset);
}

// A request for op's chunk arrived on this connection. true: the caller
// owns the chunk. false: the request was parked (see ChunkState) or was a
// protocol error that closes this path.
//
// A correct client never sends a second request for a chunk before the
// first is answered on the SAME path. From ANOTHER path of the session it
// does, after it failed the first path over (ibtrs/core/failover.h): the
// first copy may still be with our user (the backend is slower than the
// client's failure detection). Its answer can no longer reach the client,
// so the copy waits for the chunk instead of closing a healthy path.
bool SrvCon::claim_chunk(ibtrs_srv_op* op, u32 offset) {
  SrvPath* p = path;
  u32 cur = kChunkFree;
  if (op->busy.compare_exchange(cur, kChunkBusy)) return true;
  if (cur == kChunkBusy && __atomic_load_n(&op->path, __ATOMIC_RELAXED) != p) {
    // always_invalidate: a first copy still waiting for its LOCAL_INV never
    // reached our user, and that completion is queued behind whatever the
    // other (failing) path's send queue holds, possibly until that path's
    // QP dies. Waiting for it would time this copy out too: take the
    // request over instead (the late completion finds no owner and is
    // dropped; the chunk's MR on that path still gets invalidated).
    ChunkInv* first = op->inv_owner.load();
    if (first && op->inv_owner.compare_exchange(first, nullptr)) {
      srv_info_rl("path %s: chunk %u: first copy on another path not started: taken over\n",
                  p->name, op->buf_id);
      return true;
    }
    op->parked_con = this;
    op->parked_offset = offset;
    p->inflight.add_fetch(1);  // this path's teardown waits for the parked copy
    u32 busy = kChunkBusy;
    if (op->busy.compare_exchange(busy, kChunkParked)) {
      p->parked_cnt.add_relaxed(1);
      srv_info_rl("path %s: chunk %u still busy from another path: request parked\n", p->name,
                  op->buf_id);
      return false;
    }
    if (p->inflight.sub_fetch(1) == 0) p->idle_wq.wake_all();
    cur = kChunkFree;  // released meanwhile: take it
    if (busy == kChunkFree && op->busy.compare_exchange(cur, kChunkBusy)) return true;
  }
  kx_err_rl("path %s: request for busy chunk %u\n", p->name, op->buf_id);
  p->schedule_close(nullptr, -EBUSY);
  return false;
}

// The chunk was handed over to the parked request (post_resp). Process
// context (the server workqueue); the request runs with bottom halves off,
// as it would have from the completion handler.
//
// The parked count (claim_chunk) is dropped only after begin_request, with
// a wake-up: until then it keeps the path's teardown from freeing the
// connection under us, and the teardown may be waiting for exactly this
// count. begin_request counts the request again only if it starts now
// (start_request); with always_invalidate it first posts a LOCAL_INV, and
// if that fails or is flushed (the path is closing) nothing else would
// wake the teardown.
void ibtrs_srv_op::run_parked() {
  SrvCon* c = parked_con;
  SrvPath* p = c->path;
  const u32 offset = parked_offset;
  kx_local_bh_disable();
  c->begin_request(this, offset);
  if (p->inflight.sub_fetch(1) == 0) p->idle_wq.wake_all();
  kx_local_bh_enable();
}

static void release_chunk(ibtrs_srv_op* op);

// The caller owns op's chunk (claim_chunk). Without always_invalidate the
// request runs now; with it, first the chunk's MR on this path is
// invalidated and the request runs from that completion (ChunkInv). Softirq
// context (or BH disabled).
void SrvCon::begin_request(ibtrs_srv_op* op, u32 offset) {
  SrvPath* p = path;
  if (!p->always_inv) {
    start_request(op, offset);
    return;
  }
  ChunkInv& inv = p->invs[op->buf_id];
  // A copy from another path arriving meanwhile must see the chunk as this
  // path's (claim_chunk parks it instead of closing its path).
  __atomic_store_n(&op->path, p, __ATOMIC_RELAXED);
  inv.op = op;
  inv.con = this;
  inv.offset = offset;
  op->inv_owner.store(&inv);
  sig.flags_for(1);
  const rdma::SendWr wr = p->mrs[op->buf_id].local_inv_wr(inv.cqe.get(), KX_SEND_SIGNALED);
  if (qp.post_send(wr).is_error()) {
    p->schedule_close("cannot post LOCAL_INV", -EIO);
    ChunkInv* mine = &inv;
    if (op->inv_owner.compare_exchange(mine, nullptr)) release_chunk(op);
  }
}

void ChunkInv::on_done(const rdma::Wc& wc) {
  ChunkInv* mine = this;
  // The teardown or a fail-over copy finished it. (The same ChunkInv may
  // own the chunk again by now, if the chunk was answered via another path
  // and came back here: then this late completion of the earlier LOCAL_INV
  // starts the new request, ahead of its own LOCAL_INV on the same queue;
  // the request runs exactly once either way.)
  if (!op->inv_owner.compare_exchange(mine, nullptr)) return;
  SrvPath* p = con->path;
  if (!rdma::wc_ok(wc)) {
    if (!wc_flushed(wc)) p->schedule_close(rdma::wc_status_str(wc), -EIO);
    release_chunk(op);
    return;
  }
  p->inv_cnt.add_relaxed(1);
  con->start_request(op, offset);
}

// Decodes the request at offset of op's chunk (owned by the caller) and
// hands it to the user. Softirq context (or BH disabled).
void SrvCon::start_request(ibtrs_srv_op* op, u32 offset) {
  SrvPath* p = path;
  ibtrs_srv_sess* s = p->sess;
  const u32 buf_id = op->buf_id;
  u8* chunk = s->chunk(buf_id);
  op->path = p;
  op->con = this;
  if (p->state.load() != kConnected) {
    // A parked copy whose own path closed meanwhile: nobody waits for it.
    op->req = wire::IoRequest{};
    p->inflight.add_fetch(1);
    (void)post_resp(op, -ECONNABORTED);
    return;
  }
  auto req = wire::decode_io_request(chunk, s->geo.chunk_size(), offset);
  if (req.is_error()) {
    // The immediate named a valid, idle chunk: the request is attributable,
    // so it is refused with its errno (a plain IO_RSP: no data, no remote
    // invalidation) and the chunk is free again. Never dropped silently.
    kx_err_rl("path %s: refusing malformed request in chunk %u at offset %u (%d)\n", p->name,
              buf_id, offset, req.error().code());
    op->req = wire::IoRequest{};
    p->inflight.add_fetch(1);
    (void)post_resp(op, req.error().code());
    return;
  }
  op->req = req.value();
  // Consume the trailer: a zero-length WRITE_WITH_IMM repeating this
  // immediate later must find no request here instead of re-executing this
  // one on stale chunk bytes (a replay).
  kx::store_wire(chunk + offset, wire::Le16::from_cpu(kConsumedTrailerType));
  if (op->req.type == wire::MsgType::kWrite) {
    p->wr_cnt.add_relaxed(1);
    p->wr_bytes.add_relaxed(op->req.data_len);
  } else {
    p->rd_cnt.add_relaxed(1);
    p->rd_bytes.add_relaxed(op->req.data_len);
  }
  p->inflight.add_fetch(1);
  const int dir = op->req.type == wire::MsgType::kWrite ? IBTRS_WRITE : IBTRS_READ;
  const int ret = s->ctx->ops.rdma_ev(s->priv, op, dir, chunk, op->req.data_len,
                                      chunk + op->req.usr_offset, op->req.usr_len);
  if (ret) (void)post_resp(op, ret);
}

// The request in op is answered: the chunk is free, or goes to the request
// parked on it (claim_chunk), which runs from the workqueue. Any context.
static void release_chunk(ibtrs_srv_op* op) {
  u32 cur = kChunkBusy;
  if (op->busy.compare_exchange(cur, kChunkFree)) return;
  op->busy.store(kChunkBusy);  // kChunkParked: the parked copy owns it now
  op->parked_work.queue(g_wq);
}

// Answers op on this connection. Any context.
bool SrvCon::post_resp(ibtrs_srv_op* op, int err) {
  SrvPath* p = path;
  ibtrs_srv_sess* s = p->sess;
  const wire::IoRequest req = op->req;
  const u32 buf_id = op->buf_id;
  if (err > 0) err = -err;
  if (err < -wire::kIoRspMaxErrno) err = -EIO;  // ENOTSUPP & co. do not fit 9 bits
  bool posted = false;
  if (p->state.load() == kConnected) {
    const bool read = req.type == wire::MsgType::kRead;
    const bool inval = read && req.need_inval;
    const u32 imm = wire::io_rsp_imm(buf_id, err, inval).value();
    // [data WRITE] -> [REG_MR, new key] -> [SEND_WITH_INV] -> answer; the
    // client sees the answer last, after everything before it executed.
    rdma::SendWr wrs[5];
    u32 n = 0;
    rdma::Sge sge, rkey_sge;
    const bool has_data = read && err == 0 && req.has_desc;
    // Nothing has to happen between the data and the answer (no REG_MR,
    // no SEND_WITH_INV): one WRITE_WITH_IMM carries both (merge_read_answer).
    // Its receive completes at the client after all of its data is placed.
    const bool merged = has_data && !p->always_inv && !inval &&
                        __atomic_load_n(&ibtrs_srv_merge_read_answer, __ATOMIC_RELAXED);
    if (has_data) {
      const ChunkRef& c = p->chunk_refs[buf_id];
      // Invalidated, the chunk's MR has no valid lkey either: read the
      // chunk through the PD's DMA lkey instead.
      sge = p->always_inv ? rdma::Sge{c.dma, req.desc.len, p->pd.local_dma_lkey()}
                          : rdma::Sge{c.addr, req.desc.len, c.lkey};
      if (merged)
        wrs[n++] = rdma::wr_write_imm(send_cqe.get(), &sge, 1, req.desc.addr,
                                      static_cast<u32>(req.desc.key), imm, 0);
      else
        wrs[n++] = rdma::wr_write(send_cqe.get(), &sge, 1, req.desc.addr,
                                  static_cast<u32>(req.desc.key), 0);
    }
    if (p->always_inv) {
      // The chunk MR was invalidated when the request arrived (ChunkInv).
      rdma::FastRegMr& mr = p->mrs[buf_id];
      mr.bump_key();
      wrs[n++] = p->reg_fence.wr(send_cqe.get());
      wrs[n++] = mr.reg_wr(send_cqe.get(), KX_ACCESS_LOCAL_WRITE | KX_ACCESS_REMOTE_WRITE, 0);
      p->chunk_refs[buf_id].lkey = mr.lkey();
      p->chunk_refs[buf_id].rkey = mr.rkey();
    }
    if (inval) wrs[n++] = rdma::wr_send_inv(send_cqe.get(), nullptr, 0, req.desc.key, 0);
    if (p->always_inv) {
      // The client reuses this chunk only after it received this message,
      // so its buffer slot is free again by then.
      const u32 off = buf_id * static_cast<u32>(sizeof(wire::RkeyRspWire));
      (void)wire::encode_rkey_rsp(p->rkey_rsp_buf.data() + off, sizeof(wire::RkeyRspWire),
                                  wire::RkeyRsp{static_cast<u16>(buf_id), p->mrs[buf_id].rkey()});
      p->rkey_rsp_dma.sync_for_device();
      rkey_sge = p->rkey_rsp_dma.sge(p->pd.local_dma_lkey(), off, sizeof(wire::RkeyRspWire));
      wrs[n++] = rdma::wr_send_imm(send_cqe.get(), &rkey_sge, 1, imm, 0);
    } else if (!merged) {
      wrs[n++] = rdma::wr_write_imm(send_cqe.get(), nullptr, 0, 0, 0, imm, 0);
    }
    wrs[n - 1].flags = sig.flags_for(n);
    // The chunk is free once the client sees the answer, which comes after
    // everything posted here: release it before posting.
    release_chunk(op);
    if (qp.post_send(wrs, n).is_error())
      p->schedule_close("cannot post response", -EIO);
    else
      posted = true;
  } else {
    release_chunk(op);
  }
  (void)s;
  if (p->inflight.sub_fetch(1) == 0) p->idle_wq.wake_all();
  return posted;
}

// ---------------------------------------------------------------------------
// Paths

void SrvPath::schedule_close(const char* why, int err) {
  u32 cur = state.load();
  while (cur != kClosing) {
    if (state.compare_exchange(cur, kClosing)) {
      if (why)
        srv_info_rl("path %s: closing: %s (%d)\n", name, why, err);
      else
        srv_info_rl("path %s: closing (%d)\n", name, err);
      close_work.queue(g_wq);
      return;
    }
  }
}

// Every connection of the path has been accepted. Not "ESTABLISHED": the
// client sends INFO_REQ as soon as *its* side is established (it sent the
// RTU), and that SEND can complete here before our CM delivers ESTABLISHED
// for the last connection; our QPs are RTS from rdma_accept on. Caller
// holds ctx->mutex (connect_request fills cons[] under it).
bool SrvPath::all_cons_up() {
  for (usize i = 0; i < cons.size(); i++)
    if (!cons[i]) return false;
  return true;
}

// Maps the session's chunks on this path's device and allocates the MRs
// that will expose them (each MR covers chunks_per_mr whole chunks).
Result<void> SrvPath::register_chunks() {
  const wire::ChunkGeometry& geo = sess->geo;
  const u32 qd = geo.queue_depth();
  const u32 pages_per_chunk = geo.chunk_size() / kPageSize;
  u32 max_pages = min(dev_attr.max_fast_reg_page_list_len, kMaxMrPages);
  if (max_pages < pages_per_chunk) return Error(-EINVAL);
  u32 per = always_inv ? 1 : min(max_pages / pages_per_chunk, qd);
  while (qd % per) per--;  // sg_cnt must divide queue_depth (INFO_RSP rule)
  chunks_per_mr = per;
  const u32 nr = qd / per;
  mr_sg = KX_TRY(Array<rdma::SgTable>::create(nr, Gfp::kernel));
  mrs = KX_TRY(Array<rdma::FastRegMr>::create(nr, Gfp::kernel));
  chunk_refs = KX_TRY(OwnArray<ChunkRef>::create(qd, Gfp::kernel));
  for (u32 m = 0; m < nr; m++) {
    mr_sg[m] = KX_TRY(rdma::SgTable::create(per, Gfp::kernel));
    for (u32 i = 0; i < per; i++)
      mr_sg[m].set_buf(i, sess->chunk(m * per + i), geo.chunk_size());
    const u32 mapped = KX_TRY(mr_sg[m].map(dev, rdma::DmaDir::bidirectional));
    mrs[m] = KX_TRY(rdma::FastRegMr::create(pd, per * pages_per_chunk));
    KX_TRY(mrs[m].map(mr_sg[m], mapped));
    mrs[m].bump_key();
    const rdma::MrInfo info = mrs[m].info();
    if (info.length != u64{per} * geo.chunk_size()) return Error(-EINVAL);
    for (u32 i = 0; i < per; i++)
      chunk_refs[m * per + i] = ChunkRef{info.iova + u64{i} * geo.chunk_size(), info.lkey, info.rkey,
                                         per == 1 ? mr_sg[m].dma_address(0) : 0};
  }
  if (always_inv) {
    reg_fence = KX_TRY(RegFence::create(pd));
    invs = KX_TRY(Array<ChunkInv>::create(qd, Gfp::kernel));
    const usize len = usize{qd} * sizeof(wire::RkeyRspWire);
    rkey_rsp_buf = KX_TRY(OwnArray<u8>::create(len, Gfp::kernel));
    rkey_rsp_dma = KX_TRY(rdma::DmaMapping::create(dev, rkey_rsp_buf.data(), len, rdma::DmaDir::to_device));
  }
  return ok();
}

// REG_MR of every chunk MR, then the INFO_RSP SEND, on con 0 in one ordered
// stream: the client touches no chunk before it has INFO_RSP.
Result<void> SrvPath::send_info_rsp() {
  SrvCon* c0 = cons[0];
  const u32 nr = static_cast<u32>(mrs.size());
  for (u32 m = 0; m < nr;) {
    rdma::SendWr wrs[KX_SEND_CHAIN_MAX];
    u32 n = 0;
    for (; n < KX_SEND_CHAIN_MAX && m < nr; n++, m++)
      wrs[n] = mrs[m].reg_wr(c0->send_cqe.get(), KX_ACCESS_LOCAL_WRITE | KX_ACCESS_REMOTE_WRITE, 0);
    wrs[n - 1].flags = c0->sig.flags_for(n);
    KX_TRY(c0->qp.post_send(wrs, n));
  }
  const wire::ChunkGeometry& geo = sess->geo;
  const usize size = wire::info_rsp_size(static_cast<u16>(nr));
  info_rsp_buf = KX_TRY(OwnArray<u8>::create(size, Gfp::kernel));
  auto descs = KX_TRY(OwnArray<wire::SgDesc>::create(nr, Gfp::kernel));
  for (u32 m = 0; m < nr; m++) {
    const rdma::MrInfo info = mrs[m].info();
    descs[m] = wire::SgDesc{info.iova, info.rkey, static_cast<u32>(info.length)};
  }
  KX_TRY(wire::encode_info_rsp(info_rsp_buf.data(), size, geo, descs.data(), static_cast<u16>(nr)));
  info_rsp_dma = KX_TRY(rdma::DmaMapping::create(dev, info_rsp_buf.data(), size, rdma::DmaDir::to_device));
  const rdma::Sge sge = info_rsp_dma.sge(pd.local_dma_lkey());
  const rdma::SendWr wr = rdma::wr_send(c0->send_cqe.get(), &sge, 1, KX_SEND_SIGNALED);
  c0->sig.flags_for(1);
  return c0->qp.post_send(wr);
}

void SrvPath::info_work_fn() {
  ibtrs_srv_ctx* ctx = sess->ctx;
  if (state.load() != kConnecting) return;
  info_req_dma.sync_for_cpu();
  auto info = wire::decode_info_req(info_req_buf.data(), info_req_len);
  if (info.is_error()) {
    kx_err_rl("path %s: malformed INFO_REQ (%d)\n", name, info.error().code());
    schedule_close(nullptr, info.error().code());
    return;
  }
  const wire::PathName pn = info.value().path_name;
  bool fire = false;
  {
    MutexGuard g(ctx->mutex);
    if (!all_cons_up()) {
      kx_err_rl("path %s: INFO_REQ before all %u connections are accepted\n", name, cid_num);
      schedule_close(nullptr, -EPROTO);
      return;
    }
    if (sess->name[0] == '\0') {
      for (ibtrs_srv_sess& o : ctx->sessions) {
        if (&o != sess && __builtin_strcmp(o.name, pn.chars) == 0) {
          kx_err_rl("path %s: session name '%s' is used by another client\n", name, pn.chars);
          schedule_close(nullptr, -EPERM);
          return;
        }
      }
      copy_str(sess->name, sizeof(sess->name), pn.chars);
    } else if (__builtin_strcmp(sess->name, pn.chars) != 0) {
      kx_err_rl("path %s: session name '%s' differs from '%s'\n", name, pn.chars, sess->name);
      schedule_close(nullptr, -EPERM);
      return;
    }
  }
  auto r = register_chunks();
  if (r.is_ok()) r = cons[0]->post_empty_recvs(sess->geo.queue_depth() + 16);
  if (r.is_ok()) {
    // The user's state for the session (link_ev CONNECTED sets its priv)
    // must exist before the client can send its first request, i.e. before
    // INFO_RSP goes out; else that request reaches rdma_ev with no priv.
    // Should the path close from here on, close_work fires DISCONNECTED.
    {
      MutexGuard g(ctx->mutex);
      if (!sess->link_up) fire = sess->link_up = true;
    }
    if (fire && ctx->ops.link_ev) ctx->ops.link_ev(sess, IBTRS_SRV_LINK_EV_CONNECTED, sess->priv);
    u32 expected = kConnecting;
    if (!state.compare_exchange(expected, kConnected)) return;
    r = send_info_rsp();
  }
  if (r.is_error()) {
    kx_err_rl("path %s: cannot set up chunks (%d)\n", name, r.error().code());
    schedule_close(nullptr, r.error().code());
    return;
  }
  hb_work.queue(wire::kHeartbeatIntervalMs, g_wq);
  sysfs_add();
  srv_info_rl("path %s: connected to session '%s' (%u connections, queue depth %u, chunk %u)\n", name,
          sess->name, cid_num, sess->geo.queue_depth(), sess->geo.chunk_size());
}

// Heartbeat, as upstream: every interval send HB_MSG on con 0 if the last
// one was answered (any received immediate counts), else count a miss; more
// than kHeartbeatMissedMax misses close the path (a silently dead client).
void SrvPath::hb_work_fn() {
  if (state.load() != kConnected) return;
  if (hb_missed.load() == 0) {
    SrvCon* c0 = cons[0];
    const rdma::SendWr wr = rdma::wr_write_imm(c0->send_cqe.get(), nullptr, 0, 0, 0,
                                               wire::kHbMsgImm, c0->sig.flags_for(1));
    if (c0->qp.post_send(wr).is_error()) {
      schedule_close("cannot post heartbeat", -EIO);
      return;
    }
  }
  if (hb_missed.add_fetch(1) > wire::kHeartbeatMissedMax) {
    schedule_close("heartbeats missed", -ETIMEDOUT);
    return;
  }
  hb_work.queue(wire::kHeartbeatIntervalMs, g_wq);
}

// ---- sysfs: /sys/class/ibtrs-server/<sess>/paths/<src@dst>/{disconnect,
// hca_name,hca_port,src_addr,dst_addr,stats/rdma}. Best effort: a failure
// is logged and the path works without its directory.
void SrvPath::sysfs_add() {
  ibtrs_srv_sess* s = sess;
  auto r = [&]() -> Result<void> {
    {
      MutexGuard g(s->ctx->mutex);
      if (!s->dev.get()) {
        s->dev = KX_TRY(kx::sysfs::Device::create(*g_class, s->sysfs_target.get(), g_groups.sess, s->name));
        s->paths_dir = KX_TRY(kx::sysfs::KObject::create_dir("paths", s->dev.kobject()));
      }
    }
    kobj = KX_TRY(kx::sysfs::KObject::create(name, s->paths_dir.get(), sysfs_target.get(), g_groups.path));
    stats_kobj = KX_TRY(kx::sysfs::KObject::create("stats", kobj.get(), sysfs_target.get(), g_groups.stats));
    return ok();
  }();
  if (r.is_error()) kx_err("path %s: no sysfs directory (%d)\n", name, r.error().code());
}

void SrvPath::sysfs_remove() {
  stats_kobj.reset();
  kobj.reset();
}

long SrvPath::sysfs_show(int id, char* buf) {
  char a[IBTRS_ADDR_STR_MAX];
  switch (id) {
    case IBTRS_SRV_ATTR_HCA_NAME:
      return kx_sysfs_emit(buf, "%s\n", dev_attr.name);
    case IBTRS_SRV_ATTR_HCA_PORT:
      return kx_sysfs_emit(buf, "%u\n", hca_port);
    case IBTRS_SRV_ATTR_SRC_ADDR:
      if (src.to_str(a, sizeof(a)) < 0) copy_str(a, sizeof(a), "?");
      return kx_sysfs_emit(buf, "%s\n", a);
    case IBTRS_SRV_ATTR_DST_ADDR:
      if (dst.to_str(a, sizeof(a)) < 0) copy_str(a, sizeof(a), "?");
      return kx_sysfs_emit(buf, "%s\n", a);
    case IBTRS_SRV_ATTR_STATS_RDMA:
      return kx_sysfs_emit(buf, "%llu %llu %llu %llu %llu %llu\n",
                           static_cast<unsigned long long>(rd_cnt.load_relaxed()),
                           static_cast<unsigned long long>(rd_bytes.load_relaxed()),
                           static_cast<unsigned long long>(wr_cnt.load_relaxed()),
                           static_cast<unsigned long long>(wr_bytes.load_relaxed()),
                           static_cast<unsigned long long>(parked_cnt.load_relaxed()),
                           static_cast<unsigned long long>(inv_cnt.load_relaxed()));
    default:
      return -EIO;
  }
}

long SrvPath::sysfs_store(int id, const char* buf, usize len, kx::sysfs::SelfFile) {
  if (id != IBTRS_SRV_ATTR_DISCONNECT) return -EIO;
  u64 v = 0;
  if (kx_kstrtou64(buf, 0, &v) || v != 1) {
    kx_err("path %s: disconnect: write 1, not '%.*s'\n", name, kx::sysfs::shown_len(buf), buf);
    return -EINVAL;
  }
  // Asynchronous, as upstream: the close work removes this directory after
  // this store returned.
  schedule_close("disconnect requested through sysfs", 0);
  return static_cast<long>(len);
}

// Releases every RDMA resource of the path. Process context.
void SrvPath::teardown() {
  for (usize i = 0; i < cons.size(); i++)
    if (cons[i] && cons[i]->id) (void)cons[i]->id.disconnect();
  // Ops upcalled on this path hold its chunk references and post their
  // answer on its QPs: wait for them (new requests are ignored, the path is
  // not CONNECTED), then QP, then CQ (see QpHandle).
  idle_wq.wait([this] { return inflight.load() == 0; });
  for (usize i = 0; i < cons.size(); i++)
    if (cons[i]) cons[i]->qp.drain();
  for (usize i = 0; i < cons.size(); i++) {
    if (!cons[i]) continue;
    cons[i]->qp.reset();
    cons[i]->cq.reset();
  }
  // A receive handler that was running while we waited may have upcalled
  // one more request; its answer is dropped (not CONNECTED) but it still
  // references this path and its connection until answered.
  idle_wq.wait([this] { return inflight.load() == 0; });
  // Invalidations whose completion was dropped with the CQ: their requests
  // never started; free the chunks (or hand them to a parked copy).
  for (usize i = 0; i < invs.size(); i++)
    if (ChunkInv* mine = &invs[i]; mine->op && mine->op->inv_owner.compare_exchange(mine, nullptr))
      release_chunk(invs[i].op);
  for (usize i = 0; i < cons.size(); i++) {
    SrvCon* c = cons[i];
    if (!c) continue;
    c->id.reset();
    destroy(c);
    cons[i] = nullptr;
  }
  rkey_rsp_dma.reset();
  reg_fence.reset();
  mrs.reset();
  mr_sg.reset();
  info_req_dma.reset();
  info_rsp_dma.reset();
  pd.reset();
}

void SrvPath::setup_timeout_fn() {
  if (state.load() == kConnecting)
    schedule_close("set-up not completed in time", -ETIMEDOUT);
}

void SrvPath::close_work_fn() {
  ibtrs_srv_ctx* ctx = sess->ctx;
  setup_work.cancel_sync();
  info_work.cancel_sync();
  hb_work.cancel_sync();
  sysfs_remove();
  {
    // No connection is added any more (the path is not CONNECTING).
    MutexGuard g(ctx->mutex);
    for (usize i = 0; i < cons.size(); i++) sess->nr_cons -= cons[i] != nullptr;
  }
  teardown();
  ibtrs_srv_sess* dead_sess = nullptr;
  bool fire = false;
  {
    MutexGuard g(ctx->mutex);
    sess->paths.remove(*this);
    if (sess->paths.empty()) {
      dead_sess = sess;
      ctx->sessions.remove(*sess);
      ctx->nr_sessions--;
      fire = sess->link_up;
    }
    ctx->dead_paths.push_back(*this);
  }
  srv_info_rl("path %s: closed\n", name);
  if (dead_sess) {
    if (fire && ctx->ops.link_ev)
      ctx->ops.link_ev(dead_sess, IBTRS_SRV_LINK_EV_DISCONNECTED, dead_sess->priv);
    destroy(dead_sess);
  }
  ctx->reap_work.queue(g_wq);
}

// Frees closed paths (a path cannot free itself from its own close work).
void ibtrs_srv_ctx::reap_work_fn() {
  for (;;) {
    SrvPath* p;
    {
      MutexGuard g(mutex);
      p = dead_paths.pop_front();
    }
    if (!p) return;
    destroy(p);
  }
}

// ---------------------------------------------------------------------------
// Listener

int ibtrs_srv_ctx::reject(kx_cm_id* id, int err) {
  u8 pdata[sizeof(wire::ConnRspWire)];
  if (wire::encode_conn_reject(pdata, sizeof(pdata), err).is_ok())
    (void)kx_cm_reject(id, pdata, sizeof(pdata));
  else
    (void)kx_cm_reject(id, nullptr, 0);
  return 1;  // rdma_cm destroys the new id
}

// The listener's tables as conn_admit::admit sees them, for one CONN_REQ
// from peer over src <- dst (ours, the client's). Caller holds ctx->mutex.
struct SrvAdmitView {
  using Sess = ibtrs_srv_sess;
  using Path = SrvPath;
  ibtrs_srv_ctx* ctx;
  rdma::SockAddr peer, src, dst;

  auto& sessions() const { return ctx->sessions; }
  bool same_peer(const Sess& s) const { return s.peer.same_host(peer); }
  u32 nr_cons(const Sess& s) const { return s.nr_cons; }
  const wire::Uuid& paths_uuid(const Sess& s) const { return s.paths_uuid; }
  auto& paths(Sess& s) const { return s.paths; }
  const wire::Uuid& sess_uuid(const Path& p) const { return p.sess_uuid; }
  bool same_addrs(const Path& p) const { return p.src.same_host(src) && p.dst.same_host(dst); }
  bool connecting(const Path& p) const { return p.state.load() == kConnecting; }
  u16 recon_cnt(const Path& p) const { return p.recon_cnt; }
  u16 cid_num(const Path& p) const { return p.cid_num; }
  bool has_con(const Path& p, u16 cid) const { return p.cons[cid] != nullptr; }
};

// Caller holds mutex; conn_admit::admit decided that req creates a session
// (first_conn, below max_sessions and max_sessions_per_peer). ENOMEM past
// max_pinned_mb of chunk memory: a peer cannot pin the machine's memory by
// opening sessions (each pins queue_depth x chunk_size bytes from its first
// CONN_REQ on).
Result<ibtrs_srv_sess*> ibtrs_srv_ctx::create_sess(const wire::ConnReq& req, const rdma::SockAddr& peer) {
  const auto geo = KX_TRY(wire::ChunkGeometry::create(
      static_cast<u32>(ibtrs_srv_sess_queue_depth), static_cast<u32>(ibtrs_srv_max_chunk_size)));
  auto s = KX_TRY(make_own<ibtrs_srv_sess>(Gfp::kernel, this, req.paths_uuid, geo, peer));
  KX_TRY(s->reserve_pinned());
  KX_TRY(s->init());
  ibtrs_srv_sess* raw = s.leak();
  sessions.push_back(*raw);
  nr_sessions++;
  return raw;
}

int ibtrs_srv_ctx::connect_request(kx_cm_id* id, const rdma::CmEvent& ev) {
  auto decoded = wire::decode_conn_req(static_cast<const u8*>(ev.private_data), ev.private_data_len);
  if (decoded.is_error()) {
    kx_err_rl("refusing connection: bad CONN_REQ private data (%d)\n", decoded.error().code());
    return reject(id, decoded.error().code());
  }
  const wire::ConnReq req = decoded.value();
  MutexGuard g(mutex);
  if (closing) {
    kx_err_rl("refusing connection: the server is closing its listener\n");
    return reject(id, -ECONNRESET);
  }
  const rdma::SockAddr src = rdma::SockAddr::src_of(id), dst = rdma::SockAddr::dst_of(id);
  // The limits are writable at run time: read each once, a torn value is
  // impossible for an int.
  const conn_admit::Limits lim{
      static_cast<u32>(__atomic_load_n(&ibtrs_srv_max_sessions, __ATOMIC_RELAXED)),
      static_cast<u32>(__atomic_load_n(&ibtrs_srv_max_sessions_per_peer, __ATOMIC_RELAXED)),
      __atomic_load_n(&ibtrs_srv_max_conns_per_peer, __ATOMIC_RELAXED)};
  const SrvAdmitView view{this, dst, src, dst};
  const auto v = conn_admit::admit(view, req, lim);
  if (v.err) {
    // One line per refusal, naming the reason (conn_admit states each).
    if (v.by == conn_admit::Refusal::kPeerConns)
      kx_err_rl("refusing connection %u/%u: %s (%u) (%d)\n", req.cid, req.cid_num, v.why, v.peer_cons,
                v.err);
    else
      kx_err_rl("refusing connection %u/%u: %s (%d)\n", req.cid, req.cid_num, v.why, v.err);
    // A reconnecting client whose old path we have not noticed dying yet:
    // close it now so that its next attempt finds a clean slate.
    if (v.close_path) v.close_path->schedule_close("client reconnected", -ECONNRESET);
    return reject(id, v.err);
  }
  ibtrs_srv_sess* s = v.sess;
  if (!s) {
    auto sr = create_sess(req, dst);
    if (sr.is_error()) {
      kx_err_rl("refusing connection: no session (%d)\n", sr.error().code());
      return reject(id, sr.error().code());
    }
    s = sr.value();
  }
  SrvPath* p = v.path;
  int err = 0;
  bool new_path = false;
  if (!p) {
    auto np = make_own<SrvPath>(Gfp::kernel, s, req.sess_uuid, req.cid_num, req.recon_cnt);
    if (np.is_ok()) {
      auto cons = OwnArray<SrvCon*>::create(req.cid_num, Gfp::kernel);
      if (cons.is_ok()) {
        np.value()->cons = cons.release_value();
        p = np.value().leak();
        p->src = src;  // ours (upstream: src_addr)
        p->dst = dst;  // the client's
        format_path_name(p->name, sizeof(p->name), p->src, p->dst);
        s->paths.push_back(*p);
        new_path = true;
        p->setup_work.queue(static_cast<u32>(ibtrs_srv_setup_timeout_ms), g_wq);
      } else {
        err = cons.error().code();
      }
    } else {
      err = np.error().code();
    }
    if (!p) {
      if (s->paths.empty()) {
        sessions.remove(*s);
        nr_sessions--;
        destroy(s);
      }
      return reject(id, err);
    }
  }

  // One connection.
  kx_ib_device* dev = kx_cm_device(id);
  if (!p->dev) {
    p->dev = dev;
    p->dev_attr = rdma::query_device(dev);
    p->hca_port = kx_cm_port(id);
    auto pd = rdma::Pd::create(dev);
    if (pd.is_error()) err = pd.error().code();
    else p->pd = pd.release_value();
    if (!err && !p->dev_attr.mem_mgt_extensions) err = -EOPNOTSUPP;
    if (!err) {
      auto buf = OwnArray<u8>::create(kInfoReqBufSize, Gfp::kernel);
      if (buf.is_ok()) {
        p->info_req_buf = buf.release_value();
        auto m = rdma::DmaMapping::create(dev, p->info_req_buf.data(), kInfoReqBufSize,
                                          rdma::DmaDir::from_device);
        if (m.is_ok()) p->info_req_dma = m.release_value();
        else err = m.error().code();
      } else {
        err = buf.error().code();
      }
    }
  } else if (p->dev != dev) {
    err = -EINVAL;
  }
  SrvCon* con = nullptr;
  if (!err) {
    con = new (Gfp::kernel) SrvCon(p, req.cid);
    if (!con) err = -ENOMEM;
  }
  if (!err) {
    const u32 qd = s->geo.queue_depth();
    // A READ answer is up to 3 WRs (always_invalidate: 5, and the
    // LOCAL_INV of the request); + one signal interval + heartbeats; con 0
    // also carries the REG_MRs and INFO_RSP of the set-up.
    const u32 per_req = p->always_inv ? 6 : 3;
    const u32 sq = min(per_req * qd + 64 + (req.cid == 0 ? qd : 0), p->dev_attr.max_qp_wr);
    const u32 rq = min(qd + 16 + 1, p->dev_attr.max_qp_wr);
    con->sig.init(min(qd, sq / 4));
    rdma::QpCaps caps{sq, rq, 1, 1, 0};
    auto cq = rdma::Cq::create(dev, sq + rq + 2,
                               static_cast<int>(req.cid % max(p->dev_attr.num_comp_vectors, 1u)),
                               rdma::PollCtx::softirq);
    if (cq.is_ok()) {
      con->cq = cq.release_value();
      con->id = rdma::CmId::adopt(id, con->handler.get());
      auto qp = QpHandle::create(con->id, p->pd, con->cq, con->cq, caps);
      if (qp.is_ok()) con->qp = qp.release_value();
      else err = qp.error().code();
    } else {
      err = cq.error().code();
    }
  }
  if (!err) {
    Result<void> r = ok();
    if (req.cid == 0) {
      const rdma::Sge sge = p->info_req_dma.sge(p->pd.local_dma_lkey());
      r = con->qp.post_recv(con->info_cqe.get(), &sge, 1);
    } else {
      r = con->post_empty_recvs(s->geo.queue_depth() + 16);
    }
    if (r.is_error()) err = r.error().code();
  }
  if (!err) {
    wire::ConnRsp rsp{wire::kProtoVersion, static_cast<u16>(s->geo.queue_depth()),
                      s->geo.chunk_size() - kMaxHdrSize, kMaxHdrSize,
                      p->always_inv ? wire::kMsgFlagNewRkey : 0u};
    u8 pdata[sizeof(wire::ConnRspWire)];
    auto enc = wire::encode_conn_rsp(pdata, sizeof(pdata), rsp);
    if (enc.is_error()) {
      err = enc.error().code();
    } else {
      rdma::ConnParam cp;
      cp.private_data = pdata;
      cp.private_data_len = sizeof(pdata);
      cp.responder_resources = 1;
      cp.initiator_depth = 1;
      auto a = con->id.accept(cp);
      if (a.is_error()) err = a.error().code();
    }
  }
  if (err) {
    kx_err_rl("path %s: cannot accept connection %u/%u (%d)\n", p->name, req.cid, req.cid_num, err);
    if (con) {
      con->qp.reset();
      con->cq.reset();
      (void)con->id.release();  // rdma_cm destroys it when we return non-zero
      destroy(con);
    }
    (void)reject(id, err);
    if (new_path) p->schedule_close(nullptr, err);
    return 1;
  }
  p->cons[req.cid] = con;
  s->nr_cons++;
  return 0;
}

int ibtrs_srv_ctx::on_listen_cm(kx_cm_id* id, const rdma::CmEvent& ev) {
  if (ev.type == KX_CM_EVENT_CONNECT_REQUEST) return connect_request(id, ev);
  kx_info("listener: %s (%d)\n", rdma::cm_event_str(ev), ev.status);
  return 0;
}

// ---------------------------------------------------------------------------
// C API

extern "C" struct ibtrs_srv_ctx* ibtrs_srv_open(const struct ibtrs_srv_ops* ops,
                                                u16 port) noexcept {
  if (!ops || !ops->rdma_ev) return err_ptr<ibtrs_srv_ctx>(-EINVAL);
  auto ctx = make_own<ibtrs_srv_ctx>(Gfp::kernel, *ops, port);
  if (ctx.is_error()) return err_ptr<ibtrs_srv_ctx>(-ENOMEM);
  ibtrs_srv_ctx* c = ctx.value().get();
  auto r = [&]() -> Result<void> {
    c->listen_id = KX_TRY(rdma::CmId::create(c->handler.get()));
    // An IPv6 wildcard that also takes IPv4 (afonly 0), as upstream.
    auto addr = KX_TRY(rdma::SockAddr::any(KX_AF_INET6, port));
    KX_TRY(c->listen_id.set_afonly(false));
    KX_TRY(c->listen_id.bind(addr));
    KX_TRY(c->listen_id.listen(64));
    return ok();
  }();
  if (r.is_error()) {
    kx_err("cannot listen on port %u (%d)\n", port, r.error().code());
    return err_ptr<ibtrs_srv_ctx>(r.error().code());
  }
  kx_info("listening on port %u\n", port);
  return ctx.value().leak();
}

extern "C" void ibtrs_srv_close(struct ibtrs_srv_ctx* ctx) noexcept {
  if (!ctx) return;
  ctx->listen_id.reset();  // no new connection after this
  for (;;) {
    bool empty;
    {
      MutexGuard g(ctx->mutex);
      ctx->closing = true;
      for (ibtrs_srv_sess& s : ctx->sessions)
        for (SrvPath& p : s.paths) p.schedule_close("server closing", 0);
      empty = ctx->sessions.empty() && ctx->dead_paths.empty();
    }
    if (empty) break;
    kx_wq_flush(g_wq);
    kx_msleep(10);
  }
  ctx->reap_work.cancel_sync();
  kx_info("closed port %u\n", ctx->port);
  destroy(ctx);
}

extern "C" bool ibtrs_srv_resp_rdma(struct ibtrs_srv_op* id, int err) noexcept {
  if (!id || !id->con) return false;
  return id->con->post_resp(id, err);
}

extern "C" void ibtrs_srv_set_sess_priv(struct ibtrs_srv_sess* sess, void* priv) noexcept {
  sess->priv = priv;
}

extern "C" int ibtrs_srv_get_path_name(struct ibtrs_srv_sess* sess, char* pathname,
                                       usize len) noexcept {
  if (!len) return -EINVAL;
  return static_cast<int>(copy_str(pathname, len, sess->name));
}

extern "C" int ibtrs_srv_get_queue_depth(struct ibtrs_srv_sess* sess) noexcept {
  return static_cast<int>(sess->geo.queue_depth());
}

extern "C" int ibtrs_srv_module_init(const struct ibtrs_sysfs_groups* groups) noexcept {
  auto geo = wire::ChunkGeometry::create(static_cast<u32>(ibtrs_srv_sess_queue_depth),
                                         static_cast<u32>(ibtrs_srv_max_chunk_size));
  if (geo.is_error() || static_cast<u32>(ibtrs_srv_max_chunk_size) <= kMaxHdrSize) {
    kx_err("invalid sess_queue_depth=%d / max_chunk_size=%d: queue depth 1..65535, chunk a power "
           "of two >= 8192, ilog2 bits of both <= 28\n",
           ibtrs_srv_sess_queue_depth, ibtrs_srv_max_chunk_size);
    return -EINVAL;
  }
  if (ibtrs_srv_max_sessions < 1 || ibtrs_srv_max_sessions_per_peer < 1 ||
      ibtrs_srv_max_conns_per_peer < 1 || ibtrs_srv_setup_timeout_ms < 100) {
    kx_err("max_sessions, max_sessions_per_peer and max_conns_per_peer must be >= 1, "
           "setup_timeout_ms >= 100\n");
    return -EINVAL;
  }
  if (ibtrs_srv_max_pinned_mb < 1 ||
      geo.value().total_size() > static_cast<u64>(ibtrs_srv_max_pinned_mb) << 20) {
    kx_err("max_pinned_mb=%d is below one session (%llu MiB)\n", ibtrs_srv_max_pinned_mb,
           static_cast<unsigned long long>(geo.value().total_size() >> 20));
    return -EINVAL;
  }
  g_groups = *groups;
  g_class = new (Gfp::kernel) kx::sysfs::Class();
  if (!g_class) return -ENOMEM;
  auto cls = kx::sysfs::Class::create("ibtrs-server", KX_LOCK_CLASS("ibtrs_srv.class"));
  if (cls.is_ok()) g_wq = kx_wq_alloc("ibtrs_srv_wq", 0);
  if (cls.is_error() || !g_wq) {
    destroy(g_class);
    return cls.is_error() ? cls.error().code() : -ENOMEM;
  }
  *g_class = cls.release_value();
  return 0;
}

extern "C" void ibtrs_srv_module_exit(void) noexcept {
  kx_wq_destroy(g_wq);
  destroy(g_class);
  kx_runtime_exit();
}
