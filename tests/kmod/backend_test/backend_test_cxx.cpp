// SPDX-License-Identifier: GPL-2.0
// The C++ half of kcxx_backend_test (see backend_test_main.c). One
// translation unit: the runtime definitions are included here, once.
//
// For each backing store (a memory-backed null_blk node and a regular file,
// both under root) in process context at module load:
//   (1) open        rw open, properties sane (size, block sizes)
//   (2) rw          patterns written and read back, 512 B .. 128 KiB, at
//                   sector 0, odd sectors, the last sectors, from buffers at
//                   page and sub-page offsets inside multi-page chunks; a
//                   128 KiB write read back as four 32 KiB reads
//   (3) flush_fua   FUA write, PREFLUSH|FUA write, empty flush; data intact
//   (4) discard     discard of written data reads back as zeroes (null_blk
//                   memory_backed frees the sectors; files punch a hole)
//   (5) write_zeroes  zeroes read back, or -EOPNOTSUPP refused up front when
//                   the device has no write-zeroes (null_blk on 6.1)
//   (6) secure_erase  executed if supported, else refused with -EOPNOTSUPP
//   (7) refusals    past the end, straddling the end, sector overflow,
//                   unaligned or zero length, bad flags, unknown op: refused
//                   before the device (-ERANGE / -EINVAL)
//   (8) readonly    a second, read-only open sees the data; writes, discard
//                   and write-zeroes are refused (-EROFS), flush is allowed
//   (9) two_writers a second rw open (RNBD migration) works concurrently
//   (10) async_batch 32 IOs in flight at once, then read back
//   (11) queued_from_softirq  the same, queued from a timer (softirq), as
//                   the server does from the IBTRS rdma_ev
// The same for a file on a file system with O_DIRECT (ext4 on loop, mounted
// beneath root): "dfile_*" plus dfile_o_direct. Then the path rules: a
// symlink under root pointing outside (-EXDEV), an absolute path outside root
// (-EXDEV), a device node on a nodev mount beneath root (-EACCES, as
// lookup_bdev refuses it), a directory (-EISDIR), a missing name (-ENOENT),
// ".." (refused lexically by ibnbd::resolve_device_path), and a symlink
// staying inside root (allowed); finally no_leak.
#include <kx/kx.h>
#include <kx/bdev.h>
#include <ibnbd/core/dev_path.h>
#include <runtime/runtime.cpp>

