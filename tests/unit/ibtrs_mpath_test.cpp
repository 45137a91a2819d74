// SPDX-License-Identifier: GPL-2.0
// Unit tests for ibtrs/core/mpath.h: mpath_policy parsing and read-back,
// each policy's choice under controlled loads and latencies, the per-IO skip
// mask, the adaptive policy in a deterministic closed-loop simulation (time
// is a number fed in, never a clock), and the latency histogram's buckets
// and text.
#include <new>

#include <cstring>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "ibtrs/core/mpath.h"
#include "ibtrs/core/wire.h"
#include "user_shim.h"

namespace {

using namespace ibtrs::mpath;
using kx::u32;
using kx::u64;
using kx::usize;

constexpr u64 kUs = 1000;
constexpr u64 kMs = 1000 * 1000;
// An arbitrary non-zero start of monotonic time.
constexpr u64 kT0 = 1000 * kMs;

static_assert(kMaxPaths == ibtrs::wire::kMaxPaths);
static_assert(static_cast<u32>(MpathPolicy::kRoundRobin) == 0);
static_assert(static_cast<u32>(MpathPolicy::kMinInflight) == 1);
static_assert(static_cast<u32>(MpathPolicy::kMinLatency) == 2);
static_assert(static_cast<u32>(MpathPolicy::kAdaptive) == 3);
static_assert(kDefaultPolicy == MpathPolicy::kMinInflight);

int parse_errno(const char* s) { return kx::to_errno(parse_policy(s, strlen(s))); }

MpathPolicy parse_ok(const char* s) {
  auto r = parse_policy(s, strlen(s));
  EXPECT_TRUE(r.is_ok()) << '"' << s << '"';
  return r.is_ok() ? r.value() : static_cast<MpathPolicy>(99);
}

std::string format(MpathPolicy p) {
  char buf[64];
  const usize n = format_policy(p, buf, sizeof(buf));
  EXPECT_EQ(n, strlen(buf));
  return std::string(buf, n);
}

// ---------------------------------------------------------------------------
// mpath_policy text.

TEST(MpathPolicyText, ParsesNumbers) {
  EXPECT_EQ(parse_ok("0"), MpathPolicy::kRoundRobin);
  EXPECT_EQ(parse_ok("1"), MpathPolicy::kMinInflight);
  EXPECT_EQ(parse_ok("2"), MpathPolicy::kMinLatency);
  EXPECT_EQ(parse_ok("3"), MpathPolicy::kAdaptive);
  EXPECT_EQ(parse_ok("2\n"), MpathPolicy::kMinLatency);
  // kstrtoint's forms of the same numbers.
  EXPECT_EQ(parse_ok("+1"), MpathPolicy::kMinInflight);
  EXPECT_EQ(parse_ok("003\n"), MpathPolicy::kAdaptive);
}

TEST(MpathPolicyText, ParsesNamesCaseInsensitively) {
  EXPECT_EQ(parse_ok("round-robin"), MpathPolicy::kRoundRobin);
  EXPECT_EQ(parse_ok("rr"), MpathPolicy::kRoundRobin);
  EXPECT_EQ(parse_ok("min-inflight"), MpathPolicy::kMinInflight);
  EXPECT_EQ(parse_ok("mi"), MpathPolicy::kMinInflight);
  EXPECT_EQ(parse_ok("min-latency"), MpathPolicy::kMinLatency);
  EXPECT_EQ(parse_ok("ml"), MpathPolicy::kMinLatency);
  EXPECT_EQ(parse_ok("adaptive"), MpathPolicy::kAdaptive);
  EXPECT_EQ(parse_ok("ad"), MpathPolicy::kAdaptive);
  EXPECT_EQ(parse_ok("Round-Robin\n"), MpathPolicy::kRoundRobin);
  EXPECT_EQ(parse_ok("RR\n"), MpathPolicy::kRoundRobin);
  EXPECT_EQ(parse_ok("MIN-INFLIGHT"), MpathPolicy::kMinInflight);
  EXPECT_EQ(parse_ok("mL"), MpathPolicy::kMinLatency);
  EXPECT_EQ(parse_ok("ADAPTIVE\n"), MpathPolicy::kAdaptive);
}

TEST(MpathPolicyText, TextEndsAtFirstNul) {
  const char buf[] = "rr\0garbage";
  auto r = parse_policy(buf, sizeof(buf) - 1);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value(), MpathPolicy::kRoundRobin);
  // len shorter than the string: only the first len bytes count.
  auto short_r = parse_policy("min-latency", 2);
  ASSERT_TRUE(short_r.is_ok());
  EXPECT_EQ(short_r.value(), MpathPolicy::kMinInflight);  // "mi"
}

TEST(MpathPolicyText, RejectsEverythingElse) {
  for (const char* bad :
       {"", "\n", "4", "9", "10", "12", "-1", "-0", "+", "+\n", " 1", "1 ", "1\n\n", "0x1", "1.0",
        "round", "round-robinx", "round-robin-foo", "round robin", "r", "m", "min", "min-",
        "min-inflight2", "minlatency", "adapt", "adaptive\n\n", "ad\r", "a d", "rr ", "\nrr",
        "4294967297", "99999999999999999999"}) {
    EXPECT_EQ(parse_errno(bad), -EINVAL) << '"' << bad << '"';
  }
  EXPECT_EQ(kx::to_errno(parse_policy("rr", 0)), -EINVAL);
}

TEST(MpathPolicyText, FormatsLikeUpstream) {
  EXPECT_EQ(format(MpathPolicy::kRoundRobin), "round-robin (RR: 0)\n");
  EXPECT_EQ(format(MpathPolicy::kMinInflight), "min-inflight (MI: 1)\n");
  EXPECT_EQ(format(MpathPolicy::kMinLatency), "min-latency (ML: 2)\n");
  EXPECT_EQ(format(MpathPolicy::kAdaptive), "adaptive (AD: 3)\n");
  EXPECT_EQ(format(static_cast<MpathPolicy>(7)), "Unknown (7)\n");
  EXPECT_EQ(policy_label(static_cast<MpathPolicy>(4)), nullptr);
}

