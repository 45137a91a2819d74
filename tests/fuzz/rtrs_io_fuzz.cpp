// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: what the server finds in a chunk after an IO_REQ
// (ibtrs/core/wire.h decode_io_request: the READ/WRITE trailers and the READ
// descriptor), and the RKEY_RSP message (decode_rkey_rsp).
//
// Input: [offset le32][queue_depth le16][chunk ...]
//   The chunk is the rest of the input (an exact-size heap copy, so that any
//   read past the chunk is an ASan report). The offset is used raw and also
//   reduced into [0, chunk_len + 16] so that both the far-out and the
//   near-the-end cases are exercised. The chunk bytes are also decoded as an
//   RKEY_RSP for a session of queue_depth chunks.
//
// Properties:
//  * refusals use the documented errnos;
//  * an accepted request lies inside the chunk: the trailer (and READ
//    descriptor) between offset and chunk_len, usr message [data_len, offset)
//    with data_len = offset - usr_len; a READ descriptor is non-empty, not
//    longer than the data area and does not wrap; a READ without descriptor
//    reserves no data; NEED_INVAL only with a descriptor;
//  * re-encoding the trailer (encode_write_trailer / encode_read_trailer) at
//    the same offset reproduces the input bytes exactly and decodes to the
//    same request; bytes after the trailer never change the answer;
//  * the client could have produced it: write_request_imm /
//    read_request_imm for a chunk that holds it yield an IO_REQ immediate
//    whose offset is this offset;
//  * encoder direction: encode_write_trailer / encode_read_trailer with
//    arguments read from the chunk bytes refuse exactly what their rules
//    refuse, never write past the capacity, and the trailer placed after
//    data_len + usr_len bytes decodes as the rules predict for those values;
//  * RKEY_RSP: buf_id < queue_depth, re-encoding gives the same 8 bytes.
#include "tests/fuzz/fuzz_common.h"

#include "ibtrs/core/wire.h"

