// SPDX-License-Identifier: GPL-2.0
// ibtrs-client: the C++ half (unity translation unit). Module tables,
// parameters and exports are in ibtrs_clt_main.c.
//
// Objects and ownership:
//   ibtrs_clt_sess  one per ibtrs_clt_open(): the permits (one per server
//                   chunk, session-wide) and the paths
//   ClPath          one RDMA-CM endpoint pair: 1 admin + nr_cpu IO
//                   connections + nr_poll_queues poll connections, the server's chunk addresses (rbufs) and one
//                   preallocated ClReq per permit (MR + header buffer), so the
//                   IO path allocates nothing
//   ClCon           one RC QP + CQ + cm_id
// Contexts: ibtrs_clt_request in any context; completions in softirq (poll
// connections: inside ibtrs_clt_rdma_cq_direct, in the caller's task context, or in the
// teardown's drain in process context); path
// set-up, error recovery, reconnect and the request-timeout scan in the
// module workqueue; open/close in process context.
//
// Path states: CONNECTING -> CONNECTED -> ERROR (recovery work) ->
// RECONNECTING ... -> CONNECTED, or CLOSING -> CLOSED (user close). A
// request is only posted while its path is CONNECTED and the submitter is
// counted in ClPath::users, so teardown (which first leaves CONNECTED, then
// waits for users == 0, then destroys every QP) never races a post.
#include <runtime/runtime.cpp>

#include "../common/common.h"
#include <ibtrs/core/backoff.h>
#include <ibtrs/core/con_route.h>
#include <ibtrs/core/failover.h>
#include <ibtrs/core/mpath.h>
#include <ibtrs/core/path_state.h>
#include "../common/sysfs_ids.h"

#include <kx/sysfs.h>

extern "C" {
extern int ibtrs_clt_io_timeout_ms;
extern int ibtrs_clt_hb_interval_ms;
extern int ibtrs_clt_hb_missed_max;
extern bool ibtrs_clt_remote_invalidate;  // 0644: read once per posted READ
}

using namespace ibtrs;
namespace wire = ibtrs::wire;

namespace {

kx_workqueue* g_wq;
kx::sysfs::Class* g_class;  // /sys/class/ibtrs-client (allocated at init)
ibtrs_sysfs_groups g_groups;

constexpr u32 kWriteTrailer = sizeof(wire::RdmaWriteTrailerWire);
constexpr u32 kReadTrailer = sizeof(wire::RdmaReadTrailerWire) + sizeof(wire::SgDescWire);

}  // namespace

struct ClPath;
struct ClCon;

struct ibtrs_permit {
  u32 mem_id;
  u32 con_type;  // enum ibtrs_clt_con_type
  u32 poll_idx;  // IBTRS_POLL_CON: which poll connection (ibtrs_clt_permit_set_poll)
  u32 pad;       // pdu follows, 8-byte aligned
};
static_assert(sizeof(ibtrs_permit) == 16);

// One request slot per permit per path. slot (ibtrs/core/failover.h) says
// who owns the request in it: the response, the timeout-driven teardown and
// fail-over all go through slot.take(), so it completes exactly once.
struct ClReq {
  KX_PINNED(ClReq);
  ClReq() = default;
  void on_inv(const rdma::Wc& wc);

  ClPath* path = nullptr;
  ClCon* con = nullptr;
  u32 buf_id = 0;
  int dir = IBTRS_READ;
  ibtrs::failover::Slot slot;
  u64 start_ns = 0;
  bool timed_out = false;
  ibtrs_clt_req_ops ops{};
  kx_sgl* sg = nullptr;
  u32 sg_cnt = 0;      // DMA-mapped entries of sg (0: nothing mapped)
  u32 user_sg_cnt = 0; // entries the user gave (kept for fail-over)
  u32 data_len = 0;
  u32 usr_len = 0;     // the user header, at iu[0, usr_len) (kept for fail-over)
  kvec saved_usr{};    // {iu, usr_len}: the header as fail-over re-posts it
  bool mr_valid = false;  // registered and not yet invalidated
  bool asked_inval = false;  // this READ set NEED_INVAL: the server invalidates mr
  bool answered = false;  // the server's answer came; waiting for LOCAL_INV
  int rsp_err = 0;
  rdma::FastRegMr mr;
  OwnArray<u8> iu;  // user header + trailer, DMA-mapped
  rdma::DmaMapping iu_dma;
  rdma::Cqe<ClReq, &ClReq::on_inv> inv_cqe{this};
};

// One receive with a buffer, for a server with always_invalidate
// (kMsgFlagNewRkey): an answer may then be a SEND_WITH_IMM carrying RKEY_RSP,
// which needs room. Without it receives are empty (ClCon::recv_cqe).
struct ClRecv {
  ClRecv() = default;
  KX_PINNED(ClRecv);
  void on_done(const rdma::Wc& wc);

  ClCon* con = nullptr;
  u32 idx = 0;  // its 8-byte slot in ClCon::recv_buf
  rdma::Cqe<ClRecv, &ClRecv::on_done> cqe{this};
};

struct ClCon {
  ClCon(ClPath* p, u16 c) : path(p), cid(c) {}
  KX_PINNED(ClCon);

  int on_cm(kx_cm_id* id, const rdma::CmEvent& ev);
  void on_recv(const rdma::Wc& wc) { handle_recv(wc, nullptr); }
  void handle_recv(const rdma::Wc& wc, ClRecv* slot);
  Result<void> post_recv(ClRecv* slot);
  Result<void> setup_recvs(u32 n, bool with_buffers);
  void on_send(const rdma::Wc& wc);
  void on_info_recv(const rdma::Wc& wc);
  Result<void> wait_cm(const char* step);

  ClPath* path;
  u16 cid;
  bool up = false;
  // A poll connection: its CQ is PollCtx::direct, reaped only by
  // ibtrs_clt_rdma_cq_direct (and the teardown's drain).
  bool direct = false;
  // 1 while a poller reaps the CQ: ib_process_cq_direct must not run
  // concurrently with itself on one CQ; a second poller returns 0.
  Atomic<u32> polling{0};
  int cm_status = 0;
  u8 rsp[sizeof(wire::ConnRspWire)] = {};
  SignalCounter sig;
  Completion cm_done{KX_LOCK_CLASS("ibtrs_clt.con.cm_done")};
  rdma::CmHandler<ClCon, &ClCon::on_cm> handler{this};
  rdma::Cqe<ClCon, &ClCon::on_recv> recv_cqe{this};
  rdma::Cqe<ClCon, &ClCon::on_send> send_cqe{this};
  rdma::Cqe<ClCon, &ClCon::on_info_recv> info_cqe{this};
  rdma::CmId id;
  rdma::Cq cq;
  QpHandle qp;
  // kMsgFlagNewRkey servers only: one buffer per receive.
  Array<ClRecv> recvs;
  OwnArray<u8> recv_buf;
  rdma::DmaMapping recv_dma;
};

struct ClPath {
  ClPath(ibtrs_clt_sess* s) : sess(s) {}
  KX_PINNED(ClPath);

  Result<void> start();
  Result<void> connect_con(ClCon* con, bool first_conn);
  Result<void> setup_reqs();
  Result<void> exchange_info();
  void stop(int err, bool failover);
  void error(const char* why, int err);
  void err_work_fn();
  void reconnect_work_fn();
  void timeout_work_fn();
  void complete_req(ClReq* req, int err);
  void finish_req(ClReq* req, int err);
  void unmap_req(ClReq* req);
  void close();
  void disconnect_sync();
  long manual_reconnect();
  void sysfs_add();
  void sysfs_remove();
  void reset_for_reuse();
  void reset_stats();
  long sysfs_show(int id, char* buf);
  long sysfs_store(int id, const char* buf, usize len, kx::sysfs::SelfFile self);

  ibtrs_clt_sess* sess;
  u32 index = 0;
  char name[kPathNameMax] = {};
  bool has_src = false;
  rdma::SockAddr src, dst;
  wire::Uuid uuid{};
  u16 recon_cnt = 0;
  PathStateMachine state;  // ibtrs/core/path_state.h
  Atomic<u32> users{0};
  int reconnect_attempts = 0;
  // 1 once schedule_reconnect stopped at max_reconnect_attempts: the path
  // stays disconnected until a manual reconnect; sysfs state shows "dead".
  Atomic<u32> gave_up{0};
  // Heartbeat (timeout_work): HB_MSG on con 0 when nothing was missed,
  // any received immediate resets the count, > hb_missed_max fails the path.
  Atomic<u32> hb_missed{0};
  u64 hb_last_tick_ns = 0;
  Atomic<u64> hb_sent_ns{0};
  Atomic<u64> cur_latency_ns{0};
  bool counted = false;  // in sess->connected (sess->mutex)
  // remove_path finished: the slot is free for add_path, which re-initialises
  // this object in place (mpath::choose_path_slot). sess->paths_mutex.
  bool removed = false;
  // sysfs and stats
  char hca_name[64] = {};
  u32 hca_port = 0;
  Atomic<u64> read_cnt{0}, read_bytes{0}, write_cnt{0}, write_bytes{0};
  ibtrs::mpath::PathMetrics metrics;  // inflight, IO latency EWMA, heartbeat RTT
  // Completion latency of successful requests, submit to user completion
  // (stats/rdma_lat; the session's rdma_lat merges every path).
  ibtrs::mpath::LatencyHistogram lat_read, lat_write;
  Atomic<u32> reconnects_ok{0}, reconnects_failed{0};
  // stats/poll: requests posted on a poll connection, completions (CQEs)
  // reaped by ibtrs_clt_rdma_cq_direct on this path.
  Atomic<u64> poll_reqs{0}, poll_cqes{0};
  // cons[0, nr_irq_cons): admin + per-CPU IO (softirq CQs);
  // cons[nr_irq_cons, cons.size()): the poll connections (set by start()).
  u32 nr_irq_cons = 0;
  kx::sysfs::Target<ClPath> sysfs_target{this};
  kx::sysfs::KObject kobj, stats_kobj;
  // Set-up results (geometry from con 0's CONN_RSP).
  u32 queue_depth = 0, max_io_size = 0, max_hdr_size = 0, chunk_size = 0;
  u32 max_pages = 0, max_data_sge = 1;
  // The server runs always_invalidate: every answer carries the chunk's new
  // rkey (RKEY_RSP), which rbufs must take before the permit is reused.
  bool new_rkey = false;
  wire::ChunkGeometry geo = wire::ChunkGeometry::create(1, wire::kMinChunkSize).value();
  kx_ib_device* dev = nullptr;
  rdma::DeviceAttr dev_attr{};
  rdma::Pd pd;
  RegFence reg_fence;  // in front of every REG_MR (common.h)
  OwnArray<ClCon*> cons;
  OwnArray<wire::RemoteChunk> rbufs;
  Array<ClReq> reqs;
  // INFO exchange on con 0.
  OwnArray<u8> info_req_buf, info_rsp_buf;
  rdma::DmaMapping info_req_dma, info_rsp_dma;
  u32 info_rsp_len = 0;
  int info_status = 0;
  Completion info_done{KX_LOCK_CLASS("ibtrs_clt.path.info")};
  WaitQueue users_wq{KX_LOCK_CLASS("ibtrs_clt.path.users")};
  Work<ClPath, &ClPath::err_work_fn> err_work{this, KX_LOCK_CLASS("ibtrs_clt.path.err")};
  DelayedWork<ClPath, &ClPath::reconnect_work_fn> reconnect_work{this, KX_LOCK_CLASS("ibtrs_clt.path.reconnect")};
  DelayedWork<ClPath, &ClPath::timeout_work_fn> timeout_work{this, KX_LOCK_CLASS("ibtrs_clt.path.timeout")};
};