TEST(MpathPolicyText, RoundTrips) {
  const struct {
    MpathPolicy p;
    const char* full;
    const char* abbrev;
  } cases[] = {{MpathPolicy::kRoundRobin, "round-robin", "rr"},
               {MpathPolicy::kMinInflight, "min-inflight", "mi"},
               {MpathPolicy::kMinLatency, "min-latency", "ml"},
               {MpathPolicy::kAdaptive, "adaptive", "ad"}};
  for (const auto& c : cases) {
    const std::string text = format(c.p);
    // The read-back starts with the full name and carries the number after
    // ": "; both parse back to the same policy.
    EXPECT_EQ(text.rfind(c.full, 0), 0u) << text;
    const std::string number = text.substr(text.find(": ") + 2, 1);
    EXPECT_EQ(parse_ok(number.c_str()), c.p);
    EXPECT_EQ(parse_ok(c.full), c.p);
    EXPECT_EQ(parse_ok(c.abbrev), c.p);
    EXPECT_EQ(parse_ok((std::string(c.full) + "\n").c_str()), c.p);
    EXPECT_EQ(format(parse_ok(c.abbrev)), text);
  }
}

TEST(MpathPolicyText, FormatTruncatesLikeScnprintf) {
  char buf[5];
  memset(buf, 'x', sizeof(buf));
  EXPECT_EQ(format_policy(MpathPolicy::kRoundRobin, buf, sizeof(buf)), 4u);
  EXPECT_STREQ(buf, "roun");
  char one = 'x';
  EXPECT_EQ(format_policy(MpathPolicy::kRoundRobin, &one, 1), 0u);
  EXPECT_EQ(one, '\0');
  EXPECT_EQ(format_policy(MpathPolicy::kRoundRobin, nullptr, 0), 0u);
}

// ---------------------------------------------------------------------------
// Fixture: up to 8 paths with metrics, usable flags and a cursor.

struct Paths {
  explicit Paths(usize n) : n(n) {
    for (usize i = 0; i < n; ++i) cand[i] = PathCandidate{&m[i], true};
  }
  int select(MpathPolicy p, const PathMask& skip = PathMask(), u64 now = kT0) {
    return select_path(cand, n, p, cursor, skip, now);
  }
  void set_inflight(usize i, u32 v) {
    while (m[i].inflight() < v) m[i].on_submit();
    while (m[i].inflight() > v) m[i].on_complete_error();
  }
  // Sets the latency estimate to exactly ns with the path's first sample,
  // completing at now (a later fresh sample would blend, not replace).
  void set_latency(usize i, u64 ns, u64 now = kT0) {
    EXPECT_EQ(m[i].last_sample_ns(), 0u) << "set_latency once per path";
    const u32 inflight = m[i].inflight();
    set_inflight(i, 0);
    m[i].on_submit();
    m[i].on_complete(ns, now);
    set_inflight(i, inflight);
  }
  std::vector<int> sequence(MpathPolicy p, int count, const PathMask& skip = PathMask()) {
    std::vector<int> out;
    for (int k = 0; k < count; ++k) out.push_back(select(p, skip));
    return out;
  }

  usize n;
  PathMetrics m[8];
  PathCandidate cand[8];
  RrCursor cursor;
};

constexpr MpathPolicy kAllPolicies[] = {MpathPolicy::kRoundRobin, MpathPolicy::kMinInflight,
                                        MpathPolicy::kMinLatency, MpathPolicy::kAdaptive};

// ---------------------------------------------------------------------------
// Skip mask.

TEST(PathMask, SetTestClearCount) {
  PathMask m;
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.count(), 0u);
  for (u32 i : {0u, 1u, 63u, 64u, 65u, 127u}) m.set(i);
  EXPECT_EQ(m.count(), 6u);
  EXPECT_FALSE(m.empty());
  for (u32 i = 0; i < kMaxPaths; ++i) {
    const bool expect = i == 0 || i == 1 || i == 63 || i == 64 || i == 65 || i == 127;
    EXPECT_EQ(m.test(i), expect) << i;
  }
  EXPECT_FALSE(m.test(128));
  EXPECT_FALSE(m.test(~0u));
  m.clear(64);
  EXPECT_FALSE(m.test(64));
  EXPECT_TRUE(m.test(63));
  EXPECT_TRUE(m.test(65));
  EXPECT_EQ(m.count(), 5u);
  m.reset();
  EXPECT_TRUE(m.empty());
  static_assert(sizeof(PathMask) == 16);
}

// ---------------------------------------------------------------------------
// Round-robin.

TEST(RoundRobin, SpreadsEvenlyInOrder) {
  Paths p(3);
  EXPECT_EQ(p.sequence(MpathPolicy::kRoundRobin, 7), (std::vector<int>{0, 1, 2, 0, 1, 2, 0}));
  Paths q(3);
  int counts[3] = {};
  for (int k = 0; k < 300; ++k) counts[q.select(MpathPolicy::kRoundRobin)]++;
  EXPECT_EQ(counts[0], 100);
  EXPECT_EQ(counts[1], 100);
  EXPECT_EQ(counts[2], 100);
}

TEST(RoundRobin, UsablePathsShareEvenlyWhenOneIsDown) {
  Paths p(3);
  p.cand[1].usable = false;
  EXPECT_EQ(p.sequence(MpathPolicy::kRoundRobin, 6), (std::vector<int>{0, 2, 0, 2, 0, 2}));
  int counts[3] = {};
  for (int k = 0; k < 1000; ++k) counts[p.select(MpathPolicy::kRoundRobin)]++;
  EXPECT_EQ(counts[0], 500);
  EXPECT_EQ(counts[1], 0);
  EXPECT_EQ(counts[2], 500);
  // The path comes back: it rejoins the rotation where it stands.
  p.cand[1].usable = true;
  EXPECT_EQ(p.sequence(MpathPolicy::kRoundRobin, 4), (std::vector<int>{0, 1, 2, 0}));
}

TEST(RoundRobin, HonoursSkipMaskAndIgnoresLoad) {
  Paths p(4);
  p.set_inflight(1, 100);
  p.set_latency(1, 50 * kMs);
  PathMask skip;
  skip.set(0);
  skip.set(2);
  EXPECT_EQ(p.sequence(MpathPolicy::kRoundRobin, 4, skip), (std::vector<int>{1, 3, 1, 3}));
}

TEST(RoundRobin, CursorBeyondShrunkenTableWraps) {
  Paths p(2);
  p.cursor.set_next(5);  // the session had more paths at the last IO
  EXPECT_EQ(p.select(MpathPolicy::kRoundRobin), 0);
  EXPECT_EQ(p.cursor.next(), 1u);
  EXPECT_EQ(p.select(MpathPolicy::kRoundRobin), 1);
  EXPECT_EQ(p.cursor.next(), 0u);
}

