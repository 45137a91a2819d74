// SPDX-License-Identifier: GPL-2.0
// Host tests of the kx runtime library against the userspace fake kernel.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include <kx/kx.h>
#include "user_shim.h"

namespace {

using namespace kx;

struct Probe {
  explicit Probe(int v) : value(v) { constructed++; }
  ~Probe() { destroyed++; }
  int value;
  static inline int constructed = 0;
  static inline int destroyed = 0;
};

Result<int> parse_positive(int v) {
  if (v <= 0) return Error(-EINVAL);
  return v;
}

Result<int> sum_positive(int a, int b) {
  const int x = KX_TRY(parse_positive(a));
  const int y = KX_TRY(parse_positive(b));
  return x + y;
}

Result<void> check_positive(int a) {
  KX_TRY(parse_positive(a));
  return ok();
}

TEST(Result, TryPropagatesTheFirstError) {
  EXPECT_EQ(sum_positive(2, 3).value(), 5);
  auto r = sum_positive(2, -3);
  ASSERT_TRUE(r.is_error());
  EXPECT_EQ(r.error().code(), -EINVAL);
  EXPECT_TRUE(check_positive(1).is_ok());
  EXPECT_EQ(to_errno(check_positive(0)), -EINVAL);
  EXPECT_EQ(to_result(-EBUSY).error().code(), -EBUSY);
}

TEST(Result, HoldsMoveOnlyValues) {
  Result<OwnPtr<Probe>> r = make_own<Probe>(Gfp::kernel, 4);
  ASSERT_TRUE(r.is_ok());
  OwnPtr<Probe> p = r.release_value();
  EXPECT_EQ(p->value, 4);
}

TEST(ResultDeathTest, ErrorMustBeANegativeErrno) {
  EXPECT_DEATH({ Error e(5); (void)e; }, "code >= 0");
  EXPECT_DEATH({ Error e(-5000); (void)e; }, "kMaxErrno");
}

TEST(Alloc, CountsLiveAllocations) {
  const i64 before = runtime::live_allocations();
  Probe* p = new (Gfp::kernel) Probe(1);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(runtime::live_allocations(), before + 1);
  destroy(p);
  void* pages = alloc_pages(1, Gfp::kernel | kGfpZero);
  ASSERT_NE(pages, nullptr);
  EXPECT_EQ(static_cast<char*>(pages)[2 * kPageSize - 1], 0);
  free_pages(pages, 1);
  EXPECT_EQ(runtime::live_allocations(), before);
}

TEST(Alloc, InjectedFailureSkipsTheConstructor) {
  const i64 before = runtime::live_allocations();
  const int constructed = Probe::constructed;
  runtime::fail_nth_allocation(1);
  Probe* p = new (Gfp::kernel) Probe(1);
  EXPECT_EQ(p, nullptr);
  EXPECT_EQ(Probe::constructed, constructed);
  runtime::fail_nth_allocation(2);
  auto first = make_own<Probe>(Gfp::kernel, 1);
  auto second = make_own<Probe>(Gfp::kernel, 2);
  EXPECT_TRUE(first.is_ok());
  ASSERT_TRUE(second.is_error());
  EXPECT_EQ(second.error().code(), -ENOMEM);
  first = Error(-EIO);
  EXPECT_EQ(runtime::live_allocations(), before);
}

TEST(Alloc, LeakIsReportedAtExit) {
  kx_user::clear_log();
  EXPECT_EQ(kx_runtime_exit(), 0);
  EXPECT_EQ(kx_user::log_text().find("kcxx-leak"), std::string::npos);
  void* leaked = alloc_raw(16, Gfp::kernel);
  EXPECT_EQ(kx_runtime_exit(), 1);
  EXPECT_NE(kx_user::log_text().find("kcxx-leak: 1 allocations still live"), std::string::npos);
  free_raw(leaked);
}

TEST(OwnPtr, MovesAndDestroysOnce) {
  const int destroyed = Probe::destroyed;
  {
    OwnPtr<Probe> a = make_own<Probe>(Gfp::kernel, 9).release_value();
    OwnPtr<Probe> b = move(a);
    EXPECT_FALSE(a);
    EXPECT_EQ(b->value, 9);
    OwnPtr<Probe> c;
    c = move(b);
    EXPECT_EQ(Probe::destroyed, destroyed);
  }
  EXPECT_EQ(Probe::destroyed, destroyed + 1);
}

TEST(OwnArray, ZeroedAndBounded) {
  auto arr = OwnArray<u64>::create(33, Gfp::kernel).release_value();
  EXPECT_EQ(arr.size(), 33u);
  for (u64 v : arr) EXPECT_EQ(v, 0u);
  EXPECT_EQ(OwnArray<u64>::create(~usize(0) / 2, Gfp::kernel).error().code(), -EOVERFLOW);
}

struct Counted : RefCounted<Counted> {
  ~Counted() { gone++; }
  static inline int gone = 0;
};

struct Unlinked : RefCounted<Unlinked> {
  void ref_released() { released++; }
  int released = 0;
};

TEST(RefPtr, SharesAndReleasesAtZero) {
  const int gone = Counted::gone;
  RefPtr<Counted> a = make_ref<Counted>(Gfp::kernel).release_value();
  {
    RefPtr<Counted> b = a;
    RefPtr<Counted> c = RefPtr<Counted>::share(a.get());
    EXPECT_EQ(a->ref_count(), 3u);
  }
  EXPECT_EQ(a->ref_count(), 1u);
  a.reset();
  EXPECT_EQ(Counted::gone, gone + 1);
}

TEST(RefPtr, ReleaseHookRunsInsteadOfDestroy) {
  Unlinked u;  // not heap: ref_released() must not free it
  u.ref_get();
  EXPECT_FALSE(u.ref_put());
  EXPECT_TRUE(u.ref_put());
  EXPECT_EQ(u.released, 1);
  EXPECT_FALSE(u.ref_get_unless_zero());
}

TEST(RefPtr, UnderflowWarnsAndNeverReleasesTwice) {
  Unlinked u;
  EXPECT_TRUE(u.ref_put());
  const int warns = kx_user::warn_count();
  EXPECT_FALSE(u.ref_put());  // underflow: saturate and warn
  EXPECT_EQ(kx_user::warn_count(), warns + 1);
  EXPECT_EQ(u.released, 1);
  EXPECT_FALSE(u.ref_put());  // saturated stays saturated, silently
  EXPECT_EQ(u.released, 1);
}

struct Node {
  int id = 0;
  ListNode a;
  ListNode b;
};

TEST(List, TwoListsOneElementAndSafeRemoval) {
  Node n[5];
  List<Node, &Node::a> la;
  List<Node, &Node::b> lb;
  for (int i = 0; i < 5; i++) {
    n[i].id = i;
    la.push_back(n[i]);
    lb.push_front(n[i]);
  }
  EXPECT_EQ(la.front()->id, 0);
  EXPECT_EQ(lb.front()->id, 4);
  EXPECT_EQ(la.back()->id, 4);
  la.for_each_safe([&](Node& x) {
    if (x.id % 2 == 0) la.remove(x);
  });
  std::vector<int> ids;
  for (Node& x : la) ids.push_back(x.id);
  EXPECT_EQ(ids, (std::vector<int>{1, 3}));
  EXPECT_EQ(lb.size(), 5u);
  List<Node, &Node::b> other;
  other.splice_back(lb);
  EXPECT_TRUE(lb.empty());
  EXPECT_EQ(other.size(), 5u);
  while (la.pop_front()) {
  }
  while (other.pop_front()) {
  }
}

using ListA = List<Node, &Node::a>;

void insert_twice() {
  Node n;
  ListA l;
  l.push_back(n);
  l.push_back(n);
}

TEST(ListDeathTest, DoubleInsertIsABug) { EXPECT_DEATH(insert_twice(), "linked"); }

TEST(TagAllocator, ExhaustsAndReuses) {
  auto tags = TagAllocator::create(130, Gfp::kernel).release_value();
  std::set<int> seen;
  for (int i = 0; i < 130; i++) {
    const i32 t = tags.try_get();
    ASSERT_GE(t, 0);
    ASSERT_LT(t, 130);
    EXPECT_TRUE(seen.insert(t).second);
  }
  EXPECT_EQ(tags.try_get(), -1);
  tags.put(129);
  EXPECT_EQ(tags.try_get(), 129);
  EXPECT_EQ(TagAllocator::create(0, Gfp::kernel).error().code(), -EINVAL);
  EXPECT_EQ(TagAllocator::create(TagAllocator::kMaxDepth + 1, Gfp::kernel).error().code(), -EINVAL);
}

TEST(TagAllocatorDeathTest, DoublePutIsABug) {
  EXPECT_DEATH(
      {
        auto tags = TagAllocator::create(8, Gfp::kernel).release_value();
        const i32 t = tags.try_get();
        tags.put(t);
        tags.put(t);
      },
      "old & mask");
}

TEST(TagAllocator, ConcurrentHoldersNeverShareATag) {
  auto tags = TagAllocator::create(64, Gfp::kernel).release_value();
  std::atomic<int> owner[64] = {};
  std::atomic<int> clashes{0};
  std::vector<std::thread> threads;
  for (int th = 1; th <= 4; th++) {
    threads.emplace_back([&, th] {
      for (int i = 0; i < 20000; i++) {
        const i32 t = tags.try_get();
        if (t < 0) continue;
        int expected = 0;
        if (!owner[t].compare_exchange_strong(expected, th)) clashes++;
        owner[t].store(0);
        tags.put(static_cast<u32>(t));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(clashes.load(), 0);
  EXPECT_EQ(tags.in_use(), 0u);
}

class Machine {
 public:
  void work_fn() {
    MutexGuard g(mutex_);
    work_runs_++;
    done_.complete();
  }
  void dwork_fn() {
    dwork_at_ = kx_ktime_ns();
    ddone_.complete();
  }
  void timer_fn() {
    {
      SpinGuardIrq g(lock_);
      flag_ = true;
    }
    waitq_.wake_all();
  }

  Mutex mutex_{KX_LOCK_CLASS("machine.mutex")};
  SpinLock lock_{KX_LOCK_CLASS("machine.lock")};
  Completion done_{KX_LOCK_CLASS("machine.done")};
  Completion ddone_{KX_LOCK_CLASS("machine.ddone")};
  WaitQueue waitq_{KX_LOCK_CLASS("machine.waitq")};
  int work_runs_ = 0;
  bool flag_ = false;
  u64 dwork_at_ = 0;
  Work<Machine, &Machine::work_fn> work_{this, KX_LOCK_CLASS("machine.work")};
  DelayedWork<Machine, &Machine::dwork_fn> dwork_{this, KX_LOCK_CLASS("machine.dwork")};
  Timer<Machine, &Machine::timer_fn> timer_{this, KX_LOCK_CLASS("machine.timer")};
};

TEST(Work, RunsOnAWorkqueueOnce) {
  auto wq = WorkQueue::create("test", false).release_value();
  auto m = make_own<Machine>(Gfp::kernel).release_value();
  EXPECT_TRUE(m->work_.queue(wq.get()));
  EXPECT_TRUE(m->done_.wait_for(5000));
  wq.flush();
  MutexGuard g(m->mutex_);
  EXPECT_EQ(m->work_runs_, 1);
}

TEST(DelayedWork, WaitsForItsDelayAndCancels) {
  auto m = make_own<Machine>(Gfp::kernel).release_value();
  const u64 start = kx_ktime_ns();
  EXPECT_TRUE(m->dwork_.queue(30));
  EXPECT_FALSE(m->dwork_.queue(30));  // already pending
  EXPECT_TRUE(m->ddone_.wait_for(5000));
  EXPECT_GE(m->dwork_at_ - start, 30ull * 1000 * 1000);
  EXPECT_TRUE(m->dwork_.queue(10000));
  EXPECT_TRUE(m->dwork_.cancel_sync());
  EXPECT_FALSE(m->ddone_.wait_for(50));
}

TEST(Timer, FiresAndWakesAPredicateWaiter) {
  auto m = make_own<Machine>(Gfp::kernel).release_value();
  auto flag = [&] {
    SpinGuardIrq g(m->lock_);
    return m->flag_;
  };
  EXPECT_FALSE(m->waitq_.wait_for(flag, 20));
  EXPECT_FALSE(m->timer_.arm(10));  // mod_timer semantics: was not pending
  EXPECT_TRUE(m->waitq_.wait_for(flag, 5000));
  EXPECT_FALSE(m->timer_.pending());
}

TEST(Completion, TimesOutThenCompletesAll) {
  Completion c{KX_LOCK_CLASS("test.c")};
  EXPECT_FALSE(c.wait_for(10));
  c.complete_all();
  EXPECT_TRUE(c.wait_for(0));
  EXPECT_TRUE(c.wait_for(0));
  c.reinit();
  EXPECT_FALSE(c.done());
}

TEST(SpinLock, ExcludesConcurrentWriters) {
  SpinLock lock{KX_LOCK_CLASS("test.spin")};
  u64 counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50000; i++) {
        SpinGuardBh g(lock);
        counter++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 200000u);
}

struct Slot {
  u64 hits = 0;
  int cpu_seen = -1;
};

TEST(PerCpu, OneCopyPerCpu) {
  const i64 before = runtime::live_allocations();
  {
    auto pc = PerCpu<Slot>::create(Gfp::kernel).release_value();
    for (int cpu = 0; cpu < kx_user::kFakeCpus; cpu++) {
      kx_user::set_current_cpu(cpu);
      CpuGuard g;
      pc.local(g).hits += cpu + 1;
      pc.local(g).cpu_seen = g.cpu();
    }
    kx_user::set_current_cpu(0);
    u64 total = 0;
    pc.for_each([&](int cpu, Slot& s) {
      EXPECT_EQ(s.cpu_seen, cpu);
      total += s.hits;
    });
    EXPECT_EQ(total, 1u + 2 + 3 + 4);
  }
  EXPECT_EQ(runtime::live_allocations(), before);
}

TEST(Atomic, ReadModifyWrite) {
  Atomic<u64> a{10};
  EXPECT_EQ(a.fetch_sub(3), 10u);
  u64 expected = 7;
  EXPECT_TRUE(a.compare_exchange(expected, 70));
  EXPECT_EQ(a.exchange(1), 70u);
  EXPECT_EQ(a.add_fetch(1), 2u);
}

}  // namespace
