/* SPDX-License-Identifier: GPL-2.0 */
// Per-CPU storage: one T per possible CPU, allocated with the per-CPU
// allocator (counted by the runtime), constructed in place, destroyed on
// reset. Access the local copy only while preemption is off (CpuGuard) or
// when T's fields are themselves atomic.
#pragma once

#include <kx/new.h>
#include <kx/result.h>
#include <kx/runtime.h>
#include <kx/shim.h>
#include <kx/types.h>

namespace kx {

inline int nr_cpu_ids() { return kx_nr_cpu_ids(); }
inline int current_cpu() { return kx_cpu_current(); }

// Calls fn(cpu) for every possible CPU.
template <typename Fn>
void for_each_possible_cpu(Fn&& fn) {
  for (int cpu = kx_cpu_next_possible(-1); cpu < kx_nr_cpu_ids(); cpu = kx_cpu_next_possible(cpu))
    fn(cpu);
}

// Disables preemption for its lifetime (get_cpu/put_cpu) and names the CPU.
class [[nodiscard]] CpuGuard {
 public:
  CpuGuard() : cpu_(kx_cpu_get()) {}
  ~CpuGuard() { kx_cpu_put(); }
  KX_PINNED(CpuGuard);
  int cpu() const { return cpu_; }

 private:
  int cpu_;
};

template <typename T>
class PerCpu {
 public:
  PerCpu() = default;
  static Result<PerCpu> create(Gfp gfp) {
    void* area = alloc_percpu(sizeof(T), alignof(T), gfp);
    if (!area) return Error(-ENOMEM);
    for_each_possible_cpu([&](int cpu) { new (kx_percpu_ptr(area, cpu)) T(); });
    return PerCpu(area);
  }
  PerCpu(PerCpu&& o) : area_(exchange(o.area_, nullptr)) {}
  PerCpu& operator=(PerCpu&& o) {
    if (this != &o) {
      reset();
      area_ = exchange(o.area_, nullptr);
    }
    return *this;
  }
  KX_NONCOPYABLE(PerCpu);
  ~PerCpu() { reset(); }

  T& on(int cpu) { return *static_cast<T*>(kx_percpu_ptr(area_, cpu)); }
  // The copy of the CPU the guard pins.
  T& local(const CpuGuard& g) { return on(g.cpu()); }
  template <typename Fn>
  void for_each(Fn&& fn) {
    for_each_possible_cpu([&](int cpu) { fn(cpu, on(cpu)); });
  }
  explicit operator bool() const { return area_ != nullptr; }

  void reset() {
    if (!area_) return;
    for_each_possible_cpu([&](int cpu) { on(cpu).~T(); });
    free_percpu(exchange(area_, nullptr));
  }

 private:
  explicit PerCpu(void* area) : area_(area) {}
  void* area_ = nullptr;
};

}  // namespace kx
