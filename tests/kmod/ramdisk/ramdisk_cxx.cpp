// SPDX-License-Identifier: GPL-2.0
// The C++ half of kcxx_ramdisk (see ramdisk_main.c). One translation unit:
// the runtime definitions are included here, once.
//
// Objects and ownership:
//   Driver (one, g_driver)  owns the workqueue, the tag set shared by every
//                           disk, the sysfs class, the ctl device and its
//                           "devices" directory, and the disks on disks_.
//   RamDisk                 one /dev/kxrdN: its pages, its gendisk, its
//                           sysfs directory (/sys/block/kxrdN/kcxx) and the
//                           ctl/devices/kxrdN symlink. Owned by Driver::disks_
//                           (intrusive); destroyed by Driver::destroy_disk.
//   Cmd                     the per-request object in each request's PDU,
//                           placement-constructed in init_request.
//
// IO: queue_rq copies the data (all of it, so nothing after queue_rq touches
// the pages) and then completes the request along one of five paths, in
// rotation so that every run exercises each: end() inline, complete() from
// queue_rq (the .complete op runs inline or in softirq), complete() from a
// work item (process context, other CPU -> IPI + softirq, QUEUE_FLAG_SAME_FORCE),
// complete() from a timer (softirq), or requeue() from a work item (then
// served on the re-dispatch). Data goes through blk_rq_map_sg into the
// PDU's inline scatterlist for half the requests and through the bio
// segment iterator for the other half.
#include <kx/kx.h>
#include <kx/blk.h>
#include <kx/sysfs.h>
#include <runtime/runtime.cpp>

#include "ramdisk.h"

namespace {

using namespace kx;

constexpr u32 kMaxDisks = 16;
constexpr u64 kMaxSizeMb = 1024;
constexpr u32 kMaxSegments = 32;         // queue limit = inline scatterlist entries per request
constexpr u32 kMaxHwSectors = 256;       // 128 KiB per request
constexpr u32 kQueueDepth = 64;          // per hw queue, shared by all disks
constexpr u32 kDiscardSectors = 8192;    // 4 MiB per discard / write-zeroes / secure erase
constexpr usize kMaxInput = 128;         // longest accepted sysfs write
constexpr u64 kMiB = 1ull << 20;

class Driver;
class RamDisk;

enum class Path : u8 { end_inline, complete_inline, complete_work, complete_timer, requeue };

// Rotation of completion paths (index: sequence number % 8).
constexpr Path kPaths[8] = {Path::end_inline,     Path::complete_work,  Path::complete_inline,
                            Path::complete_timer, Path::end_inline,     Path::complete_work,
                            Path::requeue,        Path::end_inline};

// The per-request object in the PDU (RdPdu). Lives as long as the tag set's
// request; between queue_rq and end() it belongs to that request.
struct Cmd {
  Cmd(Driver* driver, kx_request* rq) : driver(driver), rq(rq) {}
  KX_PINNED(Cmd);

  void work_fn();   // process context
  void timer_fn();  // softirq

  Driver* const driver;
  kx_request* const rq;
  blk::Status status;   // written in queue_rq, read by the .complete op
  Path path = Path::end_inline;
  int completer_cpu = -1;  // where complete() was called from (work path)
  bool requeued = false;  // took the requeue path; served on the re-dispatch
  Work<Cmd, &Cmd::work_fn> work{this, KX_LOCK_CLASS("kxrd.cmd.work")};
  Timer<Cmd, &Cmd::timer_fn> timer{this, KX_LOCK_CLASS("kxrd.cmd.timer")};
};

using RdPdu = blk::Pdu<Cmd, kMaxSegments>;

struct Counters {
  Atomic<u64> end_inline, complete_inline, complete_work, complete_timer, requeue;
  Atomic<u64> redirected;  // .complete ran on another CPU than complete()'s caller (IPI)
  Atomic<u64> via_sg, via_segments;
  Atomic<u64> reads, writes, flushes, fua, discards, write_zeroes, secure_erases, errors;
};

// A store's input, copied NUL-terminated with surrounding whitespace removed.
class Input {
 public:
  // false if it does not fit (kMaxInput - 1 characters).
  bool assign(const char* buf, usize len) {
    while (len && is_space(buf[len - 1])) len--;
    while (len && is_space(*buf)) buf++, len--;
    if (len >= kMaxInput) return false;
    for (usize i = 0; i < len; i++) text_[i] = buf[i];
    text_[len] = 0;
    return true;
  }
  char* text() { return text_; }
  bool empty() const { return !text_[0]; }
  static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n'; }

