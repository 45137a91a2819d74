/* SPDX-License-Identifier: GPL-2.0 */
// IBTRS multipath: the policy names (sysfs mpath_policy), the per-path
// metrics the selector reads, the per-IO path selector, and the per-session
// IO latency histogram.
//
// Portable core: no allocation, no floating point, no standard header, no
// global state except KX_WARN_ON_ONCE's flag. Shared by the client module
// and the host unit tests.
//
// Policies (numbers and names as upstream rtrs-clt, plus one of ours):
//   round-robin  (0)  next usable path after this CPU's cursor.
//   min-inflight (1)  usable path with the fewest requests in flight. Default.
//   min-latency  (2)  usable path with the smallest heartbeat RTT (sampled by
//                     the 5 s heartbeat, not by IO).
//   adaptive     (3)  ours: smallest EWMA(IO completion latency) x (inflight
//                     + 1), so a path that turns slow or congested sheds load
//                     as soon as its completions lag (see select_adaptive).
//
// Deliberate differences from upstream (rtrs-clt.c 6.1):
//  * inflight is counted under every policy, not only under min-inflight (see
//    PathMetrics).
//  * round-robin advances the cursor to the path it actually chose. Upstream
//    advances one list position per attempt and skips non-CONNECTED paths in
//    the caller, so with path B of A,B,C down, C gets 2/3 of the IO; here the
//    usable paths share evenly.
//  * round-robin honours the per-IO skip mask like the other policies.
//  * mpath_policy writes must match a name exactly (after one optional
//    trailing newline); upstream matches prefixes ("round-robinX" passes).
//
// Concurrency: every PathMetrics and LatencyHistogram field is an atomic, so
// updates from completion context (softirq or hardirq, any CPU) may race with
// selection on other CPUs without a lock. The selector reads each field once
// per decision with relaxed loads: a decision made on a value one update old
// is as good as one made a nanosecond later, and nothing here guards memory
// lifetime. The caller keeps the candidate paths alive for the duration of a
// select_path() call (RCU read side over the session's path array).
#pragma once

#include <kx/atomic.h>
#include <kx/errno.h>
#include <kx/result.h>
#include <kx/types.h>

namespace ibtrs::mpath {

using kx::Atomic;
using kx::Error;
using kx::i64;
using kx::Result;
using kx::u32;
using kx::u64;
using kx::usize;

// Paths per session; equal to wire::kMaxPaths (the unit test pins it).
inline constexpr u32 kMaxPaths = 128;

// select_path() result when no path is eligible.
inline constexpr int kNoPath = -1;

// ---------------------------------------------------------------------------
// Policy names.

enum class MpathPolicy : u32 {
  kRoundRobin = 0,
  kMinInflight = 1,
  kMinLatency = 2,
  kAdaptive = 3,
};

// Upstream's default (rtrs-clt.c: clt->mp_policy = MP_POLICY_MIN_INFLIGHT).
inline constexpr MpathPolicy kDefaultPolicy = MpathPolicy::kMinInflight;

namespace detail {

constexpr char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Case-insensitive equality of buf[0, len) with the NUL-terminated word.
constexpr bool equals_nocase(const char* buf, usize len, const char* word) {
  usize i = 0;
  for (; i < len; ++i) {
    if (word[i] == '\0' || to_lower(buf[i]) != word[i]) return false;
  }
  return word[i] == '\0';
}

// Writes text into a caller buffer with scnprintf semantics: never writes
// past size, keeps the buffer NUL-terminated when size > 0, and length() is
// the number of characters stored (without the NUL).
class TextSink {
 public:
  TextSink(char* buf, usize size) : buf_(buf), size_(size) {
    if (size_) buf_[0] = '\0';
  }
  void put_char(char c) {
    if (len_ + 1 >= size_) return;
    buf_[len_++] = c;
    buf_[len_] = '\0';
  }
  void put(const char* s) {
    while (*s) put_char(*s++);
  }
  // Decimal, right-aligned in at least width characters.
  void put_u64(u64 v, u32 width = 0) {
    char digits[20];
    u32 n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    for (u32 k = n; k < width; ++k) put_char(' ');
    while (n) put_char(digits[--n]);
  }
  usize length() const { return len_; }

