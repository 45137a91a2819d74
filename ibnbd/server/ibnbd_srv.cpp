// SPDX-License-Identifier: GPL-2.0
// ibnbd-server: the C++ half (unity translation unit). Module tables and
// parameters are in ibnbd_srv_main.c; docs/ibnbd-server.md is the manual.
//
// The server is passive: a client session (IBTRS) sends SESS_INFO, then
// OPENs devices by path relative to dev_search_path, does IO on them and
// CLOSEs them. Objects and ownership:
//   Server    one per module: the devices (under mutex), the sysfs class,
//             the IBTRS listener, the workqueue for backend and control work
//   SrvDev    one per backing path opened by any session: the ro/rw/
//             migration counts (ibnbd/core/open_rules.h) and the sysfs
//             directory ctl/devices/<name>; owned by Server::devs, freed
//             when its last opener closes
//   SrvSess   one per IBTRS session (priv of the session): device-id table,
//             request pool, control queue; freed in link_ev DISCONNECTED
//   SessDev   one open of a SrvDev by a SrvSess: its own Backend (opened ro
//             or rw as the client asked) and sysfs sessions/<sess>
//   Req       one request of a session between rdma_ev and its answer
//             (pool of queue_depth, allocated at CONNECTED)
// Contexts: rdma_ev in softirq (SESS_INFO answered inline, IO queued to the
// backend, OPEN/CLOSE queued to the session's control work); backend
// completions in any context (hardirq included); OPEN/CLOSE/force_close in
// the control work (process); link_ev in process context.
//
// Peer input is never trusted: every message is decoded by ibnbd/core/
// proto.h and every IO planned by ibnbd/core/srv_io.h against the device
// the session opened; a refusal is the errno of the answer plus one
// rate-limited log line, never a WARN.
#include <runtime/runtime.cpp>

#include <kx/kx.h>
#include <kx/bdev.h>
#include <kx/sysfs.h>
#include <ibtrs.h>
#include <ibnbd/core/dev_path.h>
#include <ibnbd/core/open_rules.h>
#include <ibnbd/core/proto.h>
#include <ibnbd/core/srv_io.h>

#include "sysfs_ids.h"

extern "C" {
extern unsigned short ibnbd_srv_port_nr;
extern char* ibnbd_srv_dev_search_path;
}

using namespace kx;
namespace proto = ibnbd::proto;
using kx::bdev::Backend;

