// SPDX-License-Identifier: GPL-2.0
// ibnbd-client, the C++ half (see ibnbd_clt_main.c and docs/ibnbd-client.md).
// One translation unit: the runtime definitions are included here, once.
//
// Objects and ownership:
//   Driver (one, g_driver)  the sysfs class + ctl device + ctl/devices dir,
//                           the workqueue, every Session (sessions_) and the
//                           device index bitmap. lock_ (Mutex) serialises
//                           map, unmap and module exit.
//   Session                 one ibtrs client session (by sessname), its
//                           blk-mq tag set shared by its devices, the
//                           negotiated RNBD version/features. Lives while it
//                           has devices; freed by the unmap of the last one.
//                           devs_ is changed under Driver::lock_ AND
//                           Session::mutex_, so link events (which hold only
//                           mutex_) may walk it.
//   Device                  one /dev/ibnbdN: gendisk, sysfs dir, ctl/devices
//                           symlink. Owned by its Session's devs_.
//   Cmd                     per-request state in each request's PDU (no
//                           allocation on the IO path): the RNBD message,
//                           the permit, the plan, the inline scatterlist.
//
// IO path (queue_rq, any atomic context): plan (ibnbd/core/clt_policy.h) ->
// permit (NOWAIT; none: BLK_STS_RESOURCE and the session re-runs its queues
// when a permit comes back) -> map_sg into the PDU -> ibtrs_clt_request. The
// transport's conf_fn (softirq or process) either sends the second message
// of a flush-then-write, or puts the permit and completes the request, or
// (transport error during an outage) requeues it.
//
// Outage: link event DISCONNECTED -> every open device goes `closed`; IO is
// held (requeued, re-dispatched every kHoldKickMs) up to the device's
// io_fail_timeout_sec per request, then fails with EIO. RECONNECTED -> the
// remap work re-sends SESS_INFO and OPEN for each device, updates device_id
// and capacity, state `open`, kicks the held requests. Each state change
// emits a KOBJ_OFFLINE / KOBJ_ONLINE uevent on the disk (Device::state_uevent).
#include <kx/kx.h>
#include <kx/blk.h>
#include <kx/sysfs.h>
#include <runtime/runtime.cpp>

#include <ibtrs.h>
#include <ibnbd/core/clt_policy.h>
#include <ibnbd/core/map_options.h>
#include <ibnbd/core/proto.h>

#include "ibnbd_clt.h"

extern "C" int ibnbd_clt_reconnect_delay_sec;
extern "C" int ibnbd_clt_io_fail_timeout_sec;

namespace {

using namespace kx;
using ibnbd::clt::DevState;
using ibnbd::clt::IoAction;
namespace proto = ibnbd::proto;

constexpr u32 kMaxDevices = 64;
constexpr u32 kMaxSegments = 128;  // inline scatterlist entries per request (RTRS_MAX_SEGMENTS)
constexpr u32 kSgBytes = 32;       // sizeof(struct scatterlist) on x86_64, checked at init
constexpr u32 kHoldKickMs = 200;
constexpr u32 kRqTimeoutMs = 120000;  // the transport bounds requests itself (io_timeout_ms)
constexpr u32 kMaxRemapTries = 30;
constexpr u32 kFeaturesOffered = proto::kFeatureWriteZeroes | proto::kFeatureStrictFlush;
constexpr usize kInputMax = 4096;

class Driver;
class Session;
class Device;

// The per-request object in the PDU.
struct Cmd {
  Cmd() = default;
  KX_PINNED(Cmd);

  static void conf(void* priv, int err);

