// SPDX-License-Identifier: GPL-2.0
// A userspace implementation of kx/shim.h for the host unit tests: the same
// C++ core and runtime headers run against pthreads instead of the kernel.
// Semantics follow the kernel functions each entry point wraps (work items
// are non-reentrant and run on a worker thread; timers fire on a separate
// "softirq" thread; cancel_sync waits for a running callback). This file is
// test infrastructure, so it uses the standard library freely.
#include "user_shim.h"

#include <kx/shim.h>
#include "kx_layout.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::mutex g_log_mutex;
std::string g_log;
std::atomic<int> g_warns{0};
thread_local int t_cpu = 0;

// ---- sync objects -----------------------------------------------------------
struct UserSpin {
  std::mutex m;
};
struct UserMutex {
  std::mutex m;
  std::atomic<bool> locked{false};
};
struct UserCompletion {
  std::mutex m;
  std::condition_variable cv;
  unsigned done = 0;
};
struct UserWaitq {
  std::mutex m;
  std::condition_variable cv;
};
static_assert(sizeof(UserSpin) <= KX_SIZEOF_SPINLOCK);
static_assert(sizeof(UserMutex) <= KX_SIZEOF_MUTEX);
static_assert(sizeof(UserCompletion) <= KX_SIZEOF_COMPLETION);
static_assert(sizeof(UserWaitq) <= KX_SIZEOF_WAITQ);

// ---- work, delayed work, timers --------------------------------------------
// One scheduler lock protects every work/timer state field; callbacks run
// without it. Immortal (never destroyed): the worker and timer threads still
// wait on them when the test process exits, and destroying a condition
// variable with waiters blocks in glibc.
std::mutex& g_sched = *new std::mutex;
std::condition_variable& g_sched_cv = *new std::condition_variable;  // any state change

struct UserWq;
struct UserWork {
  void (*fn)(void*);
  void* ctx;
  UserWq* wq;       // where it is queued (when pending)
  bool pending;
  bool running;
};
struct UserDwork {
  UserWork work;
  Clock::time_point expiry;
  UserWq* target;
  bool armed;
};
struct UserTimer {
  void (*fn)(void*);
  void* ctx;
  Clock::time_point expiry;
  bool armed;
  bool running;
};
static_assert(sizeof(UserWork) <= KX_SIZEOF_WORK);
static_assert(sizeof(UserDwork) <= KX_SIZEOF_DWORK);
static_assert(sizeof(UserTimer) <= KX_SIZEOF_TIMER);

struct UserWq {
  std::deque<UserWork*> queue;
  std::thread worker;
  bool stopping = false;
  bool busy = false;
};

std::vector<UserDwork*>& g_armed_dworks = *new std::vector<UserDwork*>;  // under g_sched
std::vector<UserTimer*>& g_armed_timers = *new std::vector<UserTimer*>;  // under g_sched
bool g_timer_busy = false;
std::once_flag g_start_once;
UserWq* g_system_wq;

void worker_loop(UserWq* wq) {
  std::unique_lock<std::mutex> lock(g_sched);
  for (;;) {
    g_sched_cv.wait(lock, [&] { return wq->stopping || !wq->queue.empty(); });
    if (wq->queue.empty()) return;  // stopping and drained
    UserWork* w = wq->queue.front();
    wq->queue.pop_front();
    w->pending = false;
    w->running = true;
    wq->busy = true;
    lock.unlock();
    w->fn(w->ctx);
    lock.lock();
    w->running = false;
    wq->busy = false;
    g_sched_cv.notify_all();
  }
}

UserWq* start_wq() {
  auto* wq = new UserWq();
  wq->worker = std::thread(worker_loop, wq);
  return wq;
}

bool queue_locked(UserWq* wq, UserWork* w) {
  if (w->pending) return false;
  w->pending = true;
  w->wq = wq;
  wq->queue.push_back(w);
  g_sched_cv.notify_all();
  return true;
}

bool unqueue_locked(UserWork* w) {
  if (!w->pending) return false;
  auto& q = w->wq->queue;
  for (auto it = q.begin(); it != q.end(); ++it) {
    if (*it == w) {
      q.erase(it);
      break;
    }
  }
  w->pending = false;
  return true;
}

template <typename T>
void erase_from(std::vector<T*>& v, T* x) {
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (*it == x) {
      v.erase(it);
      return;
    }
  }
}

