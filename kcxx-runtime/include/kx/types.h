/* SPDX-License-Identifier: GPL-2.0 */
// Basic vocabulary of the freestanding C++ subset: fixed-width integers,
// move/forward, a few traits built on compiler intrinsics, and assertions.
//
// No standard-library header may be used here: in the kernel build g++'s
// libstdc++ is hosted-only (it pulls glibc's <features.h>). The same header
// builds in userspace for the unit tests, where KX_USERSPACE is defined.
#pragma once

namespace kx {

using u8 = __UINT8_TYPE__;
using u16 = __UINT16_TYPE__;
using u32 = __UINT32_TYPE__;
using u64 = __UINT64_TYPE__;
using i8 = __INT8_TYPE__;
using i16 = __INT16_TYPE__;
using i32 = __INT32_TYPE__;
using i64 = __INT64_TYPE__;
using usize = __SIZE_TYPE__;
using isize = __PTRDIFF_TYPE__;
using uptr = __UINTPTR_TYPE__;

template <typename T> struct RemoveReference { using Type = T; };
template <typename T> struct RemoveReference<T&> { using Type = T; };
template <typename T> struct RemoveReference<T&&> { using Type = T; };
template <typename T> using RemoveReferenceT = typename RemoveReference<T>::Type;

template <typename T> constexpr RemoveReferenceT<T>&& move(T&& v) noexcept {
  return static_cast<RemoveReferenceT<T>&&>(v);
}
template <typename T> constexpr T&& forward(RemoveReferenceT<T>& v) noexcept {
  return static_cast<T&&>(v);
}
template <typename T> constexpr T&& forward(RemoveReferenceT<T>&& v) noexcept {
  return static_cast<T&&>(v);
}

template <typename T> constexpr void swap(T& a, T& b) noexcept {
  T tmp = move(a);
  a = move(b);
  b = move(tmp);
}

template <typename T, typename U = T> constexpr T exchange(T& obj, U&& new_value) noexcept {
  T old = move(obj);
  obj = forward<U>(new_value);
  return old;
}

template <typename T> constexpr const T& min(const T& a, const T& b) { return b < a ? b : a; }
template <typename T> constexpr const T& max(const T& a, const T& b) { return a < b ? b : a; }

template <typename T> inline constexpr bool kIsTriviallyDestructible = __has_trivial_destructor(T);
template <typename T> inline constexpr bool kIsTriviallyCopyable = __is_trivially_copyable(T);
template <typename T> inline constexpr bool kIsStandardLayout = __is_standard_layout(T);
template <typename A, typename B> inline constexpr bool kIsSame = __is_same(A, B);

// Number of bits needed to index n distinct values (ilog2(n - 1) + 1), the
// quantity RTRS calls chunk_bits. bits_for(1) == 0... but callers use n >= 2.
constexpr u32 ilog2(u64 v) { return v ? 63u - static_cast<u32>(__builtin_clzll(v)) : 0u; }
constexpr bool is_power_of_2(u64 v) { return v && !(v & (v - 1)); }
constexpr u64 round_up(u64 v, u64 align) { return (v + align - 1) / align * align; }
constexpr u64 div_round_up(u64 v, u64 d) { return (v + d - 1) / d; }

// Non-copyable, non-movable marker for objects whose address is their
// identity (anything that embeds a kernel object or sits on a list).
#define KX_PINNED(Type)                                                        \
  Type(const Type&) = delete;                                                  \
  Type& operator=(const Type&) = delete;                                       \
  Type(Type&&) = delete;                                                       \
  Type& operator=(Type&&) = delete

#define KX_NONCOPYABLE(Type)                                                   \
  Type(const Type&) = delete;                                                  \
  Type& operator=(const Type&) = delete

#define kx_likely(x) __builtin_expect(!!(x), 1)
#define kx_unlikely(x) __builtin_expect(!!(x), 0)

// Pointer to the object of type Outer that embeds *member at Member.
// Only for standard-layout outers; the offset is computed by the compiler.
template <typename Outer, typename Member>
inline Outer* container_of(Member* member, Member Outer::*field) {
  // The cast through a null-based pointer is the classic offsetof trick; g++
  // folds it to a constant.
  const uptr offset = reinterpret_cast<uptr>(&(static_cast<Outer*>(nullptr)->*field));
  return reinterpret_cast<Outer*>(reinterpret_cast<uptr>(member) - offset);
}

}  // namespace kx

// ---------------------------------------------------------------------------
// Assertions. kx::bug() stops the machine on an impossible state; the C shim
// provides kx_bug() (BUG() in the kernel, abort() in userspace). It is NOT
// declared noreturn on the C side because objtool cannot see through a
// cross-object noreturn (kernel-cxx.md §A5); __builtin_trap() ends the path.
extern "C" void kx_bug(const char* file, int line, const char* what) noexcept;
extern "C" void kx_warn(const char* file, int line, const char* what) noexcept;

namespace kx {
// always_inline: an out-of-line copy would be a weak (COMDAT) symbol, and
// objtool does not follow weak functions to see that they never return.
[[noreturn]] __attribute__((always_inline)) inline void bug(const char* file, int line,
                                                           const char* what) {
  kx_bug(file, line, what);
  __builtin_trap();
}
}  // namespace kx

#define KX_BUG(what) ::kx::bug(__FILE__, __LINE__, what)
// Checked in every build: for invariants whose violation would corrupt memory.
#define KX_BUG_ON(cond)                                                        \
  do {                                                                         \
    if (kx_unlikely(cond)) ::kx::bug(__FILE__, __LINE__, #cond);               \
  } while (0)
// Recoverable surprise: logs a WARN once per call site, evaluates to cond.
#define KX_WARN_ON_ONCE(cond)                                                  \
  ({                                                                           \
    static bool kx_warned_;                                                    \
    const bool kx_c_ = !!(cond);                                               \
    if (kx_unlikely(kx_c_) && !kx_warned_) {                                   \
      kx_warned_ = true;                                                       \
      kx_warn(__FILE__, __LINE__, #cond);                                      \
    }                                                                          \
    kx_c_;                                                                     \
  })
#if defined(KX_DEBUG) || defined(KX_USERSPACE)
#define KX_ASSERT(cond) KX_BUG_ON(!(cond))
#else
#define KX_ASSERT(cond) do { (void)sizeof(!(cond)); } while (0)
#endif
