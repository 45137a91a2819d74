/* SPDX-License-Identifier: GPL-2.0 */
// Test hooks of the userspace fake kernel (user_shim.cpp): things a test can
// observe or steer that a real kernel decides by itself.
#pragma once

#include <string>

namespace kx_user {

inline constexpr int kFakeCpus = 4;

// The CPU that kx_cpu_get()/kx_cpu_current() report for the calling thread.
void set_current_cpu(int cpu);
// Number of kx_warn() calls so far (WARN() in the kernel).
int warn_count();
// Everything logged through kx_log since the last clear, one line each.
std::string log_text();
void clear_log();
// Blocks until every fake workqueue and the timer thread are idle.
void quiesce();

}  // namespace kx_user
