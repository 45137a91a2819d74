/* SPDX-License-Identifier: GPL-2.0 */
// ibnbd-client decisions that need no kernel, so that the host tests pin them:
//
//  * plan_io: a block request (op + flags) -> the RNBD IO message(s) to send.
//    A write with PREFLUSH becomes a separate RNBD FLUSH followed by the write
//    unless the server granted kFeatureStrictFlush (then one message with
//    kFlagPreflush). It is never reduced to FUA (the 2.0 client bug, see
//    rnbd-features.md §3.4). Write-zeroes only with kFeatureWriteZeroes.
//  * outage_action: what to do with a request that cannot be served now
//    (device closed, or the transport failed it): send, hold (requeue and
//    retry later) or fail with EIO. The hold of one request is bounded by the
//    device's io_fail_timeout, counted from that request's first hold.
//
// Portable core: no allocation, no global state.
#pragma once

#include <ibnbd/core/proto.h>
#include <kx/errno.h>
#include <kx/result.h>
#include <kx/types.h>

namespace ibnbd::clt {

using kx::u32;
using kx::u64;

// The block layer's request ops this driver distinguishes.
enum class BlkOp : kx::u8 { kRead, kWrite, kFlush, kDiscard, kSecureErase, kWriteZeroes, kOther };

struct BlkReq {
  BlkOp op;
  bool fua;
  bool preflush;
  bool sync;
  bool nounmap;
  u64 sector;  // 512-byte sectors
  u32 bytes;
};

struct IoPlan {
  bool pre_flush;          // send an RNBD FLUSH first, then io
  proto::IoReq io;         // device_id left 0: the caller fills it at send time
  proto::TransferDir dir;  // the RTRS direction of io
  bool carries_data;       // io moves the request's data pages
};

// EOPNOTSUPP: an op RNBD cannot carry (or write-zeroes not granted).
// EINVAL: a ranged op with no bytes, or bytes not in 512-byte units.
inline kx::Result<IoPlan> plan_io(const BlkReq& rq, const proto::Session& sess) {
  IoPlan p{};
  u32 flags = rq.sync ? proto::kFlagSync : 0;
  switch (rq.op) {
    case BlkOp::kRead:
      p.io.op = proto::Op::kRead;
      break;
    case BlkOp::kWrite:
      p.io.op = proto::Op::kWrite;
      if (rq.fua) flags |= proto::kFlagFua;
      if (rq.preflush) {
        if (sess.features & proto::kFeatureStrictFlush)
          flags |= proto::kFlagPreflush;
        else
          p.pre_flush = true;
      }
      break;
    case BlkOp::kFlush:
      p.io.op = proto::Op::kFlush;
      break;
    case BlkOp::kDiscard:
      p.io.op = proto::Op::kDiscard;
      break;
    case BlkOp::kSecureErase:
      p.io.op = proto::Op::kSecureErase;
      break;
    case BlkOp::kWriteZeroes:
      if (!(sess.features & proto::kFeatureWriteZeroes)) return kx::Error(-EOPNOTSUPP);
      p.io.op = proto::Op::kWriteZeroes;
      if (rq.nounmap) flags |= proto::kFlagNoUnmap;
      break;
    default:
      return kx::Error(-EOPNOTSUPP);
  }
  p.io.flags = flags;
  p.io.sector = rq.op == BlkOp::kFlush ? 0 : rq.sector;
  p.io.bi_size = rq.op == BlkOp::kFlush ? 0 : rq.bytes;
  if (rq.op != BlkOp::kFlush && (rq.bytes == 0 || rq.bytes % proto::kSectorSize))
    return kx::Error(-EINVAL);
  p.dir = proto::io_transfer_dir(p.io.op);
  p.carries_data = proto::op_carries_data(p.io.op);
  return p;
}

// The RNBD FLUSH that precedes a write planned with pre_flush.
inline proto::IoReq flush_io() {
  proto::IoReq io{};
  io.op = proto::Op::kFlush;
  return io;
}

// Device states, as `state` in sysfs shows them.
enum class DevState : kx::u8 {
  kInit,      // mapping in progress
  kOpen,      // OPEN answered; IO flows
  kClosed,    // every path down or the server lost the device; remap pending
  kUnmapped,  // being unmapped or gone: IO fails
};

inline const char* dev_state_name(DevState s) {
  switch (s) {
    case DevState::kInit: return "init";
    case DevState::kOpen: return "open";
    case DevState::kClosed: return "closed";
    case DevState::kUnmapped: return "unmapped";
  }
  return "unknown";
}

enum class IoAction : kx::u8 { kSend, kHold, kFail };

// Errnos of a completed request that mean "the server did not get to it, or
// lost it with its session": worth a retry after the remap. Anything else is
// the server's answer about the data and goes to the caller as it is.
constexpr bool is_transport_error(int err) {
  return err == -ECONNABORTED || err == -ETIMEDOUT || err == -ENOTCONN || err == -ECONNRESET ||
         err == -EHOSTUNREACH || err == -ENOLINK;
}

inline constexpr u64 kNsPerSec = 1000000000ull;

// A request that is about to be sent (err == 0) or came back with err.
// first_hold_ns: when this request was first held (0: never). Returns what
// to do; *first_hold_ns is set when a hold starts.
inline IoAction outage_action(DevState state, int err, u64 now_ns, u64* first_hold_ns,
                              u32 fail_timeout_sec) {
  if (state == DevState::kUnmapped || state == DevState::kInit) return IoAction::kFail;
  const bool blocked = state == DevState::kClosed || (err != 0 && is_transport_error(err));
  if (!blocked) return err ? IoAction::kFail : IoAction::kSend;
  if (fail_timeout_sec == 0) return IoAction::kFail;
  if (*first_hold_ns == 0) {
    *first_hold_ns = now_ns ? now_ns : 1;
    return IoAction::kHold;
  }
  if (now_ns - *first_hold_ns >= u64{fail_timeout_sec} * kNsPerSec) return IoAction::kFail;
  return IoAction::kHold;
}

// device_path as the name of a ctl/devices entry: '/' -> '!' (upstream's
// convention), then "@<sessname>". -ENAMETOOLONG if it does not fit in cap
// (NUL included).
inline kx::Result<kx::usize> devices_link_name(char* out, kx::usize cap, const char* dev_path,
                                               kx::usize dev_len, const char* sess,
                                               kx::usize sess_len) {
  const kx::usize need = dev_len + 1 + sess_len + 1;
  if (need > cap) return kx::Error(-ENAMETOOLONG);
  for (kx::usize i = 0; i < dev_len; i++) out[i] = dev_path[i] == '/' ? '!' : dev_path[i];
  out[dev_len] = '@';
  for (kx::usize i = 0; i < sess_len; i++) out[dev_len + 1 + i] = sess[i];
  out[need - 1] = 0;
  return need - 1;
}

}  // namespace ibnbd::clt
