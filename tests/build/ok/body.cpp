// SPDX-License-Identifier: GPL-2.0
// Positive control: a well-formed C++ module builds, so the negative cases
// fail for their own reason and not because the set-up is broken.
#include <kx/kx.h>
#include <runtime/runtime.cpp>

struct Counter {
  int n = 0;
};
constinit Counter g_counter;  // constant-initialised: allowed

extern "C" int bt_body(void) {
  auto c = kx::make_own<Counter>(kx::Gfp::kernel);
  if (c.is_error()) return c.error().code();
  g_counter.n = c.value()->n + 1;
  return 0;
}
