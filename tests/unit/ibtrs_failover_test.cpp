// Host tests of ibtrs/core/failover.h over a simulated fabric: paths that
// take requests, lose them when they die, and answer them when told to. The
// module runs the same submit()/fail_path() code over real RDMA paths.
//
// The invariant every test checks: each user request completes exactly
// once, with success whenever some path was up to carry it, and with
// -ECONNABORTED only when no path could take it.
#include <ibtrs/core/failover.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <vector>

namespace {

using ibtrs::failover::DrainStats;
using ibtrs::failover::kTryNextPath;
using ibtrs::failover::Slot;
using ibtrs::mpath::MpathPolicy;
using ibtrs::mpath::PathMask;
using ibtrs::mpath::PathMetrics;
using ibtrs::mpath::RrCursor;
using kx::u32;
using kx::u64;
using kx::usize;

constexpr u32 kQueueDepth = 64;

struct SimRequest {
  u32 permit = 0;
  u64 user_id = 0;
  bool bad = false;  // a request every path refuses (-EINVAL)
};

struct SimPath {
  bool connected = true;
  bool refuse_posts = false;  // post fails: the path is going down
  PathMetrics metrics;
  Slot slots[kQueueDepth];
  SimRequest saved[kQueueDepth];
  bool mapped[kQueueDepth] = {};
  u64 failovers_in = 0;
  u64 posted = 0;
};

// The simulated session: the Env of failover.h plus the user side.
class SimFabric {
 public:
  using Request = SimRequest;

  explicit SimFabric(usize nr_paths) {
    for (usize i = 0; i < nr_paths; i++) paths_.push_back(std::make_unique<SimPath>());
  }

  // --- PathView + Env ---
  usize size() const { return paths_.size(); }
  bool usable(usize i) const { return paths_[i]->connected; }
  const PathMetrics& metrics(usize i) const { return paths_[i]->metrics; }
  int try_post(u32 i, const SimRequest& rq) {
    SimPath& p = *paths_[i];
    if (!p.connected || p.refuse_posts) return kTryNextPath;
    if (rq.bad) return -EINVAL;
    if (!p.slots[rq.permit].claim()) return -EBUSY;
    // A scatterlist may be mapped on one path only (see failover.h detach).
    for (auto& other : paths_)
      EXPECT_FALSE(other->mapped[rq.permit]) << "permit " << rq.permit << " mapped twice";
    p.mapped[rq.permit] = true;
    p.saved[rq.permit] = rq;
    p.metrics.on_submit();
    p.posted++;
    return 0;
  }
  usize nr_slots(u32) const { return kQueueDepth; }
  Slot& slot(u32 path, u32 i) { return paths_[path]->slots[i]; }
  SimRequest saved_request(u32 path, u32 i) { return paths_[path]->saved[i]; }
  void detach(u32 path, u32 i) {
    EXPECT_TRUE(paths_[path]->mapped[i]);
    paths_[path]->mapped[i] = false;
  }
  void moved(u32 path, u32 i, u32 to) {
    paths_[path]->metrics.on_complete_error();
    paths_[path]->slots[i].release();
    paths_[to]->metrics.on_failover();
    paths_[to]->failovers_in++;
  }
  void complete(u32 path, u32 i, int err) {
    paths_[path]->metrics.on_complete_error();
    const SimRequest rq = paths_[path]->saved[i];
    paths_[path]->slots[i].release();
    user_done(rq, err);
  }

  // --- user side ---
  // Submits a new request with a free permit; false if none is free.
  bool user_submit(bool bad = false) {
    for (u32 p = 0; p < kQueueDepth; p++) {
      if (permit_busy_[p]) continue;
      permit_busy_[p] = true;
      const SimRequest rq{p, next_id_++, bad};
      outstanding_[rq.user_id] = p;
      const int r = ibtrs::failover::submit(*this, rq, PathMask{}, policy, cursor, now_ns);
      if (r < 0) user_done(rq, r);  // the caller of ibtrs_clt_request sees the error
      return true;
    }
    return false;
  }
  // The server answers the request in slot i of path with err.
  bool server_answers(u32 path, u32 i, int err) {
    SimPath& p = *paths_[path];
    if (!p.slots[i].take()) return false;  // lost the race: already taken
    p.mapped[i] = false;
    p.metrics.on_complete(1000, now_ns);
    const SimRequest rq = p.saved[i];
    p.slots[i].release();
    user_done(rq, err);
    return true;
  }
  DrainStats kill(u32 path, bool failover = true) {
    paths_[path]->connected = false;
    return ibtrs::failover::fail_path(*this, path, -ECONNABORTED, failover, policy, cursor, now_ns);
  }
  void revive(u32 path) { paths_[path]->connected = true; }
  bool any_usable() const {
    for (auto& p : paths_)
      if (p->connected) return true;
    return false;
  }
  std::vector<std::pair<u32, u32>> inflight() const {
    std::vector<std::pair<u32, u32>> v;
    for (u32 p = 0; p < paths_.size(); p++)
      for (u32 i = 0; i < kQueueDepth; i++)
        if (paths_[p]->slots[i].inflight()) v.emplace_back(p, i);
    return v;
  }