 private:
  char text_[kMaxInput] = {};
};

class RamDisk {
 public:
  static Result<OwnPtr<RamDisk>> create(Driver& drv, u32 id, u64 size_mb);
  RamDisk(Driver& drv, u32 id) : drv_(drv), id_(id) {}
  ~RamDisk();
  KX_PINNED(RamDisk);

  u32 id() const { return id_; }
  const char* name() const { return name_; }

  // blk_mq_ops entries.
  blk::Status queue_rq(Cmd& cmd, blk::Request rq);
  void served(Cmd& cmd, blk::Request rq);  // the .complete op

  // sysfs (process context).
  long sysfs_show(int id, char* buf);
  long sysfs_store(int id, const char* buf, usize len, sysfs::SelfFile self);

  ListNode node;  // on Driver::disks_, under Driver::lock_

 private:
  blk::Status serve(Cmd& cmd, const blk::RequestInfo& info, blk::Request rq, u32 seq);
  static int other_cpu();
  void copy(u64 off, void* buf, u32 len, bool to_disk);
  void zero(u64 off, u64 len);
  Result<void> alloc_pages(u64 size_mb);
  Result<void> resize(u64 new_mb);
  Result<void> set_paused(bool paused);
  static void free_pages(OwnArray<void*>& pages, usize from);

  Driver& drv_;
  const u32 id_;
  char name_[16] = {};
  Atomic<u32> seq_{0};
  Counters stats_;
  // Serialises resize and pause; protects paused_ (and size_bytes_ changes).
  Mutex state_lock_{KX_LOCK_CLASS("kxrd.disk.state")};
  bool paused_ KX_GUARDED_BY(state_lock_) = false;
  // Read by queue_rq; replaced only with the queue frozen (resize).
  OwnArray<void*> pages_;
  u64 size_bytes_ = 0;
  blk::Disk disk_;
  sysfs::Target<RamDisk> target_{this};
  sysfs::KObject dir_;   // /sys/block/kxrdN/kcxx
  sysfs::Link link_;     // ctl/devices/kxrdN -> /sys/block/kxrdN
};

class Driver {
 public:
  static Result<OwnPtr<Driver>> create(const kx_blk_mq_ops* ops,
                                       const kx_attr_group* const* ctl_groups,
                                       const kx_attr_group* const* disk_groups);
  explicit Driver(const kx_attr_group* const* disk_groups) : disk_groups_(disk_groups) {}
  ~Driver();
  KX_PINNED(Driver);

  blk::TagSet& tagset() { return *tagset_; }
  kx_workqueue* wq() { return wq_.get(); }
  kx_kobject* devices_dir() { return devices_.get(); }
  const kx_attr_group* const* disk_groups() { return disk_groups_; }

  // ctl/create (process context).
  long sysfs_store(int id, const char* buf, usize len, sysfs::SelfFile self);
  // From a disk's own "remove" store.
  Result<void> remove_disk(RamDisk& disk, sysfs::SelfFile self);

 private:
  Result<void> create_disk(u64 size_mb);
  void destroy_disk(RamDisk* disk);

