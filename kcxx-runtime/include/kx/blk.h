/* SPDX-License-Identifier: GPL-2.0 */
// blk-mq for C++ drivers: a tag set shared by several disks, gendisks with
// their limits, and request helpers, over the shim in kx/shim_blk.h.
//
// Shape of a driver (tests/kmod/ramdisk is a complete one):
//
//   C file:   static const struct blk_mq_ops foo_mq_ops = {
//               .queue_rq = foo_queue_rq, .complete = foo_complete,
//               .init_request = foo_init_request, .exit_request = foo_exit_request };
//             each op a 1-3 line trampoline into an extern "C" C++ entry,
//             passing rq->q->queuedata (the C++ disk), the request and
//             blk_mq_rq_to_pdu(rq) (the C++ per-request object).
//   C++:      using FooPdu = blk::Pdu<FooCmd, kMaxSegments>;
//             tagset_ = KX_TRY(blk::TagSet::create(ops, this, {.nr_hw_queues = ...,
//                                                  .pdu_size = FooPdu::kSize}));
//             init_request: FooPdu::construct(pdu, ...)   exit_request: FooPdu::destroy(pdu)
//             disk_ = KX_TRY(blk::Disk::alloc(*tagset_, this, "foo0", KX_LOCK_CLASS("foo.disk")));
//             disk_.apply(limits); disk_.set_capacity(n); KX_TRY(disk_.add());
//
// Contexts of the module's blk_mq_ops callbacks (what the C++ entries may do):
//   queue_rq       must not sleep (runs under RCU, possibly from kblockd or
//                  the submitter with preemption off) unless the tag set has
//                  KX_BLK_MQ_F_BLOCKING, then process context. Never
//                  allocates here: per-request state lives in the PDU.
//   complete       BLOCK_SOFTIRQ on the submitting CPU, or the context of
//                  whoever called Request::complete() (which may be hardirq):
//                  any context, never sleeps.
//   timeout        process context (kblockd timeout work).
//   init_request / exit_request / init_hctx / exit_hctx
//                  process context, may sleep; allocate with Gfp::noio (they
//                  also run when the block layer reallocates requests).
//
// Request lifetime: blk-mq owns struct request and the PDU after it; both
// exist from tag-set creation to tag-set destruction (plus one flush request
// per hw queue of each disk, initialised when the disk is allocated). A
// request belongs to the driver from queue_rq until end() (directly, or from
// the complete op after complete()) or requeue().
#pragma once

#include <kx/layout.h>
#include <kx/new.h>
#include <kx/own.h>
#include <kx/result.h>
#include <kx/shim.h>
#include <kx/shim_blk.h>
#include <kx/sync.h>
#include <kx/types.h>

namespace kx::blk {

inline constexpr u32 kSectorShift = 9;
inline constexpr u32 kSectorSize = 1u << kSectorShift;

// A blk_status_t value. The errno <-> status table is the kernel's.
class Status {
 public:
  constexpr Status() : raw_(KX_BLK_STS_OK) {}
  static constexpr Status ok() { return Status(KX_BLK_STS_OK); }
  static constexpr Status ioerr() { return Status(KX_BLK_STS_IOERR); }
  static constexpr Status not_supported() { return Status(KX_BLK_STS_NOTSUPP); }
  // From queue_rq: "no resources now, run the queue again later".
  static constexpr Status resource() { return Status(KX_BLK_STS_RESOURCE); }
  // From queue_rq: "busy until one of this device's requests completes".
  static constexpr Status dev_resource() { return Status(KX_BLK_STS_DEV_RESOURCE); }
  // errno_to_blk_status: 0 -> OK, -ENOMEM -> RESOURCE, -EBUSY -> DEV_RESOURCE,
  // -EOPNOTSUPP -> NOTSUPP, -ETIMEDOUT -> TIMEOUT, -ENOLINK -> TRANSPORT ...,
  // anything unknown -> IOERR.
  static Status from_errno(int err) { return Status(kx_blk_status_from_errno(err)); }
  template <typename T>
  static Status from(const Result<T>& r) {
    return r.is_ok() ? ok() : from_errno(r.error().code());
  }
  static constexpr Status from_raw(u8 raw) { return Status(raw); }

