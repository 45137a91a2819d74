// SPDX-License-Identifier: GPL-2.0
// ibtrs-hostile: a userspace RTRS 2.0 peer (librdmacm + libibverbs) that
// connects to an ibtrs-server and sends malformed traffic, case by case,
// from a printed seed (tests/hostile/cases.h builds the messages). For every
// case it checks what the server did against what it must do:
//   CONN_REQ cases     the connect is REJECTED
//   INFO / IMM cases   the path is closed, no success answer first
//   trailer cases      an IO_RSP with a non-zero errno, or the path closed
// A server that accepts (ESTABLISHED, INFO_RSP, IO_RSP errno 0) or keeps
// silent (no answer, path kept) fails the run: exit status 1.
//
// Phases (--phase): "cases" (the randomised run), "sessions" (open sessions
// until refused: the per-peer bound), "conns" (open connections until
// refused: the per-peer bound), "halfopen" (a path left half set-up must be
// closed by the server).
//
// Runs in the test guest over soft-RoCE (tests/vm/cases/80-*.sh); built on
// the host by tests/hostile/hostile.mk.
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <rdma/rdma_cma.h>
#include <infiniband/verbs.h>

#include <string>
#include <vector>

#include "tests/hostile/cases.h"

// wire.h's Result checks its errno range with kx_bug (the kernel shim's BUG);
// here a broken invariant is a bug of the tool.
extern "C" void kx_bug(const char* file, int line, const char* what) noexcept {
  fprintf(stderr, "hostile: BUG at %s:%d: %s\n", file, line, what);
  abort();
}