// The "softirq": fires expired timers and moves expired delayed work to its
// workqueue.
void timer_loop() {
  std::unique_lock<std::mutex> lock(g_sched);
  for (;;) {
    Clock::time_point next = Clock::now() + std::chrono::milliseconds(50);
    for (UserDwork* d : g_armed_dworks) next = std::min(next, d->expiry);
    for (UserTimer* t : g_armed_timers) next = std::min(next, t->expiry);
    g_sched_cv.wait_until(lock, next);
    const auto now = Clock::now();
    for (size_t i = 0; i < g_armed_dworks.size();) {
      UserDwork* d = g_armed_dworks[i];
      if (d->expiry <= now) {
        d->armed = false;
        g_armed_dworks.erase(g_armed_dworks.begin() + i);
        queue_locked(d->target, &d->work);
      } else {
        i++;
      }
    }
    for (size_t i = 0; i < g_armed_timers.size();) {
      UserTimer* t = g_armed_timers[i];
      if (t->expiry <= now) {
        t->armed = false;
        t->running = true;
        g_timer_busy = true;
        g_armed_timers.erase(g_armed_timers.begin() + i);
        lock.unlock();
        t->fn(t->ctx);
        lock.lock();
        t->running = false;
        g_timer_busy = false;
        g_sched_cv.notify_all();
        i = 0;  // the list may have changed while unlocked
      } else {
        i++;
      }
    }
  }
}

void ensure_started() {
  std::call_once(g_start_once, [] {
    g_system_wq = start_wq();
    std::thread(timer_loop).detach();
  });
}

UserWq* wq_or_system(kx_workqueue* wq) {
  ensure_started();
  return wq ? reinterpret_cast<UserWq*>(wq) : g_system_wq;
}

void vlog(int level, const char* fmt, va_list args) {
  char buf[1024];
  vsnprintf(buf, sizeof(buf), fmt, args);
  std::lock_guard<std::mutex> g(g_log_mutex);
  g_log += buf;
  g_log += '\n';
  if (getenv("KX_USER_LOG")) fprintf(stderr, "<%d>kx: %s\n", level, buf);
}

// Per-CPU areas: a header with the stride in front of kFakeCpus copies.
struct PercpuHeader {
  size_t stride;
  size_t offset;  // from the malloc'ed block to the first copy
};

}  // namespace

namespace kx_user {
void set_current_cpu(int cpu) { t_cpu = cpu % kFakeCpus; }
int warn_count() { return g_warns.load(); }
std::string log_text() {
  std::lock_guard<std::mutex> g(g_log_mutex);
  return g_log;
}
void clear_log() {
  std::lock_guard<std::mutex> g(g_log_mutex);
  g_log.clear();
}
void quiesce() {
  ensure_started();
  std::unique_lock<std::mutex> lock(g_sched);
  g_sched_cv.wait(lock, [] {
    return g_system_wq->queue.empty() && !g_system_wq->busy && g_armed_dworks.empty() &&
           !g_timer_busy;
  });
}
}  // namespace kx_user

extern "C" {

void* kx_mem_alloc(kx_usize size, kx_u32 gfp) noexcept {
  return (gfp & KX_GFP_ZERO) ? calloc(1, size) : malloc(size);
}
void kx_mem_free(const void* p) noexcept { free(const_cast<void*>(p)); }
void* kx_vmem_alloc(kx_usize size, kx_u32 gfp) noexcept { return kx_mem_alloc(size, gfp); }
void kx_vmem_free(const void* p) noexcept { kx_mem_free(p); }
void* kx_pages_alloc(kx_u32 order, kx_u32 gfp) noexcept {
  const size_t bytes = size_t(KX_PAGE_SIZE) << order;
  void* p = aligned_alloc(KX_PAGE_SIZE, bytes);
  if (p && (gfp & KX_GFP_ZERO)) memset(p, 0, bytes);
  return p;
}
void kx_pages_free(void* addr, kx_u32) noexcept { free(addr); }

void kx_log(int level, const char* fmt, ...) noexcept {
  va_list args;
  va_start(args, fmt);
  vlog(level, fmt, args);
  va_end(args);
}
void kx_log_ratelimited(int level, const char* fmt, ...) noexcept {
  va_list args;
  va_start(args, fmt);
  vlog(level, fmt, args);
  va_end(args);
}
void kx_bug(const char* file, int line, const char* what) noexcept {
  fprintf(stderr, "kx BUG at %s:%d: %s\n", file, line, what);
  abort();
}
void kx_warn(const char* file, int line, const char* what) noexcept {
  g_warns++;
  fprintf(stderr, "kx WARNING at %s:%d: %s\n", file, line, what);
}

kx_u64 kx_ktime_ns(void) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}
kx_u32 kx_random_u32(void) noexcept {
  static thread_local std::mt19937 rng(12345);
  return rng();
}
void kx_msleep(kx_u32 ms) noexcept { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }
void kx_might_sleep(void) noexcept {}
void kx_cond_resched(void) noexcept { std::this_thread::yield(); }
void kx_local_bh_disable(void) noexcept {}
void kx_local_bh_enable(void) noexcept {}