 private:
  char* buf_;
  usize size_;
  usize len_ = 0;
};

}  // namespace detail

// Parses a write to mpath_policy. Accepts, case-insensitively, "0".."3" (with
// an optional '+' and leading zeros, as kstrtoint does), "round-robin"/"rr",
// "min-inflight"/"mi", "min-latency"/"ml", "adaptive"/"ad", followed by at
// most one '\n' (what `echo` writes). The text ends at len or at the first
// NUL. Anything else: -EINVAL.
inline Result<MpathPolicy> parse_policy(const char* buf, usize len) {
  usize n = 0;
  while (n < len && buf[n] != '\0') ++n;
  if (n && buf[n - 1] == '\n') --n;
  if (n == 0) return Error(-EINVAL);

  usize i = buf[0] == '+' ? 1 : 0;
  if (i < n) {
    u32 value = 0;
    bool numeric = true;
    for (usize k = i; k < n; ++k) {
      if (buf[k] < '0' || buf[k] > '9') {
        numeric = false;
        break;
      }
      value = value * 10 + static_cast<u32>(buf[k] - '0');
      // Stop before the value can overflow; anything above 3 is refused.
      if (value > static_cast<u32>(MpathPolicy::kAdaptive)) return Error(-EINVAL);
    }
    if (numeric) return static_cast<MpathPolicy>(value);
  }

  struct Name {
    const char* word;
    MpathPolicy policy;
  };
  constexpr Name kNames[] = {
      {"round-robin", MpathPolicy::kRoundRobin}, {"rr", MpathPolicy::kRoundRobin},
      {"min-inflight", MpathPolicy::kMinInflight}, {"mi", MpathPolicy::kMinInflight},
      {"min-latency", MpathPolicy::kMinLatency}, {"ml", MpathPolicy::kMinLatency},
      {"adaptive", MpathPolicy::kAdaptive},       {"ad", MpathPolicy::kAdaptive},
  };
  for (const Name& name : kNames) {
    if (detail::equals_nocase(buf, n, name.word)) return name.policy;
  }
  return Error(-EINVAL);
}

// The read-back text without the newline: "round-robin (RR: 0)",
// "min-inflight (MI: 1)", "min-latency (ML: 2)" (upstream's strings) and
// "adaptive (AD: 3)"; nullptr for a value outside the enum.
constexpr const char* policy_label(MpathPolicy p) {
  switch (p) {
    case MpathPolicy::kRoundRobin: return "round-robin (RR: 0)";
    case MpathPolicy::kMinInflight: return "min-inflight (MI: 1)";
    case MpathPolicy::kMinLatency: return "min-latency (ML: 2)";
    case MpathPolicy::kAdaptive: return "adaptive (AD: 3)";
  }
  return nullptr;
}

// The sysfs show text: the label and '\n' as upstream's sysfs_emit, or
// "Unknown (N)\n" for a value outside the enum (upstream's fallback).
// scnprintf semantics (see detail::TextSink); returns the length written.
inline usize format_policy(MpathPolicy p, char* buf, usize size) {
  detail::TextSink out(buf, size);
  if (const char* label = policy_label(p)) {
    out.put(label);
  } else {
    out.put("Unknown (");
    out.put_u64(static_cast<u32>(p));
    out.put(")");
  }
  out.put_char('\n');
  return out.length();
}

// ---------------------------------------------------------------------------
// Per-path metrics.
//
// One per path, embedded in the path object. Writers:
//   on_submit()          IO submit path, after the path was chosen and before
//                        the work request is posted (any context).
//   on_complete()        successful IO completion (softirq/hardirq, any CPU).
//   on_complete_error()  IO that ends on this path without a latency sample:
//                        posting failed after on_submit(), or the request is
//                        failed over / aborted when the path closes.
//   on_failover()        on the path that accepted a failed-over request.
//   set_hb_rtt()         heartbeat ACK handler.
// Readers: select_path() and sysfs, any context, no lock.
// Every submit and completion on any CPU writes inflight, so keep the object
// on a cache line of its own, away from read-mostly path fields.
//
// inflight is counted under every policy. Upstream counts only when the
// request was submitted under min-inflight, so its stats/rdma inflight column
// reads 0 under the other policies and a switch to min-inflight starts from
// an undercount. Here the adaptive score needs it anyway, sysfs always shows
// the true number, and a policy switch with IO in flight is exact. The cost
// is one locked RMW on submit and one on completion, on a cache line the
// completion path already writes.
class PathMetrics {
 public:
  // EWMA weight 1/2^kEwmaWeightShift = 1/8 (RFC 6298's SRTT gain): a step
  // change in latency is half absorbed after 6 samples and 90 % after 18, so
  // at the tens of thousands of completions per second of a busy path the
  // estimate follows within about a millisecond, while one outlier sample
  // moves it by only 1/8 of the difference.
  static constexpr u32 kEwmaWeightShift = 3;
  // Fixed point with 8 fractional bits: integer truncation leaves a dead
  // band of less than 8/256 ns, so latency_ns() (rounded) converges to
  // exactly a repeated integer sample.
  static constexpr u32 kEwmaFracBits = 8;
  // Samples are clamped to [1, 2^36 - 1] ns (68.7 s, longer than any IO
  // can live before the 30-40 s heartbeat timeout closes the path). 0 in the
  // EWMA word means "no sample yet", and the clamp keeps the adaptive score
  // (EWMA x (inflight + 1), inflight capped at 2^18) below 2^63.
  static constexpr u64 kMaxSampleNs = (u64{1} << 36) - 1;
  // A path whose last completion is older than this, or which never
  // completed an IO, is "stale": its EWMA no longer describes it. The next
  // sample replaces the EWMA instead of being blended in, and the adaptive
  // policy sends a stale idle path one probe IO (see select_adaptive). So a
  // path that recovered while shed of all load is re-measured within 100 ms,
  // and one that is still slow costs at most one IO per 100 ms.
  static constexpr u64 kStaleNs = 100ull * 1000 * 1000;

