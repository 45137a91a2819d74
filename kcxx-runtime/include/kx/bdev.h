/* SPDX-License-Identifier: GPL-2.0 */
// kx::bdev::Backend: the IBNBD server's backing store (a block device or a
// regular file) over the storage shim (kx/shim_bdev.h, opt-in with
// kbuild-cxx-bdev.mk).
//
//   auto be = KX_TRY(Backend::open("/srv/ibnbd", "/srv/ibnbd/disk0", /*writable=*/true, wq));
//   KX_TRY(be->queue(io, Op::write, kFua, sector, chunk, len, &done, ctx));  // from softirq
//
// This is where the server's refusals live, BEFORE anything reaches the
// device: an op or flag the backend does not know or support, a write-type op
// on a read-only open (-EROFS), a length or sector not aligned to the logical
// block size (-EINVAL), and a range that does not lie inside the device
// (-ERANGE, overflow-safe). The shim itself checks nothing of this.
//
// Ownership and lifetime: Backend is owned through OwnPtr; close() (or the
// destructor) waits for queued work, then releases the device. The caller
// must not close while block-device IO is in flight (inflight() == 0; a WARN
// says so). Each IO needs an Io object, embedded in the caller's request,
// valid from submit()/queue() until its callback ran.
//
// Contexts: open/close in process context. submit() in process context (it
// may wait in bio_alloc's mempool and for a request tag); queue() in any
// context (the IBTRS server's rdma_ev runs in softirq): the submission runs
// from the workqueue. The callback runs in any context for block devices (bio
// end_io: hardirq or softirq) and in process context (the workqueue) for
// files and for queued submissions that failed: it must not sleep.
#pragma once

#include <kx/atomic.h>
#include <kx/layout.h>
#include <kx/log.h>
#include <kx/own.h>
#include <kx/result.h>
#include <kx/shim.h>
#include <kx/shim_bdev.h>
#include <kx/types.h>
#include <kx/work.h>

namespace kx::bdev {

enum class Op : u32 {
  read = KX_BDEV_OP_READ,
  write = KX_BDEV_OP_WRITE,
  flush = KX_BDEV_OP_FLUSH,
  discard = KX_BDEV_OP_DISCARD,
  secure_erase = KX_BDEV_OP_SECURE_ERASE,
  write_zeroes = KX_BDEV_OP_WRITE_ZEROES,
};

inline constexpr u32 kFua = KX_BDEV_F_FUA;
inline constexpr u32 kPreflush = KX_BDEV_F_PREFLUSH;
inline constexpr u32 kNoUnmap = KX_BDEV_F_NOUNMAP;
inline constexpr u32 kSync = KX_BDEV_F_SYNC;
inline constexpr u32 kSectorShift = 9;
inline constexpr u32 kSectorSize = 1u << kSectorShift;

using Properties = kx_bdev_props;
// Called once per started IO with 0 or -errno. See the contexts above.
using Callback = void (*)(void* ctx, int err);

class Backend;

// Per-IO storage (the shim's kx_bdev_io plus the caller's callback).
class Io {
 public:
  Io() = default;
  KX_PINNED(Io);

 private:
  friend class Backend;
  kx_bdev_io* raw() { return reinterpret_cast<kx_bdev_io*>(raw_.get()); }
  Opaque<KX_SIZEOF_BDEV_IO, KX_ALIGNOF_BDEV_IO> raw_;
  Backend* backend_ = nullptr;
  Callback cb_ = nullptr;
  void* ctx_ = nullptr;
};

class Backend final {
 public:
  // Opens resolved_path (absolute; e.g. from ibnbd::resolve_device_path) if
  // it resolves, symlinks followed, beneath root_path. Errors: -EINVAL
  // (relative paths), -EXDEV (escapes the root), -EISDIR, -ENOTBLK (neither a
  // block device nor a regular file), -EACCES (device node on a nodev
  // mount), -EROFS, -ENOENT, ... Regular files are opened O_DIRECT where the
  // file system supports it (no second cache under the client's, data on the
  // device when the write completes), buffered otherwise (tmpfs on 6.1);
  // properties().direct says which.
  // wq: the server's shared WQ_MEM_RECLAIM workqueue for file IO and queued
  // submissions; nullptr = a workqueue of this backend's own.
  static Result<OwnPtr<Backend>> open(const char* root_path, const char* resolved_path,
                                      bool writable, kx_workqueue* wq = nullptr) {
    if (!root_path || root_path[0] != '/' || !resolved_path || resolved_path[0] != '/')
      return Error(-EINVAL);
    auto be = KX_TRY(make_own<Backend>(Gfp::kernel));
    if (!wq) {
      be->own_wq_ = KX_TRY(WorkQueue::create("kx_bdev", /*unbound=*/true));
      wq = be->own_wq_.get();
    }
    be->wq_ = wq;
    const u32 flags = (writable ? KX_BDEV_OPEN_WRITE : 0) | KX_BDEV_OPEN_DIRECT;
    KX_TRY(to_result(kx_bdev_open(root_path, resolved_path, flags, wq, &be->b_)));
    kx_bdev_get_props(be->b_, &be->props_);
    if (be->props_.logical_block_size < kSectorSize ||
        !is_power_of_2(be->props_.logical_block_size))
      return Error(-EINVAL);  // the destructor closes
    return be;
  }