// Spinlocks are mutexes here: no preemption or bottom-half semantics exist.
void kx_spin_init(void* lock, const char*, void*) noexcept { new (lock) UserSpin(); }
void kx_spin_lock(void* lock) noexcept { static_cast<UserSpin*>(lock)->m.lock(); }
void kx_spin_unlock(void* lock) noexcept { static_cast<UserSpin*>(lock)->m.unlock(); }
void kx_spin_lock_bh(void* lock) noexcept { kx_spin_lock(lock); }
void kx_spin_unlock_bh(void* lock) noexcept { kx_spin_unlock(lock); }
unsigned long kx_spin_lock_irqsave(void* lock) noexcept {
  kx_spin_lock(lock);
  return 0x200;
}
void kx_spin_unlock_irqrestore(void* lock, unsigned long) noexcept { kx_spin_unlock(lock); }
int kx_spin_is_locked(void* lock) noexcept {
  auto* s = static_cast<UserSpin*>(lock);
  if (s->m.try_lock()) {
    s->m.unlock();
    return 0;
  }
  return 1;
}

void kx_mutex_init(void* mutex, const char*, void*) noexcept { new (mutex) UserMutex(); }
void kx_mutex_destroy(void* mutex) noexcept { static_cast<UserMutex*>(mutex)->~UserMutex(); }
void kx_mutex_lock(void* mutex) noexcept {
  auto* m = static_cast<UserMutex*>(mutex);
  m->m.lock();
  m->locked = true;
}
int kx_mutex_trylock(void* mutex) noexcept {
  auto* m = static_cast<UserMutex*>(mutex);
  if (!m->m.try_lock()) return 0;
  m->locked = true;
  return 1;
}
void kx_mutex_unlock(void* mutex) noexcept {
  auto* m = static_cast<UserMutex*>(mutex);
  m->locked = false;
  m->m.unlock();
}
int kx_mutex_is_locked(void* mutex) noexcept { return static_cast<UserMutex*>(mutex)->locked; }

void kx_completion_init(void* c, const char*, void*) noexcept { new (c) UserCompletion(); }
void kx_completion_reinit(void* c) noexcept {
  auto* x = static_cast<UserCompletion*>(c);
  std::lock_guard<std::mutex> g(x->m);
  x->done = 0;
}
void kx_completion_complete(void* c) noexcept {
  auto* x = static_cast<UserCompletion*>(c);
  std::lock_guard<std::mutex> g(x->m);
  if (x->done != ~0u) x->done++;
  x->cv.notify_all();
}
void kx_completion_complete_all(void* c) noexcept {
  auto* x = static_cast<UserCompletion*>(c);
  std::lock_guard<std::mutex> g(x->m);
  x->done = ~0u;
  x->cv.notify_all();
}
int kx_completion_wait_timeout(void* c, kx_i64 timeout_ms) noexcept {
  auto* x = static_cast<UserCompletion*>(c);
  std::unique_lock<std::mutex> lock(x->m);
  auto ready = [&] { return x->done != 0; };
  if (timeout_ms < 0)
    x->cv.wait(lock, ready);
  else if (!x->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), ready))
    return 0;
  if (x->done != ~0u) x->done--;
  return 1;
}
void kx_completion_wait(void* c) noexcept { (void)kx_completion_wait_timeout(c, -1); }
int kx_completion_done(void* c) noexcept {
  auto* x = static_cast<UserCompletion*>(c);
  std::lock_guard<std::mutex> g(x->m);
  return x->done != 0;
}