TEST(RoundRobin, OtherPoliciesLeaveCursorAlone) {
  Paths p(3);
  p.cursor.set_next(2);
  for (MpathPolicy pol :
       {MpathPolicy::kMinInflight, MpathPolicy::kMinLatency, MpathPolicy::kAdaptive})
    (void)p.select(pol);
  EXPECT_EQ(p.cursor.next(), 2u);
}

// ---------------------------------------------------------------------------
// Min-inflight.

TEST(MinInflight, PicksLeastLoaded) {
  Paths p(4);
  p.set_inflight(0, 5);
  p.set_inflight(1, 3);
  p.set_inflight(2, 7);
  p.set_inflight(3, 4);
  EXPECT_EQ(p.select(MpathPolicy::kMinInflight), 1);
  p.set_inflight(3, 0);
  EXPECT_EQ(p.select(MpathPolicy::kMinInflight), 3);
}

TEST(MinInflight, IgnoresLatencyAndBreaksTiesByLowestIndex) {
  Paths p(3);
  p.set_inflight(0, 2);
  p.set_inflight(1, 1);
  p.set_inflight(2, 1);
  p.set_latency(1, 40 * kMs);
  p.m[1].set_hb_rtt(40 * kMs);
  EXPECT_EQ(p.select(MpathPolicy::kMinInflight), 1);
}

TEST(MinInflight, SkipsUnusableAndSkipped) {
  Paths p(4);
  p.set_inflight(0, 0);
  p.set_inflight(1, 1);
  p.set_inflight(2, 2);
  p.set_inflight(3, 3);
  p.cand[0].usable = false;
  EXPECT_EQ(p.select(MpathPolicy::kMinInflight), 1);
  PathMask skip;
  skip.set(1);
  EXPECT_EQ(p.select(MpathPolicy::kMinInflight, skip), 2);
  skip.set(2);
  EXPECT_EQ(p.select(MpathPolicy::kMinInflight, skip), 3);
}

TEST(MinInflight, SubmitsBalanceAcrossPaths) {
  // Submissions without completions: min-inflight fills paths level by level.
  Paths p(3);
  p.set_inflight(2, 2);
  std::vector<int> seq;
  for (int k = 0; k < 7; ++k) {
    const int i = p.select(MpathPolicy::kMinInflight);
    seq.push_back(i);
    p.m[i].on_submit();
  }
  EXPECT_EQ(seq, (std::vector<int>{0, 1, 0, 1, 0, 1, 2}));
}

// ---------------------------------------------------------------------------
// Min-latency.

TEST(MinLatency, PicksLowestHeartbeatRtt) {
  Paths p(3);
  p.m[0].set_hb_rtt(300 * kUs);
  p.m[1].set_hb_rtt(120 * kUs);
  p.m[2].set_hb_rtt(200 * kUs);
  // Load and IO latency do not matter to min-latency.
  p.set_inflight(1, 50);
  p.set_latency(1, 30 * kMs);
  EXPECT_EQ(p.select(MpathPolicy::kMinLatency), 1);
  p.m[2].set_hb_rtt(119 * kUs);
  EXPECT_EQ(p.select(MpathPolicy::kMinLatency), 2);
}

TEST(MinLatency, TiesLowestIndexAndUnmeasuredPathWins) {
  Paths p(3);
  p.m[0].set_hb_rtt(200 * kUs);
  p.m[1].set_hb_rtt(100 * kUs);
  p.m[2].set_hb_rtt(100 * kUs);
  EXPECT_EQ(p.select(MpathPolicy::kMinLatency), 1);
  // As upstream: hb_cur_latency is 0 until the first heartbeat ACK.
  p.m[0].set_hb_rtt(0);
  EXPECT_EQ(p.select(MpathPolicy::kMinLatency), 0);
}

TEST(MinLatency, SkipsUnusableAndSkipped) {
  Paths p(3);
  p.m[0].set_hb_rtt(100 * kUs);
  p.m[1].set_hb_rtt(200 * kUs);
  p.m[2].set_hb_rtt(300 * kUs);
  p.cand[0].usable = false;
  EXPECT_EQ(p.select(MpathPolicy::kMinLatency), 1);
  PathMask skip;
  skip.set(1);
  EXPECT_EQ(p.select(MpathPolicy::kMinLatency, skip), 2);
}

// ---------------------------------------------------------------------------
// No eligible path.

TEST(Select, NoneUsableReturnsMinusOne) {
  for (MpathPolicy pol : kAllPolicies) {
    Paths p(3);
    for (usize i = 0; i < 3; ++i) p.cand[i].usable = false;
    EXPECT_EQ(p.select(pol), kNoPath) << static_cast<u32>(pol);
    Paths empty(0);
    EXPECT_EQ(empty.select(pol), kNoPath);
    Paths q(3);
    PathMask all;
    for (u32 i = 0; i < 3; ++i) all.set(i);
    EXPECT_EQ(q.select(pol, all), kNoPath);
    // One left: every policy finds it.
    all.clear(1);
    EXPECT_EQ(q.select(pol, all), 1);
    // A candidate without metrics is not usable.
    q.cand[1].metrics = nullptr;
    EXPECT_EQ(q.select(pol, all), kNoPath);
  }
}

TEST(Select, FailoverWalkTriesEachUsablePathOnce) {
  // A post that fails on every path: the caller marks each returned index
  // and selects again; every usable path is returned exactly once.
  for (MpathPolicy pol : kAllPolicies) {
    Paths p(5);
    p.cand[3].usable = false;
    p.set_inflight(4, 1);
    PathMask tried;
    std::vector<int> order;
    for (int i; (i = p.select(pol, tried)) != kNoPath;) {
      ASSERT_FALSE(tried.test(static_cast<u32>(i)));
      tried.set(static_cast<u32>(i));
      order.push_back(i);
    }
    EXPECT_EQ(order.size(), 4u) << static_cast<u32>(pol);
    EXPECT_FALSE(tried.test(3));
  }
}

TEST(Select, UnknownPolicyValueActsAsDefault) {
  Paths p(3);
  p.set_inflight(0, 2);
  p.set_inflight(1, 1);
  p.set_inflight(2, 3);
  EXPECT_EQ(p.select(static_cast<MpathPolicy>(42)), 1);
}

// ---------------------------------------------------------------------------
// PathMetrics.

