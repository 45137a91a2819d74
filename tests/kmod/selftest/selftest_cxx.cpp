// SPDX-License-Identifier: GPL-2.0
// The C++ half of kcxx_selftest (see selftest_main.c). One translation unit:
// the runtime definitions are included here, once.
#include <kx/kx.h>
#include <runtime/runtime.cpp>

namespace {

using namespace kx;

// Each check returns nullptr on success or a static string saying what failed.
using Check = const char* (*)();

#define EXPECT(cond)                                                           \
  do {                                                                         \
    if (!(cond)) return #cond;                                                 \
  } while (0)

struct Probe {
  explicit Probe(int v) : value(v) { constructed++; }
  ~Probe() { destroyed++; }
  int value;
  static inline constinit int constructed = 0;
  static inline constinit int destroyed = 0;
};

const char* check_alloc() {
  const i64 before = runtime::live_allocations();
  Probe* p = new (Gfp::kernel) Probe(7);
  EXPECT(p != nullptr);
  EXPECT(p->value == 7);
  EXPECT(runtime::live_allocations() == before + 1);
  destroy(p);
  EXPECT(runtime::live_allocations() == before);
  void* raw = alloc_raw(4096, Gfp::kernel);
  EXPECT(raw != nullptr);
  free_raw(raw);
  void* pages = alloc_pages(2, Gfp::kernel);
  EXPECT(pages != nullptr);
  static_cast<char*>(pages)[4 * kPageSize - 1] = 1;  // the whole order-2 block is ours
  free_pages(pages, 2);
  EXPECT(runtime::live_allocations() == before);
  return nullptr;
}

const char* check_alloc_failure() {
  const i64 before = runtime::live_allocations();
  const int constructed = Probe::constructed;
  runtime::fail_nth_allocation(1);
  Probe* p = new (Gfp::kernel) Probe(1);
  EXPECT(p == nullptr);
  // noexcept operator new: g++ checks for null and skips the constructor.
  EXPECT(Probe::constructed == constructed);
  runtime::fail_nth_allocation(1);
  auto r = make_own<Probe>(Gfp::kernel, 2);
  EXPECT(r.is_error() && r.error().code() == -ENOMEM);
  // The second allocation from now fails, not the first.
  runtime::fail_nth_allocation(2);
  auto first = make_own<Probe>(Gfp::kernel, 3);
  auto second = make_own<Probe>(Gfp::kernel, 4);
  EXPECT(first.is_ok() && second.is_error());
  first = Error(-EIO);  // drops the object
  EXPECT(runtime::live_allocations() == before);
  return nullptr;
}

Result<int> parse_positive(int v) {
  if (v <= 0) return Error(-EINVAL);
  return v;
}
Result<int> twice_positive(int v) {
  int x = KX_TRY(parse_positive(v));
  return 2 * x;
}

const char* check_result() {
  auto ok = twice_positive(21);
  EXPECT(ok.is_ok() && ok.value() == 42);
  auto bad = twice_positive(-1);
  EXPECT(bad.is_error() && bad.error().code() == -EINVAL);
  EXPECT(to_errno(bad) == -EINVAL);
  EXPECT(to_result(-EAGAIN).error().code() == -EAGAIN);
  EXPECT(to_result(0).is_ok());
  return nullptr;
}

const char* check_own_ptr() {
  const i64 before = runtime::live_allocations();
  const int destroyed = Probe::destroyed;
  {
    auto a = make_own<Probe>(Gfp::kernel, 5);
    EXPECT(a.is_ok());
    OwnPtr<Probe> owner = a.release_value();
    OwnPtr<Probe> moved = move(owner);
    EXPECT(!owner && moved && moved->value == 5);
  }
  EXPECT(Probe::destroyed == destroyed + 1);
  auto arr = OwnArray<u32>::create(1000, Gfp::kernel);
  EXPECT(arr.is_ok() && arr.value().size() == 1000 && arr.value()[999] == 0);
  arr = Error(-EIO);
  EXPECT(runtime::live_allocations() == before);
  return nullptr;
}

struct Shared : RefCounted<Shared> {
  static inline constinit int released = 0;
  ~Shared() { released++; }
};

const char* check_ref_ptr() {
  const int released = Shared::released;
  auto made = make_ref<Shared>(Gfp::kernel);
  EXPECT(made.is_ok());
  RefPtr<Shared> a = made.release_value();
  {
    RefPtr<Shared> b = a;
    EXPECT(a->ref_count() == 2);
    RefPtr<Shared> c = move(b);
    EXPECT(a->ref_count() == 2 && !b);
  }
  EXPECT(a->ref_count() == 1);
  EXPECT(a->ref_get_unless_zero());
  a->ref_put();
  a.reset();
  EXPECT(Shared::released == released + 1);
  return nullptr;
}

struct Item {
  int id;
  ListNode by_order;
  ListNode by_parity;
};

const char* check_list() {
  Item items[6];
  List<Item, &Item::by_order> order;
  List<Item, &Item::by_parity> even;
  for (int i = 0; i < 6; i++) {
    items[i].id = i;
    order.push_back(items[i]);
    if (i % 2 == 0) even.push_front(items[i]);
  }
  EXPECT(order.size() == 6 && even.size() == 3);
  EXPECT(order.front()->id == 0 && even.front()->id == 4);
  order.remove(items[3]);
  int sum = 0;
  for (Item& it : order) sum += it.id;
  EXPECT(sum == 0 + 1 + 2 + 4 + 5);
  order.for_each_safe([&](Item& it) {
    if (it.id % 2) order.remove(it);
  });
  EXPECT(order.size() == 3);
  while (order.pop_front()) {
  }
  while (even.pop_front()) {
  }
  EXPECT(order.empty() && even.empty() && !items[0].by_order.linked());
  return nullptr;
}

// Work, delayed work, timer, completion, wait queue and locks exercised
// together from the contexts they are made for.
class Engine {
 public:
  Engine() = default;
  KX_PINNED(Engine);