  Mutex lock_{KX_LOCK_CLASS("kxrd.driver")};
  List<RamDisk, &RamDisk::node> disks_ KX_GUARDED_BY(lock_);
  u32 used_ids_ KX_GUARDED_BY(lock_) = 0;  // bit i: kxrd<i> exists or is being made/removed
  bool shutting_down_ KX_GUARDED_BY(lock_) = false;

  const kx_attr_group* const* disk_groups_;
  WorkQueue wq_;
  OwnPtr<blk::TagSet> tagset_;
  sysfs::Target<Driver> target_{this};
  sysfs::Class class_;
  sysfs::Device ctl_;
  sysfs::KObject devices_;  // ctl/devices
};

constinit Driver* g_driver = nullptr;

// ---- Cmd -----------------------------------------------------------------------

void Cmd::work_fn() {
  blk::Request rq(this->rq);
  if (path == Path::requeue) {
    // Back to blk-mq; queue_rq sees requeued and serves it then.
    rq.requeue(true);
    return;
  }
  completer_cpu = kx_cpu_current();
  rq.complete();
}

void Cmd::timer_fn() { blk::Request(rq).complete(); }

// ---- RamDisk -------------------------------------------------------------------

Result<OwnPtr<RamDisk>> RamDisk::create(Driver& drv, u32 id, u64 size_mb) {
  auto d = KX_TRY(make_own<RamDisk>(Gfp::kernel, drv, id));
  kx_scnprintf(d->name_, sizeof(d->name_), "kxrd%u", id);
  KX_TRY(d->alloc_pages(size_mb));

  d->disk_ = KX_TRY(blk::Disk::alloc(drv.tagset(), d.get(), d->name_, KX_LOCK_CLASS("kxrd.queue")));
  blk::Limits limits;
  limits.logical_block_size = 512;
  limits.physical_block_size = 4096;
  limits.io_min = 4096;
  limits.max_hw_sectors = kMaxHwSectors;
  limits.max_segments = kMaxSegments;
  limits.virt_boundary_mask = 4095;  // as an RDMA device with SG_GAPS limits would set
  limits.max_discard_sectors = kDiscardSectors;
  limits.discard_granularity = 4096;
  limits.max_secure_erase_sectors = kDiscardSectors;
  limits.max_write_zeroes_sectors = kDiscardSectors;
  limits.write_cache = true;
  limits.fua = true;
  limits.nonrot = true;
  d->disk_.apply(limits);
  // Complete on the submitting CPU even from the other CPU's work item: the
  // completion then goes through an IPI and BLOCK_SOFTIRQ (as RNBD sets it).
  d->disk_.set_queue_flag(KX_QUEUE_FLAG_SAME_FORCE, true);
  d->disk_.set_capacity(d->size_bytes_ >> blk::kSectorShift);
  KX_TRY(d->disk_.add());

  d->dir_ = KX_TRY(sysfs::KObject::create("kcxx", d->disk_.kobject(), d->target_.get(),
                                          drv.disk_groups()));
  d->link_ = KX_TRY(sysfs::Link::create(drv.devices_dir(), d->disk_.kobject(), d->name_));
  return d;
}

// Teardown in dependency order; also the unwinding of a failed create().
RamDisk::~RamDisk() {
  link_.reset();
  dir_.reset();  // waits for running show/store (not for a self-removed one)
  {
    MutexGuard g(state_lock_);
    // del_gendisk freezes the queue, which never drains while quiesced.
    if (exchange(paused_, false)) disk_.unquiesce();
  }
  disk_.reset();  // del_gendisk (drains IO) + put_disk
  free_pages(pages_, 0);
}

void RamDisk::free_pages(OwnArray<void*>& pages, usize from) {
  for (usize i = from; i < pages.size(); i++) kx::free_pages(exchange(pages[i], nullptr), 0);
}

Result<void> RamDisk::alloc_pages(u64 size_mb) {
  const usize n = size_mb * kMiB / kPageSize;
  pages_ = KX_TRY(OwnArray<void*>::create(n, Gfp::kernel));
  for (usize i = 0; i < n; i++) {
    pages_[i] = kx::alloc_pages(0, Gfp::kernel | kGfpZero);
    if (!pages_[i]) return Error(-ENOMEM);  // the destructor frees what was allocated
  }
  size_bytes_ = size_mb * kMiB;
  return ok();
}

void RamDisk::copy(u64 off, void* buf, u32 len, bool to_disk) {
  auto* p = static_cast<unsigned char*>(buf);
  while (len) {
    const u32 in_page = static_cast<u32>(off & (kPageSize - 1));
    const u32 n = min<u32>(len, static_cast<u32>(kPageSize) - in_page);
    auto* page = static_cast<unsigned char*>(pages_[off >> kPageShift]) + in_page;
    if (to_disk)
      __builtin_memcpy(page, p, n);
    else
      __builtin_memcpy(p, page, n);
    off += n;
    p += n;
    len -= n;
  }
}

void RamDisk::zero(u64 off, u64 len) {
  while (len) {
    const u32 in_page = static_cast<u32>(off & (kPageSize - 1));
    const u32 n = static_cast<u32>(min<u64>(len, kPageSize - in_page));
    __builtin_memset(static_cast<unsigned char*>(pages_[off >> kPageShift]) + in_page, 0, n);
    off += n;
    len -= n;
  }
}

// queue_rq context: must not sleep (the tag set is not BLOCKING).
blk::Status RamDisk::queue_rq(Cmd& cmd, blk::Request rq) {
  const u32 seq = seq_.fetch_add(1);
  const Path path = cmd.requeued ? Path::end_inline : kPaths[seq % 8];
  rq.start();
  if (path == Path::requeue) {
    cmd.requeued = true;
    cmd.path = Path::requeue;
    stats_.requeue.add_relaxed(1);
    cmd.work.queue(cmd.driver->wq());
    return blk::Status::ok();
  }
  cmd.requeued = false;
  cmd.path = path;
  cmd.status = serve(cmd, rq.info(), rq, seq);
  switch (path) {
    case Path::end_inline:
      stats_.end_inline.add_relaxed(1);
      rq.end(cmd.status);
      break;
    case Path::complete_inline:
      stats_.complete_inline.add_relaxed(1);
      rq.complete();
      break;
    case Path::complete_work:
      stats_.complete_work.add_relaxed(1);
      // On another CPU, so that blk-mq sends the completion back to the
      // submitting CPU (QUEUE_FLAG_SAME_FORCE): IPI, then BLOCK_SOFTIRQ.
      cmd.work.queue_on(other_cpu(), cmd.driver->wq());
      break;
    case Path::complete_timer:
      stats_.complete_timer.add_relaxed(1);
      cmd.timer.arm(0);
      break;
    case Path::requeue:
      break;
  }
  // The request is no longer ours: it may already have ended.
  return blk::Status::ok();
}

blk::Status RamDisk::serve(Cmd& cmd, const blk::RequestInfo& info, blk::Request rq, u32 seq) {
  const u64 off = info.offset();
  if (info.op() != blk::Op::flush && (off > size_bytes_ || info.bytes() > size_bytes_ - off)) {
    stats_.errors.add_relaxed(1);
    kx_err_rl("%s: request beyond the end: sector %llu + %u bytes, size %llu bytes", name_,
              static_cast<unsigned long long>(info.sector()), info.bytes(),
              static_cast<unsigned long long>(size_bytes_));
    return blk::Status::ioerr();
  }
  if (info.fua()) stats_.fua.add_relaxed(1);
  switch (info.op()) {
    case blk::Op::flush:
      stats_.flushes.add_relaxed(1);  // RAM: nothing volatile to flush
      return blk::Status::ok();
    case blk::Op::read:
    case blk::Op::write: {
      const bool to_disk = info.op() == blk::Op::write;
      (to_disk ? stats_.writes : stats_.reads).add_relaxed(1);
      u64 pos = off;
      if ((seq >> 3) & 1) {
        stats_.via_sg.add_relaxed(1);
        auto n = rq.map_sg(RdPdu::sgl(&cmd), RdPdu::kSgEntries);
        if (n.is_error()) {
          stats_.errors.add_relaxed(1);
          kx_err_rl("%s: map_sg: %d (%u segments)", name_, n.error().code(),
                    info.nr_phys_segments());
          return blk::Status::from_errno(n.error().code());
        }
        const blk::SgView sg(RdPdu::sgl(&cmd), n.value());
        for (u32 i = 0; i < sg.size(); i++) {
          copy(pos, sg.virt(i), sg.len(i), to_disk);
          pos += sg.len(i);
        }
      } else {
        stats_.via_segments.add_relaxed(1);
        rq.for_each_segment([&](void* addr, u32 len) {
          copy(pos, addr, len, to_disk);
          pos += len;
          return 0;
        });
      }
      if (pos - off != info.bytes()) {
        stats_.errors.add_relaxed(1);
        kx_err_rl("%s: mapped %llu bytes of a %u-byte request", name_,
                  static_cast<unsigned long long>(pos - off), info.bytes());
        return blk::Status::ioerr();
      }
      return blk::Status::ok();
    }
    case blk::Op::discard:
    case blk::Op::write_zeroes:
    case blk::Op::secure_erase:
      (info.op() == blk::Op::discard        ? stats_.discards
       : info.op() == blk::Op::write_zeroes ? stats_.write_zeroes
                                            : stats_.secure_erases)
          .add_relaxed(1);
      zero(off, info.bytes());
      return blk::Status::ok();
    default:
      return blk::Status::not_supported();
  }
}

// The .complete op: softirq or the context of Request::complete()'s caller.
void RamDisk::served(Cmd& cmd, blk::Request rq) {
  if (cmd.path == Path::complete_work && cmd.completer_cpu != kx_cpu_current())
    stats_.redirected.add_relaxed(1);
  rq.end(cmd.status);
}

// The next possible CPU after this one, wrapping (the test guest has no
// offline CPUs; a per-CPU workqueue still runs work queued to one).
int RamDisk::other_cpu() {
  const int next = kx_cpu_next_possible(kx_cpu_current());
  return next < kx_nr_cpu_ids() ? next : kx_cpu_next_possible(-1);
}

Result<void> RamDisk::resize(u64 new_mb) {
  MutexGuard g(state_lock_);
  const u64 cur_mb = size_bytes_ / kMiB;
  if (new_mb < cur_mb || new_mb > kMaxSizeMb) {
    kx_err("%s: resize: %llu MB is not in [%llu, %llu] (the disk only grows)", name_,
           static_cast<unsigned long long>(new_mb), static_cast<unsigned long long>(cur_mb),
           static_cast<unsigned long long>(kMaxSizeMb));
    return Error(-EINVAL);
  }
  if (paused_) {
    kx_err("%s: resize: the disk is paused (write 0 to pause first)", name_);
    return Error(-EBUSY);
  }
  if (new_mb == cur_mb) return ok();
  const usize n = new_mb * kMiB / kPageSize;
  auto pages = KX_TRY(OwnArray<void*>::create(n, Gfp::kernel));
  const usize old_n = pages_.size();
  for (usize i = 0; i < old_n; i++) pages[i] = pages_[i];
  for (usize i = old_n; i < n; i++) {
    pages[i] = kx::alloc_pages(0, Gfp::kernel | kGfpZero);
    if (!pages[i]) {
      free_pages(pages, old_n);
      return Error(-ENOMEM);
    }
  }
  {
    // No request is in flight while the page table and size change, so
    // queue_rq never sees a half-updated pair.
    blk::FrozenQueue frozen(disk_);
    swap(pages_, pages);
    size_bytes_ = new_mb * kMiB;
  }
  disk_.set_capacity_and_notify(size_bytes_ >> blk::kSectorShift);
  dir_.notify("size_mb");
  kx_info("%s: resized from %llu to %llu MB", name_, static_cast<unsigned long long>(cur_mb),
          static_cast<unsigned long long>(new_mb));
  return ok();  // `pages` (the old table) goes; its pages now belong to pages_
}

Result<void> RamDisk::set_paused(bool paused) {
  MutexGuard g(state_lock_);
  if (paused_ == paused) return ok();
  paused_ = paused;
  if (paused)
    disk_.quiesce();  // returns when no queue_rq runs; none starts until unquiesce
  else
    disk_.unquiesce();
  return ok();
}

long RamDisk::sysfs_show(int id, char* buf) {
  switch (id) {
    case KXRD_ATTR_SIZE_MB: {
      MutexGuard g(state_lock_);  // resize changes it under this lock
      return kx_sysfs_emit(buf, "%llu\n", static_cast<unsigned long long>(size_bytes_ / kMiB));
    }
    case KXRD_ATTR_PAUSE: {
      MutexGuard g(state_lock_);
      return kx_sysfs_emit(buf, "%d\n", paused_ ? 1 : 0);
    }
    case KXRD_ATTR_STATS: {
      const Counters& s = stats_;
      auto v = [](const Atomic<u64>& a) { return static_cast<unsigned long long>(a.load()); };
      return kx_sysfs_emit(
          buf,
          "end_inline=%llu complete_inline=%llu complete_work=%llu complete_timer=%llu "
          "requeue=%llu redirected=%llu via_sg=%llu via_segments=%llu read=%llu write=%llu flush=%llu fua=%llu "
          "discard=%llu write_zeroes=%llu secure_erase=%llu errors=%llu\n",
          v(s.end_inline), v(s.complete_inline), v(s.complete_work), v(s.complete_timer),
          v(s.requeue), v(s.redirected), v(s.via_sg), v(s.via_segments), v(s.reads), v(s.writes), v(s.flushes),
          v(s.fua), v(s.discards), v(s.write_zeroes), v(s.secure_erases), v(s.errors));
    }
    default:
      return -EIO;
  }
}

long RamDisk::sysfs_store(int id, const char* buf, usize len, sysfs::SelfFile self) {
  Input in;
  if (!in.assign(buf, len)) {
    kx_err("%s: input longer than %zu bytes", name_, kMaxInput - 1);
    return -EINVAL;
  }
  u64 v = 0;
  const int parsed = kx_kstrtou64(in.text(), 10, &v);
  switch (id) {
    case KXRD_ATTR_RESIZE:
      if (parsed) {
        kx_err("%s: resize: '%s' is not a size in MB", name_, in.text());
        return -EINVAL;
      }
      return to_errno(resize(v)) ?: static_cast<long>(len);
    case KXRD_ATTR_PAUSE:
      if (parsed || v > 1) {
        kx_err("%s: pause: expected 0 or 1, got '%s'", name_, in.text());
        return -EINVAL;
      }
      return to_errno(set_paused(v == 1)) ?: static_cast<long>(len);
    case KXRD_ATTR_REMOVE:
      if (parsed || v != 1) {
        kx_err("%s: remove: expected 1, got '%s'", name_, in.text());
        return -EINVAL;
      }
      // `this` is destroyed on success: touch nothing of it afterwards.
      return to_errno(drv_.remove_disk(*this, self)) ?: static_cast<long>(len);
    default:
      return -EIO;
  }
}

// ---- Driver ----------------------------------------------------------------------

Result<OwnPtr<Driver>> Driver::create(const kx_blk_mq_ops* ops,
                                      const kx_attr_group* const* ctl_groups,
                                      const kx_attr_group* const* disk_groups) {
  auto drv = KX_TRY(make_own<Driver>(Gfp::kernel, disk_groups));
  drv->wq_ = KX_TRY(WorkQueue::create("kxrd_done", false));
  blk::TagSetConfig cfg;
  // Two CPUs per hw queue: blk-mq completes locally, without looking at
  // QUEUE_FLAG_SAME_FORCE, when a hw queue serves a single CPU; with two,
  // a completion from the other CPU goes through an IPI and BLOCK_SOFTIRQ.
  cfg.nr_hw_queues = static_cast<u32>(max(1, kx_num_online_cpus() / 2));
  cfg.queue_depth = kQueueDepth;
  cfg.pdu_size = RdPdu::kSize;
  cfg.flags = KX_BLK_MQ_F_SHOULD_MERGE;
  drv->tagset_ = KX_TRY(blk::TagSet::create(ops, drv.get(), cfg));
  drv->class_ = KX_TRY(sysfs::Class::create("kcxx-ramdisk", KX_LOCK_CLASS("kxrd.class")));
  drv->ctl_ = KX_TRY(sysfs::Device::create(drv->class_, drv->target_.get(), ctl_groups, "ctl"));
  drv->devices_ = KX_TRY(sysfs::KObject::create_dir("devices", drv->ctl_.kobject()));
  return drv;
}

// Module exit (or a failed create). Stores cannot run: the module is going,
// so the shim refuses them (try_module_get fails), and a store already
// running holds a module reference, which keeps rmmod from getting here.
Driver::~Driver() {
  List<RamDisk, &RamDisk::node> doomed;
  {
    MutexGuard g(lock_);
    shutting_down_ = true;
    doomed.splice_back(disks_);
  }
  while (RamDisk* d = doomed.pop_front()) destroy_disk(d);
  devices_.reset();
  ctl_.reset();
  class_.reset();
  tagset_.reset();  // exit_request for every request: cancels each Cmd's work and timer
  wq_.reset();
}

void Driver::destroy_disk(RamDisk* disk) {
  const u32 id = disk->id();
  destroy(disk);
  // Only now may the name be reused: /sys/block/kxrdN is gone.
  MutexGuard g(lock_);
  used_ids_ &= ~(1u << id);
}

Result<void> Driver::create_disk(u64 size_mb) {
  u32 id = kMaxDisks;
  {
    MutexGuard g(lock_);
    if (shutting_down_) return Error(-ENODEV);
    for (u32 i = 0; i < kMaxDisks; i++) {
      if (!(used_ids_ & (1u << i))) {
        id = i;
        break;
      }
    }
    if (id == kMaxDisks) {
      kx_err("create: all %u disks exist", kMaxDisks);
      return Error(-ENOSPC);
    }
    used_ids_ |= 1u << id;
  }
  auto disk = RamDisk::create(*this, id, size_mb);
  if (disk.is_error()) {
    kx_err("create: kxrd%u: error %d", id, disk.error().code());
    MutexGuard g(lock_);
    used_ids_ &= ~(1u << id);
    return disk.error();
  }
  RamDisk* d = disk.value().leak();  // owned by disks_ from here on
  kx_info("%s: created, %llu MB", d->name(), static_cast<unsigned long long>(size_mb));
  MutexGuard g(lock_);
  disks_.push_back(*d);
  return ok();
}

Result<void> Driver::remove_disk(RamDisk& disk, sysfs::SelfFile self) {
  {
    MutexGuard g(lock_);
    // Not listed: a concurrent remove got it first, or it is still being created.
    if (shutting_down_ || !decltype(disks_)::contains_node(disk)) return Error(-ENODEV);
    disks_.remove(disk);
  }
  // This store's own file first: removing the directory waits for every
  // running store in it, this one included. It cannot lose the race (the
  // winner of the list removal above is the only remover), so the result
  // is only informative.
  (void)self.remove();
  kx_info("%s: removing", disk.name());
  destroy_disk(&disk);
  return ok();
}

bool streq(const char* a, const char* b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

// ctl/create: "size_mb=<MB>" (key=value options separated by blanks). Every
// refusal logs one line saying what was wrong.
long Driver::sysfs_store(int id, const char* buf, usize len, sysfs::SelfFile) {
  if (id != KXRD_ATTR_CREATE) return -EIO;
  Input in;
  if (!in.assign(buf, len)) {
    kx_err("create: input longer than %zu bytes", kMaxInput - 1);
    return -EINVAL;
  }
  if (in.empty()) {
    kx_err("create: empty input, expected size_mb=<MB>");
    return -EINVAL;
  }
  u64 size_mb = 0;
  for (char* p = in.text(); *p;) {
    while (Input::is_space(*p)) p++;
    char* key = p;
    while (*p && !Input::is_space(*p)) p++;
    if (*p) *p++ = 0;
    char* val = key;
    while (*val && *val != '=') val++;
    if (!*val) {
      kx_err("create: expected key=value, got '%s'", key);
      return -EINVAL;
    }
    *val++ = 0;
    if (!streq(key, "size_mb")) {
      kx_err("create: unknown option '%s' (known: size_mb)", key);
      return -EINVAL;
    }
    if (kx_kstrtou64(val, 10, &size_mb)) {
      kx_err("create: size_mb: '%s' is not a number", val);
      return -EINVAL;
    }
    if (size_mb == 0 || size_mb > kMaxSizeMb) {
      kx_err("create: size_mb=%llu is out of range [1, %llu]",
             static_cast<unsigned long long>(size_mb), static_cast<unsigned long long>(kMaxSizeMb));
      return -EINVAL;
    }
  }
  if (!size_mb) {
    kx_err("create: size_mb=<MB> is missing");
    return -EINVAL;
  }
  return to_errno(create_disk(size_mb)) ?: static_cast<long>(len);
}

}  // namespace

// ---- entry points from ramdisk_main.c --------------------------------------------

extern "C" int kxrd_init(const kx_blk_mq_ops* ops, const kx_attr_group* const* ctl_groups,
                         const kx_attr_group* const* disk_groups) noexcept {
  auto drv = Driver::create(ops, ctl_groups, disk_groups);
  if (drv.is_error()) {
    kx_err("init: error %d", drv.error().code());
    return drv.error().code();
  }
  g_driver = drv.value().leak();
  kx_info("ready: echo size_mb=<MB> > /sys/class/kcxx-ramdisk/ctl/create");
  return 0;
}

extern "C" void kxrd_exit(void) noexcept { destroy(exchange(g_driver, nullptr)); }

extern "C" kx_u8 kxrd_queue_rq(void* disk, kx_blk_hctx*, kx_request* rq, void* pdu, int) noexcept {
  return static_cast<RamDisk*>(disk)->queue_rq(*RdPdu::cmd(pdu), blk::Request(rq)).raw();
}

extern "C" void kxrd_complete(void* disk, kx_request* rq, void* pdu) noexcept {
  static_cast<RamDisk*>(disk)->served(*RdPdu::cmd(pdu), blk::Request(rq));
}

// Never expected: every path completes within a tick. Keep waiting (the
// request still belongs to its work item or timer) and say so.
extern "C" int kxrd_timeout(void* disk, kx_request* rq, void*) noexcept {
  kx_err_rl("%s: request tag %u timed out", static_cast<RamDisk*>(disk)->name(),
            blk::Request(rq).info().tag());
  return static_cast<int>(blk::TimeoutAction::reset_timer);
}

extern "C" int kxrd_init_request(void* driver, kx_request* rq, void* pdu) noexcept {
  RdPdu::construct(pdu, static_cast<Driver*>(driver), rq);
  return 0;
}

extern "C" void kxrd_exit_request(void*, void* pdu) noexcept { RdPdu::destroy(pdu); }