namespace {

using namespace kx;
using namespace kx::bdev;

constexpr u32 kChunkOrder = 5;  // 128 KiB, the RNBD default chunk
constexpr u32 kChunk = u32(kPageSize) << kChunkOrder;
constexpr u32 kBatch = 32;

struct Report {
  int passed = 0;
  int failed = 0;
  bool item(const char* name, const char* why) {
    if (why) {
      failed++;
      kx_err("FAIL %s: %s", name, why);
      return false;
    }
    passed++;
    kx_info("PASS %s", name);
    return true;
  }
};

#define EXPECT(cond)                                                           \
  do {                                                                         \
    if (!(cond)) return #cond;                                                 \
  } while (0)

// An IO waited for synchronously.
struct Waiter {
  Completion done{KX_LOCK_CLASS("backend_test.waiter")};
  int err = 1;
  static void cb(void* ctx, int err) {
    auto* w = static_cast<Waiter*>(ctx);
    w->err = err;
    w->done.complete();
  }
};

// 0 or -errno: the refusal of submit, or the IO's completion status.
int io_sync(Backend& be, Op op, u32 flags, u64 sector, void* buf, u32 len) {
  Io io;
  Waiter w;
  auto r = be.submit(io, op, flags, sector, buf, len, &Waiter::cb, &w);
  if (r.is_error()) return r.error().code();
  w.done.wait();  // a hang is the case's timeout
  return w.err;
}

void fill(void* p, u32 len, u32 seed) {
  u32* w = static_cast<u32*>(p);
  for (u32 i = 0; i < len / 4; i++) w[i] = (seed * 0x9e3779b9u) ^ (i * 2654435761u) ^ 0x5a5a0000u;
}

bool equal(const void* a, const void* b, u32 len) { return __builtin_memcmp(a, b, len) == 0; }

bool all_zero(const void* p, u32 len) {
  const unsigned char* c = static_cast<const unsigned char*>(p);
  for (u32 i = 0; i < len; i++)
    if (c[i]) return false;
  return true;
}

usize cstr_len(const char* s) {
  usize n = 0;
  while (s[n]) n++;
  return n;
}

// Two 128 KiB chunks (physically contiguous, from the runtime's alloc_pages),
// like the RDMA chunks the server receives into.
class Chunks {
 public:
  Chunks() = default;
  KX_PINNED(Chunks);
  ~Chunks() {
    free_pages(w, kChunkOrder);
    free_pages(r, kChunkOrder);
  }
  bool alloc() {
    w = static_cast<unsigned char*>(alloc_pages(kChunkOrder, Gfp::kernel));
    r = static_cast<unsigned char*>(alloc_pages(kChunkOrder, Gfp::kernel));
    return w && r;
  }
  unsigned char* w = nullptr;
  unsigned char* r = nullptr;
};

// Writes seed's pattern at sector from w+off and reads it back into r+off.
const char* write_read(Backend& be, Chunks& c, u64 sector, u32 len, u32 off, u32 seed, u32 wflags = 0) {
  fill(c.w + off, len, seed);
  __builtin_memset(c.r, 0xee, kChunk);
  EXPECT(io_sync(be, Op::write, wflags, sector, c.w + off, len) == 0);
  EXPECT(io_sync(be, Op::read, 0, sector, c.r + off, len) == 0);
  EXPECT(equal(c.w + off, c.r + off, len));
  return nullptr;
}

class Tester {
 public:
  Tester(const char* root, Report& rep) : root_(root), rep_(rep) {}
  KX_PINNED(Tester);

  // root + "/" + name through the server's lexical resolution.
  Result<OwnArray<char>> path(const char* name) {
    auto out = KX_TRY(OwnArray<char>::create(ibnbd::kPathMax, Gfp::kernel));
    KX_TRY(ibnbd::resolve_device_path(root_, "", 0, name, cstr_len(name), out.data(), out.size()));
    return out;
  }

  Result<OwnPtr<Backend>> open(const char* name, bool writable) {
    auto p = KX_TRY(path(name));
    return Backend::open(root_, p.data(), writable);
  }

  // Returns whether the store was opened O_DIRECT.
  bool run_store(const char* pfx, const char* name) {
    auto be_r = open(name, true);
    if (be_r.is_error()) {
      kx_err("open %s: %d", name, be_r.error().code());
      item(pfx, "open", "cannot open rw");
      return false;
    }
    OwnPtr<Backend> be = be_r.release_value();
    const Properties& p = be->properties();
    kx_info("%s: %s size=%llu lbs=%u pbs=%u max_hw=%u segs=%u discard=%u/%u/%u secure=%u "
            "wzeroes=%u wc=%u fua=%u rot=%u direct=%u",
            pfx, name, static_cast<unsigned long long>(p.size_bytes), p.logical_block_size,
            p.physical_block_size, p.max_hw_sectors, p.max_segments, p.max_discard_sectors,
            p.discard_granularity, p.discard_alignment, p.max_secure_erase_sectors,
            p.max_write_zeroes_sectors, p.write_cache, p.fua, p.rotational, p.direct);
    item(pfx, "open", check_props(*be));
    item(pfx, "rw", check_rw(*be));
    item(pfx, "flush_fua", check_flush_fua(*be));
    item(pfx, "discard_zeroes", check_discard(*be));
    item(pfx, "write_zeroes", check_write_zeroes(*be));
    item(pfx, "secure_erase", check_secure_erase(*be));
    item(pfx, "refusals", check_refusals(*be));
    item(pfx, "readonly", check_readonly(*be, name));
    item(pfx, "two_writers", check_two_writers(*be, name));
    item(pfx, "async_batch", check_batch(*be, false));
    item(pfx, "queued_from_softirq", check_batch(*be, true));
    const bool direct = p.direct != 0;
    be->close();
    return direct;
  }

