// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: the RTRS INFO exchange on con[0] (ibtrs/core/wire.h):
// decode_info_req (server side) and validate_info_rsp / for_each_remote_chunk
// / decode_info_rsp (client side) against a fuzzed chunk geometry.
//
// Input: [queue_depth le16][chunk_shift u8][message ...]
//   geometry = ChunkGeometry::create(queue_depth, 1 << (chunk_shift % 32)),
//   which the client would have taken from the accept; the message is decoded
//   both as INFO_REQ and as INFO_RSP.
//
// Properties:
//  * refusals use the documented errnos; the geometry is refused exactly when
//    the model of the rules (1..65535 chunks, power of two >= 8 KiB, 28-bit
//    rule) says so;
//  * INFO_REQ: the name lies inside the 255-byte field of the input, is
//    NUL-terminated there, non-empty and without '/' or '.'; re-encoding the
//    name gives a message that decodes to the same name, byte-identical up to
//    the NUL; encoder direction: encode_info_req refuses exactly short
//    buffers (EMSGSIZE) and empty, over-long or NUL/'/'/'.'-containing names
//    (EINVAL), never writes past its capacity, and its output decodes to the
//    same name;
//  * INFO_RSP: validate, for_each_remote_chunk and decode_info_rsp agree;
//    the callback sees buf_id 0..queue_depth-1 exactly once in order, each
//    chunk [addr, addr + chunk_size) inside the descriptor it came from and
//    chunks never overlapping inside one descriptor; nothing is written or
//    called when the message is refused; the chunk array is untouched on
//    error (and EINVAL if it is too short); re-encoding the descriptors gives
//    the same bytes (header reserved bytes aside) and the same chunks.
#include "tests/fuzz/fuzz_common.h"

#include "ibtrs/core/wire.h"

