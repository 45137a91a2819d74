// SPDX-License-Identifier: GPL-2.0
// Shared helpers of the libFuzzer targets in tests/fuzz (host only).
//
//  * FUZZ_CHECK(cond): a property of the code under test. A violation prints
//    the property and aborts, which libFuzzer reports as a crash and saves
//    the input as an artifact, exactly as for an ASan/UBSan finding.
//  * Exact: an exact-size heap copy of some bytes. Decoders are always handed
//    such a copy, so reading even one byte past `len` is an ASan
//    heap-buffer-overflow (libFuzzer's own buffer is exact-size too, but the
//    targets also decode sub-slices of it).
//  * Reader: consumes the fixed-size "parameter" prefix of an input
//    (geometry, carrier, ...) as little-endian integers; reads past the end
//    yield zeros, so every input is usable.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include <kx/result.h>
#include <kx/types.h>

namespace fuzz {

using kx::u16;
using kx::u32;
using kx::u64;
using kx::u8;
using kx::usize;

[[noreturn]] inline void fail(const char* file, int line, const char* what) {
  fprintf(stderr, "\nfuzz: PROPERTY VIOLATED at %s:%d: %s\n", file, line, what);
  fflush(stderr);
  abort();
}

#define FUZZ_CHECK(cond)                                        \
  do {                                                          \
    if (!(cond)) ::fuzz::fail(__FILE__, __LINE__, #cond);       \
  } while (0)

// The negative errno of a Result, 0 if it holds a value.
template <typename T> int err(const kx::Result<T>& r) { return kx::to_errno(r); }

// True if r is ok or its errno is one of the listed (positive) codes.
template <typename T> bool errno_in(const kx::Result<T>& r, std::initializer_list<int> allowed) {
  if (r.is_ok()) return true;
  for (int a : allowed)
    if (r.error().code() == -a) return true;
  return false;
}

// An exact-size heap copy (nothing before or after it is addressable).
class Exact {
 public:
  Exact(const u8* src, usize n) : n_(n), p_(static_cast<u8*>(malloc(n))) {
    if (n) memcpy(p_, src, n);
  }
  // n zero bytes, e.g. an encoder's output buffer of exactly its capacity.
  explicit Exact(usize n) : n_(n), p_(static_cast<u8*>(calloc(n, 1))) {}
  // A zero-length copy is still a distinct (0-byte) ASan allocation: any access
  // to it is reported.
  ~Exact() { free(p_); }
  Exact(const Exact&) = delete;
  Exact& operator=(const Exact&) = delete;

  u8* data() { return p_; }
  const u8* data() const { return p_; }
  usize size() const { return n_; }

 private:
  usize n_;
  u8* p_;
};

class Reader {
 public:
  Reader(const u8* data, usize size) : p_(data), n_(size) {}

  u8 u8v() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  u16 le16() { return static_cast<u16>(u8v() | (u16{u8v()} << 8)); }
  u32 le32() { return u32{le16()} | (u32{le16()} << 16); }
  u64 le64() { return u64{le32()} | (u64{le32()} << 32); }

  // What is left after the parameters.
  const u8* rest() const { return p_; }
  usize rest_size() const { return n_; }

 private:
  const u8* p_;
  usize n_;
};

// Little-endian stores for seed writers and property checks.
inline void put_le16(u8* p, u16 v) {
  p[0] = static_cast<u8>(v);
  p[1] = static_cast<u8>(v >> 8);
}
inline void put_le32(u8* p, u32 v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<u8>(v >> (8 * i));
}

// [p, p + n) lies inside [base, base + len).
inline bool inside(const void* p, usize n, const void* base, usize len) {
  const auto a = reinterpret_cast<kx::uptr>(p), b = reinterpret_cast<kx::uptr>(base);
  return a >= b && n <= len && a - b <= len - n;
}

}  // namespace fuzz