  Device* dev = nullptr;
  kx_request* rq = nullptr;
  ibtrs_permit* permit = nullptr;
  ibnbd::clt::IoPlan plan{};
  bool flush_phase = false;   // the RNBD FLUSH of a flush-then-write is in flight
  u32 sg_cnt = 0;
  u32 data_len = 0;
  u64 first_hold_ns = 0;      // when this request was first held (outage)
  blk::Status status;
  ibtrs_clt_req_ops ops{};
  alignas(8) u8 msg[sizeof(proto::IoWire)] = {};
};

using ClPdu = blk::Pdu<Cmd, kMaxSegments>;

struct Stats {
  Atomic<u64> reads, writes, flushes, preflush_splits, fua, discards, secure_erases,
      write_zeroes, held, failed, no_permit;
};

// A buffer for a control message answer, DMA-able (kmalloc'd), with its
// one-entry scatterlist and the completion the conf callback signals.
struct Rpc {
  Rpc() = default;
  KX_PINNED(Rpc);
  static void conf(void* priv, int err) {
    auto* r = static_cast<Rpc*>(priv);
    r->err = err;
    r->done.complete();
  }
  Completion done{KX_LOCK_CLASS("ibnbd.rpc")};
  int err = 0;
  alignas(8) u8 sg[64] = {};
  alignas(8) u8 rsp[64] = {};
};

bool streq(const char* a, const char* b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

void copy_str(char* dst, usize cap, const ibnbd::Str& s) {
  const usize n = min<usize>(s.len, cap - 1);
  for (usize i = 0; i < n; i++) dst[i] = s.ptr[i];
  dst[n] = 0;
}

const char* mode_name(proto::AccessMode m) {
  switch (m) {
    case proto::AccessMode::kRo: return "ro";
    case proto::AccessMode::kRw: return "rw";
    case proto::AccessMode::kMigration: return "migration";
  }
  return "?";
}

class Device {
 public:
  Device(Session& sess, u32 index) : sess_(sess), index_(index) {}
  ~Device();
  KX_PINNED(Device);

  // Map-time set-up after OPEN answered (process context, Driver::lock_ held).
  Result<void> create(const proto::OpenRsp& rsp);

  blk::Status queue_rq(Cmd& cmd, blk::Request rq, int poll_index);
  void complete(Cmd& cmd, blk::Request rq);
  // From Cmd::conf (any context): the transport answered err.
  void on_conf(Cmd& cmd, int err);

  int bdev_open(bool write);
  void bdev_release();

  long sysfs_show(int id, char* buf);
  long sysfs_store(int id, const char* buf, usize len, sysfs::SelfFile self);

  // Link events / remap (process context, Session::mutex_ held). Each
  // change open -> closed emits KOBJ_OFFLINE, closed -> open KOBJ_ONLINE
  // (state_uevent).
  void set_closed();
  Result<void> reopen();
  void kill_io();  // state unmapped, held requests fail now

  DevState state() const { return static_cast<DevState>(state_.load()); }
  void set_state(DevState s) { state_.store(static_cast<u8>(s)); }
  const char* name() const { return name_; }
  u32 index() const { return index_; }
  Session& sess() { return sess_; }
  bool same_path(const char* p) const { return streq(path_, p); }
  void run_queues() {
    if (disk_) disk_.run_queues(true);
  }

  char path_[proto::kDevNameFieldSize] = {};
  proto::AccessMode mode_ = proto::AccessMode::kRw;
  Atomic<u32> device_id_{0};
  ListNode node;  // on Session::devs_

 private:
  void hold_kick();
  void state_uevent(int action);
  void requeue_held(Cmd& cmd, blk::Request rq);
  void fail(Cmd& cmd, blk::Request rq, blk::Status st);
  int send(Cmd& cmd, const proto::IoReq& io, bool with_data);
  void put_permit(Cmd& cmd);
  Result<void> apply_open_rsp(const proto::OpenRsp& rsp, bool live);

  Session& sess_;
  const u32 index_;
  char name_[16] = {};
  Atomic<u8> state_{static_cast<u8>(DevState::kInit)};
  Atomic<u32> fail_timeout_sec_{0};
  Mutex open_lock_{KX_LOCK_CLASS("ibnbd.dev.open")};
  int openers_ KX_GUARDED_BY(open_lock_) = 0;
  bool unmapping_ KX_GUARDED_BY(open_lock_) = false;
  Stats stats_;
  blk::Disk disk_;
  DelayedWork<Device, &Device::hold_kick> hold_work_{this, KX_LOCK_CLASS("ibnbd.dev.hold")};
  sysfs::Target<Device> target_{this};
  sysfs::KObject dir_;
  char link_name_[proto::kDevNameFieldSize + ibnbd::kNameMax + 2] = {};
  bool linked_ = false;

  friend class Session;
  friend class Driver;
};

class Session {
 public:
  explicit Session(Driver& drv) : drv_(drv) {}
  ~Session();
  KX_PINNED(Session);

  // Opens the transport session, negotiates, creates the tag set.
  Result<void> open(const ibnbd::MapOptions& o, u32 nr_poll_queues);
  // SESS_INFO (process context).
  Result<void> sess_info();
  // OPEN for path/mode (process context).
  Result<proto::OpenRsp> open_dev(const char* path, proto::AccessMode mode);
  // CLOSE (process context); errors only logged.
  void close_dev(u32 device_id);

  static void link_ev(void* priv, ibtrs_clt_link_ev ev);
  void link_work_fn();
  void rerun_work_fn();
  void permit_freed() {
    if (need_rerun_.load_relaxed() && need_rerun_.exchange(false)) rerun_work_.queue();
  }

  const char* name() const { return name_; }
  ibtrs_clt_sess* clt() { return clt_; }
  blk::TagSet& tagset() { return *tagset_; }
  const proto::Session& proto_sess() const { return proto_; }

  char name_[ibnbd::kNameMax] = {};
  // Poll queues (resolved, fixed for the session: the tag set is shared by
  // its devices) and the tag set's hw queue layout.
  u32 nr_poll_queues_ = 0;
  ibnbd::QueueLayout layout_{};
  Atomic<bool> need_rerun_{false};
  ibtrs_attrs attrs_{};
  Mutex mutex_{KX_LOCK_CLASS("ibnbd.sess")};
  List<Device, &Device::node> devs_;  // see the file comment for its locking
  ListNode node;                      // on Driver::sessions_

 private:
  Result<void> rpc(int dir, const void* msg, usize len, Rpc& r, u32 rsp_len);

  Driver& drv_;
  ibtrs_clt_sess* clt_ = nullptr;
  proto::Session proto_{proto::kProtoVerMajor, 0};
  OwnPtr<blk::TagSet> tagset_;
  u32 remap_tries_ KX_GUARDED_BY(mutex_) = 0;
  bool closing_ KX_GUARDED_BY(mutex_) = false;
  Atomic<bool> connected_{true};
  Atomic<bool> fresh_reconnect_{false};  // a RECONNECTED not yet handled by link_work_
  // Applies the last link event: closes the devices, or remaps them (retried
  // every second up to kMaxRemapTries). One work item, so never concurrent
  // with itself; it runs on our workqueue, not in the transport's work that
  // called link_ev (a remap waits for transport answers).
  DelayedWork<Session, &Session::link_work_fn> link_work_{this, KX_LOCK_CLASS("ibnbd.sess.link")};
  Work<Session, &Session::rerun_work_fn> rerun_work_{this, KX_LOCK_CLASS("ibnbd.sess.rerun")};

  friend class Driver;
};

class Driver {
 public:
  explicit Driver(const kx_blk_mq_ops* ops, const kx_blk_fops* fops,
                  const kx_attr_group* const* dev_groups)
      : ops_(ops), fops_(fops), dev_groups_(dev_groups) {}
  static Result<OwnPtr<Driver>> create(const kx_blk_mq_ops* ops, const kx_blk_fops* fops,
                                       const kx_attr_group* const* ctl_groups,
                                       const kx_attr_group* const* dev_groups);
  ~Driver();
  KX_PINNED(Driver);

  long sysfs_show(int id, char* buf);
  long sysfs_store(int id, const char* buf, usize len, sysfs::SelfFile self);
  Result<void> unmap(Device& dev, bool force, sysfs::SelfFile* self);

  const kx_blk_mq_ops* ops_;
  const kx_blk_fops* fops_;
  const kx_attr_group* const* dev_groups_;
  kx_kobject* devices_dir() { return devices_.get(); }
  kx_workqueue* wq() { return wq_.get(); }

 private:
  Result<void> map(const ibnbd::MapOptions& o);
  void destroy_device(Device* dev, bool send_close);
  void put_session_if_unused(Session* s);

  Mutex lock_{KX_LOCK_CLASS("ibnbd.driver")};
  List<Session, &Session::node> sessions_ KX_GUARDED_BY(lock_);
  bool used_[kMaxDevices] KX_GUARDED_BY(lock_) = {};
  bool shutting_down_ KX_GUARDED_BY(lock_) = false;
  WorkQueue wq_;
  sysfs::Target<Driver> target_{this};
  sysfs::Class class_;
  sysfs::Device ctl_;
  sysfs::KObject devices_;
};

constinit Driver* g_driver = nullptr;

// ---- Cmd / IO path -------------------------------------------------------------

void Cmd::conf(void* priv, int err) {
  auto* cmd = static_cast<Cmd*>(priv);
  cmd->dev->on_conf(*cmd, err);
}

ibnbd::clt::BlkReq to_blk_req(const blk::RequestInfo& i) {
  ibnbd::clt::BlkOp op;
  switch (i.op()) {
    case blk::Op::read: op = ibnbd::clt::BlkOp::kRead; break;
    case blk::Op::write: op = ibnbd::clt::BlkOp::kWrite; break;
    case blk::Op::flush: op = ibnbd::clt::BlkOp::kFlush; break;
    case blk::Op::discard: op = ibnbd::clt::BlkOp::kDiscard; break;
    case blk::Op::secure_erase: op = ibnbd::clt::BlkOp::kSecureErase; break;
    case blk::Op::write_zeroes: op = ibnbd::clt::BlkOp::kWriteZeroes; break;
    default: op = ibnbd::clt::BlkOp::kOther; break;
  }
  return {op, i.fua(), i.preflush(), i.sync(), i.nounmap(), i.sector(), i.bytes()};
}

void Device::put_permit(Cmd& cmd) {
  if (!cmd.permit) return;
  ibtrs_clt_put_permit(sess_.clt(), exchange(cmd.permit, nullptr));
  sess_.permit_freed();
}

void Device::fail(Cmd& cmd, blk::Request rq, blk::Status st) {
  put_permit(cmd);
  cmd.first_hold_ns = 0;
  stats_.failed.add_relaxed(1);
  rq.end(st);
}

// The request goes back to blk-mq; hold_work_ re-dispatches it.
void Device::requeue_held(Cmd& cmd, blk::Request rq) {
  put_permit(cmd);
  stats_.held.add_relaxed(1);
  rq.requeue(false);
  hold_work_.queue(kHoldKickMs, g_driver->wq());
}

void Device::hold_kick() {
  if (disk_) disk_.kick_requeue_list();
}

int Device::send(Cmd& cmd, const proto::IoReq& io_in, bool with_data) {
  proto::IoReq io = io_in;
  io.device_id = device_id_.load_relaxed();
  auto n = proto::encode_io(cmd.msg, sizeof(cmd.msg), io, sess_.proto_sess());
  if (n.is_error()) return n.error().code();
  const kvec vec = {cmd.msg, n.value()};
  const int dir = proto::io_transfer_dir(io.op) == proto::TransferDir::kRead ? IBTRS_READ : IBTRS_WRITE;
  return ibtrs_clt_request(dir, &cmd.ops, sess_.clt(), cmd.permit, &vec, 1,
                           with_data ? cmd.data_len : 0,
                           with_data ? reinterpret_cast<scatterlist*>(ClPdu::sgl(&cmd)) : nullptr,
                           with_data ? cmd.sg_cnt : 0);
}

// queue_rq: atomic context, never sleeps, never allocates.
blk::Status Device::queue_rq(Cmd& cmd, blk::Request rq, int poll_index) {
  const blk::RequestInfo info = rq.info();
  const IoAction act = ibnbd::clt::outage_action(state(), 0, kx_ktime_ns(), &cmd.first_hold_ns,
                                                 fail_timeout_sec_.load_relaxed());
  if (act == IoAction::kFail) {
    cmd.first_hold_ns = 0;
    stats_.failed.add_relaxed(1);
    return blk::Status::ioerr();
  }
  if (act == IoAction::kHold) {
    rq.start();
    cmd.dev = this;
    requeue_held(cmd, rq);
    return blk::Status::ok();
  }
  auto plan = ibnbd::clt::plan_io(to_blk_req(info), sess_.proto_sess());
  if (plan.is_error()) {
    kx_err_rl("%s: op %u (%u bytes) refused: %d", name_, static_cast<u32>(info.op()),
              info.bytes(), plan.error().code());
    cmd.first_hold_ns = 0;
    return blk::Status::from_errno(plan.error().code());
  }
  ibtrs_permit* permit = ibtrs_clt_get_permit(sess_.clt(), IBTRS_IO_CON, IBTRS_PERMIT_NOWAIT);
  if (!permit) {
    stats_.no_permit.add_relaxed(1);
    sess_.need_rerun_.store(true);
    // A permit may have come back between the try and the flag: look again.
    permit = ibtrs_clt_get_permit(sess_.clt(), IBTRS_IO_CON, IBTRS_PERMIT_NOWAIT);
    if (!permit) return blk::Status::resource();
  }
  // A HCTX_TYPE_POLL request goes out on (and is reaped from) the poll
  // connection of its hctx; the index is < nr_poll_queues by construction.
  if (poll_index >= 0) (void)ibtrs_clt_permit_set_poll(sess_.clt(), permit, static_cast<u32>(poll_index));
  cmd.dev = this;
  cmd.rq = rq.raw();
  cmd.permit = permit;
  cmd.plan = plan.value();
  cmd.ops = {&cmd, &Cmd::conf};
  cmd.sg_cnt = 0;
  cmd.data_len = 0;
  rq.start();
  if (cmd.plan.carries_data) {
    auto n = rq.map_sg(ClPdu::sgl(&cmd), ClPdu::kSgEntries);
    if (n.is_error()) {
      kx_err_rl("%s: map_sg: %d (%u segments)", name_, n.error().code(), info.nr_phys_segments());
      fail(cmd, rq, blk::Status::ioerr());
      return blk::Status::ok();
    }
    cmd.sg_cnt = n.value();
    cmd.data_len = info.bytes();
  }
  switch (cmd.plan.io.op) {
    case proto::Op::kRead: stats_.reads.add_relaxed(1); break;
    case proto::Op::kWrite: stats_.writes.add_relaxed(1); break;
    case proto::Op::kFlush: stats_.flushes.add_relaxed(1); break;
    case proto::Op::kDiscard: stats_.discards.add_relaxed(1); break;
    case proto::Op::kSecureErase: stats_.secure_erases.add_relaxed(1); break;
    case proto::Op::kWriteZeroes: stats_.write_zeroes.add_relaxed(1); break;
    default: break;
  }
  if (cmd.plan.io.flags & proto::kFlagFua) stats_.fua.add_relaxed(1);
  int err;
  if (cmd.plan.pre_flush) {
    stats_.preflush_splits.add_relaxed(1);
    cmd.flush_phase = true;
    err = send(cmd, ibnbd::clt::flush_io(), false);
  } else {
    cmd.flush_phase = false;
    err = send(cmd, cmd.plan.io, cmd.plan.carries_data);
  }
  if (err) on_conf(cmd, err);  // not sent: the same decision as a failed answer
  return blk::Status::ok();
}

// The transport's answer (or a send that failed): any context.
void Device::on_conf(Cmd& cmd, int err) {
  blk::Request rq(cmd.rq);
  if (err == 0 && cmd.flush_phase) {
    cmd.flush_phase = false;
    err = send(cmd, cmd.plan.io, cmd.plan.carries_data);
    if (err == 0) return;
  }
  if (err) {
    const IoAction act = ibnbd::clt::outage_action(state(), err, kx_ktime_ns(), &cmd.first_hold_ns,
                                                   fail_timeout_sec_.load_relaxed());
    if (act == IoAction::kHold) {
      requeue_held(cmd, rq);
      return;
    }
    kx_err_rl("%s: request (op %u sector %llu, %u bytes) failed: %d", name_,
              static_cast<u32>(cmd.plan.io.op),
              static_cast<unsigned long long>(cmd.plan.io.sector), cmd.plan.io.bi_size, err);
    stats_.failed.add_relaxed(1);
  }
  put_permit(cmd);
  cmd.first_hold_ns = 0;
  // EIO for everything but the codes the block layer understands.
  cmd.status = err == 0 ? blk::Status::ok()
               : err == -EOPNOTSUPP ? blk::Status::not_supported()
                                    : blk::Status::ioerr();
  rq.complete();
}

void Device::complete(Cmd& cmd, blk::Request rq) { rq.end(cmd.status); }

int Device::bdev_open(bool write) {
  MutexGuard g(open_lock_);
  if (unmapping_) return -ENXIO;
  if (write && mode_ == proto::AccessMode::kRo) return -EPERM;
  openers_++;
  return 0;
}

void Device::bdev_release() {
  MutexGuard g(open_lock_);
  openers_--;
}

// ---- Device: set-up, state changes, teardown ---------------------------------

Result<void> Device::apply_open_rsp(const proto::OpenRsp& rsp, bool live) {
  if (rsp.logical_block_size > kPageSize) return Error(-EPROTO);
  device_id_.store(rsp.device_id);
  if (live) {
    if (disk_.capacity() != rsp.nsectors) {
      kx_info("%s: capacity %llu -> %llu sectors", name_,
              static_cast<unsigned long long>(disk_.capacity()),
              static_cast<unsigned long long>(rsp.nsectors));
      disk_.set_capacity_and_notify(rsp.nsectors);
    }
    return ok();
  }
  const ibtrs_attrs& a = sess_.attrs_;
  blk::Limits l;
  l.logical_block_size = rsp.logical_block_size;
  l.physical_block_size = rsp.physical_block_size;
  u32 max_sectors = a.max_io_size >> blk::kSectorShift;
  if (rsp.max_hw_sectors && rsp.max_hw_sectors < max_sectors) max_sectors = rsp.max_hw_sectors;
  l.max_hw_sectors = max_sectors;
  l.io_opt = max_sectors << blk::kSectorShift;
  l.max_segments = static_cast<u16>(min<u32>(min<u32>(a.max_segments, kMaxSegments), 0xffff));
  l.virt_boundary_mask = kPageSize - 1;  // the transport's FR page rule
  l.max_discard_sectors = rsp.max_discard_sectors;
  l.discard_granularity = rsp.discard_granularity;
  l.max_discard_segments = 1;
  l.max_secure_erase_sectors = rsp.max_secure_erase_sectors;
  l.max_write_zeroes_sectors = rsp.max_write_zeroes_sectors;  // 0 unless negotiated
  // Always a volatile cache: then the block layer sends REQ_OP_FLUSH (an
  // RNBD FLUSH, a PREFLUSH on the server) for every preflush, whatever the
  // server's cache_policy says; a flush of a cacheless device is cheap.
  l.write_cache = true;
  l.fua = (rsp.cache_policy & proto::kCacheFua) != 0;
  l.nonrot = true;
  l.rq_timeout_ms = kRqTimeoutMs;
  disk_.apply(l);
  disk_.set_queue_flag(KX_QUEUE_FLAG_SAME_COMP, true);
  disk_.set_capacity(rsp.nsectors);
  if (mode_ == proto::AccessMode::kRo) disk_.set_read_only(true);
  return ok();
}

Result<void> Device::create(const proto::OpenRsp& rsp) {
  kx_scnprintf(name_, sizeof(name_), "ibnbd%u", index_);
  fail_timeout_sec_.store(static_cast<u32>(max(0, ibnbd_clt_io_fail_timeout_sec)));
  disk_ = KX_TRY(blk::Disk::alloc(sess_.tagset(), this, name_, KX_LOCK_CLASS("ibnbd.queue"),
                                  g_driver->fops_));
  KX_TRY(apply_open_rsp(rsp, false));
  set_state(DevState::kOpen);
  KX_TRY(disk_.add());
  dir_ = KX_TRY(sysfs::KObject::create("ibnbd", disk_.kobject(), target_.get(),
                                       g_driver->dev_groups_));
  KX_TRY(ibnbd::clt::devices_link_name(link_name_, sizeof(link_name_), path_,
                                       __builtin_strlen(path_), sess_.name(),
                                       __builtin_strlen(sess_.name())));
  KX_TRY(to_result(kx_sysfs_link_create(g_driver->devices_dir(), disk_.kobject(), link_name_)));
  linked_ = true;
  return ok();
}

void Device::kill_io() {
  set_state(DevState::kUnmapped);
  {
    MutexGuard g(open_lock_);
    unmapping_ = true;
  }
  if (disk_) disk_.kick_requeue_list();
}

// Teardown (process context, no sysfs store of this device running except a
// self-removed one).
Device::~Device() {
  if (linked_) kx_sysfs_link_remove(g_driver->devices_dir(), link_name_);
  dir_.reset();
  set_state(DevState::kUnmapped);
  if (disk_) disk_.kick_requeue_list();
  disk_.del();  // waits for in-flight IO; held requests fail on re-dispatch
  hold_work_.cancel_sync();
  disk_.reset();
}

// The environment of a state uevent: "KEY=value" strings and the
// NULL-terminated pointer array kobject_uevent_env takes (it copies them).
struct UeventEnv {
  char session[sizeof("IBNBD_SESSION=") + ibnbd::kNameMax];
  char device_path[sizeof("IBNBD_DEVICE_PATH=") + proto::kDevNameFieldSize];
  char state[sizeof("IBNBD_STATE=unmapped")];
  char path[sizeof("IBNBD_PATH=") + IBTRS_ADDR_STR_MAX * 2];
  const char* envp[5];
};

// KX_KOBJ_OFFLINE (now `closed`) or KX_KOBJ_ONLINE (`open` again) on the
// gendisk's device kobject (/sys/block/ibnbdN, SUBSYSTEM=block), with
//   IBNBD_SESSION=<sessname> IBNBD_DEVICE_PATH=<mapping_path>
//   IBNBD_STATE=<open|closed>
//   IBNBD_PATH=<src>@<dst>   ONLINE only: the path whose reconnect brought
//                            the session back (ibtrs_clt_reconnected_path);
//                            left out when the transport has none.
// Process context (link_work_ or a remap_device store; allocates GFP_KERNEL),
// the disk added. Best effort: a failure is logged, the state change stands.
void Device::state_uevent(int action) {
  auto env = make_own<UeventEnv>(Gfp::kernel);
  if (env.is_error()) {
    kx_err("%s: no memory for the %s uevent", name_, action == KX_KOBJ_ONLINE ? "online" : "offline");
    return;
  }
  UeventEnv& e = *env.value();
  u32 n = 0;
  kx_scnprintf(e.session, sizeof(e.session), "IBNBD_SESSION=%s", sess_.name());
  e.envp[n++] = e.session;
  kx_scnprintf(e.device_path, sizeof(e.device_path), "IBNBD_DEVICE_PATH=%s", path_);
  e.envp[n++] = e.device_path;
  kx_scnprintf(e.state, sizeof(e.state), "IBNBD_STATE=%s", ibnbd::clt::dev_state_name(state()));
  e.envp[n++] = e.state;
  char p[IBTRS_ADDR_STR_MAX * 2];
  if (action == KX_KOBJ_ONLINE && ibtrs_clt_reconnected_path(sess_.clt(), p, sizeof(p)) == 0) {
    kx_scnprintf(e.path, sizeof(e.path), "IBNBD_PATH=%s", p);
    e.envp[n++] = e.path;
  }
  e.envp[n] = nullptr;
  if (auto r = sysfs::uevent_env(disk_.kobject(), action, e.envp); r.is_error())
    kx_err("%s: %s uevent: %d", name_, action == KX_KOBJ_ONLINE ? "online" : "offline",
           r.error().code());
}

void Device::set_closed() {
  u8 expected = static_cast<u8>(DevState::kOpen);
  if (state_.compare_exchange(expected, static_cast<u8>(DevState::kClosed))) {
    kx_info("%s: closed (no connected path to session %s)", name_, sess_.name());
    state_uevent(KX_KOBJ_OFFLINE);
  }
}

// Re-sends OPEN (session mutex held; SESS_INFO already done).
Result<void> Device::reopen() {
  if (state() != DevState::kClosed) return ok();
  auto rsp = sess_.open_dev(path_, mode_);
  if (rsp.is_error()) {
    kx_err("%s: remap: OPEN %s failed: %d", name_, path_, rsp.error().code());
    return rsp.error();
  }
  KX_TRY(apply_open_rsp(rsp.value(), true));
  u8 expected = static_cast<u8>(DevState::kClosed);
  if (state_.compare_exchange(expected, static_cast<u8>(DevState::kOpen))) {
    kx_info("%s: open again (device_id %u, %llu sectors)", name_, rsp.value().device_id,
            static_cast<unsigned long long>(rsp.value().nsectors));
    disk_.kick_requeue_list();
    disk_.run_queues(true);
    state_uevent(KX_KOBJ_ONLINE);
  }
  return ok();
}

long Device::sysfs_show(int id, char* buf) {
  switch (id) {
    case IBNBD_CLT_ATTR_STATE:
      return kx_sysfs_emit(buf, "%s\n", ibnbd::clt::dev_state_name(state()));
    case IBNBD_CLT_ATTR_SESSION:
      return kx_sysfs_emit(buf, "%s\n", sess_.name());
    case IBNBD_CLT_ATTR_MAPPING_PATH:
      return kx_sysfs_emit(buf, "%s\n", path_);
    case IBNBD_CLT_ATTR_ACCESS_MODE:
      return kx_sysfs_emit(buf, "%s\n", mode_name(mode_));
    case IBNBD_CLT_ATTR_NR_POLL_QUEUES:
      return kx_sysfs_emit(buf, "%u\n", sess_.nr_poll_queues_);
    case IBNBD_CLT_ATTR_IO_FAIL_TIMEOUT:
      return kx_sysfs_emit(buf, "%u\n", fail_timeout_sec_.load());
    case IBNBD_CLT_ATTR_UNMAP_DEVICE:
      return kx_sysfs_emit(buf, "Usage: echo <normal|force> > unmap_device\n");
    case IBNBD_CLT_ATTR_REMAP_DEVICE:
      return kx_sysfs_emit(buf, "Usage: echo 1 > remap_device\n");
    case IBNBD_CLT_ATTR_RESIZE:
      return kx_sysfs_emit(buf, "Usage: echo <sectors> > resize (now %llu)\n",
                           static_cast<unsigned long long>(disk_.capacity()));
    case IBNBD_CLT_ATTR_STATS: {
      auto v = [](const Atomic<u64>& a) { return static_cast<unsigned long long>(a.load()); };
      const Stats& s = stats_;
      return kx_sysfs_emit(buf,
                           "read=%llu write=%llu flush=%llu preflush_split=%llu fua=%llu "
                           "discard=%llu secure_erase=%llu write_zeroes=%llu held=%llu "
                           "failed=%llu no_permit=%llu device_id=%u\n",
                           v(s.reads), v(s.writes), v(s.flushes), v(s.preflush_splits), v(s.fua),
                           v(s.discards), v(s.secure_erases), v(s.write_zeroes), v(s.held),
                           v(s.failed), v(s.no_permit), device_id_.load());
    }
    default:
      return -EIO;
  }
}

// One word of a store, blanks around it removed; false if too long.
bool word(const char* buf, usize len, char* out, usize cap) {
  while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\t')) len--;
  while (len && (*buf == ' ' || *buf == '\t')) buf++, len--;
  if (len >= cap) return false;
  for (usize i = 0; i < len; i++) out[i] = buf[i];
  out[len] = 0;
  return true;
}

long Device::sysfs_store(int id, const char* buf, usize len, sysfs::SelfFile self) {
  char w[32];
  if (!word(buf, len, w, sizeof(w))) {
    kx_err("%s: input longer than %zu bytes", name_, sizeof(w) - 1);
    return -EINVAL;
  }
  switch (id) {
    case IBNBD_CLT_ATTR_UNMAP_DEVICE: {
      bool force;
      if (streq(w, "normal")) {
        force = false;
      } else if (streq(w, "force")) {
        force = true;
      } else {
        kx_err("%s: unmap_device: expected 'normal' or 'force', got '%s'", name_, w);
        return -EINVAL;
      }
      // `this` is destroyed on success.
      return to_errno(g_driver->unmap(*this, force, &self)) ?: static_cast<long>(len);
    }
    case IBNBD_CLT_ATTR_REMAP_DEVICE: {
      if (!streq(w, "1")) {
        kx_err("%s: remap_device: expected 1, got '%s'", name_, w);
        return -EINVAL;
      }
      MutexGuard g(sess_.mutex_);
      if (state() == DevState::kOpen) {
        kx_err("%s: remap_device: already open", name_);
        return -EALREADY;
      }
      if (state() != DevState::kClosed) {
        kx_err("%s: remap_device: device is %s", name_, ibnbd::clt::dev_state_name(state()));
        return -ENODEV;
      }
      auto r = sess_.sess_info();
      if (r.is_error())
        kx_err("%s: remap_device: SESS_INFO failed: %d", name_, r.error().code());
      else
        r = reopen();
      return to_errno(r) ?: static_cast<long>(len);
    }
    case IBNBD_CLT_ATTR_RESIZE: {
      u64 sectors = 0;
      if (kx_kstrtou64(w, 10, &sectors) || sectors == 0) {
        kx_err("%s: resize: '%s' is not a size in sectors", name_, w);
        return -EINVAL;
      }
      if (state() != DevState::kOpen) {
        kx_err("%s: resize: device is not open", name_);
        return -ENOENT;
      }
      disk_.set_capacity_and_notify(sectors);
      kx_info("%s: resized to %llu sectors", name_, static_cast<unsigned long long>(sectors));
      return static_cast<long>(len);
    }
    case IBNBD_CLT_ATTR_IO_FAIL_TIMEOUT: {
      u64 v = 0;
      if (kx_kstrtou64(w, 10, &v) || v > 86400) {
        kx_err("%s: io_fail_timeout_sec: '%s' is not 0..86400", name_, w);
        return -EINVAL;
      }
      fail_timeout_sec_.store(static_cast<u32>(v));
      return static_cast<long>(len);
    }
    default:
      return -EIO;
  }
}

// ---- Session -------------------------------------------------------------------

Result<void> Session::rpc(int dir, const void* msg, usize len, Rpc& r, u32 rsp_len) {
  ibtrs_permit* permit = ibtrs_clt_get_permit(clt_, IBTRS_ADMIN_CON, IBTRS_PERMIT_WAIT);
  if (!permit) return Error(-ENOMEM);
  r.done.reinit();
  r.err = 0;
  if (rsp_len) ibnbd_clt_sg_init_one(r.sg, r.rsp, rsp_len);
  const kvec vec = {const_cast<void*>(msg), len};
  const ibtrs_clt_req_ops ops = {&r, &Rpc::conf};
  int err = ibtrs_clt_request(dir, &ops, clt_, permit, &vec, 1, rsp_len,
                              rsp_len ? reinterpret_cast<scatterlist*>(r.sg) : nullptr,
                              rsp_len ? 1 : 0);
  if (!err) {
    r.done.wait();  // the transport answers every accepted request (io_timeout_ms)
    err = r.err;
  }
  ibtrs_clt_put_permit(clt_, permit);
  permit_freed();
  return to_result(err);
}

Result<void> Session::sess_info() {
  auto r = KX_TRY(make_own<Rpc>(Gfp::kernel));
  u8 msg[sizeof(proto::SessInfoWire)];
  const usize n = KX_TRY(proto::encode_sess_info(msg, sizeof(msg), kFeaturesOffered));
  // Callers log failures (one line per failed map or remap).
  KX_TRY(rpc(IBTRS_READ, msg, n, *r, sizeof(proto::SessInfoRspWire)));
  auto info = proto::decode_sess_info_rsp(r->rsp, sizeof(proto::SessInfoRspWire), kFeaturesOffered);
  if (info.is_error()) return info.error();
  proto_ = {info.value().version, info.value().features};
  return ok();
}

Result<proto::OpenRsp> Session::open_dev(const char* path, proto::AccessMode mode) {
  auto r = KX_TRY(make_own<Rpc>(Gfp::kernel));
  auto msg = KX_TRY(OwnArray<u8>::create(sizeof(proto::OpenWire), Gfp::kernel));
  const usize n = KX_TRY(
      proto::encode_open(msg.data(), msg.size(), mode, path, __builtin_strlen(path)));
  KX_TRY(rpc(IBTRS_READ, msg.data(), n, *r, sizeof(proto::OpenRspWire)));
  return proto::decode_open_rsp(r->rsp, sizeof(proto::OpenRspWire), proto_.features);
}

void Session::close_dev(u32 device_id) {
  auto r = make_own<Rpc>(Gfp::kernel);
  if (r.is_error()) return;
  u8 msg[sizeof(proto::CloseWire)];
  auto n = proto::encode_close(msg, sizeof(msg), device_id);
  if (n.is_error()) return;
  auto res = rpc(IBTRS_WRITE, msg, n.value(), *r.value(), 0);
  if (res.is_error())
    kx_info("session %s: CLOSE of device_id %u: %d", name_, device_id, res.error().code());
}

Result<void> Session::open(const ibnbd::MapOptions& o, u32 nr_poll_queues) {
  copy_str(name_, sizeof(name_), o.sessname);
  nr_poll_queues_ = nr_poll_queues;
  layout_ = ibnbd::queue_layout(static_cast<u32>(max(1, kx_num_online_cpus())), nr_poll_queues);
  // "ip:" / "gid:" + text, NUL-terminated, per endpoint.
  struct AddrBuf {
    char src[IBTRS_ADDR_STR_MAX];
    char dst[IBTRS_ADDR_STR_MAX];
  };
  auto bufs = KX_TRY(OwnArray<AddrBuf>::create(o.nr_paths, Gfp::kernel));
  auto addrs = KX_TRY(OwnArray<ibtrs_addr>::create(o.nr_paths, Gfp::kernel));
  auto fmt = [](char* out, const ibnbd::AddrText& a) {
    kx_scnprintf(out, IBTRS_ADDR_STR_MAX, "%s%.*s", a.kind == ibnbd::AddrKind::kIp ? "ip:" : "gid:",
                 static_cast<int>(a.text.len), a.text.ptr);
  };
  for (u32 i = 0; i < o.nr_paths; i++) {
    bufs[i].src[0] = 0;
    if (o.paths[i].has_src) fmt(bufs[i].src, o.paths[i].src);
    fmt(bufs[i].dst, o.paths[i].dst);
    addrs[i] = {bufs[i].src, bufs[i].dst};
  }
  const ibtrs_clt_ops ops = {this, &Session::link_ev};
  const int delay = min(255, max(1, ibnbd_clt_reconnect_delay_sec));
  ibtrs_clt_sess* s = ibtrs_clt_open(&ops, name_, addrs.data(), o.nr_paths, o.dest_port, 8,
                                     static_cast<u8>(delay),
                                     static_cast<i16>(o.max_reconnect_attempts), nr_poll_queues_);
  const long perr = static_cast<long>(reinterpret_cast<unsigned long>(s));
  if (!s || (perr < 0 && perr >= -4095))  // ERR_PTR(-errno); the caller logs
    return Error(s ? static_cast<int>(perr) : -EINVAL);
  clt_ = s;
  KX_TRY(to_result(ibtrs_clt_query(clt_, &attrs_)));
  KX_TRY(sess_info());
  blk::TagSetConfig cfg;
  cfg.nr_hw_queues = layout_.nr_hw_queues;
  cfg.nr_maps = layout_.nr_maps;
  cfg.queue_depth = attrs_.queue_depth;
  cfg.pdu_size = ClPdu::kSize;
  cfg.flags = KX_BLK_MQ_F_SHOULD_MERGE | KX_BLK_MQ_F_TAG_QUEUE_SHARED;
  cfg.timeout_ms = kRqTimeoutMs;
  tagset_ = KX_TRY(blk::TagSet::create(g_driver->ops_, this, cfg));
  kx_info("session %s: connected, RNBD version %u, features 0x%x, queue_depth %u, max_io %u, "
          "%u/%u io/poll queues",
          name_, proto_.version, proto_.features, attrs_.queue_depth, attrs_.max_io_size,
          layout_.io_queues, layout_.poll_queues);
  return ok();
}

// Teardown: every device gone; stops link events first.
Session::~Session() {
  KX_ASSERT(devs_.empty());
  {
    MutexGuard g(mutex_);
    closing_ = true;  // a link work from now on does nothing
  }
  link_work_.cancel_sync();
  if (clt_) ibtrs_clt_close(exchange(clt_, nullptr));  // no link event after this
  link_work_.cancel_sync();
  rerun_work_.cancel_sync();
  tagset_.reset();
}

// Process context (the transport's work): record and hand over to link_work_.
void Session::link_ev(void* priv, ibtrs_clt_link_ev ev) {
  auto* s = static_cast<Session*>(priv);
  const bool up = ev == IBTRS_CLT_LINK_EV_RECONNECTED;
  kx_info("session %s: %s", s->name_, up ? "reconnected, remapping" : "disconnected");
  if (up) s->fresh_reconnect_.store(true);
  s->connected_.store(up);
  s->link_work_.modify(0, g_driver->wq());
}

void Session::link_work_fn() {
  MutexGuard g(mutex_);
  if (closing_) return;
  if (!connected_.load()) {
    remap_tries_ = 0;
    for (Device& d : devs_) d.set_closed();
    return;
  }
  // RECONNECTED always follows a moment with no path at all, so the server
  // side is a new session that knows none of our device ids, even if the
  // DISCONNECTED work never got to run in between: reopen every device.
  if (fresh_reconnect_.exchange(false))
    for (Device& d : devs_) d.set_closed();
  bool again = false;
  if (auto r = sess_info(); r.is_error()) {
    kx_err("session %s: remap: SESS_INFO failed: %d", name_, r.error().code());
    again = true;
  } else {
    for (Device& d : devs_)
      if (d.reopen().is_error()) again = true;
  }
  if (!again) {
    remap_tries_ = 0;
  } else if (++remap_tries_ < kMaxRemapTries) {
    link_work_.queue(1000, g_driver->wq());
  } else {
    kx_err("session %s: remap failed %u times; use remap_device", name_, remap_tries_);
    remap_tries_ = 0;
  }
}

void Session::rerun_work_fn() {
  MutexGuard g(mutex_);
  for (Device& d : devs_) d.run_queues();
}

// ---- Driver --------------------------------------------------------------------

Result<OwnPtr<Driver>> Driver::create(const kx_blk_mq_ops* ops, const kx_blk_fops* fops,
                                      const kx_attr_group* const* ctl_groups,
                                      const kx_attr_group* const* dev_groups) {
  if (ibnbd_clt_sizeof_sg() != kSgBytes) {
    kx_err("struct scatterlist is %u bytes, the PDU layout assumes %u", ibnbd_clt_sizeof_sg(),
           kSgBytes);
    return Error(-EINVAL);
  }
  auto drv = KX_TRY(make_own<Driver>(Gfp::kernel, ops, fops, dev_groups));
  drv->wq_ = KX_TRY(WorkQueue::create("ibnbd_clt", false));
  drv->class_ = KX_TRY(sysfs::Class::create("ibnbd-client", KX_LOCK_CLASS("ibnbd.class")));
  drv->ctl_ = KX_TRY(sysfs::Device::create(drv->class_, drv->target_.get(), ctl_groups, "ctl"));
  drv->devices_ = KX_TRY(sysfs::KObject::create_dir("devices", drv->ctl_.kobject()));
  return drv;
}

Driver::~Driver() {
  {
    MutexGuard g(lock_);
    shutting_down_ = true;
    while (Session* s = sessions_.front()) {
      while (Device* d = s->devs_.front()) destroy_device(d, true);
      put_session_if_unused(s);
    }
  }
  devices_.reset();
  ctl_.reset();
  class_.reset();
  wq_.reset();
}

// lock_ held. Removes dev from its session and destroys it.
void Driver::destroy_device(Device* dev, bool send_close) {
  Session& s = dev->sess();
  const bool was_open = dev->state() == DevState::kOpen;
  const u32 id = dev->device_id_.load();
  const u32 index = dev->index();
  kx_info("%s: unmapping %s@%s", dev->name(), dev->path_, s.name());
  dev->kill_io();
  {
    MutexGuard g(s.mutex_);
    s.devs_.remove(*dev);
  }
  destroy(dev);
  if (send_close && was_open) s.close_dev(id);
  used_[index] = false;
}

void Driver::put_session_if_unused(Session* s) {
  if (!s->devs_.empty()) return;
  sessions_.remove(*s);
  kx_info("session %s: closing", s->name());
  destroy(s);
}

Result<void> Driver::unmap(Device& dev, bool force, sysfs::SelfFile* self) {
  MutexGuard g(lock_);
  if (shutting_down_) return Error(-ENODEV);
  {
    MutexGuard og(dev.open_lock_);
    if (dev.unmapping_) return Error(-ENODEV);
    if (!force && dev.openers_ > 0) {
      kx_err("%s: unmap_device normal: device is open (%d openers); use force", dev.name(),
             dev.openers_);
      return Error(-EBUSY);
    }
    dev.unmapping_ = true;
  }
  if (self) (void)self->remove();
  Session* s = &dev.sess();
  destroy_device(&dev, true);
  put_session_if_unused(s);
  return ok();
}

Result<void> Driver::map(const ibnbd::MapOptions& o) {
  MutexGuard g(lock_);
  if (shutting_down_) return Error(-ENODEV);
  char sessname[ibnbd::kNameMax];
  char path[proto::kDevNameFieldSize];
  copy_str(sessname, sizeof(sessname), o.sessname);
  copy_str(path, sizeof(path), o.device_path);
  ibnbd::MapDiag pdiag;
  const u32 cpus = static_cast<u32>(max(1, kx_num_online_cpus()));
  auto npoll = ibnbd::resolve_poll_queues(o.nr_poll_queues, cpus, &pdiag);
  if (npoll.is_error()) {
    kx_err("map_device: nr_poll_queues=%d: %s (%u)", o.nr_poll_queues, pdiag.what, cpus);
    return npoll.error();
  }
  Session* sess = nullptr;
  for (Session& s : sessions_) {
    if (!streq(s.name(), sessname)) continue;
    sess = &s;
    // One tag set per session: its poll queues cannot differ per device.
    if (s.nr_poll_queues_ != npoll.value()) {
      kx_err("map_device: session %s has %u poll queues, not %u (nr_poll_queues=%d)", sessname,
             s.nr_poll_queues_, npoll.value(), o.nr_poll_queues);
      return Error(-EINVAL);
    }
    for (Device& d : s.devs_) {
      if (d.same_path(path)) {
        kx_err("map_device: %s@%s is already mapped as %s", path, sessname, d.name());
        return Error(-EEXIST);
      }
    }
  }
  u32 index = kMaxDevices;
  for (u32 i = 0; i < kMaxDevices; i++) {
    if (!used_[i]) {
      index = i;
      break;
    }
  }
  if (index == kMaxDevices) {
    kx_err("map_device: all %u devices are in use", kMaxDevices);
    return Error(-ENOSPC);
  }
  if (!sess) {
    if (o.nr_paths == 0) {
      kx_err("map_device: session %s does not exist and no path= was given", sessname);
      return Error(-ENXIO);
    }
    auto ns = make_own<Session>(Gfp::kernel, *this);
    if (ns.is_error()) return ns.error();
    auto r = ns.value()->open(o, npoll.value());
    if (r.is_error()) {
      kx_err("map_device: session %s: cannot connect or negotiate (SESS_INFO): %d", sessname,
             r.error().code());
      return r.error();  // ~Session closes what was opened
    }
    sess = ns.value().leak();
    sessions_.push_back(*sess);
  }
  auto rsp = sess->open_dev(path, o.access_mode);
  if (rsp.is_error()) {
    kx_err("map_device: server refused to open %s on session %s: %d", path, sessname,
           rsp.error().code());
    put_session_if_unused(sess);
    return rsp.error();
  }
  auto dev = make_own<Device>(Gfp::kernel, *sess, index);
  Result<void> r = dev.is_error() ? Result<void>(dev.error()) : ok();
  if (r.is_ok()) {
    __builtin_memcpy(dev.value()->path_, path, sizeof(path));
    dev.value()->mode_ = o.access_mode;
    r = dev.value()->create(rsp.value());
  }
  if (r.is_error()) {
    kx_err("map_device: %s@%s: cannot create the device: %d", path, sessname, r.error().code());
    if (dev.is_ok()) dev.value().reset();
    sess->close_dev(rsp.value().device_id);
    put_session_if_unused(sess);
    return r.error();
  }
  Device* d = dev.value().leak();
  used_[index] = true;
  {
    MutexGuard sg(sess->mutex_);
    sess->devs_.push_back(*d);
  }
  kx_info("%s: mapped %s@%s (%s, device_id %u, %llu sectors)", d->name(), path, sessname,
          mode_name(o.access_mode), rsp.value().device_id,
          static_cast<unsigned long long>(rsp.value().nsectors));
  return ok();
}

long Driver::sysfs_show(int id, char* buf) {
  if (id != IBNBD_CLT_ATTR_MAP_DEVICE) return -EIO;
  return kx_sysfs_emit(
      buf,
      "Usage: echo \"sessname=<name> path=[<src>@]<dst> [path=...] device_path=<path on server> "
      "[access_mode=ro|rw|migration] [dest_port=<port>] [nr_poll_queues=<n>] "
      "[max_reconnect_attempts=<n>]\" > map_device\n"
      "addr: ip:<IPv4> | ip:<IPv6>[%%scope] | gid:<GID>\n");
}

long Driver::sysfs_store(int id, const char* buf, usize len, sysfs::SelfFile) {
  if (id != IBNBD_CLT_ATTR_MAP_DEVICE) return -EIO;
  if (len > kInputMax) {
    kx_err("map_device: input longer than %zu bytes", kInputMax);
    return -E2BIG;
  }
  auto o = make_own<ibnbd::MapOptions>(Gfp::kernel);
  if (o.is_error()) return -ENOMEM;
  ibnbd::MapDiag diag;
  auto r = ibnbd::parse_map_options(buf, len, o.value().get(), &diag);
  if (r.is_error()) {
    if (diag.token.len)
      kx_err("map_device: %s: '%.*s'", diag.what, static_cast<int>(diag.token.len),
             diag.token.ptr);
    else
      kx_err("map_device: %s", diag.what ? diag.what : "invalid input");
    return r.error().code();
  }
  return to_errno(map(*o.value())) ?: static_cast<long>(len);
}

}  // namespace

// ---- entry points from ibnbd_clt_main.c ----------------------------------------

extern "C" int ibnbd_clt_init(const kx_blk_mq_ops* ops, const kx_blk_fops* fops,
                              const kx_attr_group* const* ctl_groups,
                              const kx_attr_group* const* dev_groups) noexcept {
  auto drv = Driver::create(ops, fops, ctl_groups, dev_groups);
  if (drv.is_error()) {
    kx_err("init: error %d", drv.error().code());
    return drv.error().code();
  }
  g_driver = drv.value().leak();
  return 0;
}

// g_driver stays valid during the teardown: devices use it (devices_dir, wq).
extern "C" void ibnbd_clt_exit(void) noexcept {
  destroy(g_driver);
  g_driver = nullptr;
}

extern "C" kx_u8 ibnbd_clt_queue_rq(void* disk, kx_blk_hctx*, kx_request* rq, void* pdu, int,
                                    int poll_index) noexcept {
  return static_cast<Device*>(disk)->queue_rq(*ClPdu::cmd(pdu), blk::Request(rq), poll_index).raw();
}

extern "C" void ibnbd_clt_queue_layout(void* driver, kx_u32* io_queues, kx_u32* poll_queues) noexcept {
  const auto* s = static_cast<Session*>(driver);
  *io_queues = s->layout_.io_queues;
  *poll_queues = s->layout_.poll_queues;
}

// blk-mq's poll of a HCTX_TYPE_POLL hctx (process context, the submitter
// spinning for its polled IO); the session outlives its disks' queues.
extern "C" int ibnbd_clt_poll(void* driver, kx_u32 index) noexcept {
  auto* s = static_cast<Session*>(driver);
  return s->clt() ? ibtrs_clt_rdma_cq_direct(s->clt(), index) : 0;
}

extern "C" void ibnbd_clt_complete(void* disk, kx_request* rq, void* pdu) noexcept {
  static_cast<Device*>(disk)->complete(*ClPdu::cmd(pdu), blk::Request(rq));
}

// The transport bounds every request (io_timeout_ms -> path error -> the
// request completes with -ETIMEDOUT/-ECONNABORTED); keep waiting for that.
extern "C" int ibnbd_clt_timeout(void* disk, kx_request* rq, void*) noexcept {
  kx_err_rl("%s: request tag %u still waiting for the transport",
            static_cast<Device*>(disk)->name(), blk::Request(rq).info().tag());
  return static_cast<int>(blk::TimeoutAction::reset_timer);
}

extern "C" int ibnbd_clt_init_request(void*, kx_request* rq, void* pdu) noexcept {
  ClPdu::construct(pdu)->rq = rq;
  return 0;
}

extern "C" void ibnbd_clt_exit_request(void*, void* pdu) noexcept { ClPdu::destroy(pdu); }

extern "C" int ibnbd_clt_bdev_open(void* disk, int write) noexcept {
  return static_cast<Device*>(disk)->bdev_open(write != 0);
}

extern "C" void ibnbd_clt_bdev_release(void* disk) noexcept {
  static_cast<Device*>(disk)->bdev_release();
}