namespace {

using namespace ibtrs::wire;
using fuzz::err;
using fuzz::errno_in;
using fuzz::Exact;
using fuzz::Reader;

constexpr u64 kSentinelAddr = 0xdeadbeefcafef00dull;
RemoteChunk g_chunks[kMaxQueueDepth + 1];
RemoteChunk g_chunks2[kMaxQueueDepth + 1];

u32 index_bits_model(u64 n) {
  u32 bits = 0;
  while ((u64{1} << bits) < n) ++bits;
  return bits;
}

void check_geometry(u32 qd, u32 chunk_size, const kx::Result<ChunkGeometry>& g) {
  const bool valid_qd = qd >= 1 && qd <= kMaxQueueDepth;
  const bool valid_cs = chunk_size >= kMinChunkSize && (chunk_size & (chunk_size - 1)) == 0;
  if (!valid_qd || !valid_cs) {
    FUZZ_CHECK(err(g) == -EINVAL);
  } else if (index_bits_model(qd) + index_bits_model(chunk_size) > kImmPayloadBits) {
    FUZZ_CHECK(err(g) == -ERANGE);
  } else {
    FUZZ_CHECK(g.is_ok());
    const ChunkGeometry& geo = g.value();
    FUZZ_CHECK(geo.queue_depth() == qd && geo.chunk_size() == chunk_size);
    FUZZ_CHECK(geo.chunk_bits() == index_bits_model(qd));
    FUZZ_CHECK(geo.total_size() == u64{qd} * chunk_size);
  }
}

void check_info_req(const u8* data, usize size) {
  Exact in(data, size);
  auto r = decode_info_req(in.data(), in.size());
  FUZZ_CHECK(errno_in(r, {EBADMSG, EINVAL}));
  if (size < sizeof(InfoReqWire)) FUZZ_CHECK(err(r) == -EBADMSG);
  if (r.is_error()) return;
  const PathName name = r.value().path_name;
  const u8* field = in.data() + 2;
  FUZZ_CHECK(name.len >= 1 && name.len < kPathNameFieldSize);
  FUZZ_CHECK(fuzz::inside(name.chars, name.len + 1, field, kPathNameFieldSize));
  FUZZ_CHECK(reinterpret_cast<const u8*>(name.chars) == field);
  FUZZ_CHECK(name.chars[name.len] == '\0');
  for (usize i = 0; i < name.len; ++i)
    FUZZ_CHECK(name.chars[i] != '\0' && name.chars[i] != '/' && name.chars[i] != '.');

  Exact out(sizeof(InfoReqWire));
  auto e = encode_info_req(out.data(), out.size(), name.chars, name.len);
  FUZZ_CHECK(e.is_ok() && e.value() == sizeof(InfoReqWire));
  FUZZ_CHECK(memcmp(out.data(), data, 2 + name.len + 1) == 0);
  auto again = decode_info_req(out.data(), out.size());
  FUZZ_CHECK(again.is_ok() && again.value().path_name.len == name.len);
  FUZZ_CHECK(memcmp(again.value().path_name.chars, name.chars, name.len) == 0);
}

// Encoder direction: a name of fuzzed length taken from the message bytes,
// into an exact-size buffer of fuzzed capacity.
void check_info_req_encoder(const u8* data, usize size, u8 sel) {
  Reader rd(data, size);
  const usize cap = (sel & 1) ? rd.u8v() : sizeof(InfoReqWire) + (sel >> 5);
  const usize want = rd.u8v() + ((sel & 2) ? 1 : 0);  // 0..256
  const usize n = kx::min(want, rd.rest_size());
  Exact name(rd.rest(), n);
  Exact out(cap);
  auto e = encode_info_req(out.data(), cap, reinterpret_cast<const char*>(name.data()), n);
  bool bad_char = false;
  for (usize i = 0; i < n; ++i)
    if (name.data()[i] == 0 || name.data()[i] == '/' || name.data()[i] == '.') bad_char = true;
  if (cap < sizeof(InfoReqWire)) {
    FUZZ_CHECK(err(e) == -EMSGSIZE);
  } else if (n == 0 || n >= kPathNameFieldSize || bad_char) {
    FUZZ_CHECK(err(e) == -EINVAL);
  } else {
    FUZZ_CHECK(e.is_ok() && e.value() == sizeof(InfoReqWire));
    auto d = decode_info_req(out.data(), e.value());
    FUZZ_CHECK(d.is_ok() && d.value().path_name.len == n &&
               memcmp(d.value().path_name.chars, name.data(), n) == 0);
  }
}

void check_info_rsp(const u8* data, usize size, const ChunkGeometry& geo) {
  Exact in(data, size);
  const u32 qd = geo.queue_depth();
  const u32 cs = geo.chunk_size();

  auto v = validate_info_rsp(in.data(), in.size(), geo);
  FUZZ_CHECK(errno_in(v, {EBADMSG, EPROTO, ERANGE}));
  if (size < sizeof(InfoRspHdrWire)) FUZZ_CHECK(err(v) == -EBADMSG);

  // The callback form, checked call by call against a model of the
  // expansion: descriptor i yields len_i / chunk_size chunks at addr_i,
  // addr_i + chunk_size, ... with key_i, continuing the buf_id sequence.
  const u8* descs = in.data() + sizeof(InfoRspHdrWire);
  const u16 hdr_sg_cnt = size >= 4 ? static_cast<u16>(data[2] | (data[3] << 8)) : 0;
  u32 calls = 0;
  u16 cur_desc = 0;
  u64 in_desc = 0;  // chunks already taken from descriptor cur_desc
  bool model_ok = true;
  auto f = for_each_remote_chunk(in.data(), in.size(), geo, [&](u32 buf_id, RemoteChunk c) {
    if (buf_id != calls++ || buf_id >= qd || cur_desc >= hdr_sg_cnt) {
      model_ok = false;
      return;
    }
    g_chunks2[buf_id] = c;
    SgDescWire d;
    memcpy(&d, descs + usize{cur_desc} * sizeof(SgDescWire), sizeof(d));
    if (c.addr != d.addr.get() + in_desc * cs || c.rkey != d.key.get()) model_ok = false;
    if (++in_desc * cs == d.len.get()) {
      ++cur_desc;
      in_desc = 0;
    }
  });
  FUZZ_CHECK(err(f) == err(v));
  if (v.is_error()) {
    FUZZ_CHECK(calls == 0);
  } else {
    const u16 sg_cnt = v.value();
    FUZZ_CHECK(sg_cnt >= 1 && qd % sg_cnt == 0);
    FUZZ_CHECK(size >= info_rsp_size(sg_cnt));
    FUZZ_CHECK(calls == qd && model_ok && cur_desc == sg_cnt && in_desc == 0);
  }

  // The array form: EINVAL if too short, untouched on error, else the same.
  for (u32 i = 0; i <= qd; ++i) g_chunks[i] = RemoteChunk{kSentinelAddr, 0};
  auto short_arr = decode_info_rsp(in.data(), in.size(), geo, g_chunks, qd - 1);
  FUZZ_CHECK(err(short_arr) == -EINVAL);
  auto a = decode_info_rsp(in.data(), in.size(), geo, g_chunks, qd);
  FUZZ_CHECK(err(a) == err(v));
  if (v.is_error()) {
    for (u32 i = 0; i <= qd; ++i) FUZZ_CHECK(g_chunks[i].addr == kSentinelAddr);
    return;
  }
  FUZZ_CHECK(g_chunks[qd].addr == kSentinelAddr);  // nothing past queue_depth
  for (u32 i = 0; i < qd; ++i)
    FUZZ_CHECK(g_chunks[i].addr == g_chunks2[i].addr && g_chunks[i].rkey == g_chunks2[i].rkey);

  // Round trip through the encoder.
  const u16 sg_cnt = v.value();
  static SgDesc sg[65535];
  for (u16 i = 0; i < sg_cnt; ++i) {
    SgDescWire d;
    memcpy(&d, descs + usize{i} * sizeof(SgDescWire), sizeof(d));
    sg[i] = SgDesc{d.addr.get(), d.key.get(), d.len.get()};
  }
  const usize n = info_rsp_size(sg_cnt);
  Exact out(n);
  auto e = encode_info_rsp(out.data(), out.size(), geo, sg, sg_cnt);
  FUZZ_CHECK(e.is_ok() && e.value() == n);
  FUZZ_CHECK(memcmp(out.data(), data, 4) == 0);
  FUZZ_CHECK(memcmp(out.data() + 8, data + 8, n - 8) == 0);
  for (usize i = 4; i < 8; ++i) FUZZ_CHECK(out.data()[i] == 0);  // reserved
  auto a2 = decode_info_rsp(out.data(), out.size(), geo, g_chunks2, qd);
  FUZZ_CHECK(a2.is_ok());
  for (u32 i = 0; i < qd; ++i)
    FUZZ_CHECK(g_chunks[i].addr == g_chunks2[i].addr && g_chunks[i].rkey == g_chunks2[i].rkey);
  // One byte short of the descriptors: refused, not over-read.
  auto cut = encode_info_rsp(out.data(), n - 1, geo, sg, sg_cnt);
  FUZZ_CHECK(err(cut) == -EMSGSIZE);
  Exact shorter(out.data(), n - 1);
  FUZZ_CHECK(err(validate_info_rsp(shorter.data(), shorter.size(), geo)) == -EBADMSG);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const u8* data, usize size) {
  Reader rd(data, size);
  const u32 qd = rd.le16();
  const u32 chunk_size = u32{1} << (rd.u8v() % 32);
  auto g = ChunkGeometry::create(qd, chunk_size);
  check_geometry(qd, chunk_size, g);
  check_info_req(rd.rest(), rd.rest_size());
  check_info_req_encoder(rd.rest(), rd.rest_size(), static_cast<u8>(chunk_size ^ qd));
  if (g.is_ok()) check_info_rsp(rd.rest(), rd.rest_size(), g.value());
  return 0;
}
