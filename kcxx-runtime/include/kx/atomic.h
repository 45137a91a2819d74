/* SPDX-License-Identifier: GPL-2.0 */
// Atomics on the compiler's __atomic builtins, which compile inline on x86-64
// (lock-prefixed instructions, no library calls). Orders are explicit in the
// method names where they are weaker than the kernel's default for the same
// operation: value-returning RMW ops are fully ordered, as atomic_*_return.
#pragma once

#include <kx/types.h>

namespace kx {

template <typename T>
class Atomic {
  static_assert(sizeof(T) <= 8 && kIsTriviallyCopyable<T>, "Atomic<T> needs a word-sized T");

 public:
  constexpr Atomic() : value_() {}
  constexpr explicit Atomic(T v) : value_(v) {}
  KX_PINNED(Atomic);

  T load() const { return __atomic_load_n(&value_, __ATOMIC_SEQ_CST); }
  T load_relaxed() const { return __atomic_load_n(&value_, __ATOMIC_RELAXED); }
  T load_acquire() const { return __atomic_load_n(&value_, __ATOMIC_ACQUIRE); }
  void store(T v) { __atomic_store_n(&value_, v, __ATOMIC_SEQ_CST); }
  void store_relaxed(T v) { __atomic_store_n(&value_, v, __ATOMIC_RELAXED); }
  void store_release(T v) { __atomic_store_n(&value_, v, __ATOMIC_RELEASE); }

  T exchange(T v) { return __atomic_exchange_n(&value_, v, __ATOMIC_SEQ_CST); }
  // On failure, expected is updated with the current value.
  bool compare_exchange(T& expected, T desired) {
    return __atomic_compare_exchange_n(&value_, &expected, desired, false, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
  }
  T fetch_add(T v) { return __atomic_fetch_add(&value_, v, __ATOMIC_SEQ_CST); }
  T fetch_sub(T v) { return __atomic_fetch_sub(&value_, v, __ATOMIC_SEQ_CST); }
  T fetch_or(T v) { return __atomic_fetch_or(&value_, v, __ATOMIC_SEQ_CST); }
  T fetch_and(T v) { return __atomic_fetch_and(&value_, v, __ATOMIC_SEQ_CST); }
  T add_fetch(T v) { return __atomic_add_fetch(&value_, v, __ATOMIC_SEQ_CST); }
  T sub_fetch(T v) { return __atomic_sub_fetch(&value_, v, __ATOMIC_SEQ_CST); }
  // Statistics counters: no ordering needed.
  void add_relaxed(T v) { __atomic_fetch_add(&value_, v, __ATOMIC_RELAXED); }
  void sub_relaxed(T v) { __atomic_fetch_sub(&value_, v, __ATOMIC_RELAXED); }

 private:
  T value_;
};

inline void memory_barrier() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

}  // namespace kx
