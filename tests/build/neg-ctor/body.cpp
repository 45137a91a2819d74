// SPDX-License-Identifier: GPL-2.0
// Must be refused: a global with a non-trivial constructor lands in
// .init_array, which this kernel never runs (CONFIG_CONSTRUCTORS unset).
#include <kx/kx.h>
#include <runtime/runtime.cpp>

struct Clock {
  Clock() : started(kx_ktime_ns()) {}
  kx::u64 started;
};
Clock g_clock;

extern "C" int bt_body(void) { return g_clock.started ? 0 : -EINVAL; }