  int to_errno() const { return kx_blk_status_to_errno(raw_); }
  constexpr bool is_ok() const { return raw_ == KX_BLK_STS_OK; }
  constexpr u8 raw() const { return raw_; }
  constexpr bool operator==(const Status&) const = default;

 private:
  constexpr explicit Status(u8 raw) : raw_(raw) {}
  u8 raw_;
};

enum class Op : u8 {
  read = KX_BLK_OP_READ,
  write = KX_BLK_OP_WRITE,
  flush = KX_BLK_OP_FLUSH,
  discard = KX_BLK_OP_DISCARD,
  secure_erase = KX_BLK_OP_SECURE_ERASE,
  write_zeroes = KX_BLK_OP_WRITE_ZEROES,
  drv_in = KX_BLK_OP_DRV_IN,
  drv_out = KX_BLK_OP_DRV_OUT,
};

// Timeout handler result.
enum class TimeoutAction : u32 {
  done = KX_BLK_EH_DONE,                // completed (or will be) by the driver
  reset_timer = KX_BLK_EH_RESET_TIMER,  // keep waiting
};

// A snapshot of what a driver needs from a request, read with one shim call.
struct RequestInfo {
  kx_rq_info raw;

  Op op() const { return static_cast<Op>(raw.op); }
  // op_is_write(): towards the device (write, and also discard, write-zeroes...).
  bool is_write() const { return raw.op & 1; }
  u64 sector() const { return raw.pos; }        // first 512-byte sector
  u64 offset() const { return raw.pos << kSectorShift; }  // in bytes
  u32 bytes() const { return raw.bytes; }
  u32 tag() const { return raw.tag; }
  u32 unique_tag() const { return raw.unique_tag; }
  u32 hw_queue() const { return raw.unique_tag >> 16; }
  u16 nr_phys_segments() const { return raw.nr_phys_segments; }
  bool fua() const { return raw.flags & KX_RQ_FUA; }
  bool preflush() const { return raw.flags & KX_RQ_PREFLUSH; }
  bool sync() const { return raw.flags & KX_RQ_SYNC; }
  bool nounmap() const { return raw.flags & KX_RQ_NOUNMAP; }
};

enum class RequestState : int {
  idle = KX_RQ_IDLE,
  in_flight = KX_RQ_IN_FLIGHT,
  complete = KX_RQ_COMPLETE,
};

// A borrowed struct request. Cheap to copy; valid while the driver owns the
// request (see the top of this file).
class Request {
 public:
  explicit Request(kx_request* rq) : rq_(rq) {}
  kx_request* raw() const { return rq_; }

  RequestInfo info() const {
    RequestInfo i;
    kx_blk_rq_info(rq_, &i.raw);
    return i;
  }
  template <typename T> T* pdu() const { return static_cast<T*>(kx_blk_rq_pdu(rq_)); }
  // The disk object given to Disk::alloc as queuedata.
  template <typename T> T* queuedata() const { return static_cast<T*>(kx_blk_rq_queuedata(rq_)); }
  RequestState state() const { return static_cast<RequestState>(kx_blk_rq_state(rq_)); }

  // From queue_rq, before the request is handed to hardware or another context.
  void start() { kx_blk_rq_start(rq_); }
  // Ends the request with status; it is no longer ours on return. Any context.
  void end(Status s) { kx_blk_rq_end(rq_, s.raw()); }
  // Completion through the module's complete op (which calls end()): runs it
  // here or in BLOCK_SOFTIRQ on the submitting CPU. Any context.
  void complete() { kx_blk_rq_complete(rq_); }
  // true if the completion went to another CPU/softirq; false: call the
  // completion yourself. Any context.
  bool complete_remote() { return kx_blk_rq_complete_remote(rq_) != 0; }
  // Back to blk-mq for a later queue_rq (started requests only). kick runs
  // the requeue list now; otherwise Disk::kick_requeue_list() later. Any context.
  void requeue(bool kick) { kx_blk_rq_requeue(rq_, kick ? 1 : 0); }

