/* SPDX-License-Identifier: GPL-2.0 */
// Request placement and in-flight fail-over for a multipath client session:
// the part of the IBTRS client that decides where a request goes and who
// completes it, kept free of RDMA so that the host tests drive it over a
// simulated fabric (tests/unit/ibtrs_failover_test.cpp) and the module runs
// the very same code (ibtrs/client/ibtrs_clt.cpp).
//
// Model. A session has paths [0, n); each path has one request slot per
// permit (the server's chunk of that permit is the same on every path: the
// chunk pool belongs to the session). A slot moves
//
//     Idle --claim()--> Inflight --take()--> Completing --release()--> Idle
//
// and whoever wins take() owns the request: it either re-issues it on
// another path (fail-over) or completes it to the user. The normal response,
// the timeout and the path teardown all race through take(), so every
// request is completed exactly once whatever the order of events.
//
// The Env concept (the module and the simulator each provide one):
//
//   using Request = ...;              // what is needed to (re)post: direction,
//                                     // permit, user header, data buffers...
//   usize size() const;               // paths, as mpath::select_path sees them
//   bool usable(usize i) const;       //   (a PathView; see mpath.h)
//   const mpath::PathMetrics& metrics(usize i) const;
//   // Tries to post rq on path i: 0 posted (the path owns it now),
//   // kTryNextPath the path cannot take it now (not connected, post failed
//   // because the path is going down), any other -errno is final (the
//   // request is bad and would fail on every path).
//   int try_post(u32 i, const Request& rq);
//
// Contexts: submit() in any context (it allocates nothing and does not
// sleep); fail_path() in the context that tore the path down, after no
// completion of that path can run any more (its queues are destroyed).
#pragma once

#include <ibtrs/core/mpath.h>
#include <kx/atomic.h>
#include <kx/errno.h>
#include <kx/types.h>

namespace ibtrs::failover {

using kx::Atomic;
using kx::u32;
using kx::u64;
using kx::usize;

// try_post(): "this path cannot take the request now, try another one".
inline constexpr int kTryNextPath = -EAGAIN;

// One request slot (one permit on one path). Exactly-once ownership of the
// request in it: see the header comment.
class Slot {
 public:
  enum State : u32 { kIdle = 0, kInflight = 1, kCompleting = 2 };

  constexpr Slot() = default;
  KX_PINNED(Slot);

  // Idle -> Inflight: the submitter owns the slot to post. false if the
  // slot is in use (a permit used twice at once).
  bool claim() {
    u32 expected = kIdle;
    return state_.compare_exchange(expected, kInflight);
  }
  // Inflight -> Completing: the caller now owns the request (to complete it
  // or move it). false if someone else already took it or it is idle.
  bool take() {
    u32 expected = kInflight;
    return state_.compare_exchange(expected, kCompleting);
  }
  // Back to Idle: from Completing when done, or from Inflight when the post
  // failed (nothing was sent, no completion will come).
  void release() { state_.store(kIdle); }
  State state() const { return static_cast<State>(state_.load()); }
  bool inflight() const { return state() == kInflight; }

 private:
  Atomic<u32> state_{kIdle};
};

// Places rq on a usable path chosen by policy, never on a path in skip.
// Returns the path index (>= 0) that took it, or -errno: the final error of
// try_post, or -ECONNABORTED when no path could take it.
template <typename Env>
int submit(Env& env, const typename Env::Request& rq, mpath::PathMask skip,
           mpath::MpathPolicy policy, mpath::RrCursor& cursor, u64 now_ns) {
  const usize n = env.size();
  for (usize tries = 0; tries < n; tries++) {
    const int idx = mpath::select_path(env, policy, cursor, skip, now_ns);
    if (idx < 0) break;
    skip.set(static_cast<u32>(idx));
    const int ret = env.try_post(static_cast<u32>(idx), rq);
    if (ret == 0) return idx;
    if (ret != kTryNextPath) return ret;
  }
  return -ECONNABORTED;
}

struct DrainStats {
  u32 moved = 0;      // re-issued on another path
  u32 completed = 0;  // completed to the user with the error
};

// A failed path's requests: every slot still in flight is taken (exactly
// once, see Slot) and, if failover is true, re-issued on another usable path
// (never the failed one) with the same permit, hence the same server chunk;
// otherwise, or when no path takes it, completed with err (or with the final
// error try_post gave, e.g. a request that is bad on every path).
//
// Env must also provide, for the failed path's slots:
//   usize nr_slots(u32 path);
//   Slot& slot(u32 path, u32 i);
//   Request saved_request(u32 path, u32 i);  // a copy of what was posted in
//       // slot i; what it points to stays valid until moved()/complete()
//   void detach(u32 path, u32 i);  // the old path lets go of the request's
//       // data buffers (DMA unmap) BEFORE they are posted again elsewhere:
//       // a scatterlist must not be mapped twice at once
//   void moved(u32 path, u32 i, u32 to_path);  // re-issued: free the old
//       // slot and count the fail-over on to_path
//   void complete(u32 path, u32 i, int err);  // frees the old slot, then
//       // the user's completion
template <typename Env>
DrainStats fail_path(Env& env, u32 failed, int err, bool failover, mpath::MpathPolicy policy,
                     mpath::RrCursor& cursor, u64 now_ns) {
  DrainStats st;
  const usize slots = env.nr_slots(failed);
  for (usize i = 0; i < slots; i++) {
    const u32 s = static_cast<u32>(i);
    if (!env.slot(failed, s).take()) continue;
    const typename Env::Request rq = env.saved_request(failed, s);
    env.detach(failed, s);
    int final_err = err;
    if (failover) {
      mpath::PathMask skip;
      skip.set(failed);
      const int to = submit(env, rq, skip, policy, cursor, now_ns);
      if (to >= 0) {
        env.moved(failed, s, static_cast<u32>(to));
        st.moved++;
        continue;
      }
      if (to != -ECONNABORTED) final_err = to;
    }
    env.complete(failed, s, final_err);
    st.completed++;
  }
  return st;
}

}  // namespace ibtrs::failover