TEST(PathMetrics, InflightCountsSubmitsAndCompletions) {
  PathMetrics m;
  EXPECT_EQ(m.inflight(), 0u);
  m.on_submit();
  m.on_submit();
  m.on_submit();
  EXPECT_EQ(m.inflight(), 3u);
  m.on_complete(10 * kUs, kT0);
  m.on_complete_error();
  EXPECT_EQ(m.inflight(), 1u);
}

TEST(PathMetrics, UnbalancedCompletionWarnsAndStaysAtZero) {
  PathMetrics m;
  const int before = kx_user::warn_count();
  m.on_complete_error();
  EXPECT_EQ(m.inflight(), 0u);
  m.on_complete(5 * kUs, kT0);
  EXPECT_EQ(m.inflight(), 0u);
  // WARN_ON_ONCE: at most one report for the call site (none when an
  // earlier run in this process already reported it, e.g. --gtest_repeat).
  EXPECT_LE(kx_user::warn_count() - before, 1);
}

TEST(PathMetrics, EwmaFirstSampleThenOneEighthSteps) {
  PathMetrics m;
  EXPECT_EQ(m.latency_ns(), 0u);
  EXPECT_EQ(m.last_sample_ns(), 0u);
  EXPECT_TRUE(m.is_stale(kT0));
  m.on_submit();
  m.on_complete(1000, kT0);
  EXPECT_EQ(m.latency_fp(), 1000u << 8);
  EXPECT_EQ(m.latency_ns(), 1000u);
  EXPECT_EQ(m.last_sample_ns(), kT0);
  EXPECT_FALSE(m.is_stale(kT0));
  m.on_submit();
  m.on_complete(2000, kT0 + 1);
  // 1000 + (2000 - 1000) / 8
  EXPECT_EQ(m.latency_fp(), 1125u << 8);
  m.on_submit();
  m.on_complete(2000, kT0 + 2);
  // 1125 + (2000 - 1125) / 8 = 1234.375
  EXPECT_EQ(m.latency_fp(), 1234u * 256 + 96);
  EXPECT_EQ(m.latency_ns(), 1234u);
}

TEST(PathMetrics, EwmaConvergesExactlyFromBothSides) {
  for (u64 start : {1 * kUs, 900 * kUs}) {
    PathMetrics m;
    u64 t = kT0;
    m.on_submit();
    m.on_complete(start, t);
    int steps = 0;
    while (m.latency_ns() != 100 * kUs && steps < 1000) {
      m.on_submit();
      m.on_complete(100 * kUs, ++t);
      ++steps;
    }
    EXPECT_EQ(m.latency_ns(), 100 * kUs) << start;
    // From 100x below or 9x above, the gap is gone to the last nanosecond
    // within 150 samples (weight 1/8, 8 fraction bits, rounded read).
    EXPECT_LT(steps, 150) << start;
    for (int k = 0; k < 100; ++k) {
      m.on_submit();
      m.on_complete(100 * kUs, ++t);
    }
    EXPECT_EQ(m.latency_ns(), 100 * kUs);
  }
  // Step response of weight 1/8: 1 - (7/8)^k of the step after k samples,
  // 89.7 % after 17, 91.0 % after 18.
  PathMetrics m;
  m.on_submit();
  m.on_complete(100 * kUs, kT0);
  for (int k = 1; k <= 18; ++k) {
    m.on_submit();
    m.on_complete(1100 * kUs, kT0 + static_cast<u64>(k));
    if (k == 17) {
      EXPECT_EQ(m.latency_ns(), 996691u);  // 100 + 1000 x 0.896691
    }
  }
  EXPECT_EQ(m.latency_ns(), 1009605u);  // 100 + 1000 x 0.909605
}

TEST(PathMetrics, StaleEstimateIsReplacedNotBlended) {
  PathMetrics m;
  m.on_submit();
  m.on_complete(5 * kMs, kT0);
  const u64 t1 = kT0 + PathMetrics::kStaleNs - 1;
  EXPECT_FALSE(m.is_stale(t1));
  m.on_submit();
  m.on_complete(100 * kUs, t1);
  EXPECT_GT(m.latency_ns(), 100 * kUs);  // blended
  const u64 t2 = t1 + PathMetrics::kStaleNs;
  EXPECT_TRUE(m.is_stale(t2));
  m.on_submit();
  m.on_complete(100 * kUs, t2);
  EXPECT_EQ(m.latency_ns(), 100 * kUs);  // replaced
  // A reader whose timestamp is slightly older than the last sample sees a
  // fresh path, not a 2^64 ns old one.
  EXPECT_FALSE(m.is_stale(t2 - 10));
}

TEST(PathMetrics, SamplesAreClamped) {
  PathMetrics m;
  m.on_submit();
  m.on_complete(0, kT0);
  EXPECT_EQ(m.latency_fp(), 1u << 8);  // 0 would read as "no sample"
  PathMetrics big;
  big.on_submit();
  big.on_complete(~u64{0}, kT0);
  EXPECT_EQ(big.latency_ns(), PathMetrics::kMaxSampleNs);
}

TEST(PathMetrics, FailoverHeartbeatAndReset) {
  PathMetrics m;
  m.on_failover();
  m.on_failover();
  m.set_hb_rtt(12345);
  m.on_submit();
  m.on_complete(7 * kUs, kT0);
  m.on_submit();
  EXPECT_EQ(m.failover_count(), 2u);
  EXPECT_EQ(m.hb_rtt_ns(), 12345u);
  m.reset_counters();
  EXPECT_EQ(m.failover_count(), 0u);
  // Live state survives a stats reset.
  EXPECT_EQ(m.inflight(), 1u);
  EXPECT_EQ(m.latency_ns(), 7 * kUs);
  EXPECT_EQ(m.hb_rtt_ns(), 12345u);
}