  void work_fn() {
    {
      MutexGuard g(mutex_);
      work_runs_++;
    }
    work_done_.complete();
  }
  void dwork_fn() {
    dwork_fired_ns_ = kx_ktime_ns();
    dwork_done_.complete();
  }
  void timer_fn() {  // softirq
    {
      SpinGuardIrq g(irq_lock_);
      timer_runs_++;
    }
    {
      SpinGuard g(lock_);
      flag_ = true;
    }
    waitq_.wake_all();
  }
  void contender_fn() {  // process context, races the test thread on lock_bh_
    for (int i = 0; i < 100000; i++) {
      SpinGuardBh g(bh_lock_);
      shared_counter_++;
    }
    contender_done_.complete();
  }

  Mutex mutex_{KX_LOCK_CLASS("selftest.mutex")};
  SpinLock lock_{KX_LOCK_CLASS("selftest.lock")};
  SpinLock bh_lock_{KX_LOCK_CLASS("selftest.bh_lock")};
  SpinLock irq_lock_{KX_LOCK_CLASS("selftest.irq_lock")};
  Completion work_done_{KX_LOCK_CLASS("selftest.work_done")};
  Completion dwork_done_{KX_LOCK_CLASS("selftest.dwork_done")};
  Completion contender_done_{KX_LOCK_CLASS("selftest.contender_done")};
  Completion never_{KX_LOCK_CLASS("selftest.never")};
  WaitQueue waitq_{KX_LOCK_CLASS("selftest.waitq")};
  int work_runs_ = 0;
  int timer_runs_ = 0;
  bool flag_ = false;
  u64 dwork_fired_ns_ = 0;
  u64 shared_counter_ = 0;
  Work<Engine, &Engine::work_fn> work_{this, KX_LOCK_CLASS("selftest.work")};
  Work<Engine, &Engine::contender_fn> contender_{this, KX_LOCK_CLASS("selftest.contender")};
  DelayedWork<Engine, &Engine::dwork_fn> dwork_{this, KX_LOCK_CLASS("selftest.dwork")};
  Timer<Engine, &Engine::timer_fn> timer_{this, KX_LOCK_CLASS("selftest.timer")};
};

Engine* g_engine;  // constant-initialised (nullptr): no constructor runs

const char* check_work() {
  Engine& e = *g_engine;
  auto wq = WorkQueue::create("kcxx_selftest", false);
  EXPECT(wq.is_ok());
  EXPECT(e.work_.queue(wq.value().get()));
  EXPECT(e.work_done_.wait_for(5000));
  e.work_.flush();
  {
    MutexGuard g(e.mutex_);
    EXPECT(e.work_runs_ == 1);
  }
  return nullptr;
}

const char* check_delayed_work() {
  Engine& e = *g_engine;
  const u64 start = kx_ktime_ns();
  EXPECT(e.dwork_.queue(50));
  EXPECT(!e.dwork_done_.done());
  EXPECT(e.dwork_done_.wait_for(5000));
  EXPECT(e.dwork_fired_ns_ - start >= 40ull * 1000 * 1000);  // 50 ms, jiffy rounding
  // A cancelled one never runs.
  e.dwork_done_.reinit();
  EXPECT(e.dwork_.queue(10000));
  EXPECT(e.dwork_.cancel_sync());
  EXPECT(!e.dwork_done_.wait_for(100));
  return nullptr;
}

const char* check_completion() {
  Engine& e = *g_engine;
  const u64 start = kx_ktime_ns();
  EXPECT(!e.never_.wait_for(30));  // times out
  EXPECT(kx_ktime_ns() - start >= 20ull * 1000 * 1000);
  e.never_.complete_all();
  EXPECT(e.never_.wait_for(0) && e.never_.done());
  return nullptr;
}

const char* check_timer_and_waitqueue() {
  Engine& e = *g_engine;
  // Timeout path: nobody sets the flag.
  EXPECT(!e.waitq_.wait_for([&] {
    SpinGuardBh g(e.lock_);
    return e.flag_;
  }, 30));
  EXPECT(!e.timer_.arm(20));  // mod_timer: false = it was not pending before
  EXPECT(e.waitq_.wait_for([&] {
    SpinGuardBh g(e.lock_);
    return e.flag_;
  }, 5000));
  e.timer_.del_sync();
  SpinGuardIrq g(e.irq_lock_);
  EXPECT(e.timer_runs_ == 1);
  return nullptr;
}

const char* check_spinlock_contention() {
  Engine& e = *g_engine;
  // A work item on another CPU (if any) increments under the same lock.
  const int other = (current_cpu() + 1) % kx_num_online_cpus();
  e.contender_.queue_on(other);
  for (int i = 0; i < 100000; i++) {
    SpinGuardBh g(e.bh_lock_);
    e.shared_counter_++;
  }
  EXPECT(e.contender_done_.wait_for(10000));
  SpinGuardBh g(e.bh_lock_);
  EXPECT(e.shared_counter_ == 200000);
  return nullptr;
}

struct CpuCounter {
  Atomic<u64> hits;
  int touched_on = -1;
};

class PerCpuProbe {
 public:
  void work_fn() {
    CpuGuard g;
    CpuCounter& c = counters_.local(g);
    c.hits.add_relaxed(1);
    c.touched_on = g.cpu();
    done_.complete();
  }
  PerCpu<CpuCounter> counters_;
  Completion done_{KX_LOCK_CLASS("selftest.percpu_done")};
  Work<PerCpuProbe, &PerCpuProbe::work_fn> work_{this, KX_LOCK_CLASS("selftest.percpu_work")};
};

const char* check_percpu() {
  const i64 before = runtime::live_allocations();
  {
    auto probe = make_own<PerCpuProbe>(Gfp::kernel);
    EXPECT(probe.is_ok());
    PerCpuProbe& p = *probe.value();
    auto counters = PerCpu<CpuCounter>::create(Gfp::kernel);
    EXPECT(counters.is_ok());
    p.counters_ = counters.release_value();
    int cpus = 0;
    for_each_possible_cpu([&](int cpu) {
      if (cpu < kx_num_online_cpus()) {
        p.done_.reinit();
        p.work_.queue_on(cpu);
        p.done_.wait_for(5000);
        cpus++;
      }
    });
    u64 total = 0;
    bool each_own_cpu = true;
    p.counters_.for_each([&](int cpu, CpuCounter& c) {
      total += c.hits.load();
      if (c.hits.load() && c.touched_on != cpu) each_own_cpu = false;
    });
    EXPECT(total == static_cast<u64>(cpus) && cpus >= 1);
    EXPECT(each_own_cpu);
  }
  EXPECT(runtime::live_allocations() == before);
  return nullptr;
}

const char* check_atomics() {
  Atomic<u32> a{5};
  EXPECT(a.fetch_add(3) == 5 && a.load() == 8);
  u32 expected = 7;
  EXPECT(!a.compare_exchange(expected, 1) && expected == 8);
  EXPECT(a.compare_exchange(expected, 1) && a.load() == 1);
  EXPECT(a.exchange(9) == 1 && a.sub_fetch(9) == 0);
  return nullptr;
}

const char* check_tags() {
  const i64 before = runtime::live_allocations();
  {
    auto made = TagAllocator::create(100, Gfp::kernel);
    EXPECT(made.is_ok());
    TagAllocator& tags = made.value();
    bool seen[100] = {};
    for (int i = 0; i < 100; i++) {
      const i32 t = tags.try_get();
      EXPECT(t >= 0 && t < 100 && !seen[t]);
      seen[t] = true;
    }
    EXPECT(tags.try_get() == -1 && tags.in_use() == 100);
    tags.put(42);
    EXPECT(!tags.held(42) && tags.try_get() == 42);
    EXPECT(TagAllocator::create(0, Gfp::kernel).is_error());
  }
  EXPECT(runtime::live_allocations() == before);
  return nullptr;
}

struct NamedCheck {
  const char* name;
  Check fn;
};

constexpr NamedCheck kChecks[] = {
    {"alloc", check_alloc},
    {"alloc_failure", check_alloc_failure},
    {"result", check_result},
    {"own_ptr", check_own_ptr},
    {"ref_ptr", check_ref_ptr},
    {"list", check_list},
    {"atomics", check_atomics},
    {"tags", check_tags},
    {"work", check_work},
    {"delayed_work", check_delayed_work},
    {"completion", check_completion},
    {"timer_waitqueue", check_timer_and_waitqueue},
    {"spinlock_contention", check_spinlock_contention},
    {"percpu", check_percpu},
};

}  // namespace

extern "C" int kx_selftest_run(void) {
  int failed = 0;
  int passed = 0;
  auto engine = make_own<Engine>(Gfp::kernel);
  if (engine.is_error()) {
    kx_err("FAIL setup: cannot allocate the engine");
    return 1;
  }
  g_engine = engine.value().get();
  for (const NamedCheck& c : kChecks) {
    const char* why = c.fn();
    if (why) {
      failed++;
      kx_err("FAIL %s: %s", c.name, why);
    } else {
      passed++;
      kx_info("PASS %s", c.name);
    }
  }
  g_engine = nullptr;
  engine = Error(-ESHUTDOWN);  // destroys the engine (cancels its work items)
  // Everything the checks allocated is gone again.
  if (runtime::live_allocations() != 0) {
    failed++;
    kx_err("FAIL no_leak: %lld allocations live after the checks",
           static_cast<long long>(runtime::live_allocations()));
  } else {
    passed++;
    kx_info("PASS no_leak");
  }
  kx_info("summary: %d passed, %d failed", passed, failed);
  return failed;
}
