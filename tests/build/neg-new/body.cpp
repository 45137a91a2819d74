// SPDX-License-Identifier: GPL-2.0
// Must be refused: a plain `new` needs operator new(size_t) (_Znwm), which the
// kernel does not have; allocation must name its GFP flags.
#include <kx/kx.h>
#include <runtime/runtime.cpp>

struct Thing {
  int v = 1;
};

extern "C" int bt_body(void) {
  Thing* t = new Thing;
  const int v = t->v;
  kx::destroy(t);
  return v - 1;
}