struct ibtrs_clt_sess {
  ibtrs_clt_sess() = default;
  KX_PINNED(ibtrs_clt_sess);

  ibtrs_permit* permit(u32 i) {
    return reinterpret_cast<ibtrs_permit*>(permits.data() + usize{i} * permit_stride);
  }
  void path_up(ClPath* p);
  void path_down(ClPath* p);

  ibtrs_clt_ops ops{};
  char name[IBTRS_SESSNAME_MAX] = {};
  wire::Uuid paths_uuid{};
  u16 port = 0;
  usize pdu_sz = 0;
  u32 nr_poll_queues = 0;  // poll connections per path (fixed at open)
  u32 reconnect_delay_ms = 0;
  int max_reconnect_attempts = 0;
  u32 queue_depth = 0, max_io_size = 0, max_hdr_size = 0, max_segments = 0;
  bool opened = false;  // link events only after open returned
  OwnArray<ClPath*> paths;     // capacity wire::kMaxPaths; [0, nr_paths) published
  Atomic<u32> nr_paths{0};
  Mutex paths_mutex{KX_LOCK_CLASS("ibtrs_clt.sess.paths")};  // add_path
  Atomic<u32> policy{static_cast<u32>(ibtrs::mpath::kDefaultPolicy)};
  ibtrs::mpath::RrCursor rr_cursor;
  long sysfs_show(int id, char* buf);
  long sysfs_store(int id, const char* buf, usize len, kx::sysfs::SelfFile self);
  long add_path(const char* buf, usize len);
  kx::sysfs::Target<ibtrs_clt_sess> sysfs_target{this};
  kx::sysfs::Device dev;  // destroyed after paths_dir
  kx::sysfs::KObject paths_dir;
  Mutex mutex{KX_LOCK_CLASS("ibtrs_clt.sess.mutex")};
  u32 connected = 0;  // mutex
  // The path whose coming up made connected 0 -> 1 last (mutex); "" before
  // the first such event. ibtrs_clt_reconnected_path reads it.
  char reconnected_path[kPathNameMax] = {};
  TagAllocator tags;
  OwnArray<u8> permits;
  usize permit_stride = 0;
  WaitQueue permit_wq{KX_LOCK_CLASS("ibtrs_clt.sess.permit")};
};

// ---------------------------------------------------------------------------
// Connections

int ClCon::on_cm(kx_cm_id*, const rdma::CmEvent& ev) {
  switch (ev.type) {
    case KX_CM_EVENT_ADDR_RESOLVED:
    case KX_CM_EVENT_ROUTE_RESOLVED:
      cm_status = 0;
      cm_done.complete();
      return 0;
    case KX_CM_EVENT_ESTABLISHED:
      if (ev.private_data && ev.private_data_len >= sizeof(rsp))
        __builtin_memcpy(rsp, ev.private_data, sizeof(rsp));
      cm_status = 0;
      __atomic_store_n(&up, true, __ATOMIC_RELEASE);  // ClPath::stop reads it
      cm_done.complete();
      return 0;
    case KX_CM_EVENT_REJECTED: {
      cm_status = -ECONNREFUSED;
      if (ev.consumer_reject && ev.private_data) {
        auto rej = wire::decode_conn_reject(static_cast<const u8*>(ev.private_data),
                                            ev.private_data_len);
        if (rej.is_ok()) cm_status = rej.value().peer_errno;
      }
      cm_done.complete();
      return 0;
    }
    case KX_CM_EVENT_ADDR_ERROR:
    case KX_CM_EVENT_ROUTE_ERROR:
    case KX_CM_EVENT_CONNECT_ERROR:
    case KX_CM_EVENT_UNREACHABLE:
      cm_status = ev.status < 0 ? ev.status : -EHOSTUNREACH;
      cm_done.complete();
      return 0;
    case KX_CM_EVENT_DISCONNECTED:
    case KX_CM_EVENT_ADDR_CHANGE:
    case KX_CM_EVENT_DEVICE_REMOVAL:
    case KX_CM_EVENT_TIMEWAIT_EXIT:
      if (up) path->error(kx_cm_event_msg(ev.type), -ECONNRESET);
      return 0;
    default:
      return 0;
  }
}

Result<void> ClCon::wait_cm(const char* step) {
  if (!cm_done.wait_for(kConnectTimeoutMs + 5000)) {
    kx_err("path %s: con %u: %s timed out\n", path->name, cid, step);
    return Error(-ETIMEDOUT);
  }
  cm_done.reinit();
  if (cm_status) {
    kx_err("path %s: con %u: %s failed (%d)\n", path->name, cid, step, cm_status);
    return Error(cm_status);
  }
  return ok();
}

void ClCon::on_send(const rdma::Wc& wc) {
  if (kx_unlikely(!rdma::wc_ok(wc)) && !wc_flushed(wc))
    path->error(rdma::wc_status_str(wc), -EIO);
}

void ClCon::on_info_recv(const rdma::Wc& wc) {
  ClPath* p = path;
  if (!rdma::wc_ok(wc))
    p->info_status = -EIO;
  else if (wc.opcode != KX_WC_RECV)
    p->info_status = -EPROTO;
  else
    p->info_rsp_len = wc.byte_len;
  p->info_done.complete();
}

// The LOCAL_INV of an answered READ's MR completed. Softirq context (or the
// path's teardown, which drains the QPs).
void ClReq::on_inv(const rdma::Wc& wc) {
  if (!rdma::wc_ok(wc)) {
    // The answer came, but the MR may still be valid, and the path's other
    // connections may still be up: the buffer must not go back to the user
    // yet. The path fails (a flush means it already has); its teardown
    // re-issues the request on a surviving path once every QP of this path
    // is dead (failover::fail_path) — the READ runs again, exactly once.
    if (!wc_flushed(wc)) path->error(rdma::wc_status_str(wc), -EIO);
    return;
  }
  mr_valid = false;
  answered = false;
  path->complete_req(this, rsp_err);
}

void ClRecv::on_done(const rdma::Wc& wc) { con->handle_recv(wc, this); }

Result<void> ClCon::post_recv(ClRecv* slot) {
  if (!slot) return qp.post_recv(recv_cqe.get());
  const rdma::Sge sge = recv_dma.sge(path->pd.local_dma_lkey(), slot->idx * sizeof(wire::RkeyRspWire),
                                     sizeof(wire::RkeyRspWire));
  return qp.post_recv(slot->cqe.get(), &sge, 1);
}

// Posts the connection's n receives: empty ones, or (always_invalidate
// server) each with an 8-byte buffer for an RKEY_RSP. Process context.
Result<void> ClCon::setup_recvs(u32 n, bool with_buffers) {
  if (!with_buffers) {
    for (u32 k = 0; k < n; k++) KX_TRY(post_recv(nullptr));
    return ok();
  }
  const usize len = usize{n} * sizeof(wire::RkeyRspWire);
  recvs = KX_TRY(Array<ClRecv>::create(n, Gfp::kernel));
  recv_buf = KX_TRY(OwnArray<u8>::create(len, Gfp::kernel));
  recv_dma = KX_TRY(rdma::DmaMapping::create(path->dev, recv_buf.data(), len, rdma::DmaDir::from_device));
  for (u32 k = 0; k < n; k++) {
    recvs[k].con = this;
    recvs[k].idx = k;
    KX_TRY(post_recv(&recvs[k]));
  }
  return ok();
}