  void run_paths(const char* file, const char* escape, const char* dir, const char* link,
                 const char* nodev) {
    rep_.item("escape_symlink_refused", check_escape(escape));
    if (nodev && nodev[0]) rep_.item("nodev_refused", check_open_err(nodev, -EACCES));
    rep_.item("directory_refused", check_open_err(dir, -EISDIR));
    rep_.item("missing_refused", check_open_err("no-such-backing-store", -ENOENT));
    rep_.item("dotdot_refused", check_dotdot(file));
    rep_.item("inner_symlink_allowed", check_inner(link));
  }

  bool alloc() { return c_.alloc(); }

 private:
  void item(const char* pfx, const char* what, const char* why) {
    char name[64];
    usize n = 0;
    for (const char* s = pfx; *s && n < sizeof(name) - 2; s++) name[n++] = *s;
    name[n++] = '_';
    for (const char* s = what; *s && n < sizeof(name) - 1; s++) name[n++] = *s;
    name[n] = '\0';
    rep_.item(name, why);
  }

  const char* check_props(Backend& be) {
    const Properties& p = be.properties();
    EXPECT(be.writable());
    EXPECT(p.size_bytes >= (u64(16) << 20));
    EXPECT(p.logical_block_size == 512);
    EXPECT(p.physical_block_size >= p.logical_block_size);
    EXPECT(!p.is_file || p.max_secure_erase_sectors == 0);
    return nullptr;
  }

  const char* check_rw(Backend& be) {
    const u64 n = be.nr_sectors();
    struct Case {
      u32 len;
      u64 sector;
      u32 off;
    };
    const Case cases[] = {
        {512, 0, 0},
        {512, 1, 512},
        {4096, 8, 0},
        {8192, 7, 1024},
        {3 * 4096 + 512, 77, 2048},
        {65536, 123, 3 * 4096 + 512},
        {65536, 4096, 4096},
        {kChunk, 2048, 0},
        {kChunk - 4096, 3001, 4096},
        {65536, n - 128, 0},
        {512, n - 1, 0},
    };
    u32 seed = 1;
    for (const Case& c : cases) {
      const char* why = write_read(be, c_, c.sector, c.len, c.off, seed++);
      if (why) {
        kx_err("rw len=%u sector=%llu off=%u: %s", c.len, static_cast<unsigned long long>(c.sector),
               c.off, why);
        return why;
      }
    }
    // 128 KiB written in one IO, read back as four 32 KiB IOs.
    fill(c_.w, kChunk, 99);
    EXPECT(io_sync(be, Op::write, 0, 8192, c_.w, kChunk) == 0);
    __builtin_memset(c_.r, 0, kChunk);
    for (u32 i = 0; i < 4; i++)
      EXPECT(io_sync(be, Op::read, 0, 8192 + i * 64, c_.r + i * 32768, 32768) == 0);
    EXPECT(equal(c_.w, c_.r, kChunk));
    return nullptr;
  }

  const char* check_flush_fua(Backend& be) {
    if (const char* why = write_read(be, c_, 300, 4096, 0, 7, kFua)) return why;
    if (const char* why = write_read(be, c_, 308, 16384, 512, 8, kFua | kPreflush)) return why;
    if (const char* why = write_read(be, c_, 400, 4096, 0, 9, kPreflush | kSync)) return why;
    EXPECT(io_sync(be, Op::flush, 0, 0, nullptr, 0) == 0);
    __builtin_memset(c_.r, 0, 4096);
    EXPECT(io_sync(be, Op::read, 0, 300, c_.r, 4096) == 0);
    fill(c_.w, 4096, 7);
    EXPECT(equal(c_.w, c_.r, 4096));
    return nullptr;
  }