TEST(PathMetrics, ConcurrentCompletionsKeepExactInflightAndBoundedEstimate) {
  PathMetrics m;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  for (int k = 0; k < kThreads * kPerThread; ++k) m.on_submit();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, t] {
      for (int k = 0; k < kPerThread; ++k) {
        m.on_complete((t % 2 ? 200 : 100) * kUs, kT0 + static_cast<u64>(k));
        if (k % 2) {
          m.on_submit();
          m.on_complete_error();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(m.inflight(), 0u);
  EXPECT_GE(m.latency_ns(), 100 * kUs);
  EXPECT_LE(m.latency_ns(), 200 * kUs);
}

// ---------------------------------------------------------------------------
// Adaptive: single decisions.

TEST(Adaptive, MinimisesLatencyTimesInflightPlusOne) {
  Paths p(2);
  p.set_latency(0, 100 * kUs);
  p.set_latency(1, 300 * kUs);
  p.set_inflight(0, 3);  // 100 x 4 = 400
  p.set_inflight(1, 0);  // 300 x 1 = 300
  EXPECT_EQ(p.select(MpathPolicy::kAdaptive), 1);
  p.set_inflight(1, 1);  // 300 x 2 = 600
  EXPECT_EQ(p.select(MpathPolicy::kAdaptive), 0);
  p.set_inflight(0, 5);  // 100 x 6 = 600 = 600: fewer inflight wins
  EXPECT_EQ(p.select(MpathPolicy::kAdaptive), 1);
  p.set_inflight(0, 6);  // 700
  EXPECT_EQ(p.select(MpathPolicy::kAdaptive), 1);
  // The heartbeat RTT plays no part.
  p.m[0].set_hb_rtt(1);
  p.m[1].set_hb_rtt(1000 * kMs);
  EXPECT_EQ(p.select(MpathPolicy::kAdaptive), 1);
}

TEST(Adaptive, ScoreTiesGoToFewerInflightThenLowerIndex) {
  Paths p(3);
  p.set_latency(0, 100 * kUs);
  p.set_inflight(0, 1);  // 200
  p.set_latency(1, 200 * kUs);
  p.set_inflight(1, 0);  // 200, fewer inflight
  p.set_latency(2, 200 * kUs);
  p.set_inflight(2, 0);  // 200, same inflight, higher index
  EXPECT_EQ(p.select(MpathPolicy::kAdaptive), 1);
  p.set_inflight(1, 1);  // 400
  EXPECT_EQ(p.select(MpathPolicy::kAdaptive), 2);
}

TEST(Adaptive, EqualEstimatesChooseAsMinInflight) {
  Paths p(4);
  for (usize i = 0; i < 4; ++i) p.set_latency(i, 250 * kUs);
  const u32 loads[][4] = {{0, 0, 0, 0}, {3, 1, 2, 1}, {5, 9, 4, 4}, {2, 2, 2, 1}, {7, 0, 7, 0}};
  for (const auto& l : loads) {
    for (usize i = 0; i < 4; ++i) p.set_inflight(i, l[i]);
    EXPECT_EQ(p.select(MpathPolicy::kAdaptive), p.select(MpathPolicy::kMinInflight));
  }
}

TEST(Adaptive, NewIdlePathIsProbedFirst) {
  Paths p(3);
  p.set_latency(0, 100 * kUs);
  p.set_latency(1, 100 * kUs);
  // Path 2 has never completed an IO and nothing is in flight on it.
  EXPECT_EQ(p.select(MpathPolicy::kAdaptive), 2);
  // Not if it is unusable or skipped.
  PathMask skip;
  skip.set(2);
  EXPECT_EQ(p.select(MpathPolicy::kAdaptive, skip), 0);
}

TEST(Adaptive, UnsampledBusyPathCompetesAsTheBestEstimate) {
  Paths p(3);
  p.set_latency(0, 400 * kUs);
  p.set_latency(1, 100 * kUs);
  p.set_inflight(0, 0);  // 400
  p.set_inflight(1, 2);  // 300
  p.set_inflight(2, 2);  // no sample yet: est = 100 -> 300, ties 1 on all
  EXPECT_EQ(p.select(MpathPolicy::kAdaptive), 1);
  p.set_inflight(2, 1);  // 200
  EXPECT_EQ(p.select(MpathPolicy::kAdaptive), 2);
  // With path 1 skipped the best eligible estimate is path 0's 400.
  PathMask skip;
  skip.set(1);
  EXPECT_EQ(p.select(MpathPolicy::kAdaptive, skip), 0);  // 400 vs 800
}

TEST(Adaptive, WithoutAnySampleActsAsMinInflight) {
  Paths p(3);
  p.set_inflight(0, 4);
  p.set_inflight(1, 2);
  p.set_inflight(2, 3);
  EXPECT_EQ(p.select(MpathPolicy::kAdaptive), 1);
  p.set_inflight(1, 0);  // idle and never measured: probe
  EXPECT_EQ(p.select(MpathPolicy::kAdaptive), 1);
}

TEST(Adaptive, StaleIdlePathIsProbedOncePerStaleInterval) {
  Paths p(2);
  p.set_latency(0, 100 * kUs, kT0);
  p.set_latency(1, 5 * kMs, kT0);
  p.set_inflight(0, 3);  // 400 us vs 5 ms: path 0 while path 1 is fresh
  const u64 stale_at = kT0 + PathMetrics::kStaleNs;
  EXPECT_EQ(p.select(MpathPolicy::kAdaptive, PathMask(), stale_at - 1), 0);
  // Keep path 0 fresh; path 1 has seen nothing for kStaleNs.
  p.m[0].on_submit();
  p.m[0].on_complete(100 * kUs, stale_at - 1);
  EXPECT_EQ(p.select(MpathPolicy::kAdaptive, PathMask(), stale_at), 1);
  // While the probe is out, path 1 keeps its old, slow estimate.
  p.m[1].on_submit();
  EXPECT_EQ(p.select(MpathPolicy::kAdaptive, PathMask(), stale_at + 1 * kMs), 0);
  // The probe returns fast: the estimate is replaced, path 1 is back.
  p.m[1].on_complete(50 * kUs, stale_at + 1 * kMs);
  EXPECT_EQ(p.m[1].latency_ns(), 50 * kUs);
  EXPECT_EQ(p.select(MpathPolicy::kAdaptive, PathMask(), stale_at + 1 * kMs), 1);
}

TEST(Adaptive, ScoreDoesNotOverflowAtTheClamps) {
  Paths p(2);
  p.set_latency(0, ~u64{0});  // clamped to 2^36 - 1 ns
  p.set_latency(1, PathMetrics::kMaxSampleNs - 1);
  p.set_inflight(0, 0);
  p.set_inflight(1, 1u << 20);  // beyond the score's inflight cap
  EXPECT_EQ(p.select(MpathPolicy::kAdaptive), 0);
  p.set_inflight(0, 1u << 20);
  p.set_inflight(1, 1u << 20);  // both capped: the smaller estimate wins
  EXPECT_EQ(p.select(MpathPolicy::kAdaptive), 1);
}

// ---------------------------------------------------------------------------
// Adaptive: closed-loop simulation.
//
// A fixed number of IOs is always outstanding (queue depth). Each IO takes the
// latency its path has at submit time; when one completes, the next is
// submitted at that instant on the path the policy chooses. Everything is
// integer time, so each run is exactly reproducible.

class Sim {
 public:
  Sim(usize n, MpathPolicy policy) : paths_(n), policy_(policy), latency_(n, 100 * kUs) {}

  void set_latency(usize i, u64 ns) { latency_[i] = ns; }
  void set_usable(usize i, bool usable) { paths_.cand[i].usable = usable; }
  u64 now() const { return now_; }
  PathMetrics& metrics(usize i) { return paths_.m[i]; }

  // Keeps qd IOs in flight until time `until`; returns submissions per path.
  std::vector<u64> run(u32 qd, u64 until) {
    std::vector<u64> submitted(paths_.n, 0);
    while (events_.size() < qd) submit(submitted);
    while (!events_.empty() && events_.top().done <= until) {
      const Io io = events_.top();
      events_.pop();
      now_ = io.done;
      paths_.m[io.path].on_complete(io.done - io.start, now_);
      submit(submitted);
    }
    now_ = until;
    return submitted;
  }

 private:
  struct Io {
    u64 done;
    u64 seq;  // FIFO among equal completion times
    u64 start;
    usize path;
    bool operator>(const Io& o) const { return done != o.done ? done > o.done : seq > o.seq; }
  };

  void submit(std::vector<u64>& submitted) {
    const int i = paths_.select(policy_, PathMask(), now_);
    ASSERT_NE(i, kNoPath);
    paths_.m[i].on_submit();
    submitted[static_cast<usize>(i)]++;
    events_.push(Io{now_ + latency_[static_cast<usize>(i)], seq_++, now_, static_cast<usize>(i)});
  }

  Paths paths_;
  MpathPolicy policy_;
  std::vector<u64> latency_;
  std::priority_queue<Io, std::vector<Io>, std::greater<Io>> events_;
  u64 now_ = kT0;
  u64 seq_ = 0;
};

double share(const std::vector<u64>& counts, usize i) {
  u64 total = 0;
  for (u64 c : counts) total += c;
  return total ? static_cast<double>(counts[i]) / static_cast<double>(total) : 0.0;
}

TEST(AdaptiveSim, SteadySlowPathGetsLittleLoad) {
  // Path 1 is 10x slower. Steady state (Little's law): adaptive keeps 1-2 of
  // 32 IOs on it, ~1 % of submissions (1.0 % in this run); min-inflight keeps
  // 16, ~9 %; round-robin sends it half of all IOs.
  std::vector<u64> counts[3];
  const MpathPolicy pols[3] = {MpathPolicy::kAdaptive, MpathPolicy::kMinInflight,
                               MpathPolicy::kRoundRobin};
  for (int k = 0; k < 3; ++k) {
    Sim sim(2, pols[k]);
    sim.set_latency(1, 1 * kMs);
    (void)sim.run(32, kT0 + 20 * kMs);  // warm up
    counts[k] = sim.run(32, kT0 + 220 * kMs);
  }
  EXPECT_LT(share(counts[0], 1), 0.02);
  EXPECT_GT(share(counts[1], 1), 0.07);
  EXPECT_NEAR(share(counts[2], 1), 0.5, 0.001);
  // Adaptive completes more IO in the same time than either upstream policy.
  EXPECT_GT(counts[0][0] + counts[0][1], counts[1][0] + counts[1][1]);
  EXPECT_GT(counts[1][0] + counts[1][1], counts[2][0] + counts[2][1]);
}

TEST(AdaptiveSim, ShedsLoadWithinMillisecondsAndRecovers) {
  Sim sim(2, MpathPolicy::kAdaptive);
  auto before = sim.run(32, kT0 + 50 * kMs);
  EXPECT_NEAR(share(before, 1), 0.5, 0.02);  // equal paths share equally

  // Path 1 turns 20x slower (congestion). Within a few milliseconds it gets
  // only a trickle.
  sim.set_latency(1, 2 * kMs);
  const u64 t1 = sim.now();
  (void)sim.run(32, t1 + 5 * kMs);
  auto degraded = sim.run(32, t1 + 25 * kMs);
  EXPECT_LT(share(degraded, 1), 0.02);
  EXPECT_GT(degraded[1], 0u);  // still sampled, so recovery will be seen
  EXPECT_GT(sim.metrics(1).latency_ns(), 1500 * kUs);

  // Latency back to normal: the trickle of samples pulls the estimate down
  // and the path takes its half again.
  sim.set_latency(1, 100 * kUs);
  const u64 t2 = sim.now();
  (void)sim.run(32, t2 + 20 * kMs);
  auto recovered = sim.run(32, t2 + 60 * kMs);
  EXPECT_NEAR(share(recovered, 1), 0.5, 0.05);
  EXPECT_EQ(sim.metrics(1).latency_ns(), 100 * kUs);
}

TEST(AdaptiveSim, MinLatencyAndMinInflightDoNotShedTheSameWay) {
  // Contrast for the previous test: min-inflight still sends the degraded
  // path many times adaptive's share. (min-latency would not react at all
  // until the next 5 s heartbeat sample.)
  Sim sim(2, MpathPolicy::kMinInflight);
  (void)sim.run(32, kT0 + 50 * kMs);
  sim.set_latency(1, 2 * kMs);
  const u64 t1 = sim.now();
  (void)sim.run(32, t1 + 5 * kMs);
  auto degraded = sim.run(32, t1 + 25 * kMs);
  EXPECT_GT(share(degraded, 1), 0.03);
}

TEST(AdaptiveSim, IdleSlowPathIsProbedAndRecoversUnderLightLoad) {
  // Queue depth 1: no load pressure, so only probes reach the slow path.
  Sim sim(2, MpathPolicy::kAdaptive);
  sim.set_latency(0, 1 * kMs);
  sim.set_latency(1, 200 * kUs);
  (void)sim.run(1, kT0 + 10 * kMs);
  auto light = sim.run(1, kT0 + 1010 * kMs);
  // One probe per kStaleNs (100 ms) over 1 s.
  EXPECT_GE(light[0], 9u);
  EXPECT_LE(light[0], 11u);
  EXPECT_GT(light[1], 4000u);

  // Path 0 becomes the faster one: the next probe finds out, and it takes
  // the whole (QD 1) load from then on.
  sim.set_latency(0, 50 * kUs);
  const u64 t = sim.now();
  (void)sim.run(1, t + PathMetrics::kStaleNs + 1 * kMs);
  auto after = sim.run(1, t + PathMetrics::kStaleNs + 101 * kMs);
  EXPECT_GT(share(after, 0), 0.98);
}

TEST(AdaptiveSim, NewPathJoinsUnderLoad) {
  // Path 1 is added (becomes usable) in a running session: it is probed at
  // once, gets its first sample, and then carries its half.
  Sim sim(2, MpathPolicy::kAdaptive);
  sim.set_usable(1, false);
  auto alone = sim.run(16, kT0 + 30 * kMs);
  EXPECT_EQ(alone[1], 0u);
  EXPECT_EQ(sim.metrics(1).latency_ns(), 0u);
  sim.set_usable(1, true);
  const u64 t = sim.now();
  auto first = sim.run(16, t + 100 * kUs);  // one round of completions
  EXPECT_GE(first[1], 7u);  // probe, then min-inflight-like fill to ~8
  (void)sim.run(16, t + 5 * kMs);
  auto joined = sim.run(16, t + 35 * kMs);
  EXPECT_NEAR(share(joined, 1), 0.5, 0.02);
  EXPECT_EQ(sim.metrics(1).latency_ns(), 100 * kUs);
}

// ---------------------------------------------------------------------------
// Latency histogram.

TEST(LatencyHistogram, BucketEdgesAreExact) {
  const struct {
    u64 ns;
    u32 bucket;
  } cases[] = {
      {0, 0},
      {999, 0},
      {1 * kUs, 1},
      {2 * kUs - 1, 1},
      {2 * kUs, 2},
      {4 * kUs - 1, 2},
      {4 * kUs, 3},
      {256 * kUs - 1, 8},
      {256 * kUs, 9},
      {512 * kUs - 1, 9},
      {512 * kUs, 10},
      {1 * kMs - 1, 10},
      {1 * kMs, 11},
      {2 * kMs - 1, 11},
      {2 * kMs, 12},
      {1024 * kMs, 21},
      {32768 * kMs - 1, 25},
      {32768 * kMs, 26},
      {65536 * kMs - 1, 26},
      {65536 * kMs, 27},
      {~u64{0}, 27},
  };
  for (const auto& c : cases)
    EXPECT_EQ(LatencyHistogram::bucket_of(c.ns), c.bucket) << c.ns;
  // Every bucket's floor lands in it, and the ns just below in the previous.
  EXPECT_EQ(LatencyHistogram::bucket_floor_ns(0), 0u);
  for (u32 b = 1; b < kHistBuckets; ++b) {
    const u64 floor = LatencyHistogram::bucket_floor_ns(b);
    EXPECT_EQ(LatencyHistogram::bucket_of(floor), b) << b;
    EXPECT_EQ(LatencyHistogram::bucket_of(floor - 1), b - 1) << b;
  }
  EXPECT_EQ(LatencyHistogram::bucket_floor_ns(10), 512 * kUs);
  EXPECT_EQ(LatencyHistogram::bucket_floor_ns(11), 1 * kMs);
  EXPECT_EQ(LatencyHistogram::bucket_floor_ns(27), 65536 * kMs);
}

TEST(LatencyHistogram, RecordsSnapshotsMergesAndResets) {
  LatencyHistogram a;
  LatencyHistogram b;
  a.record(500);           // 0
  a.record(1 * kUs);       // 1
  a.record(1 * kUs + 5);   // 1
  a.record(3 * kMs);       // 12
  b.record(600 * kUs);     // 10
  b.record(70000 * kMs);   // 27
  HistogramSnapshot s = a.snapshot();
  EXPECT_EQ(s.count, 4u);
  EXPECT_EQ(s.buckets[0], 1u);
  EXPECT_EQ(s.buckets[1], 2u);
  EXPECT_EQ(s.buckets[12], 1u);
  EXPECT_EQ(s.max_ns, 3 * kMs);
  b.accumulate_into(s);
  EXPECT_EQ(s.count, 6u);
  EXPECT_EQ(s.buckets[10], 1u);
  EXPECT_EQ(s.buckets[27], 1u);
  EXPECT_EQ(s.max_ns, 70000 * kMs);
  u64 sum = 0;
  for (u64 v : s.buckets) sum += v;
  EXPECT_EQ(sum, s.count);
  a.reset();
  HistogramSnapshot z = a.snapshot();
  EXPECT_EQ(z.count, 0u);
  EXPECT_EQ(z.max_ns, 0u);
}

TEST(LatencyHistogram, ConcurrentRecordsAreAllCounted) {
  LatencyHistogram h;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&h, t] {
      for (int k = 0; k < kPerThread; ++k) h.record(static_cast<u64>(t * kPerThread + k) * kUs);
    });
  }
  for (auto& th : threads) th.join();
  const HistogramSnapshot s = h.snapshot();
  EXPECT_EQ(s.count, static_cast<u64>(kThreads * kPerThread));
  EXPECT_EQ(s.max_ns, static_cast<u64>(kThreads * kPerThread - 1) * kUs);
  EXPECT_EQ(s.buckets[0], 1u);  // only the 0 sample
}