// A receive completed: slot is its buffer (always_invalidate server) or null
// (empty receive). Softirq context.
void ClCon::handle_recv(const rdma::Wc& wc, ClRecv* slot) {
  ClPath* p = path;
  if (!rdma::wc_ok(wc)) {
    if (!wc_flushed(wc)) p->error(rdma::wc_status_str(wc), -EIO);
    return;
  }
  if (!p->state.is_connected()) return;
  bool has_rkey = false;
  wire::RkeyRsp rkey{};
  if (wc.opcode == KX_WC_RECV && (wc.wc_flags & KX_WC_WITH_IMM) && slot) {
    // SEND_WITH_IMM: RKEY_RSP with the answer's immediate.
    recv_dma.sync_for_cpu();
    auto r = wire::decode_rkey_rsp(recv_buf.data() + slot->idx * sizeof(wire::RkeyRspWire),
                                   wc.byte_len, p->queue_depth);
    if (r.is_error()) {
      kx_err_rl("path %s: bad RKEY_RSP on con %u (%d)\n", p->name, cid, r.error().code());
      p->error(nullptr, r.error().code());
      return;
    }
    rkey = r.value();
    has_rkey = true;
  } else if (wc.opcode == KX_WC_RECV) {
    // The zero-length SEND_WITH_INV of a READ answer: the server already
    // invalidated our MR; the IO_RSP_W_INV immediate follows.
    if (!(wc.wc_flags & KX_WC_WITH_INVALIDATE) || wc.byte_len != 0) {
      p->error("unexpected SEND from server", -EPROTO);
      return;
    }
    if (post_recv(slot).is_error()) p->error("cannot repost receive", -EIO);
    return;
  } else if (wc.opcode != KX_WC_RECV_RDMA_WITH_IMM || !(wc.wc_flags & KX_WC_WITH_IMM)) {
    p->error("completion without immediate", -EPROTO);
    return;
  }
  p->hb_missed.store_relaxed(0);
  auto imm = wire::decode_client_imm(wc.imm_data, p->queue_depth, cid);
  if (imm.is_error()) {
    kx_err_rl("path %s: bad immediate 0x%08x on con %u (%d)\n", p->name, wc.imm_data, cid,
              imm.error().code());
    p->error(nullptr, imm.error().code());
    return;
  }
  if (post_recv(slot).is_error()) {
    p->error("cannot repost receive", -EIO);
    return;
  }
  const wire::ClientImm m = imm.value();
  if (has_rkey) {
    if (wire::check_rkey_rsp(rkey, m).is_error()) {
      kx_err_rl("path %s: RKEY_RSP for chunk %u with immediate 0x%08x on con %u\n", p->name,
                rkey.buf_id, wc.imm_data, cid);
      p->error(nullptr, -EPROTO);
      return;
    }
  }
  if (m.type == wire::ImmType::kHbMsg) {
    const rdma::SendWr wr =
        rdma::wr_write_imm(send_cqe.get(), nullptr, 0, 0, 0, wire::kHbAckImm, sig.flags_for(1));
    if (qp.post_send(wr).is_error()) p->error("cannot post heartbeat ack", -EIO);
    return;
  }
  if (m.type == wire::ImmType::kHbAck) {
    const u64 sent = p->hb_sent_ns.load_relaxed();
    if (sent) {
      p->cur_latency_ns.store_relaxed(kx_ktime_ns() - sent);
      p->metrics.set_hb_rtt(kx_ktime_ns() - sent);
    }
    return;
  }
  ClReq* req = &p->reqs[m.msg_id];
  if (!req->slot.inflight() || req->con != this) {
    kx_err_rl("path %s: response for idle request %u on con %u\n", p->name, m.msg_id, cid);
    p->error(nullptr, -EPROTO);
    return;
  }
  // Before the request completes: its permit may be reused at once.
  if (has_rkey) p->rbufs[m.msg_id].rkey = rkey.rkey;
  if (m.type == wire::ImmType::kIoRspWithInval) {
    if (req->dir != IBTRS_READ || !req->mr_valid || !req->asked_inval) {
      p->error(req->asked_inval ? "W_INV response to a request without MR"
                                : "W_INV response to a request that did not ask for invalidation",
               -EPROTO);
      return;
    }
    req->mr_valid = false;
  }
  if (req->mr_valid) {
    // The server did not invalidate our MR: do it before the buffer goes
    // back to the user, who may reuse it at once.
    req->rsp_err = m.err;
    req->answered = true;
    const rdma::SendWr wr = req->mr.local_inv_wr(req->inv_cqe.get(), KX_SEND_SIGNALED);
    sig.flags_for(1);
    if (qp.post_send(wr).is_error()) p->error("cannot post LOCAL_INV", -EIO);
    return;
  }
  p->complete_req(req, m.err);
}

// ---------------------------------------------------------------------------
// Requests

// The answer (or a local error) for an in-flight request: completes it
// unless the teardown already took it. Any context.
void ClPath::complete_req(ClReq* req, int err) {
  if (!req->slot.take()) return;
  finish_req(req, err);
}

// Releases the DMA mapping of the request's data. Any context.
void ClPath::unmap_req(ClReq* req) {
  if (req->sg_cnt)
    kx_ib_dma_unmap_sg(dev, req->sg, req->sg_cnt,
                       req->dir == IBTRS_WRITE ? KX_DMA_TO_DEVICE : KX_DMA_FROM_DEVICE);
  req->sg_cnt = 0;
}

// The caller owns req (slot taken): frees the slot, then the user's
// completion. Any context.
void ClPath::finish_req(ClReq* req, int err) {
  unmap_req(req);
  const ibtrs_clt_req_ops ops = req->ops;
  if (err == -ECONNABORTED && req->timed_out) err = -ETIMEDOUT;
  const u64 start = req->start_ns;
  __atomic_store_n(&req->start_ns, 0, __ATOMIC_RELEASE);
  if (err == 0) {
    const u64 now = kx_ktime_ns();
    const u64 lat = start && now > start ? now - start : 1;
    metrics.on_complete(lat, now);
    (req->dir == IBTRS_READ ? lat_read : lat_write).record(lat);
  } else {
    metrics.on_complete_error();
  }
  req->slot.release();
  if (ops.conf_fn) ops.conf_fn(ops.priv, err);
}

static int post_request(ClPath* p, ClCon* con, ClReq* req, const kvec* usr, usize nr, u32 usr_len) {
  const u32 buf_id = req->buf_id;
  const wire::RemoteChunk rb = p->rbufs[buf_id];
  u8* iu = req->iu.data();
  u32 off = 0;
  for (usize i = 0; i < nr; i++) {
    __builtin_memcpy(iu + off, usr[i].iov_base, usr[i].iov_len);
    off += static_cast<u32>(usr[i].iov_len);
  }
  rdma::SendWr wrs[3];  // [fence, REG_MR,] WRITE_WITH_IMM
  u32 n = 0;
  rdma::Sge sges[33];
  u32 nsge = 0;
  const u32 lkey = p->pd.local_dma_lkey();
  int mapped = 0;
  if (req->data_len) {
    mapped = kx_ib_dma_map_sg(p->dev, req->sg, req->sg_cnt,
                              req->dir == IBTRS_WRITE ? KX_DMA_TO_DEVICE : KX_DMA_FROM_DEVICE);
    if (mapped <= 0) return -EIO;
  }
  const bool use_mr = req->data_len && (req->dir == IBTRS_READ || static_cast<u32>(mapped) > p->max_data_sge);
  if (use_mr) {
    const int m = kx_ib_mr_map_sg(req->mr.get(), req->sg, static_cast<u32>(mapped), kPageSize);
    if (m != mapped) goto unmap_inval;
    req->mr.bump_key();
    const u32 access = req->dir == IBTRS_READ ? (KX_ACCESS_LOCAL_WRITE | KX_ACCESS_REMOTE_WRITE)
                                              : KX_ACCESS_LOCAL_WRITE;
    wrs[n++] = p->reg_fence.wr(con->send_cqe.get());
    wrs[n++] = req->mr.reg_wr(con->send_cqe.get(), access, 0);
    req->mr_valid = true;
  }
  // A READ with an MR asks the server for remote invalidation unless the
  // operator chose LOCAL_INV (remote_invalidate=N); handle_recv() then
  // invalidates the MR itself when the answer comes.
  req->asked_inval = use_mr && req->dir == IBTRS_READ &&
                     __atomic_load_n(&ibtrs_clt_remote_invalidate, __ATOMIC_RELAXED);
  {
    Result<u32> imm = Error(-EINVAL);
    u64 raddr = rb.addr;
    if (req->dir == IBTRS_WRITE) {
      if (use_mr) {
        const rdma::MrInfo info = req->mr.info();
        sges[nsge++] = rdma::Sge{info.iova, req->data_len, info.lkey};
      } else {
        for (int i = 0; i < mapped; i++)
          sges[nsge++] = rdma::Sge{kx_sg_dma_address(req->sg, i), kx_sg_dma_len(req->sg, i), lkey};
      }
      (void)wire::encode_write_trailer(iu + usr_len, p->max_hdr_size - usr_len, static_cast<u16>(usr_len));
      sges[nsge++] = req->iu_dma.sge(lkey, 0, usr_len + kWriteTrailer);
      imm = p->geo.write_request_imm(buf_id, req->data_len, usr_len);
    } else {
      wire::SgDesc desc{};
      if (use_mr) {
        const rdma::MrInfo info = req->mr.info();
        desc = wire::SgDesc{info.iova, info.rkey, req->data_len};
      }
      auto t = wire::encode_read_trailer(iu + usr_len, p->max_hdr_size - usr_len,
                                         static_cast<u16>(usr_len), use_mr ? &desc : nullptr,
                                         req->asked_inval);
      if (t.is_error()) goto unmap_inval;
      sges[nsge++] = req->iu_dma.sge(lkey, 0, usr_len + static_cast<u32>(t.value()));
      imm = p->geo.read_request_imm(buf_id, req->data_len, usr_len, use_mr ? 1 : 0);
      raddr += req->data_len;
    }
    if (imm.is_error()) goto unmap_inval;
    req->iu_dma.sync_for_device();
    wrs[n++] = rdma::wr_write_imm(con->send_cqe.get(), sges, nsge, raddr, rb.rkey, imm.value(), 0);
    wrs[n - 1].flags = con->sig.flags_for(n);
    req->sg_cnt = req->data_len ? req->sg_cnt : 0;
    if (con->qp.post_send(wrs, n).is_error()) {
      p->error("cannot post request", -EIO);
      req->mr_valid = false;  // the QP is going down; the MR is re-created
      goto unmap_err;
    }
    return 0;
  }
unmap_inval:
  req->mr_valid = false;
  if (mapped > 0)
    kx_ib_dma_unmap_sg(p->dev, req->sg, req->sg_cnt,
                       req->dir == IBTRS_WRITE ? KX_DMA_TO_DEVICE : KX_DMA_FROM_DEVICE);
  return -EINVAL;
unmap_err:
  if (mapped > 0)
    kx_ib_dma_unmap_sg(p->dev, req->sg, req->sg_cnt,
                       req->dir == IBTRS_WRITE ? KX_DMA_TO_DEVICE : KX_DMA_FROM_DEVICE);
  return -EIO;
}

// What ibtrs_clt_request() was given, as fail-over re-posts it.
struct ClReqArgs {
  int dir;
  ibtrs_clt_req_ops ops;
  u32 mem_id;
  u32 con_type;
  u32 poll_idx;
  const kvec* usr;
  usize nr;
  u32 usr_len;
  u32 data_len;
  kx_sgl* sg;
  u32 sg_cnt;
};