  // Writes a pattern over [sector, +len), applies op, reads back: all zero?
  const char* zeroed_after(Backend& be, Op op, u32 flags, u64 sector, u32 len, int* err) {
    fill(c_.w, len, 0xd15c);
    EXPECT(io_sync(be, Op::write, 0, sector, c_.w, len) == 0);
    *err = io_sync(be, op, flags, sector, nullptr, len);
    if (*err) return nullptr;
    __builtin_memset(c_.r, 0xee, len);
    EXPECT(io_sync(be, Op::read, 0, sector, c_.r, len) == 0);
    EXPECT(all_zero(c_.r, len));
    return nullptr;
  }

  const char* check_discard(Backend& be) {
    int err = 0;
    if (!be.properties().max_discard_sectors) {
      EXPECT(io_sync(be, Op::discard, 0, 0, nullptr, 4096) == -EOPNOTSUPP);
      return nullptr;
    }
    if (const char* why = zeroed_after(be, Op::discard, 0, 1024, 65536, &err)) return why;
    EXPECT(err == 0);
    return nullptr;
  }

  const char* check_write_zeroes(Backend& be) {
    int err = 0;
    if (!be.properties().max_write_zeroes_sectors) {
      EXPECT(io_sync(be, Op::write_zeroes, 0, 0, nullptr, 4096) == -EOPNOTSUPP);
      kx_info("write_zeroes: not supported by the device, refused with -EOPNOTSUPP");
      return nullptr;
    }
    if (const char* why = zeroed_after(be, Op::write_zeroes, 0, 1536, 65536, &err)) return why;
    EXPECT(err == 0);
    // NOUNMAP: ZERO_RANGE on files, which tmpfs does not have on 6.1.
    if (const char* why = zeroed_after(be, Op::write_zeroes, kNoUnmap, 1664, 32768, &err))
      return why;
    kx_info("write_zeroes NOUNMAP: %d", err);
    EXPECT(err == 0 || err == -EOPNOTSUPP);
    return nullptr;
  }

  const char* check_secure_erase(Backend& be) {
    if (!be.properties().max_secure_erase_sectors) {
      EXPECT(io_sync(be, Op::secure_erase, 0, 0, nullptr, 4096) == -EOPNOTSUPP);
      return nullptr;
    }
    int err = 0;
    if (const char* why = zeroed_after(be, Op::secure_erase, 0, 1792, 4096, &err)) return why;
    EXPECT(err == 0);
    return nullptr;
  }

  const char* check_refusals(Backend& be) {
    const u64 n = be.nr_sectors();
    const i64 before = be.inflight();
    EXPECT(io_sync(be, Op::read, 0, n, c_.r, 512) == -ERANGE);
    EXPECT(io_sync(be, Op::write, 0, n, c_.w, 512) == -ERANGE);
    EXPECT(io_sync(be, Op::write, 0, n - 1, c_.w, 1024) == -ERANGE);
    EXPECT(io_sync(be, Op::read, 0, ~u64(0), c_.r, 512) == -ERANGE);
    EXPECT(io_sync(be, Op::read, 0, ~u64(0) >> 9, c_.r, kChunk) == -ERANGE);
    EXPECT(io_sync(be, Op::write, 0, 0, c_.w, 100) == -EINVAL);
    EXPECT(io_sync(be, Op::write, 0, 0, c_.w, 0) == -EINVAL);
    EXPECT(io_sync(be, Op::read, 0, 0, nullptr, 512) == -EINVAL);
    EXPECT(io_sync(be, Op::read, kFua, 0, c_.r, 512) == -EINVAL);
    EXPECT(io_sync(be, Op::write, 1u << 20, 0, c_.w, 512) == -EINVAL);
    EXPECT(io_sync(be, static_cast<Op>(7), 0, 0, c_.w, 512) == -EINVAL);
    EXPECT(io_sync(be, Op::flush, 0, 0, c_.w, 512) == -EINVAL);
    if (be.properties().max_discard_sectors) {
      EXPECT(io_sync(be, Op::discard, 0, n - 8, nullptr, 8192) == -ERANGE);
      EXPECT(io_sync(be, Op::discard, 0, 0, c_.w, 4096) == -EINVAL);
    }
    EXPECT(be.inflight() == before);
    return nullptr;
  }

