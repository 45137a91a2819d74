/* SPDX-License-Identifier: GPL-2.0 */
// A lock-free bitmap tag allocator: hands out distinct integers in
// [0, depth). Used for transport permits (one tag = one remote chunk = one IO
// in flight). try_get/put are safe from any context, concurrently.
//
// Fairness is approximate: the search starts at a rotating hint so that tags
// are spread and a just-freed tag is not immediately re-used by the next
// caller (which helps catch use-after-put in tests). Waiting for a tag is the
// caller's business (a WaitQueue woken after put()).
#pragma once

#include <kx/atomic.h>
#include <kx/own.h>
#include <kx/result.h>
#include <kx/types.h>

namespace kx {

class TagAllocator {
 public:
  static constexpr u32 kMaxDepth = 1u << 20;

  TagAllocator() = default;
  static Result<TagAllocator> create(u32 depth, Gfp gfp) {
    if (depth == 0 || depth > kMaxDepth) return Error(-EINVAL);
    auto words = KX_TRY(OwnArray<u64>::create(div_round_up(depth, 64), gfp));
    // Bits past depth in the last word are permanently "taken".
    const u32 tail = depth % 64;
    if (tail) words[words.size() - 1] = ~0ull << tail;
    return TagAllocator(move(words), depth);
  }
  TagAllocator(TagAllocator&& o)
      : words_(move(o.words_)), depth_(exchange(o.depth_, 0)), in_use_(o.in_use_.load()),
        hint_(o.hint_.load()) {}
  TagAllocator& operator=(TagAllocator&& o) {
    words_ = move(o.words_);
    depth_ = exchange(o.depth_, 0);
    in_use_.store(o.in_use_.load());
    hint_.store(o.hint_.load());
    return *this;
  }

  u32 depth() const { return depth_; }
  u32 in_use() const { return in_use_.load(); }

  // A free tag, or -1 if all are taken. Any context.
  i32 try_get() {
    const usize nwords = words_.size();
    if (nwords == 0) return -1;
    const usize start = hint_.load_relaxed() % nwords;
    for (usize i = 0; i < nwords; i++) {
      const usize w = (start + i) % nwords;
      u64* word = &words_[w];
      u64 cur = __atomic_load_n(word, __ATOMIC_RELAXED);
      while (cur != ~0ull) {
        const u32 bit = static_cast<u32>(__builtin_ctzll(~cur));
        if (__atomic_compare_exchange_n(word, &cur, cur | (1ull << bit), false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
          in_use_.add_fetch(1);
          hint_.store_relaxed(static_cast<u32>(w + 1));
          return static_cast<i32>(w * 64 + bit);
        }
      }
    }
    return -1;
  }

  // Returns tag; it must be held. Any context.
  void put(u32 tag) {
    KX_BUG_ON(tag >= depth_);
    const u64 mask = 1ull << (tag % 64);
    const u64 old = __atomic_fetch_and(&words_[tag / 64], ~mask, __ATOMIC_RELEASE);
    KX_BUG_ON(!(old & mask));  // double put: another IO may own this chunk now
    in_use_.sub_fetch(1);
  }

  bool held(u32 tag) {
    KX_BUG_ON(tag >= depth_);
    return (__atomic_load_n(&words_[tag / 64], __ATOMIC_ACQUIRE) >> (tag % 64)) & 1;
  }

 private:
  TagAllocator(OwnArray<u64>&& words, u32 depth) : words_(move(words)), depth_(depth) {}
  OwnArray<u64> words_;
  u32 depth_ = 0;
  Atomic<u32> in_use_{0};
  Atomic<u32> hint_{0};
};

}  // namespace kx