  constexpr PathMetrics() = default;
  KX_PINNED(PathMetrics);

  void on_submit() { inflight_.fetch_add(1); }

  // latency_ns: completion time minus the submit timestamp of this IO;
  // now_ns: the completion time (monotonic ns, ktime_get_ns; never 0).
  // Updates the estimate before dropping inflight: the decrement is a full
  // barrier, so on x86 a selector that sees the lower inflight also sees the
  // new estimate. Nothing depends on that; it only avoids a needless
  // transient. Two completions racing here on different CPUs may lose one
  // sample (load/store, not a CAS loop: a sample is not worth a retry loop in
  // hardirq); each stored value is still a convex combination of an earlier
  // estimate and a real sample, so the EWMA never leaves the range of the
  // samples it was fed.
  void on_complete(u64 latency_ns, u64 now_ns) {
    const u64 sample = clamp_sample(latency_ns) << kEwmaFracBits;
    const u64 old = ewma_fp_.load_relaxed();
    u64 next = sample;
    if (old != 0 && !is_stale_at(last_sample_ns_.load_relaxed(), now_ns))
      next = ((old << kEwmaWeightShift) - old + sample) >> kEwmaWeightShift;
    ewma_fp_.store_relaxed(next);
    last_sample_ns_.store_relaxed(now_ns ? now_ns : 1);
    drop_inflight();
  }

  void on_complete_error() { drop_inflight(); }
  void on_failover() { failovers_.add_relaxed(1); }
  // cur_latency: RTT of the last heartbeat in ns (upstream hb_cur_latency).
  void set_hb_rtt(u64 rtt_ns) { hb_rtt_ns_.store_relaxed(rtt_ns); }

