/* SPDX-License-Identifier: GPL-2.0 */
// The client path state machine (portable core; host-tested in
// tests/unit/ibtrs_path_state_test.cpp, used by ibtrs/client/ibtrs_clt.cpp).
//
//              start ok                       error (any context)
//   CONNECTING ---------> CONNECTED ------------------------------> ERROR
//      ^   |                  ^                                      |
//      |   | start failed     | reconnect ok                         | recovery work:
//      |   v                  |                                      | teardown done
//   DISCONNECTED <------------+---------------------------------------+
//      |  (reconnect work: DISCONNECTED -> CONNECTING)
//      |
//   any state --close/disconnect--> CLOSING --> CLOSED (close, remove_path)
//                                          \--> DISCONNECTED (manual disconnect)
//
// Every transition is one compare-and-swap, so concurrent actors resolve
// cleanly: the first error of a burst wins (the others see ERROR and do
// nothing), a recovery that finishes after a close began does not
// resurrect the path (ERROR -> DISCONNECTED fails once CLOSING), and a
// reconnect that completes after a close began is undone by its caller.
// Requests are posted only in CONNECTED.
#pragma once

#include <kx/atomic.h>
#include <kx/types.h>

namespace ibtrs {

enum class PathState : kx::u32 {
  kConnecting = 0,
  kConnected = 1,
  kError = 2,         // recovery queued
  kDisconnected = 3,  // torn down; a reconnect may be scheduled
  kClosing = 4,
  kClosed = 5,
};

inline const char* path_state_name(PathState s) {
  switch (s) {
    case PathState::kConnecting: return "connecting";
    case PathState::kConnected: return "connected";
    case PathState::kClosed: return "closed";
    default: return "disconnected";
  }
}

class PathStateMachine {
 public:
  constexpr PathStateMachine() = default;
  KX_PINNED(PathStateMachine);

  PathState get() const { return static_cast<PathState>(v_.load()); }
  bool is_connected() const { return get() == PathState::kConnected; }

  // CONNECTED -> ERROR. true for exactly one caller per failure: that caller
  // queues the recovery. Any context.
  bool fail() { return cas(PathState::kConnected, PathState::kError); }
  // Recovery finished its teardown: ERROR -> DISCONNECTED. false if a close
  // took over meanwhile (then nothing must be scheduled).
  bool recovered() { return cas(PathState::kError, PathState::kDisconnected); }
  // Reconnect work starts: DISCONNECTED -> CONNECTING.
  bool begin_reconnect() { return cas(PathState::kDisconnected, PathState::kConnecting); }
  // Set-up succeeded: CONNECTING -> CONNECTED. false if a close took over
  // (the caller tears its new connections down again).
  bool connected() { return cas(PathState::kConnecting, PathState::kConnected); }
  // Set-up failed: CONNECTING -> DISCONNECTED. false if a close took over.
  bool connect_failed() { return cas(PathState::kConnecting, PathState::kDisconnected); }
  // Close, manual disconnect or removal: any -> CLOSING. Returns the state
  // it left.
  PathState begin_close() { return static_cast<PathState>(v_.exchange(static_cast<kx::u32>(PathState::kClosing))); }
  // After a CLOSING teardown: DISCONNECTED (manual disconnect, may be
  // reconnected by hand) or CLOSED (gone for good).
  void end_close(bool for_good) {
    v_.store(static_cast<kx::u32>(for_good ? PathState::kClosed : PathState::kDisconnected));
  }
  // Initial set-up outcome in open (no concurrency yet).
  void set(PathState s) { v_.store(static_cast<kx::u32>(s)); }

 private:
  bool cas(PathState from, PathState to) {
    kx::u32 expected = static_cast<kx::u32>(from);
    return v_.compare_exchange(expected, static_cast<kx::u32>(to));
  }
  kx::Atomic<kx::u32> v_{static_cast<kx::u32>(PathState::kConnecting)};
};

}  // namespace ibtrs