namespace {

using namespace hostile;

struct Options {
  const char* server = "10.99.1.1";
  const char* src = "10.99.1.2";
  u16 port = 1234;
  u64 seed = 0;
  u32 cases = 10000;
  u32 io_share = 900;
  const char* phase = "cases";
  u32 max_sessions = 0;      // sessions phase: the server's per-peer bound
  u32 max_conns = 0;         // conns phase: the server's per-peer bound
  u32 halfopen_wait_s = 20;  // halfopen phase
  u32 close_wait_ms = 20000;
  bool verbose = false;
};
Options g_opt;

u64 now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return u64(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Run totals.
struct Stats {
  u64 tried = 0, msgs = 0, rejected = 0, closed = 0, errno_answers = 0, accepted = 0,
      silent = 0, setup_failed = 0, good_ok = 0, bad_server_msgs = 0;
  u64 per_kind[kKindCount] = {};
} g_st;

void fail_case(Kind k, const char* what, u64 detail) {
  fprintf(stderr, "hostile: FAIL case #%llu %s: %s (%llu)\n", (unsigned long long)g_st.tried,
          kind_name(k), what, (unsigned long long)detail);
}

// ---------------------------------------------------------------------------
// One path: cid_num RC connections on one event channel, one PD/CQ/MR.

constexpr u32 kBufSize = 1u << 20;
constexpr u32 kInfoRspOff = 0;          // INFO_RSP receive (up to 64 KiB)
constexpr u32 kStageOff = 64u << 10;    // bytes to send / RDMA-write
constexpr u32 kReadDstOff = 128u << 10; // READ answers land here
// Answer receives: one 8-byte slot each, for the RKEY_RSP a server with
// always_invalidate=Y sends with every answer. Slots are used round robin;
// more slots than receives a path ever has posted at once.
constexpr u32 kAnswerRecvOff = 896u << 10;
constexpr u32 kAnswerSlotBytes = 8;
constexpr u32 kAnswerSlots = 8192;
static_assert(kAnswerRecvOff + kAnswerSlots * kAnswerSlotBytes <= kBufSize);

struct Path {
  rdma_event_channel* ch = nullptr;
  std::vector<rdma_cm_id*> ids;
  ibv_pd* pd = nullptr;
  ibv_cq* cq = nullptr;
  ibv_mr* mr = nullptr;
  u8* buf = nullptr;
  u32 next_answer_slot = 0;
  bool closed = false;  // DISCONNECTED / error seen
  bool have_geo = false;
  wire::ConnRsp rsp{};
  u32 qd = 0, chunk = 0;
  std::vector<wire::RemoteChunk> chunks;
  wire::Uuid sess_uuid{}, paths_uuid{};
  u16 cid_num = 0;

  wire::ChunkGeometry geo() const { return wire::ChunkGeometry::create(qd, chunk).value(); }

  ~Path() {
    for (auto* id : ids)
      if (id) rdma_disconnect(id);
    for (auto* id : ids) {
      if (!id) continue;
      if (id->qp) rdma_destroy_qp(id);
      rdma_destroy_id(id);
    }
    if (mr) ibv_dereg_mr(mr);
    if (cq) ibv_destroy_cq(cq);
    if (pd) ibv_dealloc_pd(pd);
    if (ch) rdma_destroy_event_channel(ch);
    free(buf);
  }
};

// Result of waiting for one CM event of id.
struct CmResult {
  int event = -1;  // rdma_cm_event_type or -1 on timeout
  int status = 0;
  u8 pdata[64] = {};
  u8 pdata_len = 0;
};

// Takes CM events until one for `id` arrives (or the timeout); events for
// other ids of the path that end a connection mark the path closed.
CmResult wait_cm(Path& p, rdma_cm_id* id, int timeout_ms) {
  CmResult r;
  const u64 end = now_ms() + timeout_ms;
  if (!p.ch) return r;
  for (;;) {
    long left = long(end) - long(now_ms());
    if (left < 0) left = 0;
    // Timeout 0 still drains what is queued (poll_cm): librdmacm moves our
    // QP to error only when it hands us DISCONNECTED.
    pollfd pfd{p.ch->fd, POLLIN, 0};
    if (poll(&pfd, 1, int(left)) <= 0) {
      if (now_ms() >= end) return r;
      continue;
    }
    rdma_cm_event* ev;
    if (rdma_get_cm_event(p.ch, &ev)) continue;
    const bool mine = ev->id == id;
    const int type = ev->event;
    if (type == RDMA_CM_EVENT_DISCONNECTED || type == RDMA_CM_EVENT_TIMEWAIT_EXIT ||
        type == RDMA_CM_EVENT_DEVICE_REMOVAL)
      p.closed = true;
    if (mine) {
      r.event = type;
      r.status = ev->status;
      const u8 n = ev->param.conn.private_data_len > 64 ? 64 : ev->param.conn.private_data_len;
      if (ev->param.conn.private_data && n) memcpy(r.pdata, ev->param.conn.private_data, n);
      r.pdata_len = n;
    }
    rdma_ack_cm_event(ev);
    if (mine) return r;
  }
}

// Drains CM events without blocking (a disconnect marks the path closed).
void poll_cm(Path& p) { (void)wait_cm(p, reinterpret_cast<rdma_cm_id*>(1), 0); }

bool make_addr(const char* ip, u16 port, sockaddr_in* sa) {
  memset(sa, 0, sizeof(*sa));
  sa->sin_family = AF_INET;
  sa->sin_port = htons(port);
  return inet_pton(AF_INET, ip, &sa->sin_addr) == 1;
}

// wr_id = cid | slot << 16 (slot: the answer slot, 0 for other receives).
int post_recv(Path& p, u16 cid, u32 off, u32 len, u32 slot = 0) {
  ibv_sge sge{reinterpret_cast<uintptr_t>(p.buf + off), len, p.mr->lkey};
  ibv_recv_wr wr{}, *bad;
  wr.wr_id = cid | u64(slot) << 16;
  wr.sg_list = len ? &sge : nullptr;
  wr.num_sge = len ? 1 : 0;
  return ibv_post_recv(p.ids[cid]->qp, &wr, &bad);
}

// A receive for an answer: a WRITE_WITH_IMM (no payload) or, from a server
// with always_invalidate=Y, a SEND_WITH_IMM carrying an RKEY_RSP.
int post_answer_recv(Path& p, u16 cid) {
  const u32 slot = p.next_answer_slot++ % kAnswerSlots;
  return post_recv(p, cid, kAnswerRecvOff + slot * kAnswerSlotBytes, kAnswerSlotBytes, slot);
}

// Connection outcome.
enum ConnOut { kEstablished, kRejected, kConnError };

// Opens connection `cid` of the path with the given private data. On
// REJECTED, *peer_errno is the CONN_RSP errno if the reject carried one.
ConnOut connect_one(Path& p, u16 cid, const u8* pdata, u8 len, int* peer_errno) {
  if (!p.ch) {
    p.ch = rdma_create_event_channel();
    if (!p.ch) return kConnError;
  }
  if (p.ids.size() <= cid) p.ids.resize(cid + 1, nullptr);
  rdma_cm_id* id;
  if (rdma_create_id(p.ch, &id, nullptr, RDMA_PS_TCP)) return kConnError;
  sockaddr_in src, dst;
  make_addr(g_opt.src, 0, &src);
  make_addr(g_opt.server, g_opt.port, &dst);
  auto bail = [&](ConnOut o) {
    if (id->qp) rdma_destroy_qp(id);
    rdma_destroy_id(id);
    return o;
  };
  if (rdma_resolve_addr(id, reinterpret_cast<sockaddr*>(&src), reinterpret_cast<sockaddr*>(&dst), 5000))
    return bail(kConnError);
  if (wait_cm(p, id, 10000).event != RDMA_CM_EVENT_ADDR_RESOLVED) return bail(kConnError);
  if (rdma_resolve_route(id, 5000)) return bail(kConnError);
  if (wait_cm(p, id, 10000).event != RDMA_CM_EVENT_ROUTE_RESOLVED) return bail(kConnError);
  if (!p.pd) {
    p.pd = ibv_alloc_pd(id->verbs);
    p.cq = p.pd ? ibv_create_cq(id->verbs, 8192, nullptr, nullptr, 0) : nullptr;
    p.buf = static_cast<u8*>(aligned_alloc(4096, kBufSize));
    if (p.buf) memset(p.buf, 0, kBufSize);
    p.mr = p.cq && p.buf ? ibv_reg_mr(p.pd, p.buf, kBufSize,
                                      IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
                                          IBV_ACCESS_REMOTE_READ)
                         : nullptr;
    if (!p.mr) return bail(kConnError);
  }
  ibv_qp_init_attr qa{};
  qa.send_cq = p.cq;
  qa.recv_cq = p.cq;
  qa.qp_type = IBV_QPT_RC;
  qa.cap.max_send_wr = 256;
  qa.cap.max_recv_wr = 1100;
  qa.cap.max_send_sge = 2;
  qa.cap.max_recv_sge = 1;
  if (rdma_create_qp(id, p.pd, &qa)) return bail(kConnError);
  rdma_conn_param cp{};
  cp.private_data = pdata;
  cp.private_data_len = len;
  cp.responder_resources = 1;
  cp.initiator_depth = 1;
  cp.retry_count = 7;
  cp.rnr_retry_count = 7;
  if (rdma_connect(id, &cp)) return bail(kConnError);
  const CmResult r = wait_cm(p, id, 15000);
  if (r.event == RDMA_CM_EVENT_ESTABLISHED) {
    p.ids[cid] = id;
    if (cid == 0 && !p.have_geo) {
      auto d = wire::decode_conn_rsp(r.pdata, r.pdata_len);
      if (d.is_ok()) {
        p.rsp = d.value();
        p.qd = p.rsp.queue_depth;
        p.chunk = p.rsp.max_io_size + p.rsp.max_hdr_size;
        p.have_geo = true;
      }
    }
    return kEstablished;
  }
  if (r.event == RDMA_CM_EVENT_REJECTED) {
    auto d = wire::decode_conn_reject(r.pdata, r.pdata_len);
    *peer_errno = d.is_ok() ? d.value().peer_errno : 0;
    return bail(kRejected);
  }
  if (g_opt.verbose) fprintf(stderr, "hostile: connect cid %u: event %d status %d\n", cid, r.event, r.status);
  return bail(kConnError);
}

// Posts a send-side WR on connection cid. opcode: IBV_WR_SEND,
// IBV_WR_RDMA_WRITE_WITH_IMM. The payload is staged at kStageOff.
int post_send(Path& p, u16 cid, ibv_wr_opcode op, const void* data, u32 len, u64 raddr, u32 rkey,
              u32 imm_host) {
  if (len) memcpy(p.buf + kStageOff, data, len);
  ibv_sge sge{reinterpret_cast<uintptr_t>(p.buf + kStageOff), len, p.mr->lkey};
  ibv_send_wr wr{}, *bad;
  wr.wr_id = 1000 + cid;
  wr.opcode = op;
  wr.send_flags = IBV_SEND_SIGNALED;
  wr.sg_list = len ? &sge : nullptr;
  wr.num_sge = len ? 1 : 0;
  if (op == IBV_WR_RDMA_WRITE_WITH_IMM) {
    wr.imm_data = htonl(imm_host);
    wr.wr.rdma.remote_addr = raddr;
    wr.wr.rdma.rkey = rkey;
  }
  return ibv_post_send(p.ids[cid]->qp, &wr, &bad);
}

// One completion of interest: a receive (INFO_RSP or an immediate). Send
// completions are consumed here; an error completion marks the path closed.
// Heartbeats from the server are answered. Returns false on timeout or when
// the path is closed.
bool next_recv(Path& p, int timeout_ms, ibv_wc* out) {
  const u64 end = now_ms() + timeout_ms;
  for (;;) {
    ibv_wc wc;
    const int n = ibv_poll_cq(p.cq, 1, &wc);
    if (n == 1) {
      if (wc.status != IBV_WC_SUCCESS) {
        p.closed = true;
        return false;
      }
      if (!(wc.opcode & IBV_WC_RECV)) continue;  // a send completed
      const u16 cid = u16(wc.wr_id);
      if (wc.opcode == IBV_WC_RECV && (wc.wc_flags & IBV_WC_WITH_IMM)) {
        // RKEY_RSP (always_invalidate=Y): the chunk's new key, then the
        // answer as its immediate says. A well-formed client uses the new
        // key from now on; a malformed RKEY_RSP is the server's bug.
        const u32 slot = u32(wc.wr_id >> 16);
        const auto r = wire::decode_rkey_rsp(p.buf + kAnswerRecvOff + slot * kAnswerSlotBytes,
                                             wc.byte_len, p.qd);
        if (r.is_error() || r.value().buf_id >= p.chunks.size()) {
          fprintf(stderr, "hostile: bad RKEY_RSP from the server (%u bytes)\n", wc.byte_len);
          g_st.bad_server_msgs++;
        } else {
          p.chunks[r.value().buf_id].rkey = r.value().rkey;
        }
        wc.opcode = IBV_WC_RECV_RDMA_WITH_IMM;
      }
      if (wc.opcode == IBV_WC_RECV_RDMA_WITH_IMM && (wc.wc_flags & IBV_WC_WITH_IMM) &&
          ntohl(wc.imm_data) == wire::kHbMsgImm) {
        (void)post_answer_recv(p, cid);
        (void)post_send(p, cid, IBV_WR_RDMA_WRITE_WITH_IMM, nullptr, 0, 0, 0, wire::kHbAckImm);
        continue;
      }
      if (wc.opcode == IBV_WC_RECV_RDMA_WITH_IMM) (void)post_answer_recv(p, cid);
      *out = wc;
      return true;
    }
    poll_cm(p);
    if (p.closed) return false;
    if (now_ms() >= end) return false;
    usleep(200);
  }
}

// Waits until the server closes the path; false if it is still up after
// the wait (or sent a success answer: *accepted).
bool wait_closed(Path& p, int timeout_ms, bool* accepted, u32* rsp_errno) {
  const u64 end = now_ms() + timeout_ms;
  while (!p.closed && now_ms() < end) {
    ibv_wc wc;
    if (next_recv(p, int(end - now_ms()), &wc)) {
      if (wc.opcode == IBV_WC_RECV) {  // INFO_RSP: set-up accepted
        *accepted = true;
        return false;
      }
      const u32 imm = ntohl(wc.imm_data);
      const u32 t = wire::imm_type_field(imm);
      if (t == u32(wire::ImmType::kIoRsp) || t == u32(wire::ImmType::kIoRspWithInval)) {
        const u32 e = wire::imm_payload(imm) >> wire::kIoRspMsgIdBits;
        if (rsp_errno) *rsp_errno = e;
        if (e == 0) {
          *accepted = true;
          return false;
        }
      }
    }
  }
  return p.closed;
}

// Connects every cid with good private data and, if `info`, sends INFO_REQ
// and waits for INFO_RSP. 0 on success.
int setup_path(Path& p, u16 cid_num, bool info, const char* name, Rng& rng, u16 upto_cid = 0xffff) {
  p.cid_num = cid_num;
  p.sess_uuid = rng.uuid();
  p.paths_uuid = rng.uuid();
  for (u16 cid = 0; cid < cid_num && cid < upto_cid; cid++) {
    u8 pd[56];
    good_conn_req(pd, cid, cid_num, p.sess_uuid, p.paths_uuid, true);
    int perr = 0;
    const ConnOut o = connect_one(p, cid, pd, sizeof(pd), &perr);
    if (o != kEstablished) {
      if (g_opt.verbose) fprintf(stderr, "hostile: set-up cid %u: %d (peer errno %d)\n", cid, o, perr);
      return o == kRejected ? perr ? perr : -ECONNREFUSED : -EIO;
    }
    if (cid == 0 && post_recv(p, 0, kInfoRspOff, 64u << 10)) return -EIO;
  }
  if (!info) return 0;
  if (!p.have_geo) return -EPROTO;
  InfoCase ic{};
  good_info_req(ic, name);
  if (post_send(p, 0, IBV_WR_SEND, ic.buf, ic.len, 0, 0, 0)) return -EIO;
  ibv_wc wc;
  if (!next_recv(p, 15000, &wc) || wc.opcode != IBV_WC_RECV) {
    fprintf(stderr, "hostile: set-up of '%s' (%u connections): no INFO_RSP, path %s\n", name,
            cid_num, p.closed ? "closed by the server" : "silent for 15 s");
    return p.closed ? -ECONNRESET : -ETIMEDOUT;
  }
  const auto g = wire::ChunkGeometry::create(p.qd, p.chunk);
  if (g.is_error()) return -EPROTO;
  p.chunks.resize(p.qd);
  if (wire::decode_info_rsp(p.buf + kInfoRspOff, wc.byte_len, g.value(), p.chunks.data(), p.qd)
          .is_error())
    return -EPROTO;
  for (u16 cid = 0; cid < cid_num; cid++)
    for (u32 i = 0; i < p.qd + 16; i++)
      if (post_answer_recv(p, cid)) return -EIO;
  return 0;
}

// The test user's header (tests/kmod/ibtrs_test/ibtrs_test.h).
struct TestHdr {
  u32 magic, len;
  u64 offset;
  u32 seq, reserved;
};
constexpr u32 kTestMagic = 0x1b75e571u;

// A well-formed READ of `len` bytes of the test server's RAM at offset 0
// into our buffer (no NEED_INVAL: our MR is a plain one). Fills bytes/imm.
u32 good_read(Path& p, u32 buf_id, u32 len, u64 desc_addr, u32 desc_key, u8* bytes, u32* write_off,
              u32* imm) {
  TestHdr h{kTestMagic, len, 0, 1, 0};
  memcpy(bytes, &h, sizeof(h));
  u32 n = sizeof(h);
  n += put_read_trailer(bytes + n, sizeof(h), 0, 1, desc_addr, desc_key, len);
  *write_off = len;
  *imm = p.geo().io_req_imm(buf_id, len + sizeof(h)).value();
  return n;
}

enum IoOut { kAnsweredOk, kAnsweredErr, kPathClosed, kNoAnswer };

// Writes `len` bytes at chunk offset write_off of buf_id with immediate imm
// on cid and waits for the answer to buf_id.
IoOut io(Path& p, u16 cid, u32 buf_id, u32 write_off, const u8* bytes, u32 len, u32 imm,
         u32* err_out) {
  const wire::RemoteChunk& c = p.chunks[buf_id];
  if (post_send(p, cid, IBV_WR_RDMA_WRITE_WITH_IMM, bytes, len, c.addr + write_off, c.rkey, imm))
    return kPathClosed;
  g_st.msgs++;
  const u64 end = now_ms() + g_opt.close_wait_ms;
  while (now_ms() < end) {
    ibv_wc wc;
    if (!next_recv(p, int(end - now_ms()), &wc)) {
      if (p.closed) return kPathClosed;
      continue;
    }
    if (wc.opcode != IBV_WC_RECV_RDMA_WITH_IMM) continue;  // SEND_WITH_INV etc.
    const u32 rimm = ntohl(wc.imm_data);
    const u32 t = wire::imm_type_field(rimm);
    if (t != u32(wire::ImmType::kIoRsp) && t != u32(wire::ImmType::kIoRspWithInval)) continue;
    const u32 pl = wire::imm_payload(rimm);
    if ((pl & wire::kIoRspMsgIdMask) != buf_id) continue;
    *err_out = pl >> wire::kIoRspMsgIdBits;
    return *err_out ? kAnsweredErr : kAnsweredOk;
  }
  poll_cm(p);
  return p.closed ? kPathClosed : kNoAnswer;
}

// ---------------------------------------------------------------------------
// Case runners. Each returns after the server has shown its reaction.

int g_name_seq = 0;
std::string next_name() { return "hostile-" + std::to_string(getpid()) + "-" + std::to_string(++g_name_seq); }

void expect_close(Path& p, Kind k) {
  bool accepted = false;
  u32 e = 0;
  if (wait_closed(p, int(g_opt.close_wait_ms), &accepted, &e)) {
    g_st.closed++;
  } else if (accepted) {
    g_st.accepted++;
    fail_case(k, "server ACCEPTED it (success answer / INFO_RSP)", 0);
  } else {
    g_st.silent++;
    fail_case(k, "path still open after the wait (ms)", g_opt.close_wait_ms);
  }
}

void run_conn_case(Kind k, Rng& rng) {
  Path p;
  int perr = 0;
  ConnOut o;
  if (k == Kind::kConnDuplicatePath) {
    // A connected session, then a second path (new sess_uuid) of it from
    // the same address: two paths would share one name.
    Path first;
    const std::string name = next_name();
    if (setup_path(first, 1, true, name.c_str(), rng) != 0) {
      g_st.setup_failed++;
      return;
    }
    u8 pd[56];
    good_conn_req(pd, 0, 1, rng.uuid(), first.paths_uuid, rng.below(2));
    o = connect_one(p, 0, pd, sizeof(pd), &perr);
  } else if (k == Kind::kConnCidNumMismatch || k == Kind::kConnDuplicateCid) {
    if (setup_path(p, 2, false, nullptr, rng, 1) != 0) {
      g_st.setup_failed++;
      return;
    }
    u8 pd[56];
    if (k == Kind::kConnCidNumMismatch)
      good_conn_req(pd, 1, u16(rng.range(3, 64)), p.sess_uuid, p.paths_uuid, true);
    else
      good_conn_req(pd, 0, 2, p.sess_uuid, p.paths_uuid, true);
    o = connect_one(p, 1, pd, sizeof(pd), &perr);
  } else {
    const ConnCase c = make_conn_case(k, rng);
    o = connect_one(p, c.cid < 64 ? c.cid : 0, c.pdata, c.len, &perr);
  }
  g_st.msgs++;
  if (o == kRejected) {
    g_st.rejected++;
    if (g_opt.verbose) fprintf(stderr, "hostile: %s rejected with %d\n", kind_name(k), perr);
  } else if (o == kEstablished) {
    g_st.accepted++;
    fail_case(k, "server ACCEPTED the connection", 0);
  } else {
    g_st.setup_failed++;  // no verdict (e.g. address resolution failed)
  }
}

void run_info_case(Kind k, Rng& rng) {
  Path p;
  const std::string name = next_name();
  if (setup_path(p, 2, false, nullptr, rng) != 0) {
    g_st.setup_failed++;
    return;
  }
  switch (k) {
    case Kind::kInfoOnIoCon: {
      InfoCase c{};
      good_info_req(c, name.c_str());
      (void)post_send(p, 1, IBV_WR_SEND, c.buf, c.len, 0, 0, 0);
      break;
    }
    case Kind::kInfoImmBeforeInfo:
      (void)post_send(p, 1, IBV_WR_RDMA_WRITE_WITH_IMM, nullptr, 0, 0, 0,
                      wire::make_imm(wire::ImmType::kIoReq, 0));
      break;
    case Kind::kInfoImmOnAdminFirst:
      (void)post_send(p, 0, IBV_WR_RDMA_WRITE_WITH_IMM, nullptr, 0, 0, 0,
                      rng.below(2) ? wire::kHbMsgImm : wire::make_imm(wire::ImmType::kIoReq, 0));
      break;
    default: {
      const InfoCase c = make_info_case(k, rng, name.c_str());
      (void)post_send(p, 0, IBV_WR_SEND, c.buf, c.len, 0, 0, 0);
      break;
    }
  }
  g_st.msgs++;
  expect_close(p, k);
}

void run_imm_case(Kind k, Rng& rng) {
  Path p;
  const std::string name = next_name();
  const u16 cid_num = u16(rng.range(1, 3));
  if (setup_path(p, cid_num, true, name.c_str(), rng) != 0) {
    g_st.setup_failed++;
    return;
  }
  if (k == Kind::kImmReadDescOutsideMr) {
    u8 bytes[64];
    u32 woff, imm;
    const u32 buf_id = rng.below(p.qd);
    // Far outside our MR, or our address with a key we never had.
    const bool bad_key = rng.below(2);
    const u64 addr = bad_key ? reinterpret_cast<uintptr_t>(p.buf + kReadDstOff)
                             : reinterpret_cast<uintptr_t>(p.buf) + (u64(rng.range(4, 1024)) << 20);
    const u32 key = bad_key ? p.mr->rkey ^ (rng.range(1, 0xffffff) << 8) : p.mr->rkey;
    const u32 n = good_read(p, buf_id, 512, addr, key, bytes, &woff, &imm);
    const wire::RemoteChunk& c = p.chunks[buf_id];
    (void)post_send(p, u16(rng.below(cid_num)), IBV_WR_RDMA_WRITE_WITH_IMM, bytes, n, c.addr + woff,
                    c.rkey, imm);
  } else {
    const ImmCase c = make_imm_case(k, rng, p.geo(), cid_num);
    if (c.send_no_imm)
      (void)post_send(p, c.cid, IBV_WR_SEND, nullptr, 0, 0, 0, 0);
    else
      (void)post_send(p, c.cid, IBV_WR_RDMA_WRITE_WITH_IMM, nullptr, 0, 0, 0, c.imm);
  }
  g_st.msgs++;
  expect_close(p, k);
}

// Trailer cases share one connected path until the server closes it.
struct IoPathHolder {
  Path* p = nullptr;
  u32 used = 0;
  ~IoPathHolder() { delete p; }
} g_io;

void run_io_case(Kind k, Rng& rng) {
  if (g_io.p && (g_io.p->closed || g_io.used >= 2000)) {
    delete g_io.p;
    g_io.p = nullptr;
  }
  if (!g_io.p) {
    g_io.p = new Path;
    g_io.used = 0;
    const std::string name = next_name();
    if (setup_path(*g_io.p, u16(rng.range(1, 3)), true, name.c_str(), rng) != 0) {
      g_st.setup_failed++;
      delete g_io.p;
      g_io.p = nullptr;
      return;
    }
  }
  Path& p = *g_io.p;
  g_io.used++;
  const u16 cid = u16(rng.below(p.cid_num));
  u32 err = 0;
  IoOut o;
  if (k == Kind::kIoReplayFinished) {
    u8 bytes[64];
    u32 woff, imm;
    const u32 buf_id = rng.below(p.qd);
    const u32 n = good_read(p, buf_id, 512, reinterpret_cast<uintptr_t>(p.buf + kReadDstOff),
                            p.mr->rkey, bytes, &woff, &imm);
    o = io(p, cid, buf_id, woff, bytes, n, imm, &err);
    g_st.msgs--;  // the good READ is not a malformed message
    if (o == kAnsweredOk) g_st.good_ok++;
    if (o != kAnsweredOk) {
      fail_case(k, "a well-formed READ was not answered with success (outcome)", o);
      g_st.silent++;
      return;
    }
    o = io(p, cid, buf_id, 0, nullptr, 0, imm, &err);
  } else {
    const IoCase c = make_io_case(k, rng, p.geo(), reinterpret_cast<uintptr_t>(p.buf + kReadDstOff),
                                  p.mr->rkey);
    const u32 imm = p.geo().io_req_imm(c.buf_id, c.imm_off).value();
    o = io(p, cid, c.buf_id, c.write_off, c.bytes, c.len, imm, &err);
  }
  switch (o) {
    case kAnsweredErr:
      g_st.errno_answers++;
      break;
    case kPathClosed:
      g_st.closed++;
      break;
    case kAnsweredOk:
      g_st.accepted++;
      fail_case(k, "server ACCEPTED a malformed request (IO_RSP errno 0)", 0);
      break;
    case kNoAnswer:
      g_st.silent++;
      fail_case(k, "no answer and the path stays open (a leaked chunk)", 0);
      break;
  }
}

int phase_cases() {
  Rng rng(g_opt.seed);
  const u64 t0 = now_ms();
  for (u32 i = 0; i < g_opt.cases; i++) {
    const Kind k = pick_kind(rng, g_opt.io_share);
    g_st.tried++;
    g_st.per_kind[u32(k)]++;
    if (is_conn_kind(k)) run_conn_case(k, rng);
    else if (is_info_kind(k)) run_info_case(k, rng);
    else if (is_imm_kind(k)) run_imm_case(k, rng);
    else run_io_case(k, rng);
    if ((i + 1) % 500 == 0)
      printf("hostile: %u cases, %llu s\n", i + 1, (unsigned long long)((now_ms() - t0) / 1000));
    fflush(stdout);
  }
  delete g_io.p;
  g_io.p = nullptr;
  for (u32 k = 0; k < kKindCount; k++)
    printf("hostile: kind %-28s %llu\n", kind_name(Kind(k)), (unsigned long long)g_st.per_kind[k]);
  printf("hostile: seed=%llu cases=%llu malformed_msgs=%llu rejected=%llu closed=%llu "
         "errno_answers=%llu good_reads_ok=%llu accepted=%llu silent=%llu setup_failed=%llu\n",
         (unsigned long long)g_opt.seed, (unsigned long long)g_st.tried,
         (unsigned long long)g_st.msgs, (unsigned long long)g_st.rejected,
         (unsigned long long)g_st.closed, (unsigned long long)g_st.errno_answers,
         (unsigned long long)g_st.good_ok, (unsigned long long)g_st.accepted,
         (unsigned long long)g_st.silent, (unsigned long long)g_st.setup_failed);
  // A run where most set-ups fail proves nothing.
  if (g_st.setup_failed > g_st.tried / 20) {
    fprintf(stderr, "hostile: FAIL: %llu of %llu cases could not set up a path\n",
            (unsigned long long)g_st.setup_failed, (unsigned long long)g_st.tried);
    return 1;
  }
  if (g_st.bad_server_msgs)
    fprintf(stderr, "hostile: FAIL: %llu malformed RKEY_RSPs from the server\n",
            (unsigned long long)g_st.bad_server_msgs);
  return g_st.accepted || g_st.silent || g_st.bad_server_msgs ? 1 : 0;
}

// Opens sessions (one connected path each) until the server refuses; the
// number accepted must be exactly the bound, the refusal an errno, and
// after closing one a new session must be accepted again.
int phase_sessions() {
  Rng rng(g_opt.seed);
  std::vector<Path*> open;
  int refused_errno = 0;
  for (u32 i = 0; i < g_opt.max_sessions + 3; i++) {
    Path* p = new Path;
    const std::string name = next_name();
    const int r = setup_path(*p, 1, true, name.c_str(), rng);
    if (r != 0) {
      delete p;
      refused_errno = r;
      break;
    }
    open.push_back(p);
  }
  const u32 n = u32(open.size());
  printf("hostile: sessions accepted=%u bound=%u refused_with=%d\n", n, g_opt.max_sessions, refused_errno);
  int rc = 0;
  if (n != g_opt.max_sessions || refused_errno == 0 || refused_errno == -ETIMEDOUT) {
    fprintf(stderr, "hostile: FAIL: expected exactly %u sessions, then a refusal with an errno\n",
            g_opt.max_sessions);
    rc = 1;
  }
  if (!open.empty()) {
    delete open.back();
    open.pop_back();
    sleep(2);  // the server notices the disconnect and frees the session
    Path* p = new Path;
    const std::string name = next_name();
    int r = -1;
    for (int t = 0; t < 10 && r != 0; t++) {
      delete p;
      p = new Path;
      r = setup_path(*p, 1, true, name.c_str(), rng);
      if (r) sleep(1);
    }
    printf("hostile: session after closing one: %d\n", r);
    if (r != 0) rc = 1;
    delete p;
  }
  for (Path* p : open) delete p;
  return rc;
}

// Opens the connections of one path (cid_num = bound + 2) one by one: the
// server must accept exactly max_conns of them (nothing else of this peer is
// connected) and refuse the next with an errno, before any INFO_REQ.
int phase_conns() {
  Rng rng(g_opt.seed);
  Path p;
  const u16 n = u16(g_opt.max_conns + 2);
  p.sess_uuid = rng.uuid();
  p.paths_uuid = rng.uuid();
  u32 accepted = 0;
  int refused = 0;
  for (u16 cid = 0; cid < n; cid++) {
    u8 pd[56];
    good_conn_req(pd, cid, n, p.sess_uuid, p.paths_uuid, true);
    int perr = 0;
    const ConnOut o = connect_one(p, cid, pd, sizeof(pd), &perr);
    if (o == kEstablished) {
      accepted++;
      continue;
    }
    refused = o == kRejected ? (perr ? perr : -ECONNREFUSED) : -EIO;
    break;
  }
  printf("hostile: connections accepted=%u bound=%u refused_with=%d\n", accepted, g_opt.max_conns,
         refused);
  return accepted == g_opt.max_conns && refused < 0 && refused != -EIO ? 0 : 1;
}

// Connects con 0 of a two-connection path and never opens con 1 nor sends
// INFO_REQ: the server must close it by itself (its session pins memory).
int phase_halfopen() {
  Rng rng(g_opt.seed);
  Path p;
  if (setup_path(p, 2, false, nullptr, rng, 1) != 0) {
    fprintf(stderr, "hostile: FAIL: cannot open con 0\n");
    return 1;
  }
  const u64 t0 = now_ms();
  while (!p.closed && now_ms() - t0 < u64(g_opt.halfopen_wait_s) * 1000) {
    poll_cm(p);
    usleep(100000);
  }
  printf("hostile: half-open path closed by the server: %s after %llu ms\n", p.closed ? "yes" : "NO",
         (unsigned long long)(now_ms() - t0));
  return p.closed ? 0 : 1;
}

void usage() {
  fprintf(stderr,
          "usage: ibtrs-hostile [--server IP] [--src IP] [--port N] [--seed N] [--cases N]\n"
          "       [--io-share PERMILLE] [--phase cases|sessions|halfopen|conns] [--max-sessions N]\n"
          "       [--max-conns N]\n"
          "       [--halfopen-wait SEC] [--close-wait-ms MS] [-v]\n");
  exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  bool have_seed = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto val = [&]() -> const char* {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--server") g_opt.server = val();
    else if (a == "--src") g_opt.src = val();
    else if (a == "--port") g_opt.port = u16(strtoul(val(), nullptr, 0));
    else if (a == "--seed") { g_opt.seed = strtoull(val(), nullptr, 0); have_seed = true; }
    else if (a == "--cases") g_opt.cases = u32(strtoul(val(), nullptr, 0));
    else if (a == "--io-share") g_opt.io_share = u32(strtoul(val(), nullptr, 0));
    else if (a == "--phase") g_opt.phase = val();
    else if (a == "--max-sessions") g_opt.max_sessions = u32(strtoul(val(), nullptr, 0));
    else if (a == "--max-conns") g_opt.max_conns = u32(strtoul(val(), nullptr, 0));
    else if (a == "--halfopen-wait") g_opt.halfopen_wait_s = u32(strtoul(val(), nullptr, 0));
    else if (a == "--close-wait-ms") g_opt.close_wait_ms = u32(strtoul(val(), nullptr, 0));
    else if (a == "-v") g_opt.verbose = true;
    else usage();
  }
  if (!have_seed) {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    g_opt.seed = u64(ts.tv_sec) * 1000003u ^ u64(ts.tv_nsec) ^ u64(getpid()) << 32;
  }
  printf("hostile: phase=%s seed=%llu server=%s src=%s port=%u\n", g_opt.phase,
         (unsigned long long)g_opt.seed, g_opt.server, g_opt.src, g_opt.port);
  fflush(stdout);
  const std::string ph = g_opt.phase;
  int rc;
  if (ph == "cases") rc = phase_cases();
  else if (ph == "sessions") rc = phase_sessions();
  else if (ph == "halfopen") rc = phase_halfopen();
  else if (ph == "conns") rc = phase_conns();
  else usage();
  printf("hostile: phase=%s seed=%llu result=%s\n", g_opt.phase, (unsigned long long)g_opt.seed,
         rc ? "FAIL" : "ok");
  return rc;
}