void kx_waitq_init(void* wq, const char*, void*) noexcept { new (wq) UserWaitq(); }
void kx_waitq_wake_all(void* wq) noexcept {
  auto* w = static_cast<UserWaitq*>(wq);
  std::lock_guard<std::mutex> g(w->m);
  w->cv.notify_all();
}
int kx_waitq_wait(void* wq, int (*cond)(void*), void* ctx, kx_i64 timeout_ms) noexcept {
  auto* w = static_cast<UserWaitq*>(wq);
  std::unique_lock<std::mutex> lock(w->m);
  auto ready = [&] { return cond(ctx) != 0; };
  if (timeout_ms < 0) {
    w->cv.wait(lock, ready);
    return 1;
  }
  return w->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), ready) ? 1 : 0;
}

kx_workqueue* kx_wq_alloc(const char*, int) noexcept {
  ensure_started();
  return reinterpret_cast<kx_workqueue*>(start_wq());
}
void kx_wq_flush(kx_workqueue* wq) noexcept {
  UserWq* q = wq_or_system(wq);
  std::unique_lock<std::mutex> lock(g_sched);
  g_sched_cv.wait(lock, [&] { return q->queue.empty() && !q->busy; });
}
void kx_wq_destroy(kx_workqueue* wq) noexcept {
  if (!wq) return;
  UserWq* q = reinterpret_cast<UserWq*>(wq);
  {
    std::lock_guard<std::mutex> g(g_sched);
    q->stopping = true;
    g_sched_cv.notify_all();
  }
  q->worker.join();
  delete q;
}

void kx_work_init(void* work, void (*fn)(void*), void* ctx, const char*, void*) noexcept {
  new (work) UserWork{fn, ctx, nullptr, false, false};
}
int kx_work_queue(kx_workqueue* wq, void* work) noexcept {
  UserWq* q = wq_or_system(wq);
  std::lock_guard<std::mutex> g(g_sched);
  return queue_locked(q, static_cast<UserWork*>(work));
}
int kx_work_queue_on(kx_workqueue* wq, int, void* work) noexcept { return kx_work_queue(wq, work); }
int kx_work_cancel_sync(void* work) noexcept {
  auto* w = static_cast<UserWork*>(work);
  std::unique_lock<std::mutex> lock(g_sched);
  const bool was_pending = unqueue_locked(w);
  g_sched_cv.wait(lock, [&] { return !w->running; });
  return was_pending;
}
int kx_work_flush(void* work) noexcept {
  auto* w = static_cast<UserWork*>(work);
  std::unique_lock<std::mutex> lock(g_sched);
  const bool busy = w->pending || w->running;
  g_sched_cv.wait(lock, [&] { return !w->pending && !w->running; });
  return busy;
}
int kx_work_pending(void* work) noexcept {
  std::lock_guard<std::mutex> g(g_sched);
  return static_cast<UserWork*>(work)->pending;
}

void kx_dwork_init(void* dwork, void (*fn)(void*), void* ctx, const char*, void*) noexcept {
  new (dwork) UserDwork{{fn, ctx, nullptr, false, false}, {}, nullptr, false};
}
static int dwork_arm(kx_workqueue* wq, void* dwork, kx_u32 delay_ms, bool modify) {
  auto* d = static_cast<UserDwork*>(dwork);
  UserWq* q = wq_or_system(wq);
  std::lock_guard<std::mutex> g(g_sched);
  const bool was_pending = d->armed || d->work.pending;
  if (was_pending && !modify) return 0;
  unqueue_locked(&d->work);
  if (d->armed) erase_from(g_armed_dworks, d);
  d->target = q;
  if (delay_ms == 0) {
    d->armed = false;
    queue_locked(q, &d->work);
  } else {
    d->armed = true;
    d->expiry = Clock::now() + std::chrono::milliseconds(delay_ms);
    g_armed_dworks.push_back(d);
    g_sched_cv.notify_all();
  }
  return modify ? was_pending : 1;
}
int kx_dwork_queue(kx_workqueue* wq, void* dwork, kx_u32 delay_ms) noexcept {
  return dwork_arm(wq, dwork, delay_ms, false);
}
int kx_dwork_mod(kx_workqueue* wq, void* dwork, kx_u32 delay_ms) noexcept {
  return dwork_arm(wq, dwork, delay_ms, true);
}
int kx_dwork_cancel_sync(void* dwork) noexcept {
  auto* d = static_cast<UserDwork*>(dwork);
  std::unique_lock<std::mutex> lock(g_sched);
  bool was_pending = unqueue_locked(&d->work);
  if (d->armed) {
    erase_from(g_armed_dworks, d);
    d->armed = false;
    was_pending = true;
  }
  g_sched_cv.wait(lock, [&] { return !d->work.running; });
  return was_pending;
}
int kx_dwork_flush(void* dwork) noexcept {
  auto* d = static_cast<UserDwork*>(dwork);
  std::unique_lock<std::mutex> lock(g_sched);
  // As flush_delayed_work: an armed timer is fired at once.
  if (d->armed) {
    erase_from(g_armed_dworks, d);
    d->armed = false;
    queue_locked(d->target, &d->work);
  }
  const bool busy = d->work.pending || d->work.running;
  g_sched_cv.wait(lock, [&] { return !d->work.pending && !d->work.running; });
  return busy;
}