static_assert(IBTRS_ADMIN_CON == ibtrs::con_route::kAdminCon && IBTRS_IO_CON == ibtrs::con_route::kIoCon &&
              IBTRS_POLL_CON == ibtrs::con_route::kPollCon);

// The session as ibtrs/core/failover.h sees it: paths to choose from
// (mpath PathView), how to post on one, and the failed path's slots.
// Callers keep the session's paths alive (module contract: requests and
// teardown never race with the session's destruction).
struct ClEnv {
  using Request = ClReqArgs;
  ibtrs_clt_sess* s;
  u32 n;

  usize size() const { return n; }
  bool usable(usize i) const { return s->paths[i]->state.is_connected(); }
  const ibtrs::mpath::PathMetrics& metrics(usize i) const { return s->paths[i]->metrics; }

  // Posts a on path i if it is connected. The path's users count keeps its
  // teardown from destroying the QP under the post (see ClPath::stop).
  int try_post(u32 i, const ClReqArgs& a) {
    ClPath* p = s->paths[i];
    p->users.add_fetch(1);
    int ret;
    if (!p->state.is_connected()) {
      ret = ibtrs::failover::kTryNextPath;
    } else {
      ClReq* req = &p->reqs[a.mem_id];
      if (!req->slot.claim()) {
        ret = -EBUSY;  // permit used twice at once
      } else {
        // IBTRS_POLL_CON with a valid index: that poll connection (the
        // same index on every path: fail-over keeps it polled); see
        // ibtrs/core/con_route.h.
        const auto rt = ibtrs::con_route::route(a.con_type, a.poll_idx, static_cast<u32>(p->cons.size()),
                                                p->nr_irq_cons, static_cast<u32>(kx_cpu_current()));
        ClCon* con = p->cons[rt.index];
        const bool poll = rt.poll;
        req->con = con;
        req->dir = a.dir;
        req->ops = a.ops;
        req->sg = a.sg;
        req->sg_cnt = a.sg_cnt;
        req->user_sg_cnt = a.sg_cnt;
        req->data_len = a.data_len;
        req->usr_len = a.usr_len;
        req->saved_usr = kvec{req->iu.data(), a.usr_len};
        req->timed_out = false;
        req->answered = false;
        __atomic_store_n(&req->start_ns, kx_ktime_ns(), __ATOMIC_RELEASE);
        p->metrics.on_submit();
        ret = post_request(p, con, req, a.usr, a.nr, a.usr_len);
        if (ret) {
          p->metrics.on_complete_error();
          req->sg_cnt = 0;
          // Not posted: leave no stale start time for the timeout scan to
          // read when the slot is claimed again.
          __atomic_store_n(&req->start_ns, 0, __ATOMIC_RELEASE);
          req->slot.release();
          // -EIO: the QP refused the post (the path is going down), which
          // another path may not; -EINVAL is the request's own fault.
          if (ret == -EIO) ret = ibtrs::failover::kTryNextPath;
        } else if (a.dir == IBTRS_WRITE) {
          if (poll) p->poll_reqs.add_relaxed(1);
          p->write_cnt.add_relaxed(1);
          p->write_bytes.add_relaxed(a.data_len + a.usr_len);
        } else {
          if (poll) p->poll_reqs.add_relaxed(1);
          p->read_cnt.add_relaxed(1);
          p->read_bytes.add_relaxed(a.data_len + a.usr_len);
        }
      }
    }
    if (p->users.sub_fetch(1) == 0 && !p->state.is_connected()) p->users_wq.wake_all();
    return ret;
  }

  // The failed path's slots (its QPs and CQs are destroyed: nothing else
  // touches them now).
  usize nr_slots(u32 path) const { return s->paths[path]->reqs.size(); }
  ibtrs::failover::Slot& slot(u32 path, u32 i) { return s->paths[path]->reqs[i].slot; }
  ClReqArgs saved_request(u32 path, u32 i) {
    ClReq& r = s->paths[path]->reqs[i];
    const ibtrs_permit* pm = s->permit(i);
    return ClReqArgs{r.dir,          r.ops,      i,          pm->con_type, pm->poll_idx, &r.saved_usr,
                     r.usr_len ? 1u : 0u, r.usr_len, r.data_len, r.sg,         r.user_sg_cnt};
  }
  void detach(u32 path, u32 i) { s->paths[path]->unmap_req(&s->paths[path]->reqs[i]); }
  void moved(u32 path, u32 i, u32 to) {
    ClPath* p = s->paths[path];
    ClReq& r = p->reqs[i];
    p->metrics.on_complete_error();  // no longer in flight here
    __atomic_store_n(&r.start_ns, 0, __ATOMIC_RELEASE);
    r.slot.release();
    s->paths[to]->metrics.on_failover();
  }
  void complete(u32 path, u32 i, int err) {
    ClPath* p = s->paths[path];
    p->finish_req(&p->reqs[i], err);
  }
};

// ---------------------------------------------------------------------------
// Path set-up and teardown

Result<void> ClPath::connect_con(ClCon* con, bool first_conn) {
  con->id = KX_TRY(rdma::CmId::create(con->handler.get()));
  KX_TRY(con->id.resolve_addr(has_src ? &src : nullptr, dst, kConnectTimeoutMs));
  KX_TRY(con->wait_cm("address resolution"));
  KX_TRY(con->id.resolve_route(kConnectTimeoutMs));
  KX_TRY(con->wait_cm("route resolution"));
  kx_ib_device* d = con->id.device();
  if (!dev) {
    dev = d;
    dev_attr = rdma::query_device(d);
    if (!dev_attr.mem_mgt_extensions) {
      kx_err("path %s: device %s lacks fast registration\n", name, dev_attr.name);
      return Error(-EOPNOTSUPP);
    }
    pd = KX_TRY(rdma::Pd::create(d));
    copy_str(hca_name, sizeof(hca_name), dev_attr.name);
    hca_port = con->id.port();
  } else if (d != dev) {
    return Error(-EINVAL);
  }
  // Before CONN_RSP the queue depth is unknown: size for the largest the
  // server may announce we accept (SERVICE_CON_QUEUE_DEPTH upstream).
  const u32 qd = wire::kServiceConQueueDepth;
  // Per request: fence + REG_MR + WRITE_WITH_IMM + LOCAL_INV.
  const u32 sq = min(4 * qd + 64, dev_attr.max_qp_wr);
  const u32 rq = min(2 * qd + 16 + 1, dev_attr.max_qp_wr);
  con->sig.init(min(qd, sq / 4));
  rdma::QpCaps caps{sq, rq, min(dev_attr.max_send_sge, 32u), 1, 0};
  con->cq = KX_TRY(rdma::Cq::create(d, sq + rq + 2,
                                    static_cast<int>(con->cid % max(dev_attr.num_comp_vectors, 1u)),
                                    con->direct ? rdma::PollCtx::direct : rdma::PollCtx::softirq));
  con->qp = KX_TRY(QpHandle::create(con->id, pd, con->cq, con->cq, caps));
  if (con->cid == 0) max_data_sge = caps.max_send_sge > 1 ? caps.max_send_sge - 1 : 1;

  wire::ConnReq req{wire::kProtoVersion, con->cid, static_cast<u16>(cons.size()), recon_cnt,
                    uuid, sess->paths_uuid, first_conn};
  u8 pdata[sizeof(wire::ConnReqWire)];
  KX_TRY(wire::encode_conn_req(pdata, sizeof(pdata), req));
  rdma::ConnParam cp;
  cp.private_data = pdata;
  cp.private_data_len = sizeof(pdata);
  cp.responder_resources = 1;
  cp.initiator_depth = 1;
  KX_TRY(con->id.connect(cp));
  KX_TRY(con->wait_cm("connect"));
  auto rsp = wire::decode_conn_rsp(con->rsp, sizeof(con->rsp));
  if (rsp.is_error()) {
    kx_err("path %s: bad CONN_RSP (%d)\n", name, rsp.error().code());
    return rsp.error();
  }
  const wire::ConnRsp r = rsp.value();
  const bool new_rkey_flag = (r.flags & wire::kMsgFlagNewRkey) != 0;
  if (con->cid == 0) {
    new_rkey = new_rkey_flag;
    if (r.queue_depth > qd) {
      kx_err("path %s: server queue depth %u > %u\n", name, r.queue_depth, qd);
      return Error(-EINVAL);
    }
    geo = KX_TRY(wire::chunk_geometry(r));
    queue_depth = r.queue_depth;
    max_io_size = r.max_io_size;
    max_hdr_size = r.max_hdr_size;
    chunk_size = geo.chunk_size();
  } else if (r.queue_depth != queue_depth || r.max_io_size != max_io_size ||
             r.max_hdr_size != max_hdr_size || new_rkey_flag != new_rkey) {
    kx_err("path %s: con %u: CONN_RSP differs from con 0\n", name, con->cid);
    return Error(-EPROTO);
  }
  return ok();
}

Result<void> ClPath::setup_reqs() {
  max_pages = min(max_io_size / static_cast<u32>(kPageSize) + 1, dev_attr.max_fast_reg_page_list_len);
  reg_fence = KX_TRY(RegFence::create(pd));
  reqs = KX_TRY(Array<ClReq>::create(queue_depth, Gfp::kernel));
  for (u32 i = 0; i < queue_depth; i++) {
    ClReq& r = reqs[i];
    r.path = this;
    r.buf_id = i;
    r.mr = KX_TRY(rdma::FastRegMr::create(pd, max_pages));
    r.iu = KX_TRY(OwnArray<u8>::create(max_hdr_size, Gfp::kernel));
    r.iu_dma = KX_TRY(rdma::DmaMapping::create(dev, r.iu.data(), max_hdr_size, rdma::DmaDir::to_device));
  }
  return ok();
}

