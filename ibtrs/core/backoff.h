/* SPDX-License-Identifier: GPL-2.0 */
// Reconnect backoff with jitter (portable core, host-tested in
// tests/unit/ibtrs_backoff_test.cpp).
//
// Attempt k (0-based: the first retry after a failure is attempt 0) waits
//   d = min(floor << min(k, 4), max(floor, kMaxBackoffMs)) + jitter,
// where floor = reconnect_delay (or kMinDelayMs if 0) and jitter is uniform
// in [0, d/4 + 8) ms. The doubling keeps a reconnect storm against a dead
// server cheap; the jitter keeps many clients (or the paths of one client)
// from reconnecting in lock-step after a server restart. Upstream RTRS waits
// reconnect_delay + 0..7 ms every time.
#pragma once

#include <kx/types.h>

namespace ibtrs {

inline constexpr kx::u32 kMinDelayMs = 1000;
inline constexpr kx::u32 kMaxBackoffMs = 120000;
inline constexpr kx::u32 kMaxDoublings = 4;

// rnd: any 32-bit random value (the caller's PRNG; tests pass fixed values).
constexpr kx::u32 backoff_delay_ms(kx::u32 reconnect_delay_ms, kx::u32 attempt, kx::u32 rnd) {
  const kx::u64 floor = reconnect_delay_ms ? reconnect_delay_ms : kMinDelayMs;
  const kx::u64 cap = kx::max<kx::u64>(floor, kMaxBackoffMs);
  const kx::u64 d = kx::min<kx::u64>(floor << kx::min(attempt, kMaxDoublings), cap);
  const kx::u64 span = d / 4 + 8;
  const kx::u64 total = d + rnd % span;
  return total > 0xffffffffull ? 0xffffffffu : static_cast<kx::u32>(total);
}

}  // namespace ibtrs