  Backend() = default;
  KX_PINNED(Backend);
  ~Backend() { close(); }

  const Properties& properties() const { return props_; }
  bool writable() const { return props_.writable != 0; }
  bool is_file() const { return props_.is_file != 0; }
  u64 nr_sectors() const { return props_.size_bytes >> kSectorShift; }
  i64 inflight() const { return inflight_.load(); }

  // Checks the request (see the header comment), then starts it. On success
  // cb(ctx, err) runs exactly once; on error nothing was started.
  // buf/len: the data for read/write (buf physically contiguous, e.g. an RDMA
  // chunk); for discard/secure_erase/write_zeroes buf is nullptr and len the
  // byte count; flush takes neither (sector ignored). Process context.
  Result<void> submit(Io& io, Op op, u32 flags, u64 sector, void* buf, u32 len, Callback cb,
                      void* ctx) {
    return start(&kx_bdev_submit, io, op, flags, sector, buf, len, cb, ctx);
  }
  // The same from any context: the submission runs from the workqueue.
  Result<void> queue(Io& io, Op op, u32 flags, u64 sector, void* buf, u32 len, Callback cb,
                     void* ctx) {
    return start(&kx_bdev_queue, io, op, flags, sector, buf, len, cb, ctx);
  }

  // The refusals alone (also usable by the server before it maps a chunk).
  Result<void> check(Op op, u32 flags, u64 sector, const void* buf, u32 len) const {
    const u32 lbs = props_.logical_block_size;
    switch (op) {
      case Op::read:
        if (flags & ~kSync) return Error(-EINVAL);
        break;
      case Op::write:
        if (flags & ~(kSync | kFua | kPreflush)) return Error(-EINVAL);
        break;
      case Op::flush:
        // Changes no data: allowed on read-only opens (a client's read-only
        // file system may still flush).
        if ((flags & ~kSync) || buf || len) return Error(-EINVAL);
        return ok();
      case Op::discard:
        if (flags || !props_.max_discard_sectors) return Error(flags ? -EINVAL : -EOPNOTSUPP);
        break;
      case Op::secure_erase:
        if (flags || !props_.max_secure_erase_sectors)
          return Error(flags ? -EINVAL : -EOPNOTSUPP);
        break;
      case Op::write_zeroes:
        if ((flags & ~kNoUnmap) || !props_.max_write_zeroes_sectors)
          return Error((flags & ~kNoUnmap) ? -EINVAL : -EOPNOTSUPP);
        break;
      default:
        return Error(-EINVAL);
    }
    if (op != Op::read && !writable()) return Error(-EROFS);
    const bool data = op == Op::read || op == Op::write;
    if (data != (buf != nullptr)) return Error(-EINVAL);
    if (len == 0 || len % lbs || (sector << kSectorShift) % lbs) return Error(-EINVAL);
    const u64 n = nr_sectors();
    if (sector >= n || (len >> kSectorShift) > n - sector) return Error(-ERANGE);
    return ok();
  }

  // Waits for queued work, then closes the device. Idempotent.
  void close() {
    if (!b_) return;
    if (own_wq_.get())
      own_wq_.reset();  // destroy_workqueue drains what is still queued
    else
      kx_wq_flush(wq_);  // shared: drains everyone's work, once per close
    KX_WARN_ON_ONCE(inflight_.load() != 0);
    kx_bdev_close(exchange(b_, nullptr));
  }

 private:
  using ShimStart = int (*)(kx_bdev*, kx_bdev_io*, u32, u32, u64, void*, u32,
                            void (*)(void*, int), void*) noexcept;

  Result<void> start(ShimStart fn, Io& io, Op op, u32 flags, u64 sector, void* buf, u32 len,
                     Callback cb, void* ctx) {
    KX_TRY(check(op, flags, sector, buf, len));
    if (!b_) return Error(-ENODEV);
    io.backend_ = this;
    io.cb_ = cb;
    io.ctx_ = ctx;
    inflight_.fetch_add(1);
    const int ret = fn(b_, io.raw(), static_cast<u32>(op), flags, op == Op::flush ? 0 : sector,
                       buf, len, &Backend::done, &io);
    if (ret) inflight_.fetch_sub(1);
    return to_result(ret);
  }

  static void done(void* ctx, int err) {
    Io* io = static_cast<Io*>(ctx);
    Backend* be = io->backend_;
    const Callback cb = io->cb_;
    void* const user = io->ctx_;
    be->inflight_.fetch_sub(1);
    cb(user, err);  // may free io: not touched after this
  }

  kx_bdev* b_ = nullptr;
  WorkQueue own_wq_;
  kx_workqueue* wq_ = nullptr;
  Properties props_{};
  Atomic<i64> inflight_{0};
};

}  // namespace kx::bdev
