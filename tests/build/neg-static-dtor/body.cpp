// SPDX-License-Identifier: GPL-2.0
// Must be refused: a function-local static with a destructor registers it
// with atexit/__cxa_atexit, which a module cannot have.
#include <kx/kx.h>
#include <runtime/runtime.cpp>

struct Noisy {
  Noisy() {}
  ~Noisy() { kx_log(KX_LOG_INFO, "bye"); }
  int v = 0;
};

extern "C" int bt_body(void) {
  static Noisy n;
  return n.v;
}