  // Maps the data segments into sgl (nents entries of storage, e.g. the
  // inline table of a Pdu). Returns the number of entries used (0 for a
  // request without data) or -EINVAL if nents is too small. Atomic.
  Result<u32> map_sg(kx_sgl* sgl, u32 nents) {
    const int n = kx_blk_rq_map_sg(rq_, sgl, nents);
    if (n < 0) return Error(n);
    return static_cast<u32>(n);
  }

  // fn(void* addr, u32 len) -> int for each data segment in order (at most a
  // page each, mapped for the call). A nonzero return stops the walk and is
  // returned. Requests without data (flush, discard, write-zeroes) have no
  // segments. fn must not sleep.
  template <typename Fn>
  int for_each_segment(Fn&& fn) {
    return kx_blk_rq_for_each_segment(rq_, &call_segment<RemoveReferenceT<Fn>>, &fn);
  }

 private:
  template <typename F>
  static int call_segment(void* ctx, void* addr, u32 len) {
    return (*static_cast<F*>(ctx))(addr, len);
  }
  kx_request* rq_;
};

// A table filled by Request::map_sg, for CPU access to the mapped entries.
class SgView {
 public:
  SgView(const kx_sgl* sgl, u32 count) : sgl_(sgl), count_(count) {}
  u32 size() const { return count_; }
  void* virt(u32 i) const {
    KX_ASSERT(i < count_);
    return kx_blk_sg_virt(sgl_, i);
  }
  u32 len(u32 i) const {
    KX_ASSERT(i < count_);
    return kx_blk_sg_len(sgl_, i);
  }

 private:
  const kx_sgl* sgl_;
  u32 count_;
};

// Layout of a tag set's PDU: the driver's per-request object Cmd, then an
// inline table of kInlineSg scatterlist entries for map_sg. kSize is the
// tag set's pdu_size. Cmd is placement-constructed in init_request and
// destroyed in exit_request, so queue_rq never allocates.
template <typename Cmd, u32 kInlineSg>
struct Pdu {
  static_assert(alignof(Cmd) <= KX_ALIGNOF_BLK_PDU, "the PDU is only aligned like struct request");
  static constexpr usize kSgOffset = round_up(sizeof(Cmd), KX_ALIGNOF_SCATTERLIST);
  static constexpr usize kSize = kSgOffset + usize(kInlineSg) * KX_SIZEOF_SCATTERLIST;
  static constexpr u32 kSgEntries = kInlineSg;

