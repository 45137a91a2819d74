// SPDX-License-Identifier: GPL-2.0
// The second translation unit of neg-two-tu.
#include <kx/types.h>

int other_value() { return kx::max(0, -1); }