namespace {

using namespace ibtrs::wire;
using fuzz::err;
using fuzz::errno_in;
using fuzz::Exact;
using fuzz::Reader;

bool same(const IoRequest& a, const IoRequest& b) {
  return a.type == b.type && a.data_len == b.data_len && a.usr_offset == b.usr_offset &&
         a.usr_len == b.usr_len && a.need_inval == b.need_inval && a.has_desc == b.has_desc &&
         (!a.has_desc ||
          (a.desc.addr == b.desc.addr && a.desc.key == b.desc.key && a.desc.len == b.desc.len));
}

u32 pow2_at_least(u64 n) {
  u64 p = kMinChunkSize;
  while (p < n) p <<= 1;
  return static_cast<u32>(p);
}

void check_io_request(const u8* chunk_bytes, usize chunk_len, u32 offset) {
  Exact chunk(chunk_bytes, chunk_len);
  auto r = decode_io_request(chunk.data(), chunk.size(), offset);
  FUZZ_CHECK(errno_in(r, {EMSGSIZE, EPROTO, ERANGE, EBADMSG}));
  if (offset > chunk_len || chunk_len - offset < sizeof(RdmaWriteTrailerWire)) {
    FUZZ_CHECK(err(r) == -EMSGSIZE);
    return;
  }
  if (r.is_error()) return;
  const IoRequest req = r.value();
  FUZZ_CHECK(req.type == MsgType::kWrite || req.type == MsgType::kRead);
  FUZZ_CHECK(req.usr_len <= offset && req.data_len == offset - req.usr_len);
  FUZZ_CHECK(req.usr_offset == req.data_len);

  usize trailer = 0;
  Exact out(chunk_bytes, chunk_len);  // the same chunk, trailer re-encoded below
  if (req.type == MsgType::kWrite) {
    trailer = sizeof(RdmaWriteTrailerWire);
    FUZZ_CHECK(!req.need_inval && !req.has_desc);
    auto e = encode_write_trailer(out.data() + offset, chunk_len - offset, req.usr_len);
    FUZZ_CHECK(e.is_ok() && e.value() == trailer);
  } else {
    trailer = sizeof(RdmaReadTrailerWire) + (req.has_desc ? sizeof(SgDescWire) : 0);
    if (req.need_inval) FUZZ_CHECK(req.has_desc);
    if (req.has_desc) {
      FUZZ_CHECK(req.desc.len != 0 && req.desc.len <= req.data_len);
      FUZZ_CHECK(req.desc.addr + (req.desc.len - 1) >= req.desc.addr);
    } else {
      FUZZ_CHECK(req.data_len == 0);
    }
    auto e = encode_read_trailer(out.data() + offset, chunk_len - offset, req.usr_len,
                                 req.has_desc ? &req.desc : nullptr, req.need_inval);
    FUZZ_CHECK(e.is_ok() && e.value() == trailer);
  }
  FUZZ_CHECK(chunk_len - offset >= trailer);
  FUZZ_CHECK(memcmp(out.data(), chunk_bytes, chunk_len) == 0);
  auto again = decode_io_request(out.data(), out.size(), offset);
  FUZZ_CHECK(again.is_ok() && same(again.value(), req));

  // Bytes after the trailer are not part of the request.
  Exact cut(chunk_bytes, offset + trailer);
  auto c = decode_io_request(cut.data(), cut.size(), offset);
  FUZZ_CHECK(c.is_ok() && same(c.value(), req));

  // The client side can address exactly this trailer in a chunk that holds it.
  auto geo = ChunkGeometry::create(1, pow2_at_least(chunk_len));
  FUZZ_CHECK(geo.is_ok());
  auto imm = req.type == MsgType::kWrite
                 ? geo.value().write_request_imm(0, req.data_len, req.usr_len)
                 : geo.value().read_request_imm(0, req.data_len, req.usr_len, req.has_desc ? 1 : 0);
  FUZZ_CHECK(imm.is_ok());
  auto s = decode_server_imm(imm.value(), geo.value(), 1);
  FUZZ_CHECK(s.is_ok() && s.value().buf_id == 0 && s.value().offset == offset);
}

// Encoder direction: trailer arguments read from the chunk bytes, written
// into an exact-size buffer of fuzzed capacity, then placed after data_len +
// usr_len bytes of a chunk: the decoder's answer must follow the documented
// rules for exactly those values.
void check_trailer_encoders(const u8* data, usize size) {
  Reader rd(data, size);
  const u8 sel = rd.u8v();
  const usize cap = rd.u8v() % 40;
  const u16 usr_len = rd.le16() % 1024;
  const u32 data_len = rd.le16() % 2048;
  SgDesc desc{rd.le64(), rd.le32(), rd.le32()};
  if (sel & 4) desc.len %= data_len + 2;  // near the data area's size
  const bool with_desc = sel & 1, inval = sel & 2;
  const usize want = sizeof(RdmaReadTrailerWire) + (with_desc ? sizeof(SgDescWire) : 0);

  Exact wt(cap);
  auto w = encode_write_trailer(wt.data(), cap, usr_len);
  Exact rt(cap);
  auto r = encode_read_trailer(rt.data(), cap, usr_len, with_desc ? &desc : nullptr, inval);
  if (cap < sizeof(RdmaWriteTrailerWire)) {
    FUZZ_CHECK(err(w) == -EMSGSIZE);
  } else {
    FUZZ_CHECK(w.is_ok() && w.value() == sizeof(RdmaWriteTrailerWire));
  }
  if (cap < want) {
    FUZZ_CHECK(err(r) == -EMSGSIZE);
  } else if ((inval && !with_desc) || (with_desc && desc.len == 0)) {
    FUZZ_CHECK(err(r) == -EINVAL);
  } else {
    FUZZ_CHECK(r.is_ok() && r.value() == want);
  }

  const u32 offset = data_len + usr_len;
  if (w.is_ok()) {
    Exact chunk(offset + w.value());
    memcpy(chunk.data() + offset, wt.data(), w.value());
    auto d = decode_io_request(chunk.data(), chunk.size(), offset);
    FUZZ_CHECK(d.is_ok() && d.value().type == MsgType::kWrite);
    FUZZ_CHECK(d.value().usr_len == usr_len && d.value().data_len == data_len);
  }
  if (r.is_ok()) {
    Exact chunk(offset + r.value());
    memcpy(chunk.data() + offset, rt.data(), r.value());
    auto d = decode_io_request(chunk.data(), chunk.size(), offset);
    if (!with_desc) {
      // A READ without descriptor may not reserve data.
      FUZZ_CHECK(data_len == 0 ? d.is_ok() : err(d) == -EMSGSIZE);
    } else if (desc.len > data_len) {
      FUZZ_CHECK(err(d) == -EMSGSIZE);
    } else if (desc.addr + (desc.len - 1) < desc.addr) {
      FUZZ_CHECK(err(d) == -ERANGE);
    } else {
      FUZZ_CHECK(d.is_ok());
    }
    if (d.is_ok()) {
      FUZZ_CHECK(d.value().type == MsgType::kRead && d.value().usr_len == usr_len &&
                 d.value().data_len == data_len && d.value().has_desc == with_desc &&
                 d.value().need_inval == inval);
      if (with_desc)
        FUZZ_CHECK(d.value().desc.addr == desc.addr && d.value().desc.key == desc.key &&
                   d.value().desc.len == desc.len);
    }
  }
}

void check_rkey_rsp(const u8* data, usize size, u32 qd) {
  Exact in(data, size);
  auto r = decode_rkey_rsp(in.data(), in.size(), qd);
  FUZZ_CHECK(errno_in(r, {EBADMSG, ERANGE}));
  if (size < sizeof(RkeyRspWire)) FUZZ_CHECK(err(r) == -EBADMSG);
  if (r.is_error()) return;
  FUZZ_CHECK(r.value().buf_id < qd);
  Exact out(sizeof(RkeyRspWire));
  auto e = encode_rkey_rsp(out.data(), out.size(), r.value());
  FUZZ_CHECK(e.is_ok() && e.value() == sizeof(RkeyRspWire));
  FUZZ_CHECK(memcmp(out.data(), data, sizeof(RkeyRspWire)) == 0);
  auto again = decode_rkey_rsp(out.data(), out.size(), qd);
  FUZZ_CHECK(again.is_ok() && again.value().buf_id == r.value().buf_id &&
             again.value().rkey == r.value().rkey);
  Exact small(sizeof(RkeyRspWire) - 1);
  FUZZ_CHECK(err(encode_rkey_rsp(small.data(), small.size(), r.value())) == -EMSGSIZE);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const u8* data, usize size) {
  Reader rd(data, size);
  const u32 raw_offset = rd.le32();
  const u32 qd = rd.le16();
  const u8* chunk = rd.rest();
  const usize chunk_len = rd.rest_size();
  const u32 near = static_cast<u32>(raw_offset % (chunk_len + 17));
  check_io_request(chunk, chunk_len, near);
  if (raw_offset != near) check_io_request(chunk, chunk_len, raw_offset);
  check_rkey_rsp(chunk, chunk_len, qd);
  check_trailer_encoders(chunk, chunk_len);
  return 0;
}