  u32 inflight() const { return inflight_.load_relaxed(); }
  // 0 until the first heartbeat ACK, as upstream (so min-latency prefers a
  // path that has not been measured yet).
  u64 hb_rtt_ns() const { return hb_rtt_ns_.load_relaxed(); }
  u64 failover_count() const { return failovers_.load_relaxed(); }
  // EWMA of IO completion latency, in 1/256 ns; 0 = no sample yet.
  u64 latency_fp() const { return ewma_fp_.load_relaxed(); }
  // The same in ns, rounded to nearest; 0 = no sample yet.
  u64 latency_ns() const {
    const u64 fp = latency_fp();
    return fp ? (fp + (u64{1} << (kEwmaFracBits - 1))) >> kEwmaFracBits : 0;
  }
  // Completion time of the last latency sample; 0 = none.
  u64 last_sample_ns() const { return last_sample_ns_.load_relaxed(); }
  bool is_stale(u64 now_ns) const { return is_stale_at(last_sample_ns(), now_ns); }

  // stats reset_all: zeroes the counters a user may reset. inflight and the
  // latency estimate describe live state and are never reset.
  void reset_counters() { failovers_.store_relaxed(0); }

 private:
  static constexpr u64 clamp_sample(u64 ns) {
    return ns == 0 ? 1 : (ns > kMaxSampleNs ? kMaxSampleNs : ns);
  }
  // A timestamp from a CPU that read the clock just before a concurrent
  // completion stored last may be "before" it: the signed difference treats
  // that as fresh instead of as 2^64 ns old.
  static constexpr bool is_stale_at(u64 last, u64 now) {
    return last == 0 || static_cast<i64>(now - last) >= static_cast<i64>(kStaleNs);
  }
  void drop_inflight() {
    // An unbalanced completion is a transport bug; undo it so the path is
    // not scored as holding 4 billion requests forever.
    const u32 prev = inflight_.fetch_sub(1);
    if (KX_WARN_ON_ONCE(prev == 0)) inflight_.fetch_add(1);
  }

  Atomic<u32> inflight_;
  Atomic<u64> hb_rtt_ns_;
  Atomic<u64> ewma_fp_;
  Atomic<u64> last_sample_ns_;
  Atomic<u64> failovers_;
};

// ---------------------------------------------------------------------------
// Selection.

// Paths already tried for one IO (upstream's per-IO skip list), by index into
// the candidate array. Lives on the stack of the submit path; 16 bytes.
class PathMask {
 public:
  constexpr PathMask() = default;
  constexpr void set(u32 i) {
    KX_ASSERT(i < kMaxPaths);
    if (i < kMaxPaths) words_[i / 64] |= u64{1} << (i % 64);
  }
  constexpr void clear(u32 i) {
    if (i < kMaxPaths) words_[i / 64] &= ~(u64{1} << (i % 64));
  }
  constexpr bool test(u32 i) const {
    return i < kMaxPaths && (words_[i / 64] >> (i % 64)) & 1;
  }
  constexpr void reset() {
    for (u64& w : words_) w = 0;
  }
  constexpr bool empty() const {
    for (u64 w : words_)
      if (w) return false;
    return true;
  }
  constexpr u32 count() const {
    u32 n = 0;
    for (u64 w : words_) n += static_cast<u32>(__builtin_popcountll(w));
    return n;
  }

 private:
  u64 words_[kMaxPaths / 64] = {};
};

// Round-robin position, one per CPU per session (PerCpu<RrCursor>). Atomic
// with relaxed accesses so it needs no preemption control: two submitters
// racing on one cursor may pick the same path, which only costs evenness.
class RrCursor {
 public:
  constexpr RrCursor() = default;
  KX_PINNED(RrCursor);
  // Index the next round-robin scan starts from.
  u32 next() const { return next_.load_relaxed(); }
  void set_next(u32 i) { next_.store_relaxed(i); }

