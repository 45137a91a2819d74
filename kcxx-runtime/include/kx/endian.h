/* SPDX-License-Identifier: GPL-2.0 */
// Byte-order vocabulary for wire formats.
//
// Le16/Le32/Le64 hold an integer exactly as it travels on the wire
// (little-endian) and convert on access, like the kernel's __le16 with
// le16_to_cpu(). They have the size and natural alignment of the plain
// integer, so a struct of them has the same C layout as the kernel's wire
// structs; wire headers pin that layout with static_asserts.
//
// They are trivially copyable and value-initialise to zero (`Le32 x{}`), so a
// wire struct can be zero-filled with `T t{}` and moved in and out of byte
// buffers with __builtin_memcpy. Conversions are explicit (from_cpu/get):
// mixing a wire value with a host value must be visible in the source.
#pragma once

#include <kx/types.h>

namespace kx {

inline constexpr bool kHostIsBigEndian = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;
static_assert(kHostIsBigEndian || __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "mixed-endian hosts are not supported");

constexpr u8 byteswap(u8 v) { return v; }
constexpr u16 byteswap(u16 v) { return __builtin_bswap16(v); }
constexpr u32 byteswap(u32 v) { return __builtin_bswap32(v); }
constexpr u64 byteswap(u64 v) { return __builtin_bswap64(v); }

// Host <-> little-endian; the same operation in both directions.
template <typename T> constexpr T host_to_le(T v) { return kHostIsBigEndian ? byteswap(v) : v; }
template <typename T> constexpr T le_to_host(T v) { return host_to_le(v); }
// Host <-> big-endian (network order), e.g. the RDMA immediate data word.
template <typename T> constexpr T host_to_be(T v) { return kHostIsBigEndian ? v : byteswap(v); }
template <typename T> constexpr T be_to_host(T v) { return host_to_be(v); }

// An unsigned integer stored in little-endian byte order.
template <typename T>
class LeInt {
  static_assert(kIsSame<T, u16> || kIsSame<T, u32> || kIsSame<T, u64>,
                "LeInt is defined for u16, u32 and u64");

 public:
  LeInt() = default;

  static constexpr LeInt from_cpu(T host_value) {
    LeInt v;
    v.raw_ = host_to_le(host_value);
    return v;
  }
  constexpr T get() const { return le_to_host(raw_); }
  constexpr void set(T host_value) { raw_ = host_to_le(host_value); }
  // The stored representation, for byte-exact comparisons.
  constexpr T raw() const { return raw_; }

 private:
  alignas(sizeof(T)) T raw_;
};

using Le16 = LeInt<u16>;
using Le32 = LeInt<u32>;
using Le64 = LeInt<u64>;

static_assert(sizeof(Le16) == 2 && alignof(Le16) == 2);
static_assert(sizeof(Le32) == 4 && alignof(Le32) == 4);
static_assert(sizeof(Le64) == 8 && alignof(Le64) == 8);
static_assert(kIsTriviallyCopyable<Le16> && kIsTriviallyCopyable<Le32> &&
              kIsTriviallyCopyable<Le64>);
static_assert(kIsStandardLayout<Le16> && kIsStandardLayout<Le32> && kIsStandardLayout<Le64>);

// Copies a wire struct out of / into a byte buffer that may be unaligned
// (message buffers, RDMA chunks at arbitrary offsets). The caller has checked
// that the buffer holds sizeof(Wire) bytes.
template <typename Wire>
inline Wire load_wire(const u8* buf) {
  static_assert(kIsTriviallyCopyable<Wire>);
  Wire w;
  __builtin_memcpy(&w, buf, sizeof(Wire));
  return w;
}

template <typename Wire>
inline void store_wire(u8* out, const Wire& w) {
  static_assert(kIsTriviallyCopyable<Wire>);
  __builtin_memcpy(out, &w, sizeof(Wire));
}

}  // namespace kx