void kx_timer_init(void* timer, void (*fn)(void*), void* ctx, const char*, void*) noexcept {
  ensure_started();
  new (timer) UserTimer{fn, ctx, {}, false, false};
}
int kx_timer_mod(void* timer, kx_u32 delay_ms) noexcept {
  auto* t = static_cast<UserTimer*>(timer);
  std::lock_guard<std::mutex> g(g_sched);
  const bool was = t->armed;
  if (!was) g_armed_timers.push_back(t);
  t->armed = true;
  t->expiry = Clock::now() + std::chrono::milliseconds(delay_ms);
  g_sched_cv.notify_all();
  return was;
}
int kx_timer_del(void* timer) noexcept {
  auto* t = static_cast<UserTimer*>(timer);
  std::lock_guard<std::mutex> g(g_sched);
  if (!t->armed) return 0;
  erase_from(g_armed_timers, t);
  t->armed = false;
  return 1;
}
int kx_timer_del_sync(void* timer) noexcept {
  auto* t = static_cast<UserTimer*>(timer);
  std::unique_lock<std::mutex> lock(g_sched);
  const bool was = t->armed;
  if (was) erase_from(g_armed_timers, t);
  t->armed = false;
  g_sched_cv.wait(lock, [&] { return !t->running; });
  return was;
}
int kx_timer_pending(void* timer) noexcept {
  std::lock_guard<std::mutex> g(g_sched);
  return static_cast<UserTimer*>(timer)->armed;
}

void* kx_percpu_alloc(kx_usize size, kx_usize align, kx_u32) noexcept {
  if (align < alignof(PercpuHeader)) align = alignof(PercpuHeader);
  const size_t stride = (size + align - 1) / align * align;
  const size_t offset = (sizeof(PercpuHeader) + align - 1) / align * align;
  char* block = static_cast<char*>(aligned_alloc(align, offset + stride * kx_user::kFakeCpus));
  if (!block) return nullptr;
  memset(block, 0, offset + stride * kx_user::kFakeCpus);
  char* first = block + offset;
  auto* h = reinterpret_cast<PercpuHeader*>(first - sizeof(PercpuHeader));
  h->stride = stride;
  h->offset = offset;
  return first;
}
void kx_percpu_free(void* pcpu) noexcept {
  if (!pcpu) return;
  auto* h = reinterpret_cast<PercpuHeader*>(static_cast<char*>(pcpu) - sizeof(PercpuHeader));
  free(static_cast<char*>(pcpu) - h->offset);
}
void* kx_percpu_ptr(void* pcpu, int cpu) noexcept {
  auto* h = reinterpret_cast<PercpuHeader*>(static_cast<char*>(pcpu) - sizeof(PercpuHeader));
  return static_cast<char*>(pcpu) + h->stride * cpu;
}
int kx_cpu_get(void) noexcept { return t_cpu; }
void kx_cpu_put(void) noexcept {}
int kx_cpu_current(void) noexcept { return t_cpu; }
int kx_nr_cpu_ids(void) noexcept { return kx_user::kFakeCpus; }
int kx_num_online_cpus(void) noexcept { return kx_user::kFakeCpus; }
int kx_cpu_next_possible(int prev) noexcept { return prev + 1; }

}  // extern "C"