std::string expected_text(const std::vector<std::vector<u64>>& cols,
                          const std::vector<u64>& max_us) {
  static const char* const kLabels[kHistBuckets] = {
      "<      1 us", "<      2 us", "<      4 us", "<      8 us", "<     16 us", "<     32 us",
      "<     64 us", "<    128 us", "<    256 us", "<    512 us", "<      1 ms", "<      2 ms",
      "<      4 ms", "<      8 ms", "<     16 ms", "<     32 ms", "<     64 ms", "<    128 ms",
      "<    256 ms", "<    512 ms", "<   1024 ms", "<   2048 ms", "<   4096 ms", "<   8192 ms",
      "<  16384 ms", "<  32768 ms", "<  65536 ms", ">= 65536 ms"};
  std::string out;
  for (u32 b = 0; b < kHistBuckets; ++b) {
    out += kLabels[b];
    out += ":";
    for (const auto& c : cols) out += " " + std::to_string(c[b]);
    out += "\n";
  }
  out += " maximum us:";
  for (u64 m : max_us) out += " " + std::to_string(m);
  out += "\n";
  return out;
}

TEST(LatencyHistogram, FormatsOneAndTwoColumns) {
  LatencyHistogram rd;
  LatencyHistogram wr;
  rd.record(150 * kUs);  // bucket 8: < 256 us
  rd.record(150 * kUs);
  rd.record(1500 * kUs);  // bucket 11: < 2 ms
  wr.record(20 * kUs);    // bucket 5: < 32 us
  wr.record(100000 * kMs);  // bucket 27
  std::vector<u64> r(kHistBuckets, 0), w(kHistBuckets, 0);
  r[8] = 2;
  r[11] = 1;
  w[5] = 1;
  w[27] = 1;

  char page[4096];
  const usize n1 = format_histogram(rd.snapshot(), page, sizeof(page));
  EXPECT_EQ(std::string(page, n1), expected_text({r}, {1500}));
  EXPECT_EQ(n1, strlen(page));

  const usize n2 = format_histogram_rw(rd.snapshot(), wr.snapshot(), page, sizeof(page));
  EXPECT_EQ(std::string(page, n2), expected_text({r, w}, {1500, 100000 * 1000}));
}

