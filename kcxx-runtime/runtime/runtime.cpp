// SPDX-License-Identifier: GPL-2.0
// Definitions of the per-module C++ runtime (kx/runtime.h). Each module's
// unity translation unit includes this file exactly once; the userspace unit
// tests compile it as its own translation unit against the fake shim.
#include <kx/log.h>
#include <kx/runtime.h>
#include <kx/shim.h>

namespace kx {

namespace {
inline void note_alloc(const void* p) {
  if (p) runtime::g_live_allocations.add_relaxed(1);
}
inline void note_free(const void* p) {
  if (p) runtime::g_live_allocations.sub_relaxed(1);
}
}  // namespace

void* alloc_raw(usize size, Gfp gfp) noexcept {
  if (runtime::should_fail_allocation()) return nullptr;
  void* p = kx_mem_alloc(size, static_cast<u32>(gfp));
  note_alloc(p);
  return p;
}

void free_raw(const void* p) noexcept {
  note_free(p);
  kx_mem_free(p);
}

void* alloc_pages(u32 order, Gfp gfp) noexcept {
  if (runtime::should_fail_allocation()) return nullptr;
  void* p = kx_pages_alloc(order, static_cast<u32>(gfp));
  note_alloc(p);
  return p;
}

void free_pages(void* addr, u32 order) noexcept {
  note_free(addr);
  kx_pages_free(addr, order);
}

void* alloc_percpu(usize size, usize align, Gfp gfp) noexcept {
  if (runtime::should_fail_allocation()) return nullptr;
  void* p = kx_percpu_alloc(size, align, static_cast<u32>(gfp));
  note_alloc(p);
  return p;
}

void free_percpu(void* pcpu) noexcept {
  note_free(pcpu);
  kx_percpu_free(pcpu);
}

}  // namespace kx

void* operator new(kx::usize size, kx::Gfp gfp) noexcept { return kx::alloc_raw(size, gfp); }
void* operator new[](kx::usize size, kx::Gfp gfp) noexcept { return kx::alloc_raw(size, gfp); }

#ifndef KX_USERSPACE
// Referenced by deleting destructors of polymorphic classes; the project's
// owners release memory with kx::destroy(), which ends here too.
void operator delete(void* p) noexcept { kx::free_raw(p); }
void operator delete(void* p, kx::usize) noexcept { kx::free_raw(p); }
void operator delete[](void* p) noexcept { kx::free_raw(p); }
void operator delete[](void* p, kx::usize) noexcept { kx::free_raw(p); }

extern "C" void __cxa_pure_virtual() { KX_BUG("pure virtual function called"); }
#endif

extern "C" long kx_runtime_exit(void) noexcept {
  const kx::i64 live = kx::runtime::live_allocations();
  if (live != 0)
    kx_log(KX_LOG_WARN, "kcxx-leak: %lld allocations still live at module exit",
           static_cast<long long>(live));
  return static_cast<long>(live);
}