  SimPath& path(u32 i) { return *paths_[i]; }

  MpathPolicy policy = MpathPolicy::kMinInflight;
  RrCursor cursor;
  u64 now_ns = 1;
  std::map<u64, int> completions;   // user id -> times completed
  std::map<u64, int> status;        // user id -> last status
  std::map<u64, u32> outstanding_;  // user id -> permit, until completed
  u64 aborted_while_path_up = 0;

 private:
  void user_done(const SimRequest& rq, int err) {
    completions[rq.user_id]++;
    status[rq.user_id] = err;
    if (err == -ECONNABORTED && any_usable()) aborted_while_path_up++;
    outstanding_.erase(rq.user_id);
    permit_busy_[rq.permit] = false;
  }

  std::vector<std::unique_ptr<SimPath>> paths_;
  bool permit_busy_[kQueueDepth] = {};
  u64 next_id_ = 1;
};

void expect_exactly_once(const SimFabric& f, u64 submitted) {
  EXPECT_EQ(f.completions.size(), submitted);
  for (const auto& [id, n] : f.completions) EXPECT_EQ(n, 1) << "request " << id;
  EXPECT_TRUE(f.outstanding_.empty());
}

TEST(IbtrsFailover, PathDiesWithRequestsInFlightAllMoveToSurvivor) {
  SimFabric f(2);
  for (int i = 0; i < 40; i++) ASSERT_TRUE(f.user_submit());
  const auto before = f.inflight();
  u32 on0 = 0;
  for (auto [p, s] : before) on0 += p == 0;
  ASSERT_GT(on0, 0u);  // min-inflight spread them
  const DrainStats st = f.kill(0);
  EXPECT_EQ(st.moved, on0);
  EXPECT_EQ(st.completed, 0u);
  EXPECT_EQ(f.path(1).failovers_in, on0);
  EXPECT_EQ(f.path(1).metrics.failover_count(), on0);
  EXPECT_EQ(f.path(0).metrics.inflight(), 0);
  EXPECT_TRUE(f.completions.empty());  // nobody saw an error or a completion
  for (auto [p, s] : f.inflight()) {
    EXPECT_EQ(p, 1u);
    EXPECT_TRUE(f.server_answers(p, s, 0));
  }
  expect_exactly_once(f, 40);
  for (const auto& [id, st2] : f.status) EXPECT_EQ(st2, 0) << id;
}

TEST(IbtrsFailover, WithoutFailoverTheyCompleteWithTheError) {
  SimFabric f(2);
  for (int i = 0; i < 10; i++) ASSERT_TRUE(f.user_submit());
  const DrainStats st = f.kill(0, /*failover=*/false);
  EXPECT_EQ(st.moved, 0u);
  EXPECT_GT(st.completed, 0u);
  for (const auto& [id, s] : f.status) EXPECT_EQ(s, -ECONNABORTED);
}

TEST(IbtrsFailover, LastPathDownCompletesWithAbortThenFirstPathBackCarriesIo) {
  SimFabric f(2);
  for (int i = 0; i < 20; i++) ASSERT_TRUE(f.user_submit());
  f.kill(0);
  EXPECT_TRUE(f.completions.empty());
  const DrainStats st = f.kill(1);
  EXPECT_EQ(st.moved, 0u);
  EXPECT_EQ(st.completed, 20u);
  EXPECT_EQ(f.aborted_while_path_up, 0u);
  for (const auto& [id, s] : f.status) EXPECT_EQ(s, -ECONNABORTED);
  // Nothing usable: a new request fails at once.
  ASSERT_TRUE(f.user_submit());
  EXPECT_EQ(f.status[21], -ECONNABORTED);
  f.revive(1);
  ASSERT_TRUE(f.user_submit());
  ASSERT_EQ(f.inflight().size(), 1u);
  EXPECT_EQ(f.inflight()[0].first, 1u);
  EXPECT_TRUE(f.server_answers(1, f.inflight()[0].second, 0));
  EXPECT_EQ(f.status[22], 0);
  expect_exactly_once(f, 22);
}

TEST(IbtrsFailover, PostFailureOnTheChosenPathTriesTheNext) {
  SimFabric f(3);
  f.path(0).refuse_posts = true;
  f.path(1).refuse_posts = true;
  for (int i = 0; i < 8; i++) ASSERT_TRUE(f.user_submit());
  for (auto [p, s] : f.inflight()) EXPECT_EQ(p, 2u);
  EXPECT_EQ(f.inflight().size(), 8u);
}

TEST(IbtrsFailover, FinalErrorIsNotRetriedOnOtherPaths) {
  SimFabric f(3);
  ASSERT_TRUE(f.user_submit(/*bad=*/true));
  EXPECT_EQ(f.status[1], -EINVAL);
  EXPECT_EQ(f.path(0).posted + f.path(1).posted + f.path(2).posted, 0u);
}

TEST(IbtrsFailover, AnswerRacingTheTeardownCompletesOnce) {
  SimFabric f(2);
  ASSERT_TRUE(f.user_submit());
  const auto [p, s] = f.inflight()[0];
  // The teardown took the slot first: the late answer must not complete it.
  ASSERT_TRUE(f.slot(p, s).take());
  EXPECT_FALSE(f.server_answers(p, s, 0));
  f.slot(p, s).release();
  EXPECT_TRUE(f.completions.empty());
  // And a drain after an answer finds nothing to do.
  ASSERT_TRUE(f.user_submit());
  const auto [p2, s2] = f.inflight()[0];
  EXPECT_TRUE(f.server_answers(p2, s2, 0));
  const DrainStats st = f.kill(p2);
  EXPECT_EQ(st.moved + st.completed, 0u);
  EXPECT_EQ(f.completions.size(), 1u);
}

TEST(IbtrsFailover, RequestsFollowTheSurvivorThroughRepeatedFlaps) {
  SimFabric f(2);
  f.policy = MpathPolicy::kRoundRobin;
  for (int i = 0; i < 32; i++) ASSERT_TRUE(f.user_submit());
  // Flap 50 times: alternately kill one path and revive the other, so every
  // request hops at least once and some many times.
  for (int flap = 0; flap < 50; flap++) {
    const u32 victim = flap % 2;
    f.revive(1 - victim);
    f.kill(victim);
    f.revive(victim);
    EXPECT_TRUE(f.completions.empty()) << "flap " << flap;
  }
  for (auto [p, s] : f.inflight()) EXPECT_TRUE(f.server_answers(p, s, 0));
  expect_exactly_once(f, 32);
  // flap 0 moves path 0's half, every later flap all 32.
  EXPECT_GE(f.path(0).failovers_in + f.path(1).failovers_in, 32u * 49);
}

// A seeded storm of everything at once over 4 paths: submissions, answers
// (some with a server errno), path deaths, revivals, reconnect storms.
TEST(IbtrsFailover, RandomStormEveryRequestCompletesExactlyOnce) {
  const unsigned seed = 20261125;
  std::printf("failover storm seed %u\n", seed);
  for (MpathPolicy pol : {MpathPolicy::kRoundRobin, MpathPolicy::kMinInflight,
                          MpathPolicy::kMinLatency, MpathPolicy::kAdaptive}) {
    std::mt19937 rng(seed + static_cast<unsigned>(pol));
    SimFabric f(4);
    f.policy = pol;
    u64 submitted = 0, deaths = 0, moved = 0;
    for (int step = 0; step < 20000; step++) {
      f.now_ns += 1000;
      const unsigned r = rng() % 100;
      if (r < 45) {
        submitted += f.user_submit();
      } else if (r < 85) {
        auto v = f.inflight();
        if (v.empty()) continue;
        auto [p, s] = v[rng() % v.size()];
        const int err = rng() % 20 == 0 ? -EIO : 0;
        EXPECT_TRUE(f.server_answers(p, s, err));
      } else if (r < 92) {
        const u32 p = rng() % 4;
        if (!f.usable(p)) continue;
        deaths++;
        moved += f.kill(p).moved;
      } else if (r < 99) {
        f.revive(rng() % 4);
      } else {
        // Reconnect storm: everything dies and comes back.
        for (u32 p = 0; p < 4; p++)
          if (f.usable(p)) moved += f.kill(p).moved, deaths++;
        for (u32 p = 0; p < 4; p++) f.revive(p);
      }
    }
    for (u32 p = 0; p < 4; p++) f.revive(p);
    for (auto [p, s] : f.inflight()) EXPECT_TRUE(f.server_answers(p, s, 0));
    expect_exactly_once(f, submitted);
    EXPECT_EQ(f.aborted_while_path_up, 0u) << "policy " << static_cast<u32>(pol);
    EXPECT_GT(deaths, 100u);
    EXPECT_GT(moved, 100u);
    for (u32 p = 0; p < 4; p++) EXPECT_EQ(f.path(p).metrics.inflight(), 0) << p;
  }
}

}  // namespace