namespace {

// Device ids per session (ids are indexes into the session's table).
constexpr u32 kMaxDevsPerSess = 512;
// Features this server grants when a client offers them.
constexpr u32 kSupportedFeatures = proto::kFeatureWriteZeroes | proto::kFeatureStrictFlush;

usize cstr_len(const char* s) {
  usize n = 0;
  while (s[n]) n++;
  return n;
}

bool cstr_eq(const char* a, const char* b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

// Copies src (at most cap - 1 bytes) and terminates.
void copy_cstr(char* dst, usize cap, const char* src, usize n) {
  if (n >= cap) n = cap - 1;
  __builtin_memcpy(dst, src, n);
  dst[n] = '\0';
}

const char* mode_str(proto::AccessMode m) {
  switch (m) {
    case proto::AccessMode::kRo:
      return "ro";
    case proto::AccessMode::kRw:
      return "rw";
    case proto::AccessMode::kMigration:
      return "migration";
  }
  return "?";
}

u16 clamp_u16(u32 v) { return v > 0xffff ? 0xffff : static_cast<u16>(v); }

struct SrvSess;
struct SrvDev;
struct Server;

Server* g_srv;
ibnbd_srv_sysfs_groups g_groups;

// ---------------------------------------------------------------------------
// One open of a device by a session.
struct SessDev {
  SessDev(SrvSess* s, SrvDev* d, u32 id, proto::AccessMode m) : sess(s), dev(d), device_id(id), mode(m) {}
  KX_PINNED(SessDev);

  long sysfs_show(int id, char* buf);
  long sysfs_store(int id, const char* buf, usize len, sysfs::SelfFile self);

  SrvSess* const sess;
  SrvDev* const dev;
  const u32 device_id;
  const proto::AccessMode mode;
  OwnPtr<Backend> be;
  ibnbd::DevState state{};
  // IOs started on be and not yet completed (wait before closing be).
  Atomic<i64> inflight{0};
  // Set by sysfs force_close; the session's control work closes it.
  Atomic<u32> force_close{0};
  ListNode dev_node;  // in SrvDev::sess_devs, under Server::mutex
  char mapping_path[proto::kDevNameFieldSize] = {};  // the name the client used
  sysfs::Target<SessDev> target{this};
  sysfs::KObject kobj;  // ctl/devices/<dev>/sessions/<sess>
};

// A backing path opened by at least one session.
struct SrvDev {
  SrvDev() = default;
  KX_PINNED(SrvDev);
  ~SrvDev() {
    sessions_dir.reset();
    kobj.reset();
  }

  long sysfs_show(int id, char* buf);
  long sysfs_store(int, const char*, usize, sysfs::SelfFile) { return -EIO; }  // read-only

  OwnArray<char> path;  // resolved, NUL-terminated: the key
  OwnArray<char> name;  // sysfs name: path with '/' -> '!', no leading '!'
  ibnbd::OpenCounts counts;                      // under Server::mutex
  List<SessDev, &SessDev::dev_node> sess_devs;   // under Server::mutex
  ListNode node;                                 // in Server::devs
  sysfs::Target<SrvDev> target{this};
  sysfs::KObject kobj;
  sysfs::KObject sessions_dir;
};

// One request between rdma_ev and its answer.
struct Req {
  Req() = default;
  KX_PINNED(Req);

  ListNode node;  // in SrvSess::free_reqs or ctl_queue, under SrvSess::lock
  SrvSess* sess = nullptr;
  ibtrs_srv_op* id = nullptr;
  SessDev* sd = nullptr;
  proto::Carrier carrier{};
  u8* data = nullptr;
  u32 msg_len = 0;
  u8 msg[sizeof(proto::OpenWire)] = {};  // OPEN/CLOSE copied out of the chunk
  bdev::Io io;
};

// ---------------------------------------------------------------------------
struct SrvSess {
  explicit SrvSess(ibtrs_srv_sess* t) : trs(t) {}
  KX_PINNED(SrvSess);

  int on_rdma(ibtrs_srv_op* id, int dir, void* data, u32 datalen, const u8* usr, u32 usrlen);
  int on_sess_info(ibtrs_srv_op* id, const u8* usr, u32 usrlen, u8* data, u32 datalen,
                   proto::Carrier c);
  int on_io(ibtrs_srv_op* id, const u8* usr, u32 usrlen, u8* data, proto::Carrier c);
  int on_ctl(ibtrs_srv_op* id, const u8* usr, u32 usrlen, u8* data, proto::Carrier c);
  static void io_done(void* ctx, int err);
  void ctl_work_fn();
  void process_ctl();
  int do_open(const Req& r);
  int do_close(const Req& r);
  void close_sess_dev(SessDev* sd);
  void teardown();

  Req* get_req();
  void put_req(Req* r);
  // Drops the session's count of a request (after its answer).
  void req_finished();

  proto::Session proto_session() const {
    const u64 v = proto_.load();
    return proto::Session{static_cast<u8>(v >> 32), static_cast<u32>(v)};
  }

  ibtrs_srv_sess* const trs;
  char name[IBTRS_SESSNAME_MAX] = {};
  usize name_len = 0;
  // version << 32 | granted features; written by SESS_INFO (softirq), read
  // by every IO. Until SESS_INFO: version 2, no features.
  Atomic<u64> proto_{u64{proto::kProtoVerMajor} << 32};

  // devs, free_reqs, ctl_queue. irqsave: the backend's completion may run
  // in hardirq.
  SpinLock lock{KX_LOCK_CLASS("ibnbd_srv.sess.lock")};
  OwnArray<SessDev*> devs;
  List<Req, &Req::node> free_reqs;
  List<Req, &Req::node> ctl_queue;
  u32 nr_reqs = 0;
  // Requests taken from the pool whose completion has not fully finished.
  Atomic<i64> inflight{0};
  // Serializes opens/closes and the sysfs directories of this session's devices.
  Mutex ctl_mutex{KX_LOCK_CLASS("ibnbd_srv.sess.ctl")};
  Atomic<u32> dying{0};
  Work<SrvSess, &SrvSess::ctl_work_fn> ctl_work{this, KX_LOCK_CLASS("ibnbd_srv.sess.ctl_work")};
};

// ---------------------------------------------------------------------------
struct Server {
  Server() = default;
  KX_PINNED(Server);

  Mutex mutex{KX_LOCK_CLASS("ibnbd_srv.mutex")};  // devs and every SrvDev's counts/lists
  List<SrvDev, &SrvDev::node> devs;
  // Woken when a SessDev's or a session's inflight count drops to zero.
  WaitQueue idle_wq{KX_LOCK_CLASS("ibnbd_srv.idle")};
  WorkQueue wq;      // WQ_MEM_RECLAIM: backend submissions and file IO (Backend::close flushes it)
  WorkQueue ctl_wq;  // the sessions' control work; apart from wq, which a close flushes
  sysfs::Class cls;
  sysfs::Device ctl;
  sysfs::KObject devices_dir;
  ibtrs_srv_ctx* ctx = nullptr;
  Atomic<u32> nr_sessions{0};
};

// ---------------------------------------------------------------------------
// sysfs

long SrvDev::sysfs_show(int id, char* buf) {
  if (id == IBNBD_SRV_ATTR_BLOCK_DEV) return kx_sysfs_emit(buf, "%s\n", path.data());
  return -EIO;
}

long SessDev::sysfs_show(int id, char* buf) {
  switch (id) {
    case IBNBD_SRV_ATTR_READ_ONLY:
      return kx_sysfs_emit(buf, "%d\n", mode == proto::AccessMode::kRo ? 1 : 0);
    case IBNBD_SRV_ATTR_ACCESS_MODE:
      return kx_sysfs_emit(buf, "%s\n", mode_str(mode));
    case IBNBD_SRV_ATTR_MAPPING_PATH:
      return kx_sysfs_emit(buf, "%s\n", mapping_path);
  }
  return -EIO;
}

// force_close: "1" closes this open (the client's next IO on it gets
// -ENOTCONN). The close itself runs in the session's control work, which
// removes this directory; the store only asks for it.
long SessDev::sysfs_store(int id, const char* buf, usize len, sysfs::SelfFile) {
  if (id != IBNBD_SRV_ATTR_FORCE_CLOSE) return -EIO;
  u64 v = 0;
  if (kx_kstrtou64(buf, 10, &v) != 0 || v != 1) {
    kx_err("%s@%s: force_close: write 1, not '%.*s'\n", mapping_path, sess->name,
           kx::sysfs::shown_len(buf), buf);
    return -EINVAL;
  }
  if (sess->dying.load()) return -ENODEV;
  force_close.store(1);
  sess->ctl_work.queue(g_srv->ctl_wq.get());
  kx_info("%s@%s: force_close requested\n", mapping_path, sess->name);
  return static_cast<long>(len);
}

// ---------------------------------------------------------------------------
// Request pool

Req* SrvSess::get_req() {
  Req* r;
  {
    SpinGuardIrq g(lock);
    r = free_reqs.pop_front();
  }
  if (r) inflight.add_fetch(1);
  return r;
}

void SrvSess::put_req(Req* r) {
  r->sd = nullptr;
  r->id = nullptr;
  SpinGuardIrq g(lock);
  free_reqs.push_back(*r);
}

void SrvSess::req_finished() {
  if (inflight.sub_fetch(1) == 0) g_srv->idle_wq.wake_all();
}

// ---------------------------------------------------------------------------
// rdma_ev (softirq)

int SrvSess::on_rdma(ibtrs_srv_op* id, int dir, void* data, u32 datalen, const u8* usr,
                     u32 usrlen) {
  const proto::Carrier c{dir == IBTRS_WRITE ? proto::TransferDir::kWrite : proto::TransferDir::kRead,
                         datalen};
  auto type = proto::peek_msg_type(usr, usrlen);
  if (type.is_error()) {
    kx_err_rl("session %s: message of %u bytes with unknown type (%d)\n", name, usrlen,
              type.error().code());
    return type.error().code();
  }
  u8* buf = static_cast<u8*>(data);
  switch (type.value()) {
    case proto::MsgType::kSessInfo:
      return on_sess_info(id, usr, usrlen, buf, datalen, c);
    case proto::MsgType::kIo:
      return on_io(id, usr, usrlen, buf, c);
    case proto::MsgType::kOpen:
    case proto::MsgType::kClose:
      return on_ctl(id, usr, usrlen, buf, c);
    default:
      kx_err_rl("session %s: unexpected message type %u\n", name,
                static_cast<u32>(type.value()));
      return -EBADMSG;
  }
}

// Answered inline: no sleeping needed. Features are granted only if the
// client's SESS_INFO carries our extension (an upstream client's does not).
int SrvSess::on_sess_info(ibtrs_srv_op* id, const u8* usr, u32 usrlen, u8* data, u32 datalen,
                          proto::Carrier c) {
  auto si = proto::decode_sess_info(usr, usrlen, c);
  if (si.is_error()) {
    kx_err_rl("session %s: malformed SESS_INFO (%d)\n", name, si.error().code());
    return si.error().code();
  }
  const u8 ver = proto::negotiate_version(si.value().version);
  const u32 granted = proto::negotiate_features(si.value().features, kSupportedFeatures);
  auto n = proto::encode_sess_info_rsp(data, datalen, ver, granted);
  if (n.is_error()) return n.error().code();
  proto_.store(u64{ver} << 32 | granted);
  ibtrs_srv_resp_rdma(id, 0);
  return 0;
}

int SrvSess::on_io(ibtrs_srv_op* id, const u8* usr, u32 usrlen, u8* data, proto::Carrier c) {
  const proto::Session ps = proto_session();
  auto io = proto::decode_io(usr, usrlen, c, ps);
  if (io.is_error()) {
    kx_err_rl("session %s: malformed IO (%d)\n", name, io.error().code());
    return io.error().code();
  }
  const proto::IoReq& m = io.value();
  Req* r = get_req();
  if (!r) {
    kx_err_rl("session %s: more requests than the queue depth\n", name);
    return -EBUSY;
  }
  SessDev* sd = nullptr;
  {
    SpinGuardIrq g(lock);
    if (m.device_id < devs.size()) sd = devs[m.device_id];
    if (sd) sd->inflight.add_fetch(1);
  }
  auto plan = ibnbd::plan_io(m, sd ? &sd->state : nullptr, ps.features);
  int err = 0;
  if (plan.is_error()) {
    err = plan.error().code();
    kx_err_rl("session %s: IO refused: device %u op %u sector %llu size %u (%d)\n", name,
              m.device_id, static_cast<u32>(m.op), static_cast<unsigned long long>(m.sector),
              m.bi_size, err);
  } else {
    const ibnbd::IoPlan& p = plan.value();
    bdev::Op op = bdev::Op::read;
    switch (p.op) {
      case ibnbd::BackendOp::kRead: op = bdev::Op::read; break;
      case ibnbd::BackendOp::kWrite: op = bdev::Op::write; break;
      case ibnbd::BackendOp::kFlush: op = bdev::Op::flush; break;
      case ibnbd::BackendOp::kDiscard: op = bdev::Op::discard; break;
      case ibnbd::BackendOp::kSecureErase: op = bdev::Op::secure_erase; break;
      case ibnbd::BackendOp::kWriteZeroes: op = bdev::Op::write_zeroes; break;
    }
    u32 flags = 0;
    if (p.flags & ibnbd::kBeSync) flags |= bdev::kSync;
    if (p.flags & ibnbd::kBeFua) flags |= bdev::kFua;
    if (p.flags & ibnbd::kBePreflush) flags |= bdev::kPreflush;
    if (p.flags & ibnbd::kBeNoUnmap) flags |= bdev::kNoUnmap;
    r->sess = this;
    r->id = id;
    r->sd = sd;
    auto q = sd->be->queue(r->io, op, flags, p.sector, p.data ? data : nullptr, p.len,
                           &SrvSess::io_done, r);
    if (q.is_ok()) return 0;  // io_done answers
    err = q.error().code();
    kx_err_rl("session %s: IO on device %u not started (%d)\n", name, m.device_id, err);
  }
  if (sd && sd->inflight.sub_fetch(1) == 0) g_srv->idle_wq.wake_all();
  put_req(r);
  req_finished();
  return err;
}

// Backend completion: any context (bio end_io may be hardirq).
void SrvSess::io_done(void* ctx, int err) {
  Req* r = static_cast<Req*>(ctx);
  SrvSess* s = r->sess;
  SessDev* sd = r->sd;
  ibtrs_srv_op* id = r->id;
  // Back to the pool before answering: the client may reuse the chunk (and
  // we need a Req for it) as soon as it sees the answer.
  s->put_req(r);
  ibtrs_srv_resp_rdma(id, err);
  if (sd->inflight.sub_fetch(1) == 0) g_srv->idle_wq.wake_all();
  s->req_finished();
}

// OPEN and CLOSE sleep (file and block device open, sysfs): queued to the
// session's control work, in arrival order.
int SrvSess::on_ctl(ibtrs_srv_op* id, const u8* usr, u32 usrlen, u8* data, proto::Carrier c) {
  Req* r = get_req();
  if (!r) {
    kx_err_rl("session %s: more requests than the queue depth\n", name);
    return -EBUSY;
  }
  r->sess = this;
  r->id = id;
  r->carrier = c;
  r->data = data;
  r->msg_len = usrlen < sizeof(r->msg) ? usrlen : static_cast<u32>(sizeof(r->msg));
  __builtin_memcpy(r->msg, usr, r->msg_len);
  {
    SpinGuardIrq g(lock);
    ctl_queue.push_back(*r);
  }
  ctl_work.queue(g_srv->ctl_wq.get());
  return 0;
}

// ---------------------------------------------------------------------------
// Control work (process context)

void SrvSess::ctl_work_fn() {
  MutexGuard g(ctl_mutex);
  process_ctl();
}

// Under ctl_mutex: answers the queued OPEN/CLOSE requests in order, then
// closes the opens that sysfs force_close marked.
void SrvSess::process_ctl() {
  for (;;) {
    Req* r;
    {
      SpinGuardIrq sg(lock);
      r = ctl_queue.pop_front();
    }
    if (!r) break;
    auto type = proto::peek_msg_type(r->msg, r->msg_len);  // checked by on_rdma
    const int err = type.is_error()                         ? type.error().code()
                    : type.value() == proto::MsgType::kOpen ? do_open(*r)
                                                            : do_close(*r);
    ibtrs_srv_op* id = r->id;
    put_req(r);
    ibtrs_srv_resp_rdma(id, err);
    req_finished();
  }
  for (u32 i = 0; i < devs.size(); i++) {
    SessDev* sd = devs[i];
    if (sd && sd->force_close.load()) {
      kx_info("%s@%s: force closing device %u\n", sd->mapping_path, name, sd->device_id);
      close_sess_dev(sd);
    }
  }
}

int SrvSess::do_open(const Req& r) {
  auto om = proto::decode_open(r.msg, r.msg_len, r.carrier);
  if (om.is_error()) {
    kx_err_rl("session %s: malformed OPEN (%d)\n", name, om.error().code());
    return om.error().code();
  }
  const proto::OpenReq& o = om.value();
  if (dying.load()) return -ENODEV;
  auto root = OwnArray<char>::create(ibnbd::kPathMax, Gfp::kernel);
  auto path = OwnArray<char>::create(ibnbd::kPathMax, Gfp::kernel);
  if (root.is_error() || path.is_error()) return -ENOMEM;
  auto rr = ibnbd::resolve_search_root(ibnbd_srv_dev_search_path, name, name_len,
                                       root.value().data(), ibnbd::kPathMax);
  auto pr = ibnbd::resolve_device_path(ibnbd_srv_dev_search_path, name, name_len,
                                       o.dev_name.chars, o.dev_name.len, path.value().data(),
                                       ibnbd::kPathMax);
  if (rr.is_error() || pr.is_error()) {
    const int err = rr.is_error() ? rr.error().code() : pr.error().code();
    kx_err_rl("session %s: OPEN '%s' refused: not a path beneath the search path (%d)\n", name,
              o.dev_name.chars, err);
    return err;
  }
  const char* full = path.value().data();

  // The same backing path opened again by this session: the open it has
  // (upstream answers a repeated OPEN of one name the same way).
  SessDev* sd = nullptr;
  u32 free_id = kMaxDevsPerSess;
  for (u32 i = 0; i < devs.size(); i++) {
    SessDev* d = devs[i];
    if (!d) {
      if (free_id == kMaxDevsPerSess) free_id = i;
      continue;
    }
    if (cstr_eq(d->dev->path.data(), full)) {
      sd = d;
      break;
    }
  }
  if (!sd) {
    if (free_id == kMaxDevsPerSess) {
      kx_err_rl("session %s: OPEN '%s': %u devices open already\n", name, o.dev_name.chars,
                kMaxDevsPerSess);
      return -EMFILE;
    }
    SrvDev* dev = nullptr;
    {
      MutexGuard sg(g_srv->mutex);
      for (SrvDev& d : g_srv->devs)
        if (cstr_eq(d.path.data(), full)) dev = &d;
      if (!dev) {
        auto nd = make_own<SrvDev>(Gfp::kernel);
        if (nd.is_error()) return -ENOMEM;
        dev = nd.value().get();
        const usize plen = pr.value();
        auto p2 = OwnArray<char>::create(plen + 1, Gfp::kernel);
        auto n2 = OwnArray<char>::create(plen + 1, Gfp::kernel);
        if (p2.is_error() || n2.is_error()) return -ENOMEM;
        dev->path = p2.release_value();
        dev->name = n2.release_value();
        copy_cstr(dev->path.data(), plen + 1, full, plen);
        usize j = 0;
        for (usize i = 0; i < plen; i++) {
          const char ch = full[i] == '/' ? '!' : full[i];
          if (j == 0 && ch == '!') continue;
          dev->name[j++] = ch;
        }
        dev->name[j] = '\0';
        g_srv->devs.push_back(*nd.value().leak());
      }
      auto adm = dev->counts.admit(o.access_mode);
      if (adm.is_error()) {
        kx_err_rl("session %s: OPEN '%s' %s refused: %u writer(s) already (%d)\n", name, full,
                  mode_str(o.access_mode), dev->counts.writers, adm.error().code());
        if (dev->counts.idle()) {
          g_srv->devs.remove(*dev);
          destroy(dev);
        }
        return adm.error().code();
      }
    }
    // Undoes the admission (and frees an unused SrvDev) on failure below.
    auto unadmit = [&] {
      MutexGuard sg(g_srv->mutex);
      dev->counts.release(o.access_mode);
      if (dev->counts.idle()) {
        g_srv->devs.remove(*dev);
        destroy(dev);
      }
    };
    auto be = Backend::open(root.value().data(), full, o.access_mode != proto::AccessMode::kRo,
                            g_srv->wq.get());
    if (be.is_error()) {
      // The only log line of this refusal (the backend shim logs none).
      kx_err_rl("session %s: OPEN '%s' (%s): cannot open (%d)%s\n", name, full,
                mode_str(o.access_mode), be.error().code(),
                be.error().code() == -EXDEV ? " (resolves outside the search path)" : "");
      unadmit();
      return be.error().code();
    }
    auto nsd = make_own<SessDev>(Gfp::kernel, this, dev, free_id, o.access_mode);
    if (nsd.is_error()) {
      unadmit();
      return -ENOMEM;
    }
    sd = nsd.value().get();
    sd->be = be.release_value();
    copy_cstr(sd->mapping_path, sizeof(sd->mapping_path), o.dev_name.chars, o.dev_name.len);
    const bdev::Properties& p = sd->be->properties();
    sd->state = ibnbd::DevState{sd->be->nr_sectors(), p.logical_block_size, o.access_mode,
                                p.max_discard_sectors, p.max_secure_erase_sectors,
                                p.max_write_zeroes_sectors};
    int err = 0;
    {
      MutexGuard sg(g_srv->mutex);
      if (!dev->sessions_dir) {
        dev->kobj.reset();
        auto k = sysfs::KObject::create(dev->name.data(), g_srv->devices_dir.get(),
                                        dev->target.get(), g_groups.dev);
        if (k.is_ok()) {
          dev->kobj = k.release_value();
          auto sdir = sysfs::KObject::create_dir("sessions", dev->kobj.get());
          if (sdir.is_ok())
            dev->sessions_dir = sdir.release_value();
          else
            err = sdir.error().code();
        } else {
          err = k.error().code();
        }
      }
      if (!err) {
        auto k = sysfs::KObject::create(name, dev->sessions_dir.get(), sd->target.get(),
                                        g_groups.sess_dev);
        if (k.is_ok())
          sd->kobj = k.release_value();
        else
          err = k.error().code();
      }
      if (!err) dev->sess_devs.push_back(*sd);
    }
    if (err) {
      kx_err("session %s: OPEN '%s': no sysfs directory (%d)\n", name, full, err);
      nsd.value().reset();  // closes the backend
      unadmit();
      return err;
    }
    {
      SpinGuardIrq g(lock);
      devs[free_id] = nsd.value().leak();
    }
    kx_info("session %s: opened '%s' as device %u (%s, %llu sectors, %s)\n", name, full, free_id,
            mode_str(o.access_mode), static_cast<unsigned long long>(sd->state.nsectors),
            sd->be->is_file() ? "file" : "block device");
  }

  // OPEN_RSP with the device's limits, as upstream fills them from the
  // block device (files: the loop driver's, see kx/shim_bdev.h).
  const bdev::Properties& p = sd->be->properties();
  proto::OpenRsp rsp{};
  rsp.device_id = sd->device_id;
  rsp.nsectors = sd->state.nsectors;
  rsp.max_hw_sectors = p.max_hw_sectors;
  rsp.max_write_same_sectors = 0;
  rsp.max_discard_sectors = p.max_discard_sectors;
  rsp.discard_granularity = p.discard_granularity;
  rsp.discard_alignment = p.discard_alignment;
  rsp.physical_block_size = clamp_u16(p.physical_block_size);
  rsp.logical_block_size = clamp_u16(p.logical_block_size);
  rsp.max_segments = clamp_u16(p.max_segments);
  rsp.max_secure_erase_sectors = clamp_u16(p.max_secure_erase_sectors);
  rsp.cache_policy = static_cast<u8>((p.write_cache ? proto::kCacheWriteback : 0) |
                                     (p.fua ? proto::kCacheFua : 0));
  rsp.max_write_zeroes_sectors = p.max_write_zeroes_sectors;
  auto n = proto::encode_open_rsp(r.data, r.carrier.data_len, rsp, proto_session().features);
  if (n.is_error()) {
    kx_err_rl("session %s: OPEN '%s': device limits not encodable (%d)\n", name, full,
              n.error().code());
    return n.error().code();
  }
  return 0;
}

int SrvSess::do_close(const Req& r) {
  auto cm = proto::decode_close(r.msg, r.msg_len, r.carrier);
  if (cm.is_error()) {
    kx_err_rl("session %s: malformed CLOSE (%d)\n", name, cm.error().code());
    return cm.error().code();
  }
  const u32 dev_id = cm.value().device_id;
  SessDev* sd = dev_id < devs.size() ? devs[dev_id] : nullptr;
  if (!sd) {
    kx_err_rl("session %s: CLOSE of unknown device id %u\n", name, dev_id);
    return -ENOTCONN;
  }
  kx_info("session %s: closing device %u ('%s')\n", name, dev_id, sd->dev->path.data());
  close_sess_dev(sd);
  return 0;
}

// Under ctl_mutex (or in teardown, when nothing else runs). Waits for the
// device's IO, then releases everything of this open.
void SrvSess::close_sess_dev(SessDev* sd) {
  {
    SpinGuardIrq g(lock);
    devs[sd->device_id] = nullptr;  // no new IO from here on
  }
  g_srv->idle_wq.wait([sd] { return sd->inflight.load() == 0; });
  sd->kobj.reset();  // waits for a running show/store
  sd->be.reset();
  SrvDev* dev = sd->dev;
  {
    MutexGuard g(g_srv->mutex);
    if (decltype(dev->sess_devs)::contains_node(*sd)) dev->sess_devs.remove(*sd);
    dev->counts.release(sd->mode);
    if (dev->counts.idle()) {
      g_srv->devs.remove(*dev);
      destroy(dev);
    }
  }
  destroy(sd);
}

// link_ev DISCONNECTED: IBTRS has answered (or dropped) every request of
// the session, so no rdma_ev comes any more; wait for our own tail (backend
// completions after their answer), then free everything.
void SrvSess::teardown() {
  dying.store(1);
  {
    // A running force_close store finishes before its directory goes.
    MutexGuard g(ctl_mutex);
    for (u32 i = 0; i < devs.size(); i++)
      if (devs[i]) devs[i]->kobj.reset();
  }
  ctl_work.cancel_sync();
  {
    MutexGuard g(ctl_mutex);
    process_ctl();  // answers anything still queued (dropped: the path is gone)
    for (u32 i = 0; i < devs.size(); i++)
      if (devs[i]) close_sess_dev(devs[i]);
  }
  g_srv->idle_wq.wait([this] { return inflight.load() == 0; });
  u32 freed = 0;
  for (;;) {
    Req* r;
    {
      SpinGuardIrq g(lock);
      r = free_reqs.pop_front();
    }
    if (!r) break;
    destroy(r);
    freed++;
  }
  if (freed != nr_reqs) kx_err("session %s: %u of %u requests not returned\n", name, nr_reqs - freed, nr_reqs);
}

// ---------------------------------------------------------------------------
// IBTRS callbacks

int srv_rdma_ev(void* priv, ibtrs_srv_op* id, int dir, void* data, u32 datalen, const void* usr,
                u32 usrlen) {
  SrvSess* s = static_cast<SrvSess*>(priv);
  if (!s) {
    kx_err_rl("request on a session without state (not set up)\n");
    return -ENODEV;
  }
  return s->on_rdma(id, dir, data, datalen, static_cast<const u8*>(usr), usrlen);
}

Result<OwnPtr<SrvSess>> make_session(ibtrs_srv_sess* trs) {
  auto s = KX_TRY(make_own<SrvSess>(Gfp::kernel, trs));
  const int n = ibtrs_srv_get_path_name(trs, s->name, sizeof(s->name));
  if (n < 0) return Error(n);
  s->name_len = cstr_len(s->name);
  s->devs = KX_TRY(OwnArray<SessDev*>::create(kMaxDevsPerSess, Gfp::kernel));
  const int qd = ibtrs_srv_get_queue_depth(trs);
  if (qd <= 0) return Error(-EINVAL);
  for (int i = 0; i < qd; i++) {
    auto r = make_own<Req>(Gfp::kernel);
    if (r.is_error()) {
      // Free what was made (the destructor of SrvSess does not own the pool).
      while (Req* q = s->free_reqs.pop_front()) destroy(q);
      return r.error();
    }
    s->free_reqs.push_back(*r.value().leak());
    s->nr_reqs++;
  }
  return s;
}

int srv_link_ev(ibtrs_srv_sess* trs, ibtrs_srv_link_ev ev, void* priv) {
  if (ev == IBTRS_SRV_LINK_EV_CONNECTED) {
    auto s = make_session(trs);
    if (s.is_error()) {
      kx_err("session: cannot set up state (%d); its requests will be refused\n",
             s.error().code());
      return s.error().code();
    }
    SrvSess* sp = s.value().leak();
    ibtrs_srv_set_sess_priv(trs, sp);
    g_srv->nr_sessions.add_fetch(1);
    kx_info("session %s: connected (queue depth %u)\n", sp->name, sp->nr_reqs);
    return 0;
  }
  SrvSess* s = static_cast<SrvSess*>(priv);
  if (!s) return 0;
  kx_info("session %s: disconnected\n", s->name);
  s->teardown();
  ibtrs_srv_set_sess_priv(trs, nullptr);
  destroy(s);
  g_srv->nr_sessions.sub_fetch(1);
  return 0;
}

const ibtrs_srv_ops g_ops = {
    .rdma_ev = srv_rdma_ev,
    .link_ev = srv_link_ev,
};

}  // namespace

extern "C" int ibnbd_srv_module_init(const struct ibnbd_srv_sysfs_groups* groups) noexcept {
  const char* sp = ibnbd_srv_dev_search_path;
  if (!sp || sp[0] != '/' || cstr_len(sp) >= ibnbd::kPathMax) {
    kx_err("dev_search_path must be an absolute path, not '%s'\n", sp ? sp : "(null)");
    return -EINVAL;
  }
  g_groups = *groups;
  auto srv = make_own<Server>(Gfp::kernel);
  if (srv.is_error()) return -ENOMEM;
  // Bound (per-CPU), not unbound: a block IO queued from rdma_ev runs on the
  // CPU that received the request, its bio completes there and the answer is
  // posted from there. With an unbound queue a QP's answers were posted from
  // whichever CPU the kworker got; rxe sends in the poster's context and veth
  // queues per CPU, so a QP's packets overtook each other and rxe
  // retransmitted after its timer (docs/benchmarks.md: 848-3154 retries per
  // 5 s job, 4 path failures, EIO; 0 with a bound queue).
  auto wq = WorkQueue::create("ibnbd_srv_wq", /*unbound=*/false);
  if (wq.is_error()) return wq.error().code();
  srv.value()->wq = wq.release_value();
  auto cwq = WorkQueue::create("ibnbd_srv_ctl", /*unbound=*/true);
  if (cwq.is_error()) return cwq.error().code();
  srv.value()->ctl_wq = cwq.release_value();
  auto cls = sysfs::Class::create("ibnbd-server", KX_LOCK_CLASS("ibnbd_srv.class"));
  if (cls.is_error()) return cls.error().code();
  srv.value()->cls = cls.release_value();
  auto ctl = sysfs::Device::create(srv.value()->cls, nullptr, g_groups.ctl, "ctl");
  if (ctl.is_error()) return ctl.error().code();
  srv.value()->ctl = ctl.release_value();
  auto dd = sysfs::KObject::create_dir("devices", srv.value()->ctl.kobject());
  if (dd.is_error()) return dd.error().code();
  srv.value()->devices_dir = dd.release_value();
  g_srv = srv.value().get();
  ibtrs_srv_ctx* ctx = ibtrs_srv_open(&g_ops, ibnbd_srv_port_nr);
  if (reinterpret_cast<usize>(ctx) >= static_cast<usize>(-kMaxErrno)) {  // IS_ERR
    g_srv = nullptr;
    const int err = static_cast<int>(reinterpret_cast<long>(ctx));
    kx_err("cannot listen on port %u (%d)\n", ibnbd_srv_port_nr, err);
    return err;
  }
  g_srv->ctx = ctx;
  (void)srv.value().leak();
  kx_info("listening on port %u, dev_search_path %s\n", ibnbd_srv_port_nr, sp);
  return 0;
}

extern "C" void ibnbd_srv_module_exit(void) noexcept {
  // Closes every session: link_ev DISCONNECTED tears each one down.
  ibtrs_srv_close(g_srv->ctx);
  {
    MutexGuard g(g_srv->mutex);
    if (!g_srv->devs.empty()) kx_err("devices still open at unload\n");
  }
  destroy(g_srv);
  g_srv = nullptr;
  kx_runtime_exit();
}