TEST(LatencyHistogram, WorstCaseTextFitsAPageAndTruncates) {
  HistogramSnapshot big;
  for (u64& v : big.buckets) v = ~u64{0};
  big.max_ns = ~u64{0};
  char page[4096];
  const usize n = format_histogram_rw(big, big, page, sizeof(page));
  EXPECT_LE(n, 29u * 55u);
  EXPECT_EQ(n, strlen(page));
  char small[16];
  const usize t = format_histogram(big, small, sizeof(small));
  EXPECT_EQ(t, 15u);
  EXPECT_EQ(std::string(small), std::string("<      1 us: 18"));
}

// ---------------------------------------------------------------------------
// choose_path_slot: a model path table (names and removed marks), driven the
// way the client's add_path and remove_path drive the real one.

struct ModelTable {
  std::vector<std::string> names;
  std::vector<bool> removed;
  bool free(u32 i) const { return removed[i]; }
  const char* name(u32 i) const { return names[i].c_str(); }
  u32 published() const { return static_cast<u32>(names.size()); }
  // add_path: 0 or the negative errno.
  int add(const std::string& n) {
    auto r = choose_path_slot(*this, published(), n.c_str());
    if (r.is_error()) return r.error().code();
    const SlotChoice c = r.value();
    if (c.reuse) {
      EXPECT_LT(c.index, published());
      EXPECT_TRUE(removed[c.index]);
      names[c.index] = n;
      removed[c.index] = false;
    } else {
      EXPECT_EQ(c.index, published());
      names.push_back(n);
      removed.push_back(false);
    }
    return 0;
  }
  void remove(const std::string& n) {
    for (u32 i = 0; i < published(); i++)
      if (!removed[i] && names[i] == n) {
        removed[i] = true;
        return;
      }
    FAIL() << "no live path " << n;
  }
};

