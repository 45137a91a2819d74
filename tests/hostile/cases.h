/* SPDX-License-Identifier: GPL-2.0 */
// The hostile RTRS peer's case logic: a seeded PRNG, the list of malformed
// case kinds, and the mutators that build each malformed message from the
// well-formed one of ibtrs/core/wire.h. Pure functions of (seed, geometry),
// no RDMA, so the host unit tests (tests/unit/hostile_cases_test.cpp) check
// that every generated message is really refused by the decoders the server
// runs, and that a seed reproduces the same run.
//
// Userspace only (the hostile tool and the unit tests).
#pragma once

#include <stdint.h>
#include <string.h>

#include "ibtrs/core/wire.h"

namespace hostile {

namespace wire = ibtrs::wire;
using kx::u16;
using kx::u32;
using kx::u64;
using kx::u8;
using kx::usize;

// splitmix64: tiny, full-period, and the same sequence on every host, so a
// printed seed replays a run exactly.
class Rng {
 public:
  explicit Rng(u64 seed) : s_(seed) {}
  u64 next() {
    u64 z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0.
  u32 below(u32 n) { return static_cast<u32>(next() % n); }
  // Uniform in [lo, hi]; lo <= hi.
  u32 range(u32 lo, u32 hi) { return lo + static_cast<u32>(next() % (u64{hi} - lo + 1)); }
  void fill(u8* p, usize n) {
    for (usize i = 0; i < n; i++) p[i] = static_cast<u8>(next());
  }
  wire::Uuid uuid() {
    wire::Uuid u{};
    fill(u.bytes, sizeof(u.bytes));
    u.bytes[0] |= 1;  // never nil
    return u;
  }

 private:
  u64 s_;
};

// What the server must do with a case. The tool fails the run if the server
// does anything else (accepts, answers with success, or keeps silent).
enum class Expect : u8 {
  kReject,        // the CM connect is rejected (CONN_RSP errno)
  kClose,         // the path is closed (no success answer first)
  kErrnoOrClose,  // an IO_RSP with a non-zero errno, or the path is closed
};

enum class Kind : u8 {
  // CONN_REQ private data (Expect::kReject).
  kConnBadMagic,
  kConnBadMajor,
  kConnCidGeCidNum,
  kConnCidNumZero,
  kConnCidNumHuge,
  kConnNilSessUuid,
  kConnNilPathsUuid,
  kConnReservedFlags,
  kConnReservedBytes,
  kConnShort,            // fewer than 56 bytes sent: the CM zero-pads it
  kConnNoFirstConn,      // unknown session without first_conn
  kConnCidNumMismatch,   // con 1 of a path claims another cid_num than con 0
  kConnDuplicateCid,     // the same cid twice on one path
  kConnDuplicatePath,    // a second path of a session between the same addresses
  // INFO_REQ (Expect::kClose).
  kInfoEmptyName,
  kInfoNoNul,
  kInfoWrongType,
  kInfoShort,
  kInfoSlashName,
  kInfoOnIoCon,          // a well-formed INFO_REQ sent on cid 1
  kInfoImmBeforeInfo,    // an IO_REQ immediate on cid 1 before INFO_REQ
  kInfoImmOnAdminFirst,  // an immediate on cid 0 instead of INFO_REQ
  // Immediates on a connected path (Expect::kClose).
  kImmBadBufId,
  kImmOffsetBeyondChunk,
  kImmUnknownType,
  kImmResponseType,      // IO_RSP / IO_RSP_W_INV sent to the server
  kImmHbOnIoCon,         // heartbeat on cid != 0
  kImmHbWithPayload,
  kImmSendNoImm,         // a plain SEND where only immediates are allowed
  kImmReadDescOutsideMr, // READ whose descriptor names memory we never registered
  // Request trailers on a connected path (Expect::kErrnoOrClose).
  kIoUsrLenGtOffset,
  kIoUnknownType,
  kIoTrailerPastChunk,
  kIoReadBadFlags,
  kIoReadNeedInvalNoDesc,
  kIoReadSgCntGt1,
  kIoReadDescLenZero,
  kIoReadDescTooLong,    // a descriptor longer than the data area (stale chunk bytes)
  kIoReadDescWraps,
  kIoReadNoDescWithData,
  kIoReplayFinished,     // zero-length WRITE_WITH_IMM replaying a finished READ
  kCount,
};

inline constexpr u32 kKindCount = static_cast<u32>(Kind::kCount);

inline Expect expect_of(Kind k) {
  if (k <= Kind::kConnDuplicatePath) return Expect::kReject;
  if (k <= Kind::kImmReadDescOutsideMr) return Expect::kClose;
  return Expect::kErrnoOrClose;
}
inline bool is_conn_kind(Kind k) { return k <= Kind::kConnDuplicatePath; }
inline bool is_info_kind(Kind k) { return k >= Kind::kInfoEmptyName && k <= Kind::kInfoImmOnAdminFirst; }
inline bool is_imm_kind(Kind k) { return k >= Kind::kImmBadBufId && k <= Kind::kImmReadDescOutsideMr; }
inline bool is_io_kind(Kind k) { return k >= Kind::kIoUsrLenGtOffset && k < Kind::kCount; }

// Draws the next case. Request-trailer cases cost one message on an open
// path, the others a path set-up each: `io_share` of 1000 draws are trailer
// cases, the rest spread evenly over the other kinds.
inline Kind pick_kind(Rng& rng, u32 io_share) {
  const u32 first_io = static_cast<u32>(Kind::kIoUsrLenGtOffset);
  if (rng.below(1000) < io_share)
    return static_cast<Kind>(first_io + rng.below(kKindCount - first_io));
  return static_cast<Kind>(rng.below(first_io));
}

// ---------------------------------------------------------------------------
// CONN_REQ

struct ConnCase {
  u8 pdata[sizeof(wire::ConnReqWire)];
  u8 len;        // bytes handed to rdma_connect (the CM pads to 56 with zeros)
  u16 cid;       // the cid the tool believes it opens (for the set-up order)
  u16 cid_num;
};

// A well-formed CONN_REQ.
inline void good_conn_req(u8* out, u16 cid, u16 cid_num, const wire::Uuid& sess,
                          const wire::Uuid& paths, bool first_conn, u16 recon_cnt = 0) {
  const wire::ConnReq req{wire::kProtoVersion, cid, cid_num, recon_cnt, sess, paths, first_conn};
  (void)wire::encode_conn_req(out, sizeof(wire::ConnReqWire), req).value();
}

// Builds the single-connection malformed CONN_REQs (kConnBadMagic ..
// kConnNoFirstConn). The multi-connection kinds are driven by the tool
// from good_conn_req().
inline ConnCase make_conn_case(Kind k, Rng& rng) {
  ConnCase c{};
  c.cid = 0;
  c.cid_num = static_cast<u16>(rng.range(1, 4));
  c.len = sizeof(c.pdata);
  good_conn_req(c.pdata, c.cid, c.cid_num, rng.uuid(), rng.uuid(), true);
  auto put16 = [&](usize off, u16 v) {
    c.pdata[off] = static_cast<u8>(v);
    c.pdata[off + 1] = static_cast<u8>(v >> 8);
  };
  switch (k) {
    case Kind::kConnBadMagic: {
      u16 m = static_cast<u16>(rng.next());
      if (m == wire::kMagic) m ^= 1;
      put16(2, m);
      break;
    }
    case Kind::kConnBadMajor: {
      u8 major = static_cast<u8>(rng.next());
      if (major == wire::kProtoVerMajor) major ^= 1;
      put16(4, static_cast<u16>(major << 8 | (rng.next() & 0xff)));
      break;
    }
    case Kind::kConnCidGeCidNum:
      c.cid = static_cast<u16>(c.cid_num + rng.below(5000));
      put16(6, c.cid);
      break;
    case Kind::kConnCidNumZero:
      put16(8, 0);
      break;
    case Kind::kConnCidNumHuge:
      put16(8, static_cast<u16>(rng.range(wire::kMaxConnsPerPath + 1, 0xffff)));
      break;
    case Kind::kConnNilSessUuid:
      memset(c.pdata + 12, 0, 16);
      break;
    case Kind::kConnNilPathsUuid:
      memset(c.pdata + 28, 0, 16);
      break;
    case Kind::kConnReservedFlags:
      c.pdata[44] |= static_cast<u8>(2u << rng.below(7));
      break;
    case Kind::kConnReservedBytes:
      c.pdata[45 + rng.below(11)] = static_cast<u8>(rng.range(1, 255));
      break;
    case Kind::kConnShort:
      // Anything shorter than the start of paths_uuid leaves it nil once
      // padded (longer short data may well be valid: the CM pads with zeros
      // and only the field checks tell).
      c.len = static_cast<u8>(rng.below(28));
      memset(c.pdata + c.len, 0, sizeof(c.pdata) - c.len);
      break;
    case Kind::kConnNoFirstConn:
      c.pdata[44] = 0;
      break;
    default:
      break;
  }
  return c;
}

// ---------------------------------------------------------------------------
// INFO_REQ

struct InfoCase {
  u8 buf[sizeof(wire::InfoReqWire)];
  u16 len;
};

inline void good_info_req(InfoCase& c, const char* name) {
  c.len = static_cast<u16>(wire::encode_info_req(c.buf, sizeof(c.buf), name, strlen(name)).value());
}

// kInfoEmptyName .. kInfoSlashName; the others send a good INFO_REQ (or an
// immediate) the wrong way.
inline InfoCase make_info_case(Kind k, Rng& rng, const char* name) {
  InfoCase c{};
  good_info_req(c, name);
  char* field = reinterpret_cast<char*>(c.buf + __builtin_offsetof(wire::InfoReqWire, pathname));
  switch (k) {
    case Kind::kInfoEmptyName:
      memset(field, 0, wire::kPathNameFieldSize);
      break;
    case Kind::kInfoNoNul:
      for (usize i = 0; i < wire::kPathNameFieldSize; i++) field[i] = static_cast<char>('a' + rng.below(26));
      break;
    case Kind::kInfoWrongType: {
      u16 t = static_cast<u16>(rng.range(1, 0xffff));
      c.buf[0] = static_cast<u8>(t);
      c.buf[1] = static_cast<u8>(t >> 8);
      break;
    }
    case Kind::kInfoShort:
      c.len = static_cast<u16>(rng.below(sizeof(wire::InfoReqWire)));
      break;
    case Kind::kInfoSlashName:
      field[rng.below(static_cast<u32>(strlen(field)))] = rng.below(2) ? '/' : '.';
      break;
    default:
      break;
  }
  return c;
}

// ---------------------------------------------------------------------------
// Immediates (on a connected path)

struct ImmCase {
  u32 imm;   // host order
  u16 cid;   // connection to send it on
  bool send_no_imm;
};

inline ImmCase make_imm_case(Kind k, Rng& rng, const wire::ChunkGeometry& g, u16 cid_num) {
  ImmCase c{};
  c.cid = static_cast<u16>(rng.below(cid_num));
  const u32 mem_bits = g.mem_bits();
  switch (k) {
    case Kind::kImmBadBufId: {
      const u32 max_id = wire::kImmPayloadMask >> mem_bits;
      // Only possible if the buf_id field can hold more than queue_depth.
      const u32 id = max_id >= g.queue_depth() ? rng.range(g.queue_depth(), max_id) : 0;
      c.imm = wire::make_imm(wire::ImmType::kIoReq, id << mem_bits | rng.below(g.chunk_size()));
      if (max_id < g.queue_depth())  // fall back to an out-of-range offset
        c.imm = wire::make_imm(wire::ImmType::kIoReq, (1u << mem_bits) - 1);
      break;
    }
    case Kind::kImmOffsetBeyondChunk: {
      const u32 max_off = (1u << mem_bits) - 1;
      const u32 off = max_off >= g.chunk_size() ? rng.range(g.chunk_size(), max_off) : max_off;
      c.imm = wire::make_imm(wire::ImmType::kIoReq, rng.below(g.queue_depth()) << mem_bits | off);
      break;
    }
    case Kind::kImmUnknownType: {
      static const u8 unknown[] = {3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15};
      c.imm = static_cast<u32>(unknown[rng.below(sizeof(unknown))]) << wire::kImmPayloadBits |
              static_cast<u32>(rng.next() & wire::kImmPayloadMask);
      break;
    }
    case Kind::kImmResponseType:
      c.imm = wire::make_imm(rng.below(2) ? wire::ImmType::kIoRsp : wire::ImmType::kIoRspWithInval,
                             static_cast<u32>(rng.next()));
      break;
    case Kind::kImmHbOnIoCon:
      c.cid = static_cast<u16>(cid_num > 1 ? rng.range(1, cid_num - 1u) : 0);
      c.imm = rng.below(2) ? wire::kHbMsgImm : wire::kHbAckImm;
      if (cid_num == 1)  // no IO connection: a heartbeat with payload instead
        c.imm |= 1;
      break;
    case Kind::kImmHbWithPayload:
      c.cid = 0;
      c.imm = wire::make_imm(rng.below(2) ? wire::ImmType::kHbMsg : wire::ImmType::kHbAck,
                             rng.range(1, wire::kImmPayloadMask));
      break;
    case Kind::kImmSendNoImm:
      c.send_no_imm = true;
      break;
    default:
      break;
  }
  return c;
}

// ---------------------------------------------------------------------------
// Request trailers: bytes the tool RDMA-writes at `write_off` of chunk
// buf_id, then the IO_REQ immediate names `imm_off`.

struct IoCase {
  u32 buf_id;
  u32 write_off;
  u8 bytes[64];
  u32 len;       // bytes to write (0: a zero-length WRITE_WITH_IMM)
  u32 imm_off;
};

inline void put_le16(u8* p, u16 v) {
  p[0] = static_cast<u8>(v);
  p[1] = static_cast<u8>(v >> 8);
}

// A READ trailer with the given fields and, if sg_cnt >= 1, descriptors.
inline u32 put_read_trailer(u8* p, u16 usr_len, u16 flags, u16 sg_cnt, u64 addr, u32 key,
                            u32 len) {
  wire::RdmaReadTrailerWire r{};
  r.type.set(static_cast<u16>(wire::MsgType::kRead));
  r.usr_len.set(usr_len);
  r.flags.set(flags);
  r.sg_cnt.set(sg_cnt);
  memcpy(p, &r, sizeof(r));
  u32 n = sizeof(r);
  for (u16 i = 0; i < sg_cnt && i < 2; i++) {
    wire::SgDescWire d{};
    d.addr.set(addr);
    d.key.set(key);
    d.len.set(len);
    memcpy(p + n, &d, sizeof(d));
    n += sizeof(d);
  }
  return n;
}

// kIoUsrLenGtOffset .. kIoReadNoDescWithData (kIoReplayFinished is driven
// by the tool: a good READ first). desc_addr/desc_key: a registered buffer
// of the tool, so that only the field under test is wrong.
inline IoCase make_io_case(Kind k, Rng& rng, const wire::ChunkGeometry& g, u64 desc_addr,
                           u32 desc_key) {
  IoCase c{};
  c.buf_id = rng.below(g.queue_depth());
  // Room for the trailer and two descriptors before the chunk end.
  const u32 max_off = g.chunk_size() - 64;
  u32 off = rng.range(64, max_off);
  c.write_off = off;
  c.imm_off = off;
  switch (k) {
    case Kind::kIoUsrLenGtOffset: {
      const u16 usr = static_cast<u16>(rng.range(off + 1 > 0xffff ? 0xffff : off + 1, 0xffff));
      if (usr <= off) {  // offsets above 64 KiB: move the trailer down
        off = c.write_off = c.imm_off = rng.range(8, usr - 1);
      }
      if (rng.below(2)) {
        wire::RdmaWriteTrailerWire w{};
        w.type.set(static_cast<u16>(wire::MsgType::kWrite));
        w.usr_len.set(usr);
        memcpy(c.bytes, &w, sizeof(w));
        c.len = sizeof(w);
      } else {
        c.len = put_read_trailer(c.bytes, usr, 0, 0, 0, 0, 0);
      }
      break;
    }
    case Kind::kIoUnknownType: {
      u16 t;
      do t = static_cast<u16>(rng.next()); while (t == 2 || t == 3);
      put_le16(c.bytes, t);
      put_le16(c.bytes + 2, 0);
      c.len = 8;
      break;
    }
    case Kind::kIoTrailerPastChunk:
      // The last 1..3 bytes of the chunk (WRITE trailer is 4 B) or the last
      // 4..7 of a READ trailer.
      if (rng.below(2)) {
        c.imm_off = c.write_off = g.chunk_size() - rng.range(1, 3);
        put_le16(c.bytes, static_cast<u16>(wire::MsgType::kWrite));
        c.len = g.chunk_size() - c.write_off;
      } else {
        c.imm_off = c.write_off = g.chunk_size() - rng.range(4, 7);
        put_le16(c.bytes, static_cast<u16>(wire::MsgType::kRead));
        c.len = g.chunk_size() - c.write_off;
      }
      break;
    case Kind::kIoReadBadFlags:
      // Any value >= 2 has a bit outside NEED_INVAL set.
      c.len = put_read_trailer(c.bytes, 0, static_cast<u16>(rng.range(2, 0xffff)), 1, desc_addr,
                               desc_key, 512 > off ? off : 512);
      break;
    case Kind::kIoReadNeedInvalNoDesc:
      c.len = put_read_trailer(c.bytes, 0, wire::kMsgFlagNeedInval, 0, 0, 0, 0);
      if (rng.below(2)) c.imm_off = c.write_off = 0;  // also with no data area
      break;
    case Kind::kIoReadSgCntGt1:
      c.len = put_read_trailer(c.bytes, 0, rng.below(2) ? wire::kMsgFlagNeedInval : 0,
                               static_cast<u16>(rng.range(2, 0xffff)), desc_addr, desc_key, 512);
      break;
    case Kind::kIoReadDescLenZero:
      c.len = put_read_trailer(c.bytes, 0, 0, 1, desc_addr, desc_key, 0);
      break;
    case Kind::kIoReadDescTooLong: {
      const u32 usr = rng.below(off < 32 ? off : 32);
      c.len = put_read_trailer(c.bytes, static_cast<u16>(usr), 0, 1, desc_addr, desc_key,
                               rng.range(off - usr + 1, g.chunk_size() * 2));
      break;
    }
    case Kind::kIoReadDescWraps:
      c.len = put_read_trailer(c.bytes, 0, 0, 1, ~u64{0} - rng.below(off - 1), desc_key, off);
      break;
    case Kind::kIoReadNoDescWithData: {
      const u32 usr = rng.below(off);  // usr_len < offset: data reserved, nowhere to go
      c.len = put_read_trailer(c.bytes, static_cast<u16>(usr > 0xffff ? 0xffff : usr), 0, 0, 0, 0, 0);
      break;
    }
    default:
      break;
  }
  return c;
}

inline const char* kind_name(Kind k) {
  static const char* const names[] = {
      "conn_bad_magic", "conn_bad_major", "conn_cid_ge_cid_num", "conn_cid_num_zero",
      "conn_cid_num_huge", "conn_nil_sess_uuid", "conn_nil_paths_uuid", "conn_reserved_flags",
      "conn_reserved_bytes", "conn_short", "conn_no_first_conn", "conn_cid_num_mismatch",
      "conn_duplicate_cid", "conn_duplicate_path", "info_empty_name", "info_no_nul", "info_wrong_type", "info_short",
      "info_slash_name", "info_on_io_con", "info_imm_before_info", "info_imm_on_admin_first",
      "imm_bad_buf_id", "imm_offset_beyond_chunk", "imm_unknown_type", "imm_response_type",
      "imm_hb_on_io_con", "imm_hb_with_payload", "imm_send_no_imm", "imm_read_desc_outside_mr",
      "io_usr_len_gt_offset", "io_unknown_type", "io_trailer_past_chunk", "io_read_bad_flags",
      "io_read_need_inval_no_desc", "io_read_sg_cnt_gt1", "io_read_desc_len_zero",
      "io_read_desc_too_long", "io_read_desc_wraps", "io_read_no_desc_with_data",
      "io_replay_finished",
  };
  static_assert(sizeof(names) / sizeof(names[0]) == kKindCount);
  return static_cast<u32>(k) < kKindCount ? names[static_cast<u32>(k)] : "?";
}

}  // namespace hostile
