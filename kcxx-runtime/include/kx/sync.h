/* SPDX-License-Identifier: GPL-2.0 */
// Locks, RAII guards, completions and wait queues over the shim.
//
// Lock classes: every lock-like object is constructed from a LockClass made
// by KX_LOCK_CLASS("name") at the call site. The lambda's static gives each
// call site its own lockdep key (in static storage, as lockdep requires),
// exactly like the kernel's spin_lock_init()/mutex_init() macros.
//
// Guards name their context; pick by the most-interrupting context that takes
// the lock:
//   SpinGuard     process or softirq, lock never taken from a context that
//                 could interrupt the holder on this CPU
//   SpinGuardBh   lock also taken from softirq (e.g. RDMA completion handlers
//                 polled in softirq), holder runs in process context
//   SpinGuardIrq  lock also taken from hardirq (irqsave/irqrestore)
//   MutexGuard    process context only; may sleep. Never from a completion
//                 handler or a non-blocking queue_rq.
#pragma once

#include <kx/layout.h>
#include <kx/shim.h>
#include <kx/types.h>

namespace kx {

struct LockClass {
  const char* name;
  // struct lock_class_key has size 0 without LOCKDEP; keep >= 1 byte so
  // every class has a distinct address.
  alignas(KX_ALIGNOF_LOCK_CLASS_KEY) unsigned char key[KX_SIZEOF_LOCK_CLASS_KEY ? KX_SIZEOF_LOCK_CLASS_KEY : 1];
};

}  // namespace kx

#define KX_LOCK_CLASS(name_literal)                                            \
  ([]() -> ::kx::LockClass& {                                                  \
    static constinit ::kx::LockClass kx_lock_class_{name_literal, {}};         \
    return kx_lock_class_;                                                     \
  }())

// Clang thread-safety annotations for the lint build; nothing under g++.
#if defined(__clang__)
#define KX_CAPABILITY(x) __attribute__((capability(x)))
#define KX_GUARDED_BY(x) __attribute__((guarded_by(x)))
#define KX_REQUIRES(...) __attribute__((requires_capability(__VA_ARGS__)))
#define KX_ACQUIRE(...) __attribute__((acquire_capability(__VA_ARGS__)))
#define KX_RELEASE(...) __attribute__((release_capability(__VA_ARGS__)))
#define KX_SCOPED_CAPABILITY __attribute__((scoped_lockable))
#else
#define KX_CAPABILITY(x)
#define KX_GUARDED_BY(x)
#define KX_REQUIRES(...)
#define KX_ACQUIRE(...)
#define KX_RELEASE(...)
#define KX_SCOPED_CAPABILITY
#endif

namespace kx {

class KX_CAPABILITY("spinlock") SpinLock {
 public:
  explicit SpinLock(LockClass& cls) { kx_spin_init(raw_.get(), cls.name, cls.key); }
  KX_PINNED(SpinLock);

  void lock() KX_ACQUIRE() { kx_spin_lock(raw_.get()); }
  void unlock() KX_RELEASE() { kx_spin_unlock(raw_.get()); }
  void lock_bh() KX_ACQUIRE() { kx_spin_lock_bh(raw_.get()); }
  void unlock_bh() KX_RELEASE() { kx_spin_unlock_bh(raw_.get()); }
  unsigned long lock_irqsave() KX_ACQUIRE() { return kx_spin_lock_irqsave(raw_.get()); }
  void unlock_irqrestore(unsigned long flags) KX_RELEASE() {
    kx_spin_unlock_irqrestore(raw_.get(), flags);
  }
  bool is_locked() { return kx_spin_is_locked(raw_.get()) != 0; }

 private:
  Opaque<KX_SIZEOF_SPINLOCK, KX_ALIGNOF_SPINLOCK> raw_;
};

class [[nodiscard]] KX_SCOPED_CAPABILITY SpinGuard {
 public:
  explicit SpinGuard(SpinLock& l) KX_ACQUIRE(l) : lock_(l) { lock_.lock(); }
  ~SpinGuard() KX_RELEASE() { lock_.unlock(); }
  KX_PINNED(SpinGuard);

