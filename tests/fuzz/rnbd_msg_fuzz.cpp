// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: every RNBD message (ibnbd/core/proto.h): peek_msg_type,
// decode_sess_info, decode_sess_info_rsp, decode_open, decode_open_rsp,
// decode_close and decode_io, with a fuzzed RTRS carrier and session.
//
// Input: [flags u8][data_len le32][version u8][features le32][offered le32]
//        [message ...]
//   flags bit 0: carrier direction (0 READ, 1 WRITE); bit 1: reduce
//   data_len modulo 4 KiB + 1 (so that it often matches bi_size);
//   version/features: the negotiated Session; offered: the features the
//   client offered (for decode_sess_info_rsp). The message is decoded by
//   every decoder.
//
// Properties:
//  * refusals use each decoder's documented errnos; peek_msg_type accepts
//    exactly the types 0..5 and every decoder that accepts agrees with it, so
//    at most one message kind is accepted per input;
//  * round trips: SESS_INFO / SESS_INFO_RSP / OPEN / OPEN_RSP / CLOSE / IO
//    re-encoded decode to the same fields (with the same carrier/session);
//    OPEN's device name lies inside its 255-byte field, NUL-terminated there,
//    and re-encodes byte-identically up to the NUL; bytes after the message
//    never change the answer;
//  * negotiation: the server's answer to an accepted SESS_INFO (negotiated
//    version, features offered & supported) is accepted by a client that
//    made that offer;
//  * encoder direction: with arguments taken from the message bytes and an
//    exact-size output buffer, each encoder refuses exactly what a model of
//    its rules (or, for IO, the decoder on a hand-laid wire image) refuses,
//    never writes past its capacity, and its output decodes to the same
//    fields;
//  * IO: the op rides the RTRS direction the header requires, the data length
//    matches (READ/WRITE: == bi_size; WRITE_SAME divides; no-data ops 0), the
//    byte range does not overflow, prio is 0 before version 2;
//    io_needs_preflush and op_writes agree with their documented rules.
#include "tests/fuzz/fuzz_common.h"

#include "ibnbd/core/proto.h"