 private:
  Atomic<u32> next_;
};

// One candidate for the array form of select_path(). usable is the caller's
// snapshot of "state == CONNECTED".
struct PathCandidate {
  const PathMetrics* metrics;
  bool usable;
};

// Adapts a PathCandidate array to the PathView interface select_path() uses.
// A transport with its own path table passes a view of that table instead,
// so nothing is copied per IO.
class CandidateSpan {
 public:
  constexpr CandidateSpan(const PathCandidate* c, usize n) : c_(c), n_(n) {}
  usize size() const { return n_; }
  bool usable(usize i) const { return c_[i].usable && c_[i].metrics; }
  const PathMetrics& metrics(usize i) const { return *c_[i].metrics; }

 private:
  const PathCandidate* c_;
  usize n_;
};

namespace detail {

// The adaptive score multiplies the estimate by inflight + 1; capping the
// factor keeps the product in 64 bits (see PathMetrics::kMaxSampleNs).
// Queue depths are <= 65535, so the cap is never reached by a sane counter.
inline constexpr u64 kScoreInflightCap = u64{1} << 18;

template <typename View>
bool eligible(const View& paths, usize i, const PathMask& skip) {
  return !skip.test(static_cast<u32>(i)) && paths.usable(i);
}

template <typename View>
int select_round_robin(const View& paths, usize n, RrCursor& cursor, const PathMask& skip) {
  usize start = cursor.next();
  if (start >= n) start = 0;  // paths were removed since the last IO
  for (usize k = 0; k < n; ++k) {
    const usize i = start + k < n ? start + k : start + k - n;
    if (!eligible(paths, i, skip)) continue;
    cursor.set_next(static_cast<u32>(i + 1 < n ? i + 1 : 0));
    return static_cast<int>(i);
  }
  return kNoPath;
}

// Upstream get_next_path_min_inflight: strict '<', so the lowest index wins
// a tie.
template <typename View>
int select_min_inflight(const View& paths, usize n, const PathMask& skip) {
  int best = kNoPath;
  u32 best_inflight = 0;
  for (usize i = 0; i < n; ++i) {
    if (!eligible(paths, i, skip)) continue;
    const u32 inflight = paths.metrics(i).inflight();
    if (best == kNoPath || inflight < best_inflight) {
      best = static_cast<int>(i);
      best_inflight = inflight;
    }
  }
  return best;
}

// Upstream get_next_path_min_latency: smallest last heartbeat RTT, strict
// '<'. A path with no heartbeat answer yet has RTT 0 and so is preferred.
template <typename View>
int select_min_latency(const View& paths, usize n, const PathMask& skip) {
  int best = kNoPath;
  u64 best_rtt = 0;
  for (usize i = 0; i < n; ++i) {
    if (!eligible(paths, i, skip)) continue;
    const u64 rtt = paths.metrics(i).hb_rtt_ns();
    if (best == kNoPath || rtt < best_rtt) {
      best = static_cast<int>(i);
      best_rtt = rtt;
    }
  }
  return best;
}

// Adaptive: minimise est x (inflight + 1), est = the path's EWMA of IO
// completion latency.
//
// Why this score: a new IO on a path that already has k in flight finishes
// roughly when the path has drained k + 1 requests at its current per-IO
// latency, so est x (k + 1) ranks paths by expected completion time (the
// "least expected delay" rule; weighted least-connections with weight
// 1/latency). The + 1 keeps an idle slow path from scoring 0 against a busy
// fast one. With equal estimates the order is exactly min-inflight's. The
// two factors react on different time scales, which is the point: inflight
// rises at submit time the moment a path stops completing (congestion is
// visible before any slow sample arrives), and est then records how slow the
// path really is, so it keeps little load even after its queue drains. The
// measured latency already contains some queueing, so the score counts load
// twice; that errs towards moving load off a loaded path, which is what is
// wanted.
//
// Ties: fewer inflight, then lower index.
//
// Paths without a fresh estimate:
//  * stale and idle (never completed an IO, or no completion for kStaleNs,
//    and nothing in flight): chosen at once, lowest index first, as a probe.
//    One IO measures a new path, or a path that was shed of all load and
//    may have recovered; while the probe is out the path is not idle, so it
//    is probed at most once per kStaleNs.
//  * no sample yet but IO in flight: est = the best (lowest) estimate among
//    the eligible paths, so a new path competes as an equal of the best
//    until its first completion; when no path has a sample all estimates
//    are equal and the choice is min-inflight's.
//  * stale with IO in flight: its old estimate. An unanswered probe must not
//    make a slow path look better.
template <typename View>
int select_adaptive(const View& paths, usize n, const PathMask& skip, u64 now_ns) {
  u64 neutral = 0;
  for (usize i = 0; i < n; ++i) {
    if (!eligible(paths, i, skip)) continue;
    const PathMetrics& m = paths.metrics(i);
    if (m.inflight() == 0 && m.is_stale(now_ns)) return static_cast<int>(i);
    const u64 est = m.latency_fp();
    if (est && (neutral == 0 || est < neutral)) neutral = est;
  }
  if (neutral == 0) neutral = 1;

  int best = kNoPath;
  u64 best_score = 0;
  u32 best_inflight = 0;
  for (usize i = 0; i < n; ++i) {
    if (!eligible(paths, i, skip)) continue;
    const PathMetrics& m = paths.metrics(i);
    const u32 inflight = m.inflight();
    const u64 est = m.latency_fp() ? m.latency_fp() : neutral;
    const u64 load = (inflight < kScoreInflightCap ? inflight : kScoreInflightCap) + 1;
    const u64 score = est * load;
    if (best == kNoPath || score < best_score ||
        (score == best_score && inflight < best_inflight)) {
      best = static_cast<int>(i);
      best_score = score;
      best_inflight = inflight;
    }
  }
  return best;
}

}  // namespace detail

// Chooses the path for one IO attempt.
//
// paths: a PathView, i.e. any type with
//          usize size() const;                     // <= kMaxPaths
//          bool usable(usize i) const;             // e.g. state == CONNECTED
//          const PathMetrics& metrics(usize i) const;
//        (CandidateSpan adapts a PathCandidate array). Indices are stable for
//        the call; the caller holds the RCU read lock over the path table.
// policy: read once per IO by the caller and passed unchanged to every
//        attempt of that IO.
// cursor: this CPU's round-robin cursor; only round-robin reads or writes it.
// skip:  paths this IO already tried. The selector never picks one and never
//        modifies the mask: after a failed post on the returned index the
//        caller sets that bit and selects again.
// now_ns: monotonic ns (ktime_get_ns), only read by adaptive. Take it once
//        before selection and reuse it as the IO's start timestamp.
//
// Returns the index of the chosen path, or kNoPath (-1) when no path is both
// usable and not skipped. Any context; allocates nothing; O(size()) (two
// passes for adaptive). A policy value outside the enum selects as the
// default (min-inflight).
template <typename PathView>
int select_path(const PathView& paths, MpathPolicy policy, RrCursor& cursor, const PathMask& skip,
                u64 now_ns) {
  usize n = paths.size();
  KX_ASSERT(n <= kMaxPaths);
  if (n > kMaxPaths) n = kMaxPaths;
  switch (policy) {
    case MpathPolicy::kRoundRobin: return detail::select_round_robin(paths, n, cursor, skip);
    case MpathPolicy::kMinInflight: return detail::select_min_inflight(paths, n, skip);
    case MpathPolicy::kMinLatency: return detail::select_min_latency(paths, n, skip);
    case MpathPolicy::kAdaptive: return detail::select_adaptive(paths, n, skip, now_ns);
  }
  return detail::select_min_inflight(paths, n, skip);
}

inline int select_path(const PathCandidate* paths, usize n, MpathPolicy policy, RrCursor& cursor,
                       const PathMask& skip, u64 now_ns) {
  return select_path(CandidateSpan(paths, n), policy, cursor, skip, now_ns);
}

// ---------------------------------------------------------------------------
// Path table slots (add_path / remove_path).
//
// A session's path table has kMaxPaths slots; [0, published) hold a path
// object each, and the table never shrinks: IO reads slots without a lock,
// so a path object stays in its slot for the session's life. A removed path
// (closed for good, its sysfs directory gone) is only marked free, and the
// next add_path re-initialises that same object for the new addresses. So
// any number of add/remove cycles fit as long as at most kMaxPaths paths
// are live at once.
//
// table: a PathTableView, i.e. any type with
//          bool free(u32 i) const;         // slot i's path was removed
//          const char* name(u32 i) const;  // "src@dst" or "dst", NUL-ended
// published: slots in use, <= kMaxPaths.
// name: the new path's name, formatted like the table's.
//
// Returns the slot for the new path: the lowest free slot, else published
// (a new slot); Error(-EEXIST) if a live path has the same name (the same
// src@dst: its sysfs directory would clash), Error(-E2BIG) if all kMaxPaths
// slots hold live paths. The caller holds the lock that serialises
// add_path and the marking of a slot free. Allocates nothing; O(published).
struct SlotChoice {
  u32 index;
  bool reuse;  // index < published: re-initialise the removed path there
};

namespace detail {
inline bool names_equal(const char* a, const char* b) {
  while (*a && *a == *b) {
    a++;
    b++;
  }
  return *a == *b;
}
}  // namespace detail

template <typename PathTableView>
Result<SlotChoice> choose_path_slot(const PathTableView& table, u32 published, const char* name) {
  if (published > kMaxPaths) published = kMaxPaths;
  u32 free_slot = published;
  for (u32 i = 0; i < published; i++) {
    if (table.free(i)) {
      if (free_slot == published) free_slot = i;
      continue;
    }
    if (detail::names_equal(table.name(i), name)) return Error(-EEXIST);
  }
  if (free_slot < published) return SlotChoice{free_slot, true};
  if (published == kMaxPaths) return Error(-E2BIG);
  return SlotChoice{published, false};
}

// ---------------------------------------------------------------------------
// Latency histogram.
//
// log2 buckets. Above 1 ms they are exactly the original IBNBD rdma_lat
// buckets (ilog2 of whole milliseconds, 1 ms ... 65536 ms, then >=); IBNBD's
// first bucket "< 1 ms" is split into microsecond buckets because soft-RoCE
// and real RDMA IOs complete in tens to hundreds of microseconds, where
// IBNBD's histogram put everything into one bucket. With us = ns / 1000 and
// ms = ns / 1000000 (truncating), the 28 buckets are:
//
//   bucket  0            [0, 1 us)
//   bucket  k,  1..9     [2^(k-1), 2^k) us         ([1,2) us ... [256,512) us)
//   bucket 10            [512 us, 1 ms)
//   bucket 10+j, j 1..16 [2^(j-1), 2^j) ms         ([1,2) ms ... [32768,65536) ms)
//   bucket 27            >= 65536 ms
//
// plus the maximum sample (ns) and the sample count.
//
// record() is lock-free and callable from any context on any CPU. At
// millions of IOPS across CPUs a single shared instance bounces its cache
// lines: keep one per CPU (PerCpu<LatencyHistogram>) and merge them with
// accumulate_into() for sysfs, as IBNBD did.
inline constexpr u32 kHistBuckets = 28;
inline constexpr u32 kHistUsBuckets = 11;  // buckets 0..10 are below 1 ms

struct HistogramSnapshot {
  u64 buckets[kHistBuckets] = {};
  u64 count = 0;   // sum of buckets
  u64 max_ns = 0;  // largest sample recorded
};

class LatencyHistogram {
 public:
  constexpr LatencyHistogram() = default;
  KX_PINNED(LatencyHistogram);

