/* SPDX-License-Identifier: GPL-2.0 */
// Placement new. The kernel build has no <new>, so it is declared here; the
// userspace build takes libstdc++'s to avoid a redefinition.
#pragma once

#include <kx/types.h>

#ifdef KX_USERSPACE
#include <new>
#else
inline void* operator new(kx::usize, void* where) noexcept { return where; }
inline void* operator new[](kx::usize, void* where) noexcept { return where; }
inline void operator delete(void*, void*) noexcept {}
inline void operator delete[](void*, void*) noexcept {}
#endif
