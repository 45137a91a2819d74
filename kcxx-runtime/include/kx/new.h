/* SPDX-License-Identifier: GPL-2.0 */
// Allocation vocabulary: GFP flags, the GFP-taking operator new, placement new.
//
// There is deliberately no operator new(size_t): a plain `new T` leaves _Znwm
// undefined and modpost rejects the module (tests/build/neg-new proves it).
// The noexcept operator below makes g++ null-check the result and skip the
// constructor on failure, so `new (Gfp::kernel) T(...)` may return nullptr.
//
// Every allocation through this operator is counted per module (see
// kx/runtime.h, live_allocations()); the module's exit path reports a leak.
#pragma once

#include <kx/layout.h>
#include <kx/placement.h>
#include <kx/shim.h>
#include <kx/types.h>

namespace kx {

// GFP values come from the kernel build (kx_layout.h, generated with the
// asm-offsets technique) because they change between kernel versions.
enum class Gfp : u32 {
  kernel = KX_GFP_KERNEL,   // may sleep, may do IO: process context set-up paths
  noio = KX_GFP_NOIO,       // may sleep, no IO recursion: reconnect, block layer
  atomic = KX_GFP_ATOMIC,   // never sleeps: softirq/irq context, under spinlocks
  nowait = KX_GFP_NOWAIT,   // never sleeps, no reserves: opportunistic
};

constexpr Gfp operator|(Gfp g, u32 extra) { return static_cast<Gfp>(static_cast<u32>(g) | extra); }
inline constexpr u32 kGfpZero = KX_GFP_ZERO;

}  // namespace kx

// Allocates through the runtime (kx_mem_alloc); nullptr on failure.
void* operator new(kx::usize size, kx::Gfp gfp) noexcept;
void* operator new[](kx::usize size, kx::Gfp gfp) noexcept;