 private:
  SpinLock& lock_;
};

class [[nodiscard]] KX_SCOPED_CAPABILITY SpinGuardBh {
 public:
  explicit SpinGuardBh(SpinLock& l) KX_ACQUIRE(l) : lock_(l) { lock_.lock_bh(); }
  ~SpinGuardBh() KX_RELEASE() { lock_.unlock_bh(); }
  KX_PINNED(SpinGuardBh);

 private:
  SpinLock& lock_;
};

class [[nodiscard]] KX_SCOPED_CAPABILITY SpinGuardIrq {
 public:
  explicit SpinGuardIrq(SpinLock& l) KX_ACQUIRE(l) : lock_(l), flags_(l.lock_irqsave()) {}
  ~SpinGuardIrq() KX_RELEASE() { lock_.unlock_irqrestore(flags_); }
  KX_PINNED(SpinGuardIrq);

 private:
  SpinLock& lock_;
  unsigned long flags_;
};

// Sleeping lock: process context only.
class KX_CAPABILITY("mutex") Mutex {
 public:
  explicit Mutex(LockClass& cls) { kx_mutex_init(raw_.get(), cls.name, cls.key); }
  ~Mutex() { kx_mutex_destroy(raw_.get()); }
  KX_PINNED(Mutex);

  void lock() KX_ACQUIRE() { kx_mutex_lock(raw_.get()); }
  bool try_lock() { return kx_mutex_trylock(raw_.get()) != 0; }
  void unlock() KX_RELEASE() { kx_mutex_unlock(raw_.get()); }
  bool is_locked() { return kx_mutex_is_locked(raw_.get()) != 0; }

 private:
  Opaque<KX_SIZEOF_MUTEX, KX_ALIGNOF_MUTEX> raw_;
};

class [[nodiscard]] KX_SCOPED_CAPABILITY MutexGuard {
 public:
  explicit MutexGuard(Mutex& m) KX_ACQUIRE(m) : mutex_(m) { mutex_.lock(); }
  ~MutexGuard() KX_RELEASE() { mutex_.unlock(); }
  KX_PINNED(MutexGuard);

 private:
  Mutex& mutex_;
};

// A one-shot (or re-armable with reinit()) event. complete() from any context;
// wait() only in process context.
class Completion {
 public:
  explicit Completion(LockClass& cls) { kx_completion_init(raw_.get(), cls.name, cls.key); }
  KX_PINNED(Completion);

  void complete() { kx_completion_complete(raw_.get()); }
  void complete_all() { kx_completion_complete_all(raw_.get()); }
  void wait() { kx_completion_wait(raw_.get()); }
  // true if completed within timeout_ms.
  bool wait_for(i64 timeout_ms) { return kx_completion_wait_timeout(raw_.get(), timeout_ms) != 0; }
  bool done() { return kx_completion_done(raw_.get()) != 0; }
  // Only when no waiter and no completer can race with it.
  void reinit() { kx_completion_reinit(raw_.get()); }

 private:
  Opaque<KX_SIZEOF_COMPLETION, KX_ALIGNOF_COMPLETION> raw_;
};

// A wait queue with a predicate: waiters sleep until pred() holds; whoever
// changes the state the predicate reads calls wake_all() afterwards.
class WaitQueue {
 public:
  explicit WaitQueue(LockClass& cls) { kx_waitq_init(raw_.get(), cls.name, cls.key); }
  KX_PINNED(WaitQueue);

  void wake_all() { kx_waitq_wake_all(raw_.get()); }

  // Sleeps until pred() is true (returns true) or timeout_ms elapses (false).
  // timeout_ms < 0 waits forever. Process context; pred must not sleep.
  template <typename Pred>
  bool wait_for(Pred&& pred, i64 timeout_ms) {
    return kx_waitq_wait(raw_.get(), &call_pred<RemoveReferenceT<Pred>>, &pred, timeout_ms) != 0;
  }
  template <typename Pred>
  void wait(Pred&& pred) {
    (void)wait_for(forward<Pred>(pred), -1);
  }

 private:
  template <typename P>
  static int call_pred(void* ctx) {
    return (*static_cast<P*>(ctx))() ? 1 : 0;
  }
  Opaque<KX_SIZEOF_WAITQ, KX_ALIGNOF_WAITQ> raw_;
};

}  // namespace kx