std::string path_name(u32 i) {
  return "ip:10.99." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + "@ip:10.99.0.2";
}

TEST(PathSlots, AppendsThenRefusesTheSameNameWithEexist) {
  ModelTable t;
  EXPECT_EQ(t.add("ip:10.99.0.1@ip:10.99.0.2"), 0);
  EXPECT_EQ(t.add("ip:10.99.1.1@ip:10.99.1.2"), 0);
  EXPECT_EQ(t.published(), 2u);
  EXPECT_EQ(t.add("ip:10.99.1.1@ip:10.99.1.2"), -EEXIST);
  EXPECT_EQ(t.add("ip:10.99.1.2"), 0);  // no source: a different name
  EXPECT_EQ(t.published(), 3u);
}

TEST(PathSlots, RemovedSlotIsReusedSoManyCyclesNeverExhaustTheTable) {
  ModelTable t;
  EXPECT_EQ(t.add("a"), 0);
  EXPECT_EQ(t.add("b"), 0);
  for (int cycle = 0; cycle < 1000; cycle++) {
    ASSERT_EQ(t.add("c"), 0) << cycle;
    t.remove("c");
  }
  EXPECT_EQ(t.published(), 3u);
  // The same name may come back once removed (its slot is free).
  t.remove("a");
  EXPECT_EQ(t.add("a"), 0);
  EXPECT_EQ(t.names[0], "a");
  EXPECT_EQ(t.published(), 3u);
}

TEST(PathSlots, LowestFreeSlotFirst) {
  ModelTable t;
  for (u32 i = 0; i < 6; i++) ASSERT_EQ(t.add(path_name(i)), 0);
  t.remove(path_name(4));
  t.remove(path_name(1));
  auto r = choose_path_slot(t, t.published(), "new");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().index, 1u);
  EXPECT_TRUE(r.value().reuse);
  // A free slot's stale name does not count as a duplicate.
  EXPECT_EQ(t.add(path_name(4)), 0);
  EXPECT_EQ(t.names[1], path_name(4));
}

TEST(PathSlots, The129thLivePathIsE2bigAndAFreedSlotTakesItAgain) {
  ModelTable t;
  for (u32 i = 0; i < kMaxPaths; i++) ASSERT_EQ(t.add(path_name(i)), 0) << i;
  EXPECT_EQ(t.published(), kMaxPaths);
  EXPECT_EQ(t.add(path_name(kMaxPaths)), -E2BIG);
  // A duplicate is still EEXIST, whether the table is full or not.
  EXPECT_EQ(t.add(path_name(7)), -EEXIST);
  t.remove(path_name(77));
  EXPECT_EQ(t.add(path_name(kMaxPaths)), 0);
  EXPECT_EQ(t.names[77], path_name(kMaxPaths));
  EXPECT_EQ(t.add(path_name(kMaxPaths + 1)), -E2BIG);
  // Grow to 128 and shrink again, twice: the table stays at 128 slots.
  for (u32 i = 0; i < kMaxPaths; i++) t.remove(t.names[i]);
  for (int round = 0; round < 2; round++) {
    for (u32 i = 0; i < kMaxPaths; i++) ASSERT_EQ(t.add(path_name(1000 + i)), 0) << i;
    EXPECT_EQ(t.add("one more"), -E2BIG);
    for (u32 i = 0; i < kMaxPaths; i++) t.remove(path_name(1000 + i));
  }
  EXPECT_EQ(t.published(), kMaxPaths);
}

TEST(PathSlots, PublishedAboveTheLimitIsClamped) {
  ModelTable t;
  for (u32 i = 0; i < kMaxPaths; i++) ASSERT_EQ(t.add(path_name(i)), 0);
  auto r = choose_path_slot(t, kMaxPaths + 5, "x");
  ASSERT_TRUE(r.is_error());
  EXPECT_EQ(r.error().code(), -E2BIG);
}

}  // namespace
