// SPDX-License-Identifier: GPL-2.0
// Leaks `count` allocations on purpose (see leak_main.c).
#include <kx/kx.h>
#include <runtime/runtime.cpp>

extern "C" int kx_leak_allocate(int count) {
  for (int i = 0; i < count; i++) {
    // Deliberately dropped: the runtime still counts it as live.
    if (!kx::alloc_raw(64, kx::Gfp::kernel)) return -ENOMEM;
  }
  return 0;
}
