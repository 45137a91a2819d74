/* SPDX-License-Identifier: GPL-2.0 */
// Server side: what to do with one decoded RNBD IO message, given the state
// of the device it names. proto::decode_io has already checked everything
// that depends only on the message and its RTRS carrier; this adds the rules
// that need the device (and the session's open of it) and turns the message
// into one backend command. The kernel module does nothing the plan does not
// say, so every refusal here is host-tested.
//
// Errno vocabulary (the answer the client gets):
//  ENOTCONN    no open device with that id in this session (upstream's
//              answer for an unknown device id), or it is being closed.
//  EOPNOTSUPP  WRITE_SAME (RNBD 2.0 defines it, Linux 6.1 servers refuse
//              it), or an op the device does not support (discard, secure
//              erase, write-zeroes with a zero limit).
//  EROFS       a modifying op on a read-only open.
//  EINVAL      sector or length not aligned to the logical block size.
//  ERANGE      the range does not lie inside the device.
#pragma once

#include <ibnbd/core/open_rules.h>
#include <ibnbd/core/proto.h>
#include <kx/result.h>
#include <kx/types.h>

namespace ibnbd {

// The device as the session opened it. Immutable while the open lasts.
struct DevState {
  kx::u64 nsectors;            // capacity in 512-byte sectors
  kx::u32 logical_block_size;  // bytes, power of two >= 512
  proto::AccessMode mode;      // how this session opened it
  kx::u32 max_discard_sectors;
  kx::u32 max_secure_erase_sectors;
  kx::u32 max_write_zeroes_sectors;
};

// A backend command (mirrors kx::bdev::Op without depending on the kernel).
enum class BackendOp : kx::u8 { kRead, kWrite, kFlush, kDiscard, kSecureErase, kWriteZeroes };

inline constexpr kx::u32 kBeSync = 1u << 0;
inline constexpr kx::u32 kBeFua = 1u << 1;
inline constexpr kx::u32 kBePreflush = 1u << 2;
inline constexpr kx::u32 kBeNoUnmap = 1u << 3;

struct IoPlan {
  BackendOp op;
  kx::u32 flags;    // kBe* bits the backend accepts for op
  kx::u64 sector;   // 0 for flush
  kx::u32 len;      // bytes; 0 for flush
  bool data;        // the RTRS chunk is the data buffer (read/write)
};

// dev == nullptr: the id names no open device of this session.
// features: the session's granted proto::kFeature* bits.
inline kx::Result<IoPlan> plan_io(const proto::IoReq& io, const DevState* dev, kx::u32 features) {
  using proto::Op;
  if (!dev) return kx::Error(-ENOTCONN);
  IoPlan p{BackendOp::kRead, 0, io.sector, io.bi_size, false};
  kx::u32 limit = 0;
  switch (io.op) {
    case Op::kRead:
      p.op = BackendOp::kRead;
      p.data = true;
      break;
    case Op::kWrite:
      p.op = BackendOp::kWrite;
      p.data = true;
      break;
    case Op::kFlush:
      p.op = BackendOp::kFlush;
      p.sector = 0;
      p.len = 0;
      break;
    case Op::kDiscard:
      p.op = BackendOp::kDiscard;
      limit = dev->max_discard_sectors;
      break;
    case Op::kSecureErase:
      p.op = BackendOp::kSecureErase;
      limit = dev->max_secure_erase_sectors;
      break;
    case Op::kWriteZeroes:
      if ((features & proto::kFeatureWriteZeroes) == 0) return kx::Error(-EOPNOTSUPP);
      p.op = BackendOp::kWriteZeroes;
      limit = dev->max_write_zeroes_sectors;
      break;
    default:  // kWriteSame and anything decode_io would not have let through
      return kx::Error(-EOPNOTSUPP);
  }
  // A read-only open may read and flush (a read-only file system still
  // flushes), nothing else.
  if (p.op != BackendOp::kRead && p.op != BackendOp::kFlush && !mode_allows_write(dev->mode))
    return kx::Error(-EROFS);
  if (p.op == BackendOp::kDiscard || p.op == BackendOp::kSecureErase ||
      p.op == BackendOp::kWriteZeroes) {
    if (limit == 0) return kx::Error(-EOPNOTSUPP);
  }
  if (p.op != BackendOp::kFlush) {
    const kx::u32 lbs = dev->logical_block_size;
    if (lbs < proto::kSectorSize || (lbs & (lbs - 1)) != 0) return kx::Error(-EINVAL);
    if (p.len == 0 || p.len % lbs != 0 || ((p.sector << proto::kSectorShift) % lbs) != 0)
      return kx::Error(-EINVAL);
    const kx::u64 n = dev->nsectors;
    if (p.sector >= n || (kx::u64{p.len} >> proto::kSectorShift) > n - p.sector)
      return kx::Error(-ERANGE);
  }
  // Flags. SYNC only means something to reads and writes. A write that the
  // client wants preceded by a flush (PREFLUSH, or FUA from a 2.0 client,
  // see proto::io_needs_preflush) carries kBePreflush: the backend flushes
  // the volatile cache before writing. A bare flush is its own op.
  switch (p.op) {
    case BackendOp::kRead:
      if (io.flags & proto::kFlagSync) p.flags |= kBeSync;
      break;
    case BackendOp::kWrite:
      if (io.flags & proto::kFlagSync) p.flags |= kBeSync;
      if (io.flags & proto::kFlagFua) p.flags |= kBeFua;
      if (proto::io_needs_preflush(io, features)) p.flags |= kBePreflush;
      break;
    case BackendOp::kWriteZeroes:
      if (io.flags & proto::kFlagNoUnmap) p.flags |= kBeNoUnmap;
      break;
    default:
      break;
  }
  return p;
}

}  // namespace ibnbd