  static Cmd* cmd(void* pdu) { return static_cast<Cmd*>(pdu); }
  static kx_sgl* sgl(Cmd* cmd) {
    return reinterpret_cast<kx_sgl*>(reinterpret_cast<unsigned char*>(cmd) + kSgOffset);
  }
  template <typename... Args>
  static Cmd* construct(void* pdu, Args&&... args) {
    return new (pdu) Cmd(forward<Args>(args)...);
  }
  static void destroy(void* pdu) { cmd(pdu)->~Cmd(); }
};

struct TagSetConfig {
  u32 nr_hw_queues = 1;
  u32 queue_depth = 64;     // tags per hw queue
  u32 reserved_tags = 0;
  u32 pdu_size = 0;         // Pdu<...>::kSize
  u32 flags = KX_BLK_MQ_F_SHOULD_MERGE;  // KX_BLK_MQ_F_*
  u32 timeout_ms = 0;       // 0 = 30 s
  i32 numa_node = -1;       // NUMA_NO_NODE
  u32 nr_maps = 0;          // 0 = one map (HCTX_TYPE_DEFAULT)
};

// A blk_mq_tag_set, embedded here by value: the requests (and PDUs) shared by
// every disk allocated on it. Pinned (blk-mq keeps its address). Create and
// destroy in process context; destroy only after every Disk on it is reset.
class TagSet {
 public:
  // ops: the module's blk_mq_ops table (C). driver_data: what the table's
  // init_request/exit_request trampolines receive (set->driver_data); it
  // must be ready before this call, which runs init_request for every tag.
  static Result<OwnPtr<TagSet>> create(const kx_blk_mq_ops* ops, void* driver_data,
                                       const TagSetConfig& cfg) {
    TagSet* raw = new (Gfp::kernel) TagSet();
    if (!raw) return Error(-ENOMEM);
    auto set = OwnPtr<TagSet>::adopt(raw);
    const kx_blk_tagset_cfg c = {cfg.nr_hw_queues, cfg.queue_depth, cfg.reserved_tags,
                                 cfg.pdu_size, cfg.flags, cfg.timeout_ms, cfg.numa_node,
                                 cfg.nr_maps};
    KX_TRY(to_result(kx_blk_tagset_init(set->raw(), ops, driver_data, &c)));
    set->live_ = true;
    return set;
  }
  ~TagSet() {
    if (live_) kx_blk_tagset_free(raw());
  }
  KX_PINNED(TagSet);

  void* raw() { return raw_.get(); }

  // fn(Request) -> bool (true = go on) for every started request of every
  // disk on the set (fail-over, cancel at teardown). fn runs atomic; call
  // from process context.
  template <typename Fn>
  void for_each_busy(Fn&& fn) {
    kx_blk_tagset_busy_iter(raw(), &call_busy<RemoveReferenceT<Fn>>, &fn);
  }
  // Waits until requests completed from for_each_busy have been freed.
  void wait_completed() { kx_blk_tagset_wait_completed(raw()); }
  // The request holding tag on hw queue hwq, or nullptr.
  kx_request* tag_to_rq(u32 hwq, u32 tag) { return kx_blk_tagset_tag_to_rq(raw(), hwq, tag); }

 private:
  TagSet() = default;
  template <typename F>
  static int call_busy(kx_request* rq, void* ctx) {
    return (*static_cast<F*>(ctx))(Request(rq)) ? 1 : 0;
  }
  Opaque<KX_SIZEOF_BLK_TAG_SET, KX_ALIGNOF_BLK_TAG_SET> raw_;
  bool live_ = false;
};

// Queue limits, applied by Disk::apply() before add(). Zero means "leave the
// block layer's default" where one exists (noted per field).
struct Limits {
  u32 logical_block_size = 0;        // bytes; 0 = 512
  u32 physical_block_size = 0;       // bytes; 0 = logical
  u32 io_min = 0;                    // bytes; 0 = none
  u32 io_opt = 0;                    // bytes; 0 = none
  u32 max_hw_sectors = 0;            // 512-byte sectors per request; 0 = 255
  u16 max_segments = 0;              // 0 = 128; with a Pdu: at most kSgEntries
  u32 max_segment_size = 0;          // bytes; 0 = 64 KiB
  u64 virt_boundary_mask = 0;        // e.g. 4095 (SG_GAPS-style devices); 0 = none
  u32 max_discard_sectors = 0;       // 0 = no discard
  u32 discard_granularity = 0;       // bytes
  u16 max_discard_segments = 1;      // ranges per discard request
  u32 max_secure_erase_sectors = 0;  // 0 = no secure erase
  u32 max_write_zeroes_sectors = 0;  // 0 = no write-zeroes (emulated above us)
  bool write_cache = false;          // volatile cache: flushes (PREFLUSH) are sent
  bool fua = false;                  // FUA writes are passed down, not emulated
  bool nonrot = true;
  u32 rq_timeout_ms = 0;             // 0 = the tag set's
};

// A gendisk allocated on a TagSet (with its request_queue). Owning handle:
// reset() (and the destructor) delete it if it was added and drop the
// allocation reference. Process context for everything not marked.
class Disk {
 public:
  Disk() = default;
  // queuedata: the driver's disk object, what the ops trampolines pass on
  // (rq->q->queuedata) and Request::queuedata() returns. name: the /dev and
  // /sys/block name (< 32 chars). cls: lockdep class of the queue, from
  // KX_LOCK_CLASS at the call site. fops: nullptr = the shim's, which only
  // pins the module while the disk is open.
  static Result<Disk> alloc(TagSet& set, void* queuedata, const char* name, LockClass& cls,
                            const kx_blk_fops* fops = nullptr) {
    kx_gendisk* d = nullptr;
    KX_TRY(to_result(kx_blk_disk_alloc(set.raw(), queuedata, fops, name, cls.key, &d)));
    return Disk(d);
  }
  Disk(Disk&& o) : disk_(exchange(o.disk_, nullptr)), added_(exchange(o.added_, false)) {}
  Disk& operator=(Disk&& o) {
    if (this != &o) {
      reset();
      disk_ = exchange(o.disk_, nullptr);
      added_ = exchange(o.added_, false);
    }
    return *this;
  }
  KX_NONCOPYABLE(Disk);
  ~Disk() { reset(); }