Result<void> ClPath::exchange_info() {
  ClCon* c0 = cons[0];
  const u16 max_sg = static_cast<u16>(queue_depth);
  const usize rsp_size = wire::info_rsp_size(max_sg);
  info_rsp_buf = KX_TRY(OwnArray<u8>::create(rsp_size, Gfp::kernel));
  info_rsp_dma = KX_TRY(rdma::DmaMapping::create(dev, info_rsp_buf.data(), rsp_size, rdma::DmaDir::from_device));
  info_req_buf = KX_TRY(OwnArray<u8>::create(sizeof(wire::InfoReqWire), Gfp::kernel));
  KX_TRY(wire::encode_info_req(info_req_buf.data(), sizeof(wire::InfoReqWire), sess->name,
                               __builtin_strlen(sess->name)));
  info_req_dma = KX_TRY(rdma::DmaMapping::create(dev, info_req_buf.data(), sizeof(wire::InfoReqWire),
                                                 rdma::DmaDir::to_device));
  info_done.reinit();
  info_status = 0;
  const rdma::Sge rsge = info_rsp_dma.sge(pd.local_dma_lkey());
  KX_TRY(c0->qp.post_recv(c0->info_cqe.get(), &rsge, 1));
  const rdma::Sge ssge = info_req_dma.sge(pd.local_dma_lkey());
  c0->sig.flags_for(1);
  KX_TRY(c0->qp.post_send(rdma::wr_send(c0->send_cqe.get(), &ssge, 1, KX_SEND_SIGNALED)));
  if (!info_done.wait_for(kConnectTimeoutMs)) {
    kx_err("path %s: no INFO_RSP\n", name);
    return Error(-ETIMEDOUT);
  }
  if (info_status) return Error(info_status);
  info_rsp_dma.sync_for_cpu();
  rbufs = KX_TRY(OwnArray<wire::RemoteChunk>::create(queue_depth, Gfp::kernel));
  auto r = wire::decode_info_rsp(info_rsp_buf.data(), info_rsp_len, geo, rbufs.data(), queue_depth);
  if (r.is_error()) {
    kx_err("path %s: bad INFO_RSP (%d)\n", name, r.error().code());
    return r.error();
  }
  return ok();
}

Result<void> ClPath::start() {
  hb_missed.store(0);
  hb_last_tick_ns = kx_ktime_ns();
  hb_sent_ns.store(0);
  // As upstream rtrs-clt (alloc_path): admin + one per CPU + the poll
  // connections last; cid_num in every CONN_REQ is the total, so any
  // RTRS 2.0 server accepts them as ordinary connections.
  nr_irq_cons = 1 + static_cast<u32>(kx_num_online_cpus());
  const u32 con_num = nr_irq_cons + sess->nr_poll_queues;
  cons = KX_TRY(OwnArray<ClCon*>::create(con_num, Gfp::kernel));
  for (u32 i = 0; i < con_num; i++) {
    cons[i] = new (Gfp::kernel) ClCon(this, static_cast<u16>(i));
    if (!cons[i]) return Error(-ENOMEM);
    cons[i]->direct = i >= nr_irq_cons;
  }
  // first_conn: the server may (re)create the session only if no other
  // path of ours is connected (a rebooted server forgot it).
  bool first;
  {
    MutexGuard g(sess->mutex);
    first = sess->connected == 0;
  }
  for (u32 i = 0; i < con_num; i++) KX_TRY(connect_con(cons[i], first));
  if (sess->queue_depth && (queue_depth != sess->queue_depth || max_io_size != sess->max_io_size ||
                            max_hdr_size != sess->max_hdr_size)) {
    kx_err("path %s: server geometry changed (queue depth %u -> %u)\n", name, sess->queue_depth,
           queue_depth);
    return Error(-EINVAL);
  }
  KX_TRY(setup_reqs());
  KX_TRY(exchange_info());
  for (u32 i = 0; i < con_num; i++)
    KX_TRY(cons[i]->setup_recvs(2 * queue_depth + 16, new_rkey));
  return ok();
}

// Tears down every connection. Requests in flight move to another
// connected path if failover is set (a path failure, a manual disconnect),
// else, or when no path takes them, complete with err. Process context.
// Idempotent.
void ClPath::stop(int err, bool failover) {
  timeout_work.cancel_sync();
  users_wq.wait([this] { return users.load() == 0; });
  // rdma_disconnect only on connections that reached ESTABLISHED: a cm_id
  // that never connected (address or route resolution, connect refused or
  // timed out) has no connection to end; destroying it below is enough.
  for (usize i = 0; i < cons.size(); i++)
    if (cons[i] && cons[i]->id && __atomic_load_n(&cons[i]->up, __ATOMIC_ACQUIRE))
      (void)cons[i]->id.disconnect();
  // Drain, QP, then CQ (waits for a running handler): no completion can
  // run after this (see QpHandle).
  for (usize i = 0; i < cons.size(); i++)
    if (cons[i]) cons[i]->qp.drain();
  for (usize i = 0; i < cons.size(); i++) {
    if (!cons[i]) continue;
    cons[i]->qp.reset();
    cons[i]->cq.reset();
  }
  // Move or fail what is left.
  // A path not yet published in sess->paths (add_path or open failing
  // half-way) never carried a request.
  const u32 published = sess->nr_paths.load_acquire();
  if (reqs.size() && index < published && sess->paths[index] == this) {
    ClEnv env{sess, published};
    const auto st = ibtrs::failover::fail_path(
        env, index, err, failover, static_cast<ibtrs::mpath::MpathPolicy>(sess->policy.load_relaxed()),
        sess->rr_cursor, kx_ktime_ns());
    if (st.moved || st.completed)
      kx_info("path %s: %u requests failed over, %u completed with an error\n", name, st.moved,
              st.completed);
  }
  for (usize i = 0; i < cons.size(); i++) {
    ClCon* c = cons[i];
    if (!c) continue;
    c->id.reset();
    destroy(c);
  }
  cons = OwnArray<ClCon*>();
  reqs.reset();
  reg_fence.reset();
  info_req_dma.reset();
  info_rsp_dma.reset();
  pd.reset();
  dev = nullptr;
}

// ---------------------------------------------------------------------------
// Errors, recovery, reconnect, timeouts

// Any context: leaves CONNECTED once and queues the recovery.
void ClPath::error(const char* why, int err) {
  if (!state.fail()) return;
  if (why)
    kx_err_rl("path %s: error: %s (%d)\n", name, why, err);
  else
    kx_err_rl("path %s: error (%d)\n", name, err);
  err_work.queue(g_wq);
}

void ibtrs_clt_sess::path_up(ClPath* p) {
  bool fire = false;
  {
    MutexGuard g(mutex);
    if (p->counted) return;
    p->counted = true;
    fire = connected++ == 0 && opened;
    if (fire) copy_str(reconnected_path, sizeof(reconnected_path), p->name);
  }
  if (fire && ops.link_ev) ops.link_ev(ops.priv, IBTRS_CLT_LINK_EV_RECONNECTED);
}

void ibtrs_clt_sess::path_down(ClPath* p) {
  bool fire = false;
  {
    MutexGuard g(mutex);
    if (!p->counted) return;
    p->counted = false;
    fire = --connected == 0 && opened;
  }
  if (fire && ops.link_ev) ops.link_ev(ops.priv, IBTRS_CLT_LINK_EV_DISCONNECTED);
}

// Period of a path's liveness scan (heartbeat tick and request timeouts):
// once a second, or every heartbeat interval when that is shorter, so that
// hb_interval_ms below 1000 really detects a dead path sooner.
static u32 liveness_scan_ms() {
  return static_cast<u32>(min(1000, ibtrs_clt_hb_interval_ms));
}

static u32 reconnect_delay(ibtrs_clt_sess* s, int attempt) {
  return ibtrs::backoff_delay_ms(s->reconnect_delay_ms, static_cast<u32>(attempt), kx_random_u32());
}

static void schedule_reconnect(ClPath* p) {
  ibtrs_clt_sess* s = p->sess;
  if (s->max_reconnect_attempts == 0 ||
      (s->max_reconnect_attempts > 0 && p->reconnect_attempts >= s->max_reconnect_attempts)) {
    kx_info("path %s: not reconnecting (%d attempts, max %d)\n", p->name, p->reconnect_attempts,
            s->max_reconnect_attempts);
    p->gave_up.store(1);
    return;
  }
  p->reconnect_work.queue(reconnect_delay(s, p->reconnect_attempts), g_wq);
}

void ClPath::err_work_fn() {
  stop(-ECONNABORTED, /*failover=*/true);
  if (!state.recovered()) return;  // closing took over
  sess->path_down(this);
  schedule_reconnect(this);
}

void ClPath::reconnect_work_fn() {
  if (!state.begin_reconnect()) return;
  recon_cnt++;
  reconnect_attempts++;
  auto r = start();
  if (r.is_error()) {
    kx_info("path %s: reconnect attempt %d failed (%d)\n", name, reconnect_attempts, r.error().code());
    reconnects_failed.add_relaxed(1);
    stop(-ECONNABORTED, false);  // nothing was posted on it
    if (state.connect_failed()) schedule_reconnect(this);
    return;
  }
  if (!state.connected()) {
    stop(-ECONNABORTED, false);  // closed while connecting: nothing posted
    return;
  }
  gave_up.store(0);
  kx_info("path %s: reconnected after %d attempts\n", name, reconnect_attempts);
  reconnects_ok.add_relaxed(1);
  reconnect_attempts = 0;
  sess->path_up(this);
  timeout_work.queue(liveness_scan_ms(), g_wq);
}

// Every liveness_scan_ms(): a request older than io_timeout_ms fails the path (rxe can
// lose a request silently; a lost request must become a reconnect, never a
// hang).
void ClPath::timeout_work_fn() {
  if (!state.is_connected()) return;
  const u64 now = kx_ktime_ns();
  if (now - hb_last_tick_ns >= u64(ibtrs_clt_hb_interval_ms) * 1000000ull) {
    hb_last_tick_ns = now;
    if (hb_missed.load() == 0) {
      ClCon* c0 = cons[0];
      hb_sent_ns.store_relaxed(now);
      const rdma::SendWr wr = rdma::wr_write_imm(c0->send_cqe.get(), nullptr, 0, 0, 0,
                                                 wire::kHbMsgImm, c0->sig.flags_for(1));
      if (c0->qp.post_send(wr).is_error()) {
        error("cannot post heartbeat", -EIO);
        return;
      }
    }
    if (hb_missed.add_fetch(1) > static_cast<u32>(ibtrs_clt_hb_missed_max)) {
      kx_err("path %s: %d heartbeats missed\n", name, ibtrs_clt_hb_missed_max);
      error(nullptr, -ETIMEDOUT);
      return;
    }
  }
  const u64 limit = u64(ibtrs_clt_io_timeout_ms) * 1000000ull;
  for (usize i = 0; i < reqs.size(); i++) {
    ClReq& r = reqs[i];
    // start_ns is 0 between a submitter's claim of the slot and its
    // timestamp (and after completion): not timed out.
    const u64 start = __atomic_load_n(&r.start_ns, __ATOMIC_ACQUIRE);
    if (r.slot.inflight() && start && now > start && now - start > limit) {
      r.timed_out = true;
      // Which step never completed tells a lost request from a lost
      // answer or a lost local invalidation.
      kx_err("path %s: request %u timed out after %llu ms (%s, %u bytes, con %u, %s)\n", name,
             r.buf_id, static_cast<unsigned long long>((now - start) / 1000000),
             r.dir == IBTRS_READ ? "read" : "write", r.data_len, r.con ? r.con->cid : 0,
             r.answered ? "answered, LOCAL_INV pending" : r.mr_valid ? "no answer, MR registered"
                                                        : "no answer");
      error(nullptr, -ETIMEDOUT);
      return;
    }
  }
  timeout_work.queue(liveness_scan_ms(), g_wq);
}