namespace {

using namespace ibnbd::proto;
using fuzz::err;
using fuzz::errno_in;
using fuzz::Exact;
using fuzz::Reader;

struct Ctx {
  Carrier carrier;
  Session session;
  u32 offered;
};

bool same(const OpenRsp& a, const OpenRsp& b) {
  return a.device_id == b.device_id && a.nsectors == b.nsectors &&
         a.max_hw_sectors == b.max_hw_sectors &&
         a.max_write_same_sectors == b.max_write_same_sectors &&
         a.max_discard_sectors == b.max_discard_sectors &&
         a.discard_granularity == b.discard_granularity &&
         a.discard_alignment == b.discard_alignment &&
         a.physical_block_size == b.physical_block_size &&
         a.logical_block_size == b.logical_block_size && a.max_segments == b.max_segments &&
         a.max_secure_erase_sectors == b.max_secure_erase_sectors &&
         a.cache_policy == b.cache_policy && a.max_write_zeroes_sectors == b.max_write_zeroes_sectors;
}

bool same(const IoReq& a, const IoReq& b) {
  return a.device_id == b.device_id && a.sector == b.sector && a.op == b.op &&
         a.flags == b.flags && a.bi_size == b.bi_size && a.prio == b.prio;
}

// Decodes `msg` truncated to `n` bytes (n <= size) with an exact-size copy.
template <typename F> auto on_prefix(const u8* msg, usize n, F&& decode) {
  Exact in(msg, n);
  return decode(in.data(), in.size());
}

void check_sess_info(const u8* msg, usize size, const Ctx& c, kx::Result<MsgType>& type) {
  Exact in(msg, size);
  auto r = decode_sess_info(in.data(), in.size(), c.carrier);
  FUZZ_CHECK(errno_in(r, {EBADMSG, EPROTO, EMSGSIZE}));
  if (r.is_error()) return;
  FUZZ_CHECK(type.is_ok() && type.value() == MsgType::kSessInfo);
  FUZZ_CHECK(size >= sizeof(SessInfoWire));
  FUZZ_CHECK(c.carrier.dir == TransferDir::kRead && c.carrier.data_len >= sizeof(SessInfoRspWire));
  const SessInfo si = r.value();
  FUZZ_CHECK(si.version != 0);
  auto h = on_prefix(msg, sizeof(SessInfoWire),
                     [&](const u8* b, usize n) { return decode_sess_info(b, n, c.carrier); });
  FUZZ_CHECK(h.is_ok() && h.value().version == si.version && h.value().features == si.features);

  // The server's answer is acceptable to the client that sent the offer.
  const u8 ver = negotiate_version(si.version);
  const u32 granted = negotiate_features(si.features, kKnownFeatures);
  FUZZ_CHECK((granted & ~si.features) == 0);
  Exact rsp(sizeof(SessInfoRspWire));
  auto e = encode_sess_info_rsp(rsp.data(), rsp.size(), ver, granted);
  FUZZ_CHECK(e.is_ok() && e.value() == sizeof(SessInfoRspWire));
  auto cl = decode_sess_info_rsp(rsp.data(), rsp.size(), si.features);
  FUZZ_CHECK(cl.is_ok() && cl.value().version == ver && cl.value().features == granted);

  // Our own client's offer round-trips (it offers version 2 and known bits).
  if (si.version == kProtoVerMajor && (si.features & ~kKnownFeatures) == 0) {
    Exact out(sizeof(SessInfoWire));
    auto e2 = encode_sess_info(out.data(), out.size(), si.features);
    FUZZ_CHECK(e2.is_ok());
    auto again = decode_sess_info(out.data(), out.size(), c.carrier);
    FUZZ_CHECK(again.is_ok() && again.value().version == si.version &&
               again.value().features == si.features);
  }
}

void check_sess_info_rsp(const u8* msg, usize size, const Ctx& c, kx::Result<MsgType>& type) {
  Exact in(msg, size);
  auto r = decode_sess_info_rsp(in.data(), in.size(), c.offered);
  FUZZ_CHECK(errno_in(r, {EBADMSG, EPROTO}));
  if (r.is_error()) return;
  FUZZ_CHECK(type.is_ok() && type.value() == MsgType::kSessInfoRsp);
  const SessInfo si = r.value();
  FUZZ_CHECK(si.version >= 1 && si.version <= kProtoVerMajor);
  FUZZ_CHECK((si.features & ~c.offered) == 0);
  if ((si.features & ~kKnownFeatures) != 0) return;  // only an offer we never make grants these
  Exact out(sizeof(SessInfoRspWire));
  auto e = encode_sess_info_rsp(out.data(), out.size(), si.version, si.features);
  FUZZ_CHECK(e.is_ok());
  auto again = decode_sess_info_rsp(out.data(), out.size(), c.offered);
  FUZZ_CHECK(again.is_ok() && again.value().version == si.version &&
             again.value().features == si.features);
}

void check_open(const u8* msg, usize size, const Ctx& c, kx::Result<MsgType>& type) {
  Exact in(msg, size);
  auto r = decode_open(in.data(), in.size(), c.carrier);
  FUZZ_CHECK(errno_in(r, {EBADMSG, EINVAL, EPROTO, EMSGSIZE}));
  if (r.is_error()) return;
  FUZZ_CHECK(type.is_ok() && type.value() == MsgType::kOpen);
  FUZZ_CHECK(c.carrier.dir == TransferDir::kRead && c.carrier.data_len >= sizeof(OpenRspWire));
  const OpenReq o = r.value();
  FUZZ_CHECK(static_cast<u8>(o.access_mode) <= static_cast<u8>(AccessMode::kMigration));
  const u8* field = in.data() + 6;
  FUZZ_CHECK(reinterpret_cast<const u8*>(o.dev_name.chars) == field);
  FUZZ_CHECK(o.dev_name.len >= 1 && o.dev_name.len < kDevNameFieldSize);
  FUZZ_CHECK(fuzz::inside(o.dev_name.chars, o.dev_name.len + 1, field, kDevNameFieldSize));
  FUZZ_CHECK(o.dev_name.chars[o.dev_name.len] == '\0');
  FUZZ_CHECK(memchr(o.dev_name.chars, 0, o.dev_name.len) == nullptr);
  auto h = on_prefix(msg, sizeof(OpenWire),
                     [&](const u8* b, usize n) { return decode_open(b, n, c.carrier); });
  FUZZ_CHECK(h.is_ok() && h.value().access_mode == o.access_mode &&
             h.value().dev_name.len == o.dev_name.len);

  Exact out(sizeof(OpenWire));
  auto e = encode_open(out.data(), out.size(), o.access_mode, o.dev_name.chars, o.dev_name.len);
  FUZZ_CHECK(e.is_ok() && e.value() == sizeof(OpenWire));
  FUZZ_CHECK(memcmp(out.data(), msg, 2) == 0 && out.data()[4] == msg[4]);
  FUZZ_CHECK(memcmp(out.data() + 6, msg + 6, o.dev_name.len + 1) == 0);
  auto again = decode_open(out.data(), out.size(), c.carrier);
  FUZZ_CHECK(again.is_ok() && again.value().access_mode == o.access_mode &&
             again.value().dev_name.len == o.dev_name.len);
}

void check_open_rsp(const u8* msg, usize size, const Ctx& c, kx::Result<MsgType>& type) {
  Exact in(msg, size);
  const u32 features = c.session.features;
  auto r = decode_open_rsp(in.data(), in.size(), features);
  FUZZ_CHECK(errno_in(r, {EBADMSG, EPROTO, ERANGE}));
  if (r.is_error()) return;
  FUZZ_CHECK(type.is_ok() && type.value() == MsgType::kOpenRsp);
  const OpenRsp o = r.value();
  FUZZ_CHECK(validate_open_rsp(o).is_ok());
  FUZZ_CHECK(o.logical_block_size >= kSectorSize &&
             (o.logical_block_size & (o.logical_block_size - 1)) == 0);
  FUZZ_CHECK(o.physical_block_size % o.logical_block_size == 0);
  FUZZ_CHECK(o.nsectors <= (~u64{0} >> kSectorShift));
  if (!(features & kFeatureWriteZeroes)) FUZZ_CHECK(o.max_write_zeroes_sectors == 0);
  auto h = on_prefix(msg, sizeof(OpenRspWire),
                     [&](const u8* b, usize n) { return decode_open_rsp(b, n, features); });
  FUZZ_CHECK(h.is_ok() && same(h.value(), o));

  Exact out(sizeof(OpenRspWire));
  auto e = encode_open_rsp(out.data(), out.size(), o, features);
  FUZZ_CHECK(e.is_ok() && e.value() == sizeof(OpenRspWire));
  auto again = decode_open_rsp(out.data(), out.size(), features);
  FUZZ_CHECK(again.is_ok() && same(again.value(), o));
}

void check_close(const u8* msg, usize size, const Ctx& c, kx::Result<MsgType>& type) {
  Exact in(msg, size);
  auto r = decode_close(in.data(), in.size(), c.carrier);
  FUZZ_CHECK(errno_in(r, {EBADMSG, EPROTO, EMSGSIZE}));
  if (r.is_error()) return;
  FUZZ_CHECK(type.is_ok() && type.value() == MsgType::kClose);
  FUZZ_CHECK(c.carrier.dir == TransferDir::kWrite && c.carrier.data_len == 0);
  auto h = on_prefix(msg, sizeof(CloseWire),
                     [&](const u8* b, usize n) { return decode_close(b, n, c.carrier); });
  FUZZ_CHECK(h.is_ok() && h.value().device_id == r.value().device_id);
  Exact out(sizeof(CloseWire));
  auto e = encode_close(out.data(), out.size(), r.value().device_id);
  FUZZ_CHECK(e.is_ok() && e.value() == sizeof(CloseWire));
  FUZZ_CHECK(memcmp(out.data(), msg, 2) == 0 && memcmp(out.data() + 4, msg + 4, 4) == 0);
  auto again = decode_close(out.data(), out.size(), c.carrier);
  FUZZ_CHECK(again.is_ok() && again.value().device_id == r.value().device_id);
}

void check_io(const u8* msg, usize size, const Ctx& c, kx::Result<MsgType>& type) {
  Exact in(msg, size);
  auto r = decode_io(in.data(), in.size(), c.carrier, c.session);
  FUZZ_CHECK(errno_in(r, {EBADMSG, EOPNOTSUPP, EPROTO, EINVAL, EMSGSIZE, ERANGE}));
  const usize min_size = c.session.version >= 2 ? sizeof(IoWire) : kIoWireSizeV1;
  if (size < min_size) FUZZ_CHECK(err(r) == -EBADMSG);
  if (r.is_error()) return;
  FUZZ_CHECK(type.is_ok() && type.value() == MsgType::kIo);
  const IoReq io = r.value();
  const u32 op = static_cast<u32>(io.op);
  FUZZ_CHECK(op <= static_cast<u32>(Op::kWriteSame) ||
             (io.op == Op::kWriteZeroes && (c.session.features & kFeatureWriteZeroes)));
  if (io.op != Op::kFlush) FUZZ_CHECK(c.carrier.dir == io_transfer_dir(io.op));
  FUZZ_CHECK(io.bi_size % kSectorSize == 0);
  FUZZ_CHECK((io.bi_size == 0) == (io.op == Op::kFlush));
  // A FLUSH has no range: its sector is whatever the client's flush request
  // held (rnbd-client 6.1 sends all ones) and is not checked.
  if (io.op != Op::kFlush)
    FUZZ_CHECK(io.sector <= (~u64{0} >> kSectorShift) - (io.bi_size >> kSectorShift));
  if (op_carries_data(io.op)) {
    if (io.op == Op::kWriteSame)
      FUZZ_CHECK(c.carrier.data_len != 0 && io.bi_size % c.carrier.data_len == 0);
    else
      FUZZ_CHECK(c.carrier.data_len == io.bi_size);
  } else {
    FUZZ_CHECK(c.carrier.data_len == 0);
  }
  FUZZ_CHECK(op_writes(io.op) == (io.op != Op::kRead));
  const bool strict = (c.session.features & kFeatureStrictFlush) != 0;
  FUZZ_CHECK(io_needs_preflush(io, c.session.features) ==
             (io.op == Op::kFlush || (io.flags & kFlagPreflush) != 0 ||
              (!strict && io.op != Op::kRead && (io.flags & kFlagFua) != 0)));
  if (c.session.version < 2) FUZZ_CHECK(io.prio == 0);
  FUZZ_CHECK((io.prio >> kIoprioClassShift) <= kIoprioMaxClass);
  auto h = on_prefix(msg, min_size, [&](const u8* b, usize n) {
    return decode_io(b, n, c.carrier, c.session);
  });
  FUZZ_CHECK(h.is_ok() && same(h.value(), io));

  Exact out(sizeof(IoWire));
  auto e = encode_io(out.data(), out.size(), io, c.session);
  FUZZ_CHECK(e.is_ok() && e.value() == sizeof(IoWire));
  FUZZ_CHECK(memcmp(out.data(), msg, 2) == 0 && memcmp(out.data() + 4, msg + 4, 20) == 0);
  if (c.session.version >= 2) FUZZ_CHECK(memcmp(out.data() + 24, msg + 24, 2) == 0);
  auto again = decode_io(out.data(), out.size(), c.carrier, c.session);
  FUZZ_CHECK(again.is_ok() && same(again.value(), io));
}


// ---------------------------------------------------------------------------
// Encoder direction: arguments read from the message bytes, output buffers of
// exactly the fuzzed capacity. Each encoder refuses exactly what a model of
// its rules refuses, and what it writes its decoder accepts with the same
// fields (on the carrier that message travels on).

void put_le64(u8* p, u64 v) {
  fuzz::put_le32(p, static_cast<u32>(v));
  fuzz::put_le32(p + 4, static_cast<u32>(v >> 32));
}

void check_encoders(const u8* msg, usize size, const Ctx& c) {
  Reader rd(msg, size);
  const u8 sel = rd.u8v();
  const usize small = rd.u8v();              // 0..255: around the small messages
  const usize cap = (sel & 1) ? small : 264 + (small & 7);  // OPEN is 264 bytes
  const u32 features = rd.le32();
  const u8 version = rd.u8v();

  {
    Exact out(cap);
    auto e = encode_sess_info(out.data(), cap, features);
    if (cap < sizeof(SessInfoWire)) {
      FUZZ_CHECK(err(e) == -EMSGSIZE);
    } else if ((features & ~kKnownFeatures) != 0) {
      FUZZ_CHECK(err(e) == -EINVAL);
    } else {
      FUZZ_CHECK(e.is_ok() && e.value() == sizeof(SessInfoWire));
      auto d = decode_sess_info(out.data(), e.value(), Carrier{TransferDir::kRead, 36});
      FUZZ_CHECK(d.is_ok() && d.value().version == kProtoVerMajor &&
                 d.value().features == features);
    }
  }
  {
    Exact out(cap);
    auto e = encode_sess_info_rsp(out.data(), cap, version, features);
    if (cap < sizeof(SessInfoRspWire)) {
      FUZZ_CHECK(err(e) == -EMSGSIZE);
    } else if (version == 0 || version > kProtoVerMajor || (features & ~kKnownFeatures) != 0) {
      FUZZ_CHECK(err(e) == -EINVAL);
    } else {
      FUZZ_CHECK(e.is_ok() && e.value() == sizeof(SessInfoRspWire));
      auto d = decode_sess_info_rsp(out.data(), e.value(), features);
      FUZZ_CHECK(d.is_ok() && d.value().version == version && d.value().features == features);
    }
  }
  {
    const u8 mode = rd.u8v() % 4;
    const usize name_len = rd.u8v() + (sel & 2 ? 1 : 0);  // 0..256
    const usize avail = kx::min(name_len, rd.rest_size());
    Exact name(rd.rest(), avail);
    Exact out(cap);
    auto e = encode_open(out.data(), cap, static_cast<AccessMode>(mode),
                         reinterpret_cast<const char*>(name.data()), avail);
    if (cap < sizeof(OpenWire)) {
      FUZZ_CHECK(err(e) == -EMSGSIZE);
    } else if (mode > 2 || avail == 0 || avail >= kDevNameFieldSize ||
               memchr(name.data(), 0, avail) != nullptr) {
      FUZZ_CHECK(err(e) == -EINVAL);
    } else {
      FUZZ_CHECK(e.is_ok() && e.value() == sizeof(OpenWire));
      auto d = decode_open(out.data(), e.value(), Carrier{TransferDir::kRead, 56});
      FUZZ_CHECK(d.is_ok() && static_cast<u8>(d.value().access_mode) == mode);
      FUZZ_CHECK(d.value().dev_name.len == avail &&
                 memcmp(d.value().dev_name.chars, name.data(), avail) == 0);
    }
  }
  {
    OpenRsp o{};
    o.device_id = rd.le32();
    o.nsectors = rd.le64();
    o.max_discard_sectors = rd.le32();
    o.physical_block_size = rd.le16();
    o.logical_block_size = rd.le16();
    o.cache_policy = rd.u8v();
    o.max_write_zeroes_sectors = (features & kFeatureWriteZeroes) ? rd.le32() : 0;
    Exact out(cap);
    auto e = encode_open_rsp(out.data(), cap, o, features);
    if (cap < sizeof(OpenRspWire)) {
      FUZZ_CHECK(err(e) == -EMSGSIZE);
    } else {
      FUZZ_CHECK(err(e) == err(validate_open_rsp(o)));
      if (e.is_ok()) {
        auto d = decode_open_rsp(out.data(), e.value(), features);
        FUZZ_CHECK(d.is_ok() && same(d.value(), o));
      }
    }
  }
  {
    const u32 id = rd.le32();
    Exact out(cap);
    auto e = encode_close(out.data(), cap, id);
    if (cap < sizeof(CloseWire)) {
      FUZZ_CHECK(err(e) == -EMSGSIZE);
    } else {
      FUZZ_CHECK(e.is_ok());
      auto d = decode_close(out.data(), e.value(), Carrier{TransferDir::kWrite, 0});
      FUZZ_CHECK(d.is_ok() && d.value().device_id == id);
    }
  }
  {
    IoReq io{};
    io.device_id = rd.le32();
    io.sector = rd.le64();
    const u32 rw = rd.le32();
    io.op = static_cast<Op>(rw & kOpMask);
    io.flags = rw & ~kOpMask;
    io.bi_size = rd.le32();
    io.prio = rd.le16();
    const Session s{static_cast<u8>(version | 2), c.session.features};  // encode_io writes v2
    // The carrier such a request travels on.
    const Carrier carrier{io_transfer_dir(io.op),
                          op_carries_data(io.op) ? io.bi_size : u32{0}};
    Exact out(cap);
    auto e = encode_io(out.data(), cap, io, s);
    // The same fields laid out by hand (independent of the encoder).
    u8 wire[sizeof(IoWire)] = {};
    fuzz::put_le16(wire, static_cast<u16>(MsgType::kIo));
    fuzz::put_le32(wire + 4, io.device_id);
    put_le64(wire + 8, io.sector);
    fuzz::put_le32(wire + 16, rw);
    fuzz::put_le32(wire + 20, io.bi_size);
    fuzz::put_le16(wire + 24, io.prio);
    auto d = decode_io(wire, sizeof(wire), carrier, s);
    if (cap < sizeof(IoWire)) {
      FUZZ_CHECK(err(e) == -EMSGSIZE);
    } else {
      FUZZ_CHECK(err(e) == err(d));
      if (e.is_ok()) {
        FUZZ_CHECK(e.value() == sizeof(IoWire) && memcmp(out.data(), wire, sizeof(wire)) == 0);
        FUZZ_CHECK(same(d.value(), io));
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const u8* data, usize size) {
  Reader rd(data, size);
  const u8 flags = rd.u8v();
  u32 data_len = rd.le32();
  if (flags & 2) data_len %= 4097;
  Ctx c{};
  c.carrier = Carrier{(flags & 1) ? TransferDir::kWrite : TransferDir::kRead, data_len};
  c.session.version = rd.u8v();
  c.session.features = rd.le32();
  c.offered = rd.le32();
  const u8* msg = rd.rest();
  const usize size_msg = rd.rest_size();

  Exact in(msg, size_msg);
  auto type = peek_msg_type(in.data(), in.size());
  FUZZ_CHECK(errno_in(type, {EBADMSG}));
  if (size_msg >= 4) {
    const u16 t = static_cast<u16>(msg[0] | (msg[1] << 8));
    FUZZ_CHECK(type.is_ok() == (t <= kLastMsgType));
    if (type.is_ok()) FUZZ_CHECK(static_cast<u16>(type.value()) == t);
  } else {
    FUZZ_CHECK(type.is_error());
  }
  check_sess_info(msg, size_msg, c, type);
  check_sess_info_rsp(msg, size_msg, c, type);
  check_open(msg, size_msg, c, type);
  check_open_rsp(msg, size_msg, c, type);
  check_close(msg, size_msg, c, type);
  check_io(msg, size_msg, c, type);
  check_encoders(msg, size_msg, c);
  return 0;
}