  const char* check_readonly(Backend& rw, const char* name) {
    auto ro_r = open(name, false);
    EXPECT(ro_r.is_ok());
    OwnPtr<Backend> ro = ro_r.release_value();
    EXPECT(!ro->writable());
    fill(c_.w, 8192, 42);
    EXPECT(io_sync(rw, Op::write, kFua, 512, c_.w, 8192) == 0);
    __builtin_memset(c_.r, 0, 8192);
    EXPECT(io_sync(*ro, Op::read, 0, 512, c_.r, 8192) == 0);
    EXPECT(equal(c_.w, c_.r, 8192));
    EXPECT(io_sync(*ro, Op::write, 0, 512, c_.w, 8192) == -EROFS);
    EXPECT(io_sync(*ro, Op::write, kFua, 0, c_.w, 512) == -EROFS);
    if (ro->properties().max_discard_sectors)
      EXPECT(io_sync(*ro, Op::discard, 0, 512, nullptr, 8192) == -EROFS);
    if (ro->properties().max_write_zeroes_sectors)
      EXPECT(io_sync(*ro, Op::write_zeroes, 0, 512, nullptr, 8192) == -EROFS);
    EXPECT(io_sync(*ro, Op::flush, 0, 0, nullptr, 0) == 0);
    // Nothing changed.
    EXPECT(io_sync(rw, Op::read, 0, 512, c_.r, 8192) == 0);
    EXPECT(equal(c_.w, c_.r, 8192));
    return nullptr;
  }

  const char* check_two_writers(Backend& first, const char* name) {
    auto second_r = open(name, true);
    EXPECT(second_r.is_ok());
    OwnPtr<Backend> second = second_r.release_value();
    fill(c_.w, 4096, 77);
    EXPECT(io_sync(*second, Op::write, kFua, 640, c_.w, 4096) == 0);
    __builtin_memset(c_.r, 0, 4096);
    EXPECT(io_sync(first, Op::read, 0, 640, c_.r, 4096) == 0);
    EXPECT(equal(c_.w, c_.r, 4096));
    return nullptr;
  }

  // kBatch IOs in flight at once (4 KiB each, slices of the two chunks).
  struct Batch {
    Io io[kBatch];
    Atomic<i32> left{0};
    Atomic<i32> errors{0};
    Completion all{KX_LOCK_CLASS("backend_test.batch")};
    static void cb(void* ctx, int err) {
      auto* b = static_cast<Batch*>(ctx);
      if (err) b->errors.fetch_add(1);
      if (b->left.sub_fetch(1) == 0) b->all.complete();
    }
    // Submission i could not start: it will never call back.
    void not_started() {
      errors.fetch_add(1);
      if (left.sub_fetch(1) == 0) all.complete();
    }
  };

  // Queues a batch from a timer callback, i.e. from softirq context, as the
  // IBNBD server does from the IBTRS rdma_ev.
  struct SoftirqSubmitter {
    SoftirqSubmitter(Backend& be, Batch& b, Op op, unsigned char* base)
        : be_(be), b_(b), op_(op), base_(base) {}
    KX_PINNED(SoftirqSubmitter);
    void fire() {
      for (u32 i = 0; i < kBatch; i++)
        if (be_.queue(b_.io[i], op_, 0, 16384 + i * 24, base_ + i * 4096, 4096, &Batch::cb, &b_)
                .is_error())
          b_.not_started();
    }
    Backend& be_;
    Batch& b_;
    Op op_;
    unsigned char* base_;
    Timer<SoftirqSubmitter, &SoftirqSubmitter::fire> timer_{this, KX_LOCK_CLASS("backend_test.timer")};
  };