// Session close (and a path that never came up): what is in flight
// completes with -ECONNABORTED, as ibtrs_clt_close() promises.
void ClPath::close() {
  (void)state.begin_close();
  reconnect_work.cancel_sync();
  err_work.cancel_sync();
  stop(-ECONNABORTED, false);
  sess->path_down(this);
  state.end_close(true);
}

// ---------------------------------------------------------------------------
// Manual path control (sysfs)

// Disconnects and stays disconnected (no automatic reconnect). Process.
void ClPath::disconnect_sync() {
  (void)state.begin_close();
  gave_up.store(0);  // stopped by hand now: "disconnected", not "dead"
  reconnect_work.cancel_sync();
  err_work.cancel_sync();
  stop(-ECONNABORTED, /*failover=*/true);
  sess->path_down(this);
  state.end_close(false);
}

// Reconnects now (disconnecting first if connected); 0 if connected after.
long ClPath::manual_reconnect() {
  if (state.get() == PathState::kClosed) return -ENODEV;
  if (state.is_connected()) disconnect_sync();
  err_work.flush();  // a pending recovery may queue a reconnect: cancel after it
  reconnect_work.cancel_sync();
  reconnect_attempts = 0;
  gave_up.store(0);
  reconnect_work_fn();
  return state.is_connected() ? 0 : -ENOTCONN;
}

// ---------------------------------------------------------------------------
// sysfs: /sys/class/ibtrs-client/<sess>/{mpath_policy,max_reconnect_attempts,
// add_path,paths/<src@dst>/{state,reconnect,disconnect,remove_path,hca_name,
// hca_port,src_addr,dst_addr,cur_latency,stats/{rdma,reconnects,reset_all}}}

void ClPath::sysfs_add() {
  if (!sess->paths_dir) return;
  auto r = [&]() -> Result<void> {
    kobj = KX_TRY(kx::sysfs::KObject::create(name, sess->paths_dir.get(), sysfs_target.get(), g_groups.path));
    stats_kobj = KX_TRY(kx::sysfs::KObject::create("stats", kobj.get(), sysfs_target.get(), g_groups.stats));
    return ok();
  }();
  if (r.is_error()) kx_err("path %s: no sysfs directory (%d)\n", name, r.error().code());
}

void ClPath::sysfs_remove() {
  stats_kobj.reset();
  kobj.reset();
}


static bool parse_one(const char* what, const char* name, const char* buf) {
  u64 v = 0;
  if (kx_kstrtou64(buf, 0, &v) == 0 && v == 1) return true;
  kx_err("%s: %s: write 1, not '%.*s'\n", name, what, kx::sysfs::shown_len(buf), buf);
  return false;
}

long ClPath::sysfs_show(int id, char* buf) {
  char a[IBTRS_ADDR_STR_MAX];
  switch (id) {
    case IBTRS_CLT_ATTR_STATE: {
      const PathState st = state.get();
      // "dead": disconnected after max_reconnect_attempts (no reconnect
      // is scheduled any more; `reconnect` revives it).
      const bool dead = st == PathState::kDisconnected && gave_up.load();
      return kx_sysfs_emit(buf, "%s\n", dead ? "dead" : path_state_name(st));
    }
    case IBTRS_CLT_ATTR_HCA_NAME:
      return kx_sysfs_emit(buf, "%s\n", hca_name);
    case IBTRS_CLT_ATTR_HCA_PORT:
      return kx_sysfs_emit(buf, "%u\n", hca_port);
    case IBTRS_CLT_ATTR_SRC_ADDR:
      if (!has_src || src.to_str(a, sizeof(a)) < 0) copy_str(a, sizeof(a), "<none>");
      return kx_sysfs_emit(buf, "%s\n", a);
    case IBTRS_CLT_ATTR_DST_ADDR:
      if (dst.to_str(a, sizeof(a)) < 0) copy_str(a, sizeof(a), "?");
      return kx_sysfs_emit(buf, "%s\n", a);
    case IBTRS_CLT_ATTR_CUR_LATENCY:
      return kx_sysfs_emit(buf, "%llu ns\n", static_cast<unsigned long long>(cur_latency_ns.load_relaxed()));
    case IBTRS_CLT_ATTR_STATS_RDMA_LAT:
      return static_cast<long>(ibtrs::mpath::format_histogram_rw(
          lat_read.snapshot(), lat_write.snapshot(), buf, kPageSize));
    case IBTRS_CLT_ATTR_STATS_RDMA:
      return kx_sysfs_emit(buf, "%llu %llu %llu %llu %u %u\n",
                           static_cast<unsigned long long>(read_cnt.load_relaxed()),
                           static_cast<unsigned long long>(read_bytes.load_relaxed()),
                           static_cast<unsigned long long>(write_cnt.load_relaxed()),
                           static_cast<unsigned long long>(write_bytes.load_relaxed()),
                           metrics.inflight(), static_cast<u32>(metrics.failover_count()));
    case IBTRS_CLT_ATTR_STATS_RECONNECTS:
      return kx_sysfs_emit(buf, "%u %u\n", reconnects_ok.load_relaxed(), reconnects_failed.load_relaxed());
    case IBTRS_CLT_ATTR_STATS_POLL:
      // "<poll connections> <requests posted on them> <completions reaped by polling>"
      return kx_sysfs_emit(buf, "%u %llu %llu\n", sess->nr_poll_queues,
                           static_cast<unsigned long long>(poll_reqs.load_relaxed()),
                           static_cast<unsigned long long>(poll_cqes.load_relaxed()));
    default:
      return -EIO;
  }
}

long ClPath::sysfs_store(int id, const char* buf, usize len, kx::sysfs::SelfFile self) {
  switch (id) {
    case IBTRS_CLT_ATTR_RECONNECT: {
      if (!parse_one("reconnect", name, buf)) return -EINVAL;
      const long r = manual_reconnect();
      return r ? r : static_cast<long>(len);
    }
    case IBTRS_CLT_ATTR_DISCONNECT:
      if (!parse_one("disconnect", name, buf)) return -EINVAL;
      disconnect_sync();
      return static_cast<long>(len);
    case IBTRS_CLT_ATTR_REMOVE_PATH:
      if (!parse_one("remove_path", name, buf)) return -EINVAL;
      if (!self.remove()) return static_cast<long>(len);  // a concurrent removal owns it
      disconnect_sync();
      state.set(PathState::kClosed);  // never selected again
      sysfs_remove();
      kx_info("path %s: removed\n", name);
      {
        // Last: from here add_path may re-initialise this object for
        // another path (its slot is free; the object lives until the
        // session closes, because IO reads the table without a lock).
        MutexGuard g(sess->paths_mutex);
        removed = true;
      }
      return static_cast<long>(len);
    case IBTRS_CLT_ATTR_STATS_RESET_ALL:
      if (!parse_one("reset_all", name, buf)) return -EINVAL;
      reset_stats();
      return static_cast<long>(len);
    default:
      return -EIO;
  }
}

long ibtrs_clt_sess::sysfs_show(int id, char* buf) {
  switch (id) {
    case IBTRS_CLT_ATTR_MPATH_POLICY:
      return static_cast<long>(ibtrs::mpath::format_policy(
          static_cast<ibtrs::mpath::MpathPolicy>(policy.load()), buf, kPageSize));
    case IBTRS_CLT_ATTR_MAX_RECONNECT_ATTEMPTS:
      return kx_sysfs_emit(buf, "%d\n", max_reconnect_attempts);
    case IBTRS_CLT_ATTR_ADD_PATH:
      return kx_sysfs_emit(buf, "Usage: echo [<source addr>@]<destination addr> > add_path\n");
    case IBTRS_CLT_ATTR_RDMA_LAT: {
      ibtrs::mpath::HistogramSnapshot rd, wr;
      const u32 n = nr_paths.load_acquire();
      for (u32 i = 0; i < n; i++) {
        paths[i]->lat_read.accumulate_into(rd);
        paths[i]->lat_write.accumulate_into(wr);
      }
      return static_cast<long>(ibtrs::mpath::format_histogram_rw(rd, wr, buf, kPageSize));
    }
    default:
      return -EIO;
  }
}

long ibtrs_clt_sess::sysfs_store(int id, const char* buf, usize len, kx::sysfs::SelfFile) {
  switch (id) {
    case IBTRS_CLT_ATTR_MPATH_POLICY: {
      auto p = ibtrs::mpath::parse_policy(buf, len);
      if (p.is_error()) {
        kx_err("session %s: mpath_policy: unknown policy '%.*s'\n", name, kx::sysfs::shown_len(buf), buf);
        return -EINVAL;
      }
      policy.store(static_cast<u32>(p.value()));
      return static_cast<long>(len);
    }
    case IBTRS_CLT_ATTR_MAX_RECONNECT_ATTEMPTS: {
      u64 v = 0;
      const bool neg = buf[0] == '-';
      if (kx_kstrtou64(buf + (neg ? 1 : 0), 0, &v) || (neg && v != 1) || (!neg && v > 9999)) {
        kx_err("session %s: max_reconnect_attempts: -1..9999, not '%.*s'\n", name,
               kx::sysfs::shown_len(buf), buf);
        return -EINVAL;
      }
      max_reconnect_attempts = neg ? -1 : static_cast<int>(v);
      return static_cast<long>(len);
    }
    case IBTRS_CLT_ATTR_ADD_PATH:
      return add_path(buf, len);
    default:
      return -EIO;
  }
}

