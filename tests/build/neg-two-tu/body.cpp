// SPDX-License-Identifier: GPL-2.0
// Must be refused: this module has two C++ translation units (body.cpp and
// other.cpp). Inline functions and templates instantiated in both would leave
// __mcount_loc / .return_sites entries pointing at a discarded COMDAT copy.
#include <kx/kx.h>
#include <runtime/runtime.cpp>

int other_value();
extern "C" int bt_body(void) { return other_value(); }
