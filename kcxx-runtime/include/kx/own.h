/* SPDX-License-Identifier: GPL-2.0 */
// OwnPtr<T>: the unique owner of an object allocated through the runtime.
// Null only when moved-from or default-constructed. Releasing runs ~T() and
// returns the memory to the runtime (counted, see kx/runtime.h).
//
//   static Result<OwnPtr<Session>> create(...) {
//     auto s = KX_TRY(make_own<Session>(Gfp::kernel, args...));  // -ENOMEM
//     KX_TRY(s->init(...));                                      // fallible part
//     return s;
//   }
#pragma once

#include <kx/new.h>
#include <kx/result.h>
#include <kx/runtime.h>
#include <kx/types.h>

namespace kx {

// Destroys an object made with new (gfp) T / make_own / make_ref.
template <typename T>
void destroy(T* p) {
  if (!p) return;
  p->~T();
  free_raw(p);
}

template <typename T>
class OwnPtr {
 public:
  constexpr OwnPtr() = default;
  constexpr OwnPtr(decltype(nullptr)) {}
  // Adopts p, which must come from new (Gfp) T.
  static OwnPtr adopt(T* p) { return OwnPtr(p); }
  OwnPtr(OwnPtr&& other) : ptr_(other.leak()) {}
  template <typename U>
  OwnPtr(OwnPtr<U>&& other) : ptr_(other.leak()) {}
  OwnPtr& operator=(OwnPtr&& other) {
    if (this != &other) reset(other.leak());
    return *this;
  }
  KX_NONCOPYABLE(OwnPtr);
  ~OwnPtr() { reset(); }

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

  // Gives up ownership without destroying (e.g. to hand it to C as void *).
  [[nodiscard]] T* leak() { return exchange(ptr_, nullptr); }
  void reset(T* p = nullptr) {
    T* old = exchange(ptr_, p);
    destroy(old);
  }

 private:
  explicit OwnPtr(T* p) : ptr_(p) {}
  T* ptr_ = nullptr;
};

template <typename T, typename... Args>
Result<OwnPtr<T>> make_own(Gfp gfp, Args&&... args) {
  T* p = new (gfp) T(forward<Args>(args)...);
  if (!p) return Error(-ENOMEM);
  return OwnPtr<T>::adopt(p);
}

// A runtime-counted array of trivially constructible T, zero-filled.
template <typename T>
class OwnArray {
  static_assert(__is_trivially_constructible(T) && kIsTriviallyDestructible<T>,
                "OwnArray holds plain data only");

 public:
  OwnArray() = default;
  static Result<OwnArray> create(usize count, Gfp gfp) {
    if (count && count > ~usize(0) / sizeof(T)) return Error(-EOVERFLOW);
    const usize bytes = count ? count * sizeof(T) : 1;
    T* p = static_cast<T*>(alloc_raw(bytes, gfp | kGfpZero));
    if (!p) return Error(-ENOMEM);
    return OwnArray(p, count);
  }
  OwnArray(OwnArray&& o) : data_(exchange(o.data_, nullptr)), size_(exchange(o.size_, 0)) {}
  OwnArray& operator=(OwnArray&& o) {
    if (this != &o) {
      free_raw(data_);
      data_ = exchange(o.data_, nullptr);
      size_ = exchange(o.size_, 0);
    }
    return *this;
  }
  KX_NONCOPYABLE(OwnArray);
  ~OwnArray() { free_raw(data_); }

  T& operator[](usize i) {
    KX_ASSERT(i < size_);
    return data_[i];
  }
  const T& operator[](usize i) const {
    KX_ASSERT(i < size_);
    return data_[i];
  }
  T* data() { return data_; }
  usize size() const { return size_; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }

 private:
  OwnArray(T* p, usize n) : data_(p), size_(n) {}
  T* data_ = nullptr;
  usize size_ = 0;
};

}  // namespace kx