// A path's parsed addresses and its name (the sysfs directory name, which
// choose_path_slot compares to find a duplicate).
struct PathAddrs {
  bool has_src = false;
  rdma::SockAddr src, dst;
  char name[kPathNameMax] = {};
};
static Result<void> parse_path_addrs(PathAddrs& out, u16 port, const char* src, const char* dst);
static void init_path(ClPath* p, u32 index, const PathAddrs& a);

// The session's path table as mpath::choose_path_slot sees it. paths_mutex.
struct ClSlots {
  const ibtrs_clt_sess* s;
  bool free(u32 i) const { return s->paths[i]->removed; }
  const char* name(u32 i) const { return s->paths[i]->name; }
};

// A removed path (closed for good: no work queued, nothing in flight, no
// sysfs directory; paths_mutex held) becomes new: counters, latency and
// reconnect history start from zero for the path that takes its slot.
// Every counter the path's stats files show (stats/reset_all, and a slot
// reused by add_path). Any context; the counters are atomics that
// completions keep adding to, so a reset races at most a few increments.
void ClPath::reset_stats() {
  read_cnt.store(0);
  read_bytes.store(0);
  write_cnt.store(0);
  write_bytes.store(0);
  reconnects_ok.store(0);
  reconnects_failed.store(0);
  poll_reqs.store(0);
  poll_cqes.store(0);
  metrics.reset_counters();
  lat_read.reset();
  lat_write.reset();
}

// Submitters may still read state, users and metrics concurrently: state
// stays kClosed until start() succeeded, so none of them posts here.
void ClPath::reset_for_reuse() {
  has_src = false;
  recon_cnt = 0;
  reconnect_attempts = 0;
  gave_up.store(0);
  cur_latency_ns.store(0);
  reset_stats();
  hca_name[0] = 0;
  hca_port = 0;
  queue_depth = max_io_size = max_hdr_size = chunk_size = 0;
  new_rkey = false;
  removed = false;
}

// "[src@|src,]dst" with ip:/gid: addresses; connects synchronously. Takes
// the lowest removed path's slot, else a new one (docs/multipath.md "Path
// management"): -EEXIST for a src@dst the session already has, -E2BIG when
// kMaxPaths paths are live, each with one log line. Process context (sysfs
// store).
long ibtrs_clt_sess::add_path(const char* buf, usize len) {
  char src_str[IBTRS_ADDR_STR_MAX] = {}, dst_str[IBTRS_ADDR_STR_MAX] = {};
  usize n = len;
  while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) n--;
  usize sep = n;
  for (usize i = 0; i < n; i++)
    if (buf[i] == '@' || buf[i] == ',') sep = i;
  if (sep < n) {
    if (sep >= sizeof(src_str) || n - sep - 1 >= sizeof(dst_str)) {
      kx_err("session %s: add_path: address too long '%.*s'\n", name, kx::sysfs::shown_len(buf), buf);
      return -EINVAL;
    }
    copy_str(src_str, sizeof(src_str), buf, sep);
    copy_str(dst_str, sizeof(dst_str), buf + sep + 1, n - sep - 1);
  } else {
    if (n >= sizeof(dst_str)) {
      kx_err("session %s: add_path: address too long '%.*s'\n", name, kx::sysfs::shown_len(buf), buf);
      return -EINVAL;
    }
    copy_str(dst_str, sizeof(dst_str), buf, n);
  }
  PathAddrs a;
  auto pr = parse_path_addrs(a, port, src_str, dst_str);
  if (pr.is_error()) {
    kx_err("session %s: add_path: bad address '%.*s' (%d)\n", name, kx::sysfs::shown_len(buf), buf,
           pr.error().code());
    return -EINVAL;
  }
  MutexGuard g(paths_mutex);
  const u32 published = nr_paths.load();
  auto slot = ibtrs::mpath::choose_path_slot(ClSlots{this}, published, a.name);
  if (slot.is_error()) {
    if (slot.error().code() == -EEXIST)
      kx_err("session %s: add_path: path %s exists\n", name, a.name);
    else
      kx_err("session %s: add_path: %s: already %u paths, the maximum\n", name, a.name,
             wire::kMaxPaths);
    return slot.error().code();
  }
  const u32 idx = slot.value().index;
  const bool reuse = slot.value().reuse;
  ClPath* p;
  if (reuse) {
    p = paths[idx];
    p->reset_for_reuse();
  } else {
    p = new (Gfp::kernel) ClPath(this);
    if (!p) return -ENOMEM;
  }
  init_path(p, idx, a);
  auto r = p->start();
  if (r.is_error()) {
    kx_err("path %s: add_path: cannot connect (%d)\n", p->name, r.error().code());
    p->close();  // kClosed again, nothing posted
    if (reuse) {
      p->removed = true;  // the slot stays free
    } else {
      destroy(p);
    }
    return r.error().code();
  }
  p->state.set(PathState::kConnected);
  path_up(p);
  p->timeout_work.queue(liveness_scan_ms(), g_wq);
  p->sysfs_add();
  if (!reuse) {
    paths[idx] = p;
    nr_paths.store_release(idx + 1);
  }
  kx_info("path %s: added to session '%s' (slot %u%s)\n", p->name, name, idx,
          reuse ? ", reused" : "");
  return static_cast<long>(len);
}

// ---------------------------------------------------------------------------
// C API

static void free_sess(ibtrs_clt_sess* s) {
  // sysfs first (waits for running show/store: add_path, reconnect...),
  // children before parents.
  for (u32 i = 0; i < s->nr_paths.load(); i++)
    if (s->paths[i]) s->paths[i]->sysfs_remove();
  s->paths_dir.reset();
  s->dev.reset();
  for (u32 i = 0; i < s->nr_paths.load(); i++) {
    if (!s->paths[i]) continue;
    s->paths[i]->close();
    destroy(s->paths[i]);
    s->paths[i] = nullptr;
  }
  if (s->tags.depth() && s->tags.in_use())
    kx_err("session %s closed with %u permits still held\n", s->name, s->tags.in_use());
  destroy(s);
}

static Result<void> parse_addr(rdma::SockAddr& out, const char* str, u16 port) {
  if (!str) return Error(-EINVAL);
  return to_result(kx_addr_parse(str, __builtin_strlen(str), port, out.get()));
}

// A path's addresses and name from its address strings. src may be NULL
// or "".
static Result<void> parse_path_addrs(PathAddrs& out, u16 port, const char* src, const char* dst) {
  KX_TRY(parse_addr(out.dst, dst, port));
  if (src && src[0]) {
    KX_TRY(parse_addr(out.src, src, 0));
    out.has_src = true;
  }
  if (out.has_src) {
    format_path_name(out.name, sizeof(out.name), out.src, out.dst);
  } else {
    char d[IBTRS_ADDR_STR_MAX];
    if (out.dst.to_str(d, sizeof(d)) < 0) copy_str(d, sizeof(d), "?");
    copy_str(out.name, sizeof(out.name), d);
  }
  return ok();
}

// Addresses, a fresh uuid and the name of a new (or re-used) path that is
// not connected.
static void init_path(ClPath* p, u32 index, const PathAddrs& a) {
  p->index = index;
  p->dst = a.dst;
  p->has_src = a.has_src;
  if (a.has_src) p->src = a.src;
  for (u8& b : p->uuid.bytes) b = static_cast<u8>(kx_random_u32());
  p->uuid.bytes[0] |= 1;
  copy_str(p->name, sizeof(p->name), a.name);
}

static Result<ibtrs_clt_sess*> open_sess(const ibtrs_clt_ops* ops, const char* sessname,
                                         const ibtrs_addr* paths, usize paths_num, u16 port,
                                         usize pdu_sz, u8 reconnect_delay_sec,
                                         i16 max_reconnect_attempts, u32 nr_poll_queues) {
  if (!ops || !sessname || !paths || paths_num == 0 || paths_num > wire::kMaxPaths ||
      pdu_sz > 65536 || max_reconnect_attempts < -1)
    return Error(-EINVAL);
  // The connections of a path (admin + per CPU + poll) must fit cid_num's
  // bound (upstream rtrs-srv refuses more).
  if (nr_poll_queues > wire::kMaxConnsPerPath - 1 - static_cast<u32>(kx_num_online_cpus())) {
    kx_err("session %s: %u poll queues: too many connections per path\n", sessname, nr_poll_queues);
    return Error(-EINVAL);
  }
  char field[wire::kPathNameFieldSize] = {};
  copy_str(field, sizeof(field), sessname);
  KX_TRY(wire::validate_path_name(field, sizeof(field)));
  auto owned = KX_TRY(make_own<ibtrs_clt_sess>(Gfp::kernel));
  ibtrs_clt_sess* s = owned.leak();
  auto r = [&]() -> Result<void> {
    s->ops = *ops;
    copy_str(s->name, sizeof(s->name), sessname);
    for (u8& b : s->paths_uuid.bytes) b = static_cast<u8>(kx_random_u32());
    s->paths_uuid.bytes[0] |= 1;  // never nil
    s->port = port;
    s->pdu_sz = pdu_sz;
    s->nr_poll_queues = nr_poll_queues;
    s->reconnect_delay_ms = u32{reconnect_delay_sec} * 1000;
    s->max_reconnect_attempts = max_reconnect_attempts;
    s->paths = KX_TRY(OwnArray<ClPath*>::create(wire::kMaxPaths, Gfp::kernel));
    for (usize i = 0; i < paths_num; i++) {
      PathAddrs a;
      KX_TRY(parse_path_addrs(a, port, paths[i].src, paths[i].dst));
      // Unpublished yet: the table's own view finds a duplicate.
      auto slot = ibtrs::mpath::choose_path_slot(ClSlots{s}, static_cast<u32>(i), a.name);
      if (slot.is_error()) {
        kx_err("session %s: path %s given twice\n", sessname, a.name);
        return slot.error();
      }
      ClPath* p = new (Gfp::kernel) ClPath(s);
      if (!p) return Error(-ENOMEM);
      s->paths[i] = p;
      s->nr_paths.store(static_cast<u32>(i + 1));
      init_path(p, static_cast<u32>(i), a);
    }
    int first_err = 0;
    for (u32 i = 0; i < s->nr_paths.load(); i++) {
      ClPath* p = s->paths[i];
      auto st = p->start();
      if (st.is_error()) {
        kx_err("path %s: cannot connect (%d)\n", p->name, st.error().code());
        p->stop(-ECONNABORTED, false);
        if (!first_err) first_err = st.error().code();
        p->state.set(PathState::kDisconnected);
        continue;
      }
      if (!s->queue_depth) {
        s->queue_depth = p->queue_depth;
        s->max_io_size = p->max_io_size;
        s->max_hdr_size = p->max_hdr_size;
        s->max_segments = min(p->max_io_size / static_cast<u32>(kPageSize), p->max_pages - 1);
      }
      p->state.set(PathState::kConnected);
      s->path_up(p);
      kx_info("path %s: connected, session '%s', %u connections, queue depth %u, max io %u\n",
              p->name, s->name, static_cast<u32>(p->cons.size()), p->queue_depth, p->max_io_size);
    }
    if (!s->queue_depth) return Error(first_err ? first_err : -ECONNREFUSED);
    s->tags = KX_TRY(TagAllocator::create(s->queue_depth, Gfp::kernel));
    s->permit_stride = round_up(sizeof(ibtrs_permit) + pdu_sz, 8);
    s->permits = KX_TRY(OwnArray<u8>::create(s->permit_stride * s->queue_depth, Gfp::kernel));
    for (u32 i = 0; i < s->queue_depth; i++) s->permit(i)->mem_id = i;
    {
      auto d = kx::sysfs::Device::create(*g_class, s->sysfs_target.get(), g_groups.sess, s->name);
      if (d.is_ok()) {
        s->dev = d.release_value();
        auto pd = kx::sysfs::KObject::create_dir("paths", s->dev.kobject());
        if (pd.is_ok()) s->paths_dir = pd.release_value();
      }
      if (!s->paths_dir) kx_err("session %s: no sysfs directory\n", s->name);
    }
    for (u32 i = 0; i < s->nr_paths.load(); i++) {
      ClPath* p = s->paths[i];
      p->sysfs_add();
      if (p->state.is_connected())
        p->timeout_work.queue(liveness_scan_ms(), g_wq);
      else
        schedule_reconnect(p);
    }
    {
      MutexGuard g(s->mutex);
      s->opened = true;
    }
    return ok();
  }();
  if (r.is_error()) {
    free_sess(s);
    return r.error();
  }
  return s;
}