  explicit operator bool() const { return disk_ != nullptr; }
  kx_gendisk* raw() const { return disk_; }
  const char* name() const { return kx_blk_disk_name(disk_); }
  // /sys/block/<name>: parent for driver directories, target for symlinks.
  kx_kobject* kobject() const { return kx_blk_disk_kobj(disk_); }
  bool added() const { return added_; }

  void apply(const Limits& l) {
    if (l.logical_block_size) kx_blk_set_logical_block_size(disk_, l.logical_block_size);
    if (l.physical_block_size) kx_blk_set_physical_block_size(disk_, l.physical_block_size);
    if (l.io_min) kx_blk_set_io_min(disk_, l.io_min);
    if (l.io_opt) kx_blk_set_io_opt(disk_, l.io_opt);
    if (l.max_hw_sectors) kx_blk_set_max_hw_sectors(disk_, l.max_hw_sectors);
    if (l.max_segments) kx_blk_set_max_segments(disk_, l.max_segments);
    if (l.max_segment_size) kx_blk_set_max_segment_size(disk_, l.max_segment_size);
    if (l.virt_boundary_mask) kx_blk_set_virt_boundary(disk_, l.virt_boundary_mask);
    kx_blk_set_discard(disk_, l.max_discard_sectors, l.discard_granularity,
                       l.max_discard_segments);
    kx_blk_set_max_secure_erase_sectors(disk_, l.max_secure_erase_sectors);
    kx_blk_set_max_write_zeroes_sectors(disk_, l.max_write_zeroes_sectors);
    kx_blk_set_write_cache(disk_, l.write_cache, l.fua);
    kx_blk_set_queue_flag(disk_, KX_QUEUE_FLAG_NONROT, l.nonrot);
    if (l.rq_timeout_ms) kx_blk_set_rq_timeout(disk_, l.rq_timeout_ms);
  }
  // KX_QUEUE_FLAG_* (SAME_COMP, SAME_FORCE, NONROT).
  void set_queue_flag(u32 flag, bool on) { kx_blk_set_queue_flag(disk_, flag, on); }
  void set_read_only(bool ro) { kx_blk_set_read_only(disk_, ro); }
  // Uses a registered major (kx_blk_register_major) instead of the extended dev_t range.
  void set_devt(int major, int first_minor, int minors) {
    kx_blk_disk_set_devt(disk_, major, first_minor, minors);
  }

  // In 512-byte sectors. set_capacity: before add() or silently; any context.
  void set_capacity(u64 sectors) { kx_blk_set_capacity(disk_, sectors); }
  // On a live disk: also sends a RESIZE=1 uevent; true if it did.
  bool set_capacity_and_notify(u64 sectors) {
    return kx_blk_set_capacity_notify(disk_, sectors) != 0;
  }
  u64 capacity() const { return kx_blk_capacity(disk_); }

