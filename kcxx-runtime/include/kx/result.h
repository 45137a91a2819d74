/* SPDX-License-Identifier: GPL-2.0 */
// Result<T>: a value or a negative errno, [[nodiscard]].
//
// Invariant (as Rust-for-Linux's kernel::Error): an Error always holds a code
// in [-MAX_ERRNO, -1]. Constructing one from anything else is a bug in the
// caller and is caught at the construction site.
//
//   static Result<Own<Session>> create(...);
//   auto session = KX_TRY(Session::create(...));   // propagates the errno
//   return Error(-EINVAL);                          // fails with EINVAL
//
// An extern "C" entry point turns a Result back into an int exactly once,
// with to_errno().
#pragma once

#include <kx/errno.h>
#include <kx/placement.h>
#include <kx/types.h>

namespace kx {

inline constexpr int kMaxErrno = 4095;

class Error {
 public:
  // code is a negative errno such as -ENOMEM.
  constexpr explicit Error(int code) : code_(code) {
    KX_BUG_ON(code >= 0 || code < -kMaxErrno);
  }
  constexpr int code() const { return code_; }
  constexpr bool operator==(const Error&) const = default;

 private:
  int code_;
};

// Turns a kernel-style int return (0 or -errno) into a Result<void>.
class [[nodiscard]] VoidResult;

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(const T& value) : has_value_(true) { new (&storage_.value) T(value); }
  Result(T&& value) : has_value_(true) { new (&storage_.value) T(move(value)); }
  Result(Error error) : has_value_(false) { storage_.error = error.code(); }
  template <typename U>
  Result(Result<U>&& other) : has_value_(other.is_ok()) {
    if (has_value_)
      new (&storage_.value) T(other.release_value());
    else
      storage_.error = other.error().code();
  }
  Result(Result&& other) : has_value_(other.has_value_) {
    if (has_value_)
      new (&storage_.value) T(move(other.storage_.value));
    else
      storage_.error = other.storage_.error;
  }
  Result& operator=(Result&& other) {
    if (this != &other) {
      this->~Result();
      new (this) Result(move(other));
    }
    return *this;
  }
  KX_NONCOPYABLE(Result);
  ~Result() {
    if (has_value_) storage_.value.~T();
  }

  bool is_ok() const { return has_value_; }
  bool is_error() const { return !has_value_; }
  Error error() const {
    KX_BUG_ON(has_value_);
    return Error(storage_.error);
  }
  T& value() {
    KX_BUG_ON(!has_value_);
    return storage_.value;
  }
  const T& value() const {
    KX_BUG_ON(!has_value_);
    return storage_.value;
  }
  T release_value() {
    KX_BUG_ON(!has_value_);
    return move(storage_.value);
  }

 private:
  union Storage {
    Storage() {}
    ~Storage() {}
    T value;
    int error;
  } storage_;
  bool has_value_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() : error_(0) {}
  Result(Error error) : error_(error.code()) {}
  bool is_ok() const { return error_ == 0; }
  bool is_error() const { return error_ != 0; }
  Error error() const {
    KX_BUG_ON(error_ == 0);
    return Error(error_);
  }
  void release_value() const {}

 private:
  int error_;
};

inline Result<void> ok() { return Result<void>(); }

// 0 or -errno (the kernel convention) -> Result<void>.
inline Result<void> to_result(int ret) {
  if (ret < 0) return Error(ret);
  return ok();
}

// Result -> 0 or -errno, for extern "C" entry points.
template <typename T> inline int to_errno(const Result<T>& r) {
  return r.is_ok() ? 0 : r.error().code();
}

}  // namespace kx

// Evaluates expr (a Result); on error returns the error from the enclosing
// function, otherwise yields the value (moved out). A GNU statement
// expression, as in SerenityOS's TRY().
#define KX_TRY(expr)                                                           \
  ({                                                                           \
    auto kx_try_result_ = (expr);                                              \
    if (kx_unlikely(kx_try_result_.is_error())) return kx_try_result_.error(); \
    kx_try_result_.release_value();                                            \
  })