  static constexpr u32 bucket_of(u64 ns) {
    if (ns < 1000 * 1000) {
      const u64 us = ns / 1000;
      return us ? kx::ilog2(us) + 1 : 0;  // us <= 999: at most bucket 10
    }
    const u64 ms = ns / (1000 * 1000);
    const u32 j = kx::ilog2(ms) + 1;
    return kHistUsBuckets - 1 + (j < 17 ? j : 17);
  }
  // Smallest ns that falls into bucket b (b < kHistBuckets).
  static constexpr u64 bucket_floor_ns(u32 b) {
    if (b == 0) return 0;
    if (b < kHistUsBuckets - 1) return (u64{1} << (b - 1)) * 1000;
    if (b == kHistUsBuckets - 1) return 512 * 1000;
    return (u64{1} << (b - kHistUsBuckets)) * 1000 * 1000;
  }

  void record(u64 ns) {
    buckets_[bucket_of(ns)].add_relaxed(1);
    u64 cur = max_ns_.load_relaxed();
    // Raising the maximum is rare once it has settled, so the CAS loop runs
    // about never; a failed CAS reloads cur and re-checks.
    while (ns > cur && !max_ns_.compare_exchange(cur, ns)) {
    }
  }

  // Adds this histogram into s (for merging per-CPU copies). Not an atomic
  // snapshot: records racing with it land in this read or the next.
  void accumulate_into(HistogramSnapshot& s) const {
    for (u32 b = 0; b < kHistBuckets; ++b) {
      const u64 v = buckets_[b].load_relaxed();
      s.buckets[b] += v;
      s.count += v;
    }
    const u64 m = max_ns_.load_relaxed();
    if (m > s.max_ns) s.max_ns = m;
  }
  HistogramSnapshot snapshot() const {
    HistogramSnapshot s;
    accumulate_into(s);
    return s;
  }
  // stats reset: records racing with it may survive or be lost.
  void reset() {
    for (Atomic<u64>& b : buckets_) b.store_relaxed(0);
    max_ns_.store_relaxed(0);
  }