extern "C" struct ibtrs_clt_sess* ibtrs_clt_open(const struct ibtrs_clt_ops* ops, const char* sessname,
                                                 const struct ibtrs_addr* paths, usize paths_num,
                                                 u16 port, usize pdu_sz, u8 reconnect_delay_sec,
                                                 i16 max_reconnect_attempts,
                                                 u32 nr_poll_queues) noexcept {
  auto r = open_sess(ops, sessname, paths, paths_num, port, pdu_sz, reconnect_delay_sec,
                     max_reconnect_attempts, nr_poll_queues);
  if (r.is_error()) return err_ptr<ibtrs_clt_sess>(r.error().code());
  return r.value();
}

extern "C" void ibtrs_clt_close(struct ibtrs_clt_sess* sess) noexcept {
  if (!sess) return;
  {
    MutexGuard g(sess->mutex);
    sess->opened = false;  // no link events during close
  }
  free_sess(sess);
}

extern "C" struct ibtrs_permit* ibtrs_clt_get_permit(struct ibtrs_clt_sess* sess,
                                                     enum ibtrs_clt_con_type con_type,
                                                     enum ibtrs_permit_wait wait) noexcept {
  i32 tag = sess->tags.try_get();
  if (tag < 0 && wait == IBTRS_PERMIT_WAIT)
    sess->permit_wq.wait([&] { return (tag = sess->tags.try_get()) >= 0; });
  if (tag < 0) return nullptr;
  ibtrs_permit* p = sess->permit(static_cast<u32>(tag));
  p->con_type = con_type;
  p->poll_idx = 0;
  return p;
}

extern "C" int ibtrs_clt_permit_set_poll(struct ibtrs_clt_sess* sess, struct ibtrs_permit* permit,
                                         unsigned int index) noexcept {
  if (!sess || !permit || index >= sess->nr_poll_queues) return -EINVAL;
  permit->con_type = IBTRS_POLL_CON;
  permit->poll_idx = index;
  return 0;
}

extern "C" void ibtrs_clt_put_permit(struct ibtrs_clt_sess* sess, struct ibtrs_permit* permit) noexcept {
  if (!permit) return;
  sess->tags.put(permit->mem_id);
  sess->permit_wq.wake_all();
}

extern "C" void* ibtrs_permit_to_pdu(struct ibtrs_permit* permit) noexcept { return permit + 1; }

extern "C" int ibtrs_clt_request(int dir, const struct ibtrs_clt_req_ops* ops,
                                 struct ibtrs_clt_sess* sess, struct ibtrs_permit* permit,
                                 const struct kvec* usr, usize nr, usize data_len,
                                 struct scatterlist* sg, unsigned int sg_cnt) noexcept {
  if (!sess || !permit || !ops || (dir != IBTRS_READ && dir != IBTRS_WRITE) ||
      permit->mem_id >= sess->queue_depth || (data_len && (!sg || !sg_cnt)) || (nr && !usr))
    return -EINVAL;
  usize usr_len = 0;
  for (usize i = 0; i < nr; i++) usr_len += usr[i].iov_len;
  const u32 trailer = dir == IBTRS_WRITE ? kWriteTrailer : kReadTrailer;
  if (data_len > sess->max_io_size || usr_len + trailer > sess->max_hdr_size) return -EMSGSIZE;
  if (data_len && sg_cnt > sess->max_segments) return -EINVAL;
  if (!data_len) sg_cnt = 0;
  ClEnv env{sess, sess->nr_paths.load_acquire()};
  const ClReqArgs a{dir,
                    *ops,
                    permit->mem_id,
                    permit->con_type,
                    permit->poll_idx,
                    usr,
                    nr,
                    static_cast<u32>(usr_len),
                    static_cast<u32>(data_len),
                    reinterpret_cast<kx_sgl*>(sg),
                    sg_cnt};
  const int r = ibtrs::failover::submit(env, a, ibtrs::mpath::PathMask{},
                                        static_cast<ibtrs::mpath::MpathPolicy>(sess->policy.load_relaxed()),
                                        sess->rr_cursor, kx_ktime_ns());
  return r < 0 ? r : 0;
}

// Reaps the CQ of poll connection index on every connected path. The
// path's users count keeps ClPath::stop from draining and freeing the CQ
// under us (stop leaves CONNECTED first, then waits for users == 0; its
// drain then reaps what is left, so nothing in flight is lost: see
// docs/ibtrs.md "Poll queues"). Caller's context (blk-mq: task context).
extern "C" int ibtrs_clt_rdma_cq_direct(struct ibtrs_clt_sess* sess, unsigned int index) noexcept {
  if (!sess || index >= sess->nr_poll_queues) return -EINVAL;
  const u32 n = sess->nr_paths.load_acquire();
  int reaped = 0;
  bool any = false;
  for (u32 i = 0; i < n; i++) {
    ClPath* p = sess->paths[i];
    p->users.add_fetch(1);
    if (p->state.is_connected() && p->nr_irq_cons + index < p->cons.size()) {
      any = true;
      ClCon* con = p->cons[p->nr_irq_cons + index];
      if (con->polling.exchange(1) == 0) {
        // No BH disable: blk-mq completes a polled bio in task context
        // (bio_put WARNs in_interrupt() for REQ_POLLED bios); the handlers
        // already run in process context on the fail-over/drain paths.
        const int c = con->cq.poll(-1);
        con->polling.store_release(0);
        if (c > 0) {
          p->poll_cqes.add_relaxed(static_cast<u64>(c));
          reaped += c;
        }
      }
    }
    if (p->users.sub_fetch(1) == 0 && !p->state.is_connected()) p->users_wq.wake_all();
  }
  // No connected path: -ENOTCONN tells blk-mq to stop spinning; the
  // teardown completes (or fails over) whatever was in flight.
  return any ? reaped : -ENOTCONN;
}

extern "C" int ibtrs_clt_query(struct ibtrs_clt_sess* sess, struct ibtrs_attrs* attr) noexcept {
  if (!sess || !attr) return -EINVAL;
  attr->queue_depth = sess->queue_depth;
  attr->max_io_size = sess->max_io_size;
  attr->max_segments = sess->max_segments;
  attr->max_hdr_size = sess->max_hdr_size;
  return 0;
}

extern "C" int ibtrs_clt_reconnected_path(struct ibtrs_clt_sess* sess, char* buf,
                                          usize len) noexcept {
  if (!sess || !buf || len == 0) return -EINVAL;
  MutexGuard g(sess->mutex);
  if (!sess->reconnected_path[0]) return -ENOENT;
  copy_str(buf, len, sess->reconnected_path);
  return 0;
}

extern "C" int ibtrs_clt_module_init(const struct ibtrs_sysfs_groups* groups) noexcept {
  if (ibtrs_clt_io_timeout_ms < 1000 || ibtrs_clt_hb_interval_ms < 100 || ibtrs_clt_hb_missed_max < 1) {
    kx_err("io_timeout_ms must be >= 1000, hb_interval_ms >= 100, hb_missed_max >= 1\n");
    return -EINVAL;
  }
  g_groups = *groups;
  g_class = new (Gfp::kernel) kx::sysfs::Class();
  if (!g_class) return -ENOMEM;
  auto cls = kx::sysfs::Class::create("ibtrs-client", KX_LOCK_CLASS("ibtrs_clt.class"));
  if (cls.is_ok()) g_wq = kx_wq_alloc("ibtrs_clt_wq", 0);
  if (cls.is_error() || !g_wq) {
    destroy(g_class);
    return cls.is_error() ? cls.error().code() : -ENOMEM;
  }
  *g_class = cls.release_value();
  return 0;
}

extern "C" void ibtrs_clt_module_exit(void) noexcept {
  kx_wq_destroy(g_wq);
  destroy(g_class);
  kx_runtime_exit();
}
