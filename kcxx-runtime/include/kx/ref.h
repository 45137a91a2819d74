/* SPDX-License-Identifier: GPL-2.0 */
// Intrusive reference counting (kref semantics).
//
// A class that is shared derives from RefCounted<T>; it is born with one
// reference, which make_ref() adopts into a RefPtr. The count saturates with a
// warning instead of wrapping (as refcount_t does): an underflow or an
// increment from zero means a use-after-free, so it WARNs and leaks rather
// than freeing twice. When the last reference goes, T::ref_released() runs if
// T declares it (to unlink from lists under the owner's lock), else the
// object is destroyed.
#pragma once

#include <kx/atomic.h>
#include <kx/new.h>
#include <kx/own.h>
#include <kx/result.h>
#include <kx/types.h>

namespace kx {

template <typename T>
class RefCounted {
 public:
  void ref_get() {
    const u32 old = refs_.fetch_add(1);
    if (kx_unlikely(old == 0 || old >= kSaturated)) {
      refs_.store(kSaturated);
      kx_warn(__FILE__, __LINE__, "kcxx refcount: increment on 0 or saturated; leaking");
    }
  }
  // Increments only if the object is still alive (kref_get_unless_zero), for
  // lookups under a lock that does not keep the object alive by itself.
  bool ref_get_unless_zero() {
    u32 cur = refs_.load();
    while (cur != 0) {
      if (cur >= kSaturated) return true;
      if (refs_.compare_exchange(cur, cur + 1)) return true;
    }
    return false;
  }
  // Returns true if this was the last reference and the object was released.
  bool ref_put() {
    const u32 old = refs_.fetch_sub(1);
    if (kx_likely(old > 1 && old < kSaturated)) return false;
    if (old >= kSaturated) {
      refs_.store(kSaturated);
      return false;
    }
    if (old == 0) {
      refs_.store(kSaturated);
      kx_warn(__FILE__, __LINE__, "kcxx refcount: underflow; leaking");
      return false;
    }
    T* self = static_cast<T*>(this);
    if constexpr (requires(T* t) { t->ref_released(); })
      self->ref_released();
    else
      destroy(self);
    return true;
  }
  u32 ref_count() const { return refs_.load(); }

 protected:
  RefCounted() : refs_(1) {}
  ~RefCounted() = default;

 private:
  static constexpr u32 kSaturated = 0xc0000000u;
  Atomic<u32> refs_;
};

// A counted reference; may be null (default-constructed, moved-from).
template <typename T>
class RefPtr {
 public:
  constexpr RefPtr() = default;
  constexpr RefPtr(decltype(nullptr)) {}
  // Takes over the reference the caller owns (AdoptRef).
  static RefPtr adopt(T* p) { return RefPtr(p); }
  // Takes a new reference on p.
  static RefPtr share(T* p) {
    if (p) p->ref_get();
    return RefPtr(p);
  }
  RefPtr(const RefPtr& o) : ptr_(o.ptr_) {
    if (ptr_) ptr_->ref_get();
  }
  RefPtr(RefPtr&& o) : ptr_(exchange(o.ptr_, nullptr)) {}
  RefPtr& operator=(const RefPtr& o) {
    RefPtr tmp(o);
    swap(ptr_, tmp.ptr_);
    return *this;
  }
  RefPtr& operator=(RefPtr&& o) {
    RefPtr tmp(move(o));
    swap(ptr_, tmp.ptr_);
    return *this;
  }
  ~RefPtr() { reset(); }

  void reset() {
    if (T* p = exchange(ptr_, nullptr)) p->ref_put();
  }
  // Hands the reference to the caller (e.g. into a C void * slot).
  [[nodiscard]] T* leak_ref() { return exchange(ptr_, nullptr); }
  T* get() const { return ptr_; }
  T* operator->() const {
    KX_ASSERT(ptr_);
    return ptr_;
  }
  T& operator*() const {
    KX_ASSERT(ptr_);
    return *ptr_;
  }
  explicit operator bool() const { return ptr_ != nullptr; }

 private:
  explicit RefPtr(T* p) : ptr_(p) {}
  T* ptr_ = nullptr;
};

template <typename T, typename... Args>
Result<RefPtr<T>> make_ref(Gfp gfp, Args&&... args) {
  T* p = new (gfp) T(forward<Args>(args)...);
  if (!p) return Error(-ENOMEM);
  return RefPtr<T>::adopt(p);
}

}  // namespace kx