  // add_disk: live from here on (the partition scan already sends IO).
  Result<void> add() {
    KX_TRY(to_result(kx_blk_disk_add(disk_)));
    added_ = true;
    return ok();
  }
  // del_gendisk (if added): new IO fails, in-flight IO is waited for. The
  // queue and the allocation stay until reset(). Idempotent.
  void del() {
    if (exchange(added_, false)) kx_blk_disk_del(disk_);
  }
  // del() + put_disk. Idempotent.
  void reset() {
    del();
    if (disk_) kx_blk_disk_put(exchange(disk_, nullptr));
  }

  // Dispatch stops; waits for running queue_rq calls. Requests already
  // dispatched still complete. Pair with unquiesce().
  void quiesce() { kx_blk_quiesce(disk_); }
  void unquiesce() { kx_blk_unquiesce(disk_); }
  // New requests wait; returns when every request of this disk has ended.
  // Do not freeze a quiesced queue (undispatched requests never end).
  void freeze() { kx_blk_freeze(disk_); }
  void unfreeze() { kx_blk_unfreeze(disk_); }
  void run_queues(bool async) { kx_blk_run_queues(disk_, async ? 1 : 0); }  // atomic
  void delay_run_queues(u32 ms) { kx_blk_delay_run_queues(disk_, ms); }     // any
  void kick_requeue_list() { kx_blk_kick_requeue_list(disk_); }             // any

  // fn(kx_blk_hctx*, u32 index) for each hw queue context of this disk.
  template <typename Fn>
  void for_each_hctx(Fn&& fn) {
    kx_blk_disk_for_each_hctx(disk_, &call_hctx<RemoveReferenceT<Fn>>, &fn);
  }

 private:
  explicit Disk(kx_gendisk* d) : disk_(d) {}
  template <typename F>
  static void call_hctx(kx_blk_hctx* h, u32 index, void* ctx) {
    (*static_cast<F*>(ctx))(h, index);
  }
  kx_gendisk* disk_ = nullptr;
  bool added_ = false;
};

// Scoped freeze: no request of the disk is in flight while it lives.
class [[nodiscard]] FrozenQueue {
 public:
  explicit FrozenQueue(Disk& d) : disk_(d) { disk_.freeze(); }
  ~FrozenQueue() { disk_.unfreeze(); }
  KX_PINNED(FrozenQueue);

 private:
  Disk& disk_;
};

// Scoped quiesce: no queue_rq runs on the disk while it lives.
class [[nodiscard]] QuiescedQueue {
 public:
  explicit QuiescedQueue(Disk& d) : disk_(d) { disk_.quiesce(); }
  ~QuiescedQueue() { disk_.unquiesce(); }
  KX_PINNED(QuiescedQueue);

 private:
  Disk& disk_;
};

// A hardware queue context (what queue_rq and init_hctx trampolines get).
class Hctx {
 public:
  explicit Hctx(kx_blk_hctx* h) : h_(h) {}
  u32 index() const { return kx_blk_hctx_index(h_); }
  template <typename T> T* data() const { return static_cast<T*>(kx_blk_hctx_data(h_)); }
  void set_data(void* p) { kx_blk_hctx_set_data(h_, p); }
  void run(bool async) { kx_blk_hctx_run(h_, async ? 1 : 0); }  // atomic
  void delay_run(u32 ms) { kx_blk_hctx_delay_run(h_, ms); }     // any
  void stop() { kx_blk_hctx_stop(h_); }                         // any
  void start_stopped(bool async) { kx_blk_hctx_start(h_, async ? 1 : 0); }  // atomic

 private:
  kx_blk_hctx* h_;
};

}  // namespace kx::blk

namespace kx {
using BlkStatus = blk::Status;
}  // namespace kx