 private:
  Atomic<u64> buckets_[kHistBuckets];
  Atomic<u64> max_ns_;
};

namespace detail {

// One line per bucket, IBNBD's layout ("< %6d ms: ..." / ">= %5d ms: ...")
// extended with "us" lines, then the maximum in whole microseconds:
//   "<      1 us: <cols>\n" ... "<    512 us: <cols>\n"
//   "<      1 ms: <cols>\n" ... "<  65536 ms: <cols>\n"
//   ">= 65536 ms: <cols>\n"
//   " maximum us: <cols>\n"
// <cols> is one count per snapshot, separated by a space.
inline usize format_histograms(const HistogramSnapshot* const* snaps, u32 nsnaps, char* buf,
                               usize size) {
  TextSink out(buf, size);
  auto counts = [&](u32 b) {
    for (u32 s = 0; s < nsnaps; ++s) {
      out.put_char(s ? ' ' : ':');
      if (!s) out.put_char(' ');
      out.put_u64(snaps[s]->buckets[b]);
    }
    out.put_char('\n');
  };
  for (u32 b = 0; b + 1 < kHistBuckets; ++b) {
    out.put("< ");
    if (b < kHistUsBuckets - 1) {
      out.put_u64(u64{1} << b, 6);
      out.put(" us");
    } else {
      out.put_u64(u64{1} << (b - (kHistUsBuckets - 1)), 6);
      out.put(" ms");
    }
    counts(b);
  }
  out.put(">= ");
  out.put_u64(65536, 5);
  out.put(" ms");
  counts(kHistBuckets - 1);
  out.put(" maximum us");
  for (u32 s = 0; s < nsnaps; ++s) {
    out.put_char(s ? ' ' : ':');
    if (!s) out.put_char(' ');
    out.put_u64(snaps[s]->max_ns / 1000);
  }
  out.put_char('\n');
  return out.length();
}

}  // namespace detail

// sysfs text of one histogram (format above), scnprintf semantics; returns
// the length written. 29 lines of at most 34 bytes (55 with two columns),
// whatever the counts: always fits a page.
inline usize format_histogram(const HistogramSnapshot& s, char* buf, usize size) {
  const HistogramSnapshot* snaps[] = {&s};
  return detail::format_histograms(snaps, 1, buf, size);
}

// IBNBD's stats/rdma_lat layout: two columns, read then write.
inline usize format_histogram_rw(const HistogramSnapshot& read, const HistogramSnapshot& write,
                                 char* buf, usize size) {
  const HistogramSnapshot* snaps[] = {&read, &write};
  return detail::format_histograms(snaps, 2, buf, size);
}

}  // namespace ibtrs::mpath
