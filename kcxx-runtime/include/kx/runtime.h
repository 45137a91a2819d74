/* SPDX-License-Identifier: GPL-2.0 */
// The per-module C++ runtime: counted allocation and the leak check.
//
// Every allocation made through the runtime (operator new(size, Gfp),
// alloc_raw, per-CPU and page allocations) increments this module's live
// count and every release decrements it. At module exit kx_runtime_exit()
// logs "<module>: kcxx-leak: N allocations still live at module exit" at WARN
// level when the count is not zero; the guest test runner fails on that line.
//
// One C++ translation unit per module, so these inline variables are
// per-module. The definitions live in kcxx-runtime/runtime/runtime.cpp.
#pragma once

#include <kx/atomic.h>
#include <kx/new.h>
#include <kx/types.h>

namespace kx {
namespace runtime {

// Live allocations of this module (see above).
inline constinit Atomic<i64> g_live_allocations{0};
// Fault injection for tests: while > 0, each allocation attempt decrements it
// and the one that brings it to 0 fails. 0 = no injection.
inline constinit Atomic<i32> g_fail_countdown{0};

inline i64 live_allocations() { return g_live_allocations.load(); }
// Makes the nth allocation from now fail (1 = the next one).
inline void fail_nth_allocation(i32 nth) { g_fail_countdown.store(nth); }

inline bool should_fail_allocation() {
  if (kx_likely(g_fail_countdown.load_relaxed() == 0)) return false;
  return g_fail_countdown.sub_fetch(1) == 0;
}

}  // namespace runtime

// Counted kmalloc / kfree. nullptr on failure.
void* alloc_raw(usize size, Gfp gfp) noexcept;
void free_raw(const void* p) noexcept;
// Counted physically contiguous pages.
void* alloc_pages(u32 order, Gfp gfp) noexcept;
void free_pages(void* addr, u32 order) noexcept;
// Counted per-CPU area (zeroed).
void* alloc_percpu(usize size, usize align, Gfp gfp) noexcept;
void free_percpu(void* pcpu) noexcept;

}  // namespace kx

// Called once by the module's exit path after everything is torn down.
// Returns the number of leaked allocations (0 when clean).
extern "C" long kx_runtime_exit(void) noexcept;
