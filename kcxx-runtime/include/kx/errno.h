/* SPDX-License-Identifier: GPL-2.0 */
// errno values. In the kernel, <linux/errno.h> is one of the few kernel headers
// that compile as C++ (kernel-cxx.md §A7); it includes the kernel-internal codes
// (ENOTSUPP, ERESTARTSYS). Userspace gets glibc's values, which are the same
// numbers on Linux, plus the kernel-internal ones defined here.
#pragma once
#ifdef KX_USERSPACE
#include <errno.h>
#ifndef ERESTARTSYS
#define ERESTARTSYS 512
#endif
#ifndef ENOTSUPP
#define ENOTSUPP 524
#endif
#else
#include <linux/errno.h>
#endif