  const char* run_batch(Backend& be, Op op, unsigned char* base, bool from_softirq) {
    auto b_r = make_own<Batch>(Gfp::kernel);
    EXPECT(b_r.is_ok());
    OwnPtr<Batch> b = b_r.release_value();
    b->left.store(kBatch);
    if (from_softirq) {
      auto s_r = make_own<SoftirqSubmitter>(Gfp::kernel, be, *b, op, base);
      EXPECT(s_r.is_ok());
      s_r.value()->timer_.arm(1);
      b->all.wait();
      s_r.value()->timer_.del_sync();
    } else {
      // Scattered: sector 16384 + i * 24, from slice i of the chunk.
      for (u32 i = 0; i < kBatch; i++)
        if (be.submit(b->io[i], op, 0, 16384 + i * 24, base + i * 4096, 4096, &Batch::cb, b.get())
                .is_error())
          b->not_started();
      b->all.wait();
    }
    EXPECT(b->errors.load() == 0);
    return nullptr;
  }

  const char* check_batch(Backend& be, bool from_softirq) {
    fill(c_.w, kChunk, from_softirq ? 4321 : 1234);
    if (const char* why = run_batch(be, Op::write, c_.w, from_softirq)) return why;
    __builtin_memset(c_.r, 0, kChunk);
    if (const char* why = run_batch(be, Op::read, c_.r, from_softirq)) return why;
    EXPECT(equal(c_.w, c_.r, kBatch * 4096));
    EXPECT(be.inflight() == 0);
    return nullptr;
  }

  int open_err(const char* name) {
    auto r = open(name, true);
    return r.is_ok() ? 0 : r.error().code();
  }

  const char* check_open_err(const char* name, int want) {
    const int got = open_err(name);
    if (got != want) kx_err("open %s: %d, expected %d", name, got, want);
    EXPECT(got == want);
    return nullptr;
  }

  const char* check_escape(const char* escape) {
    if (const char* why = check_open_err(escape, -EXDEV)) return why;
    // An absolute path outside root, no symlink involved.
    auto r = Backend::open(root_, "/dev/null", false);
    EXPECT(r.is_error() && r.error().code() == -EXDEV);
    // Relative paths are refused outright.
    auto rel = Backend::open("tmp", "tmp/x", false);
    EXPECT(rel.is_error() && rel.error().code() == -EINVAL);
    return nullptr;
  }

  const char* check_dotdot(const char* file) {
    char name[256];
    const char prefix[] = "../";
    usize n = 0;
    for (const char* s = prefix; *s; s++) name[n++] = *s;
    for (const char* s = file; *s && n < sizeof(name) - 1; s++) name[n++] = *s;
    name[n] = '\0';
    auto r = path(name);
    EXPECT(r.is_error() && r.error().code() == -EINVAL);
    auto r2 = path("subdir/../x");
    EXPECT(r2.is_error() && r2.error().code() == -EINVAL);
    return nullptr;
  }

  const char* check_inner(const char* link) {
    auto r = open(link, false);
    EXPECT(r.is_ok());
    EXPECT(r.value()->is_file());
    return nullptr;
  }

  const char* root_;
  Report& rep_;
  Chunks c_;
};

}  // namespace

extern "C" int kx_backend_test_run(const char* root, const char* dev, const char* file,
                                   const char* file2, const char* escape, const char* dir,
                                   const char* link, const char* nodev) {
  Report rep;
  {
    auto t_r = make_own<Tester>(Gfp::kernel, root, rep);
    if (t_r.is_error() || !t_r.value()->alloc()) {
      kx_err("FAIL setup: cannot allocate");
      return 1;
    }
    Tester& t = *t_r.value();
    t.run_store("bdev", dev);
    if (t.run_store("file", file)) kx_info("file: opened O_DIRECT");
    // A file on a file system with O_DIRECT (ext4), mounted beneath root.
    if (file2 && file2[0])
      rep.item("dfile_o_direct", t.run_store("dfile", file2) ? nullptr : "not opened O_DIRECT");
    t.run_paths(file, escape, dir, link, nodev);
  }
  rep.item("no_leak", runtime::live_allocations() != 0 ? "allocations live after teardown" : nullptr);
  kx_info("summary: %d passed, %d failed", rep.passed, rep.failed);
  return rep.failed;
}
