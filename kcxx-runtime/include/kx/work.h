/* SPDX-License-Identifier: GPL-2.0 */
// Work items, delayed work and timers bound to a member function, and an
// owning workqueue handle.
//
//   class Path {
//     void reconnect_work();
//     kx::DelayedWork<Path, &Path::reconnect_work> reconnect_{this, KX_LOCK_CLASS("path.reconnect")};
//   };
//
// The callback runs in process context (Work, DelayedWork) or softirq context
// (Timer). The owner must cancel (cancel_sync / del_sync) before it is
// destroyed: the destructors do so as a safety net, but an owner whose
// callback touches other members must cancel first, in its own teardown.
#pragma once

#include <kx/layout.h>
#include <kx/result.h>
#include <kx/shim.h>
#include <kx/sync.h>
#include <kx/types.h>

namespace kx {

// Owning handle to a workqueue (alloc_workqueue with WQ_MEM_RECLAIM, so work
// that the IO path depends on can make progress under memory pressure).
class WorkQueue {
 public:
  WorkQueue() = default;
  static Result<WorkQueue> create(const char* name, bool unbound) {
    kx_workqueue* wq = kx_wq_alloc(name, unbound ? 1 : 0);
    if (!wq) return Error(-ENOMEM);
    return WorkQueue(wq);
  }
  WorkQueue(WorkQueue&& other) : wq_(exchange(other.wq_, nullptr)) {}
  WorkQueue& operator=(WorkQueue&& other) {
    reset();
    wq_ = exchange(other.wq_, nullptr);
    return *this;
  }
  KX_NONCOPYABLE(WorkQueue);
  ~WorkQueue() { reset(); }

  void flush() { kx_wq_flush(wq_); }
  void reset() {
    if (wq_) kx_wq_destroy(exchange(wq_, nullptr));
  }
  kx_workqueue* get() const { return wq_; }

 private:
  explicit WorkQueue(kx_workqueue* wq) : wq_(wq) {}
  kx_workqueue* wq_ = nullptr;
};

template <typename Owner, void (Owner::*Method)()>
class Work {
 public:
  Work(Owner* owner, LockClass& cls) {
    kx_work_init(raw_.get(), &trampoline, owner, cls.name, cls.key);
  }
  ~Work() { cancel_sync(); }
  KX_PINNED(Work);

  // true if newly queued, false if it was already pending. wq nullptr = system_wq.
  bool queue(kx_workqueue* wq = nullptr) { return kx_work_queue(wq, raw_.get()) != 0; }
  bool queue_on(int cpu, kx_workqueue* wq = nullptr) {
    return kx_work_queue_on(wq, cpu, raw_.get()) != 0;
  }
  bool cancel_sync() { return kx_work_cancel_sync(raw_.get()) != 0; }
  bool flush() { return kx_work_flush(raw_.get()) != 0; }
  bool pending() { return kx_work_pending(raw_.get()) != 0; }

 private:
  static void trampoline(void* ctx) { (static_cast<Owner*>(ctx)->*Method)(); }
  Opaque<KX_SIZEOF_WORK, KX_ALIGNOF_WORK> raw_;
};

template <typename Owner, void (Owner::*Method)()>
class DelayedWork {
 public:
  DelayedWork(Owner* owner, LockClass& cls) {
    kx_dwork_init(raw_.get(), &trampoline, owner, cls.name, cls.key);
  }
  ~DelayedWork() { cancel_sync(); }
  KX_PINNED(DelayedWork);

  // Queues unless already pending (then the earlier expiry stands).
  bool queue(u32 delay_ms, kx_workqueue* wq = nullptr) {
    return kx_dwork_queue(wq, raw_.get(), delay_ms) != 0;
  }
  // Queues or moves the expiry to now + delay_ms.
  bool modify(u32 delay_ms, kx_workqueue* wq = nullptr) {
    return kx_dwork_mod(wq, raw_.get(), delay_ms) != 0;
  }
  bool cancel_sync() { return kx_dwork_cancel_sync(raw_.get()) != 0; }
  bool flush() { return kx_dwork_flush(raw_.get()) != 0; }

 private:
  static void trampoline(void* ctx) { (static_cast<Owner*>(ctx)->*Method)(); }
  Opaque<KX_SIZEOF_DWORK, KX_ALIGNOF_DWORK> raw_;
};

// The callback runs in softirq context: no sleeping, no Mutex.
template <typename Owner, void (Owner::*Method)()>
class Timer {
 public:
  Timer(Owner* owner, LockClass& cls) {
    kx_timer_init(raw_.get(), &trampoline, owner, cls.name, cls.key);
  }
  ~Timer() { del_sync(); }
  KX_PINNED(Timer);

  // Arms (or re-arms) the timer to fire delay_ms from now.
  bool arm(u32 delay_ms) { return kx_timer_mod(raw_.get(), delay_ms) != 0; }
  bool del() { return kx_timer_del(raw_.get()) != 0; }
  // Waits for a running callback; must not be called from the callback.
  bool del_sync() { return kx_timer_del_sync(raw_.get()) != 0; }
  bool pending() { return kx_timer_pending(raw_.get()) != 0; }

 private:
  static void trampoline(void* ctx) { (static_cast<Owner*>(ctx)->*Method)(); }
  Opaque<KX_SIZEOF_TIMER, KX_ALIGNOF_TIMER> raw_;
};

}  // namespace kx
