// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: the 32-bit RDMA immediate (ibtrs/core/wire.h):
// ChunkGeometry::create and decode_io_req, decode_server_imm,
// decode_client_imm, and the immediate builders (io_req_imm,
// write_request_imm, read_request_imm, io_rsp_imm) over a fuzzed geometry.
//
// Input: [queue_depth le32][chunk_size le32][cid le32]
//        then records of [imm le32][x le32][y le32][z le32] ...
// Each imm is decoded as the server and as the client would on connection
// cid; x, y, z are arguments of the builders.
//
// Properties:
//  * create() accepts exactly what a model of the rules accepts (1..65535
//    chunks, power-of-two chunk >= 8 KiB, index bits summing to <= 28);
//  * every refusal has the errno its immediate type calls for (unknown type
//    EBADMSG, wrong side or heartbeat off con[0] or with payload EPROTO,
//    out-of-session IO_REQ / msg_id ERANGE), and an accepted IO_REQ lies in
//    the session: buf_id < queue_depth, offset < chunk_size, equal to a model
//    split of the payload;
//  * round trips: an accepted IO_REQ rebuilt with io_req_imm, an accepted
//    IO_RSP rebuilt with io_rsp_imm and a heartbeat are the same 32 bits;
//    imm_to_wire / imm_from_wire are inverse;
//  * builders: whatever io_req_imm / write_request_imm / read_request_imm /
//    io_rsp_imm build, the receiving side accepts with the same fields, and
//    write/read_request_imm refuse exactly when the chunk image (data, user
//    message, trailer, descriptor) would not fit the chunk.
#include "tests/fuzz/fuzz_common.h"

#include "ibtrs/core/wire.h"

namespace {

using namespace ibtrs::wire;
using fuzz::err;
using fuzz::errno_in;
using fuzz::Reader;

u32 index_bits_model(u64 n) {
  u32 bits = 0;
  while ((u64{1} << bits) < n) ++bits;
  return bits;
}

bool geometry_model_ok(u32 qd, u32 cs) {
  if (qd < 1 || qd > kMaxQueueDepth) return false;
  if (cs < kMinChunkSize || (cs & (cs - 1)) != 0) return false;
  return index_bits_model(qd) + index_bits_model(cs) <= kImmPayloadBits;
}

void check_server_imm(u32 imm, const ChunkGeometry& geo, u32 cid) {
  auto r = decode_server_imm(imm, geo, cid);
  const u32 type = imm >> 28, payload = imm & kImmPayloadMask;
  switch (type) {
    case 0: {
      const u32 mem_bits = kImmPayloadBits - index_bits_model(geo.queue_depth());
      const u32 buf_id = payload >> mem_bits, offset = payload & ((u32{1} << mem_bits) - 1);
      if (buf_id >= geo.queue_depth() || offset >= geo.chunk_size()) {
        FUZZ_CHECK(err(r) == -ERANGE);
        return;
      }
      FUZZ_CHECK(r.is_ok() && r.value().type == ImmType::kIoReq);
      FUZZ_CHECK(r.value().buf_id == buf_id && r.value().offset == offset);
      auto again = geo.io_req_imm(buf_id, offset);
      FUZZ_CHECK(again.is_ok() && again.value() == imm);
      auto d = geo.decode_io_req(payload);
      FUZZ_CHECK(d.is_ok() && d.value().buf_id == buf_id && d.value().offset == offset);
      return;
    }
    case 8:
    case 9:
      if (cid != 0 || payload != 0) {
        FUZZ_CHECK(err(r) == -EPROTO);
      } else {
        FUZZ_CHECK(r.is_ok() && static_cast<u32>(r.value().type) == type);
        FUZZ_CHECK(imm == (type == 8 ? kHbMsgImm : kHbAckImm));
      }
      return;
    case 1:
    case 2:
      FUZZ_CHECK(err(r) == -EPROTO);
      return;
    default:
      FUZZ_CHECK(err(r) == -EBADMSG);
      return;
  }
}

void check_client_imm(u32 imm, u32 qd, u32 cid) {
  auto r = decode_client_imm(imm, qd, cid);
  const u32 type = imm >> 28, payload = imm & kImmPayloadMask;
  switch (type) {
    case 1:
    case 2: {
      const u32 msg_id = payload & kIoRspMsgIdMask;
      if (msg_id >= qd) {
        FUZZ_CHECK(err(r) == -ERANGE);
        return;
      }
      FUZZ_CHECK(r.is_ok() && static_cast<u32>(r.value().type) == type);
      FUZZ_CHECK(r.value().msg_id == msg_id);
      FUZZ_CHECK(r.value().err == -static_cast<int>(payload >> kIoRspMsgIdBits));
      FUZZ_CHECK(r.value().err <= 0 && r.value().err >= -kIoRspMaxErrno);
      if (r.value().err != 0) FUZZ_CHECK(kx::Error(r.value().err).code() == r.value().err);
      auto again = io_rsp_imm(msg_id, r.value().err, type == 2);
      FUZZ_CHECK(again.is_ok() && again.value() == imm);
      return;
    }
    case 8:
    case 9:
      if (cid != 0 || payload != 0) {
        FUZZ_CHECK(err(r) == -EPROTO);
      } else {
        FUZZ_CHECK(r.is_ok() && static_cast<u32>(r.value().type) == type);
      }
      return;
    case 0:
      FUZZ_CHECK(err(r) == -EPROTO);
      return;
    default:
      FUZZ_CHECK(err(r) == -EBADMSG);
      return;
  }
}

void check_builders(const ChunkGeometry& geo, u32 x, u32 y, u32 z) {
  const u32 qd = geo.queue_depth(), cs = geo.chunk_size();
  // Reduce the raw values so that the interesting boundaries get hit often,
  // but keep the raw ones for the refusal paths.
  const u32 buf_id = (x & 0x80000000u) ? x : x % (qd + 1);
  const u32 offset = (y & 0x80000000u) ? y : y % (cs + 1);

  auto a = geo.io_req_imm(buf_id, offset);
  if (buf_id >= qd || offset >= cs) {
    FUZZ_CHECK(err(a) == -ERANGE);
  } else {
    FUZZ_CHECK(a.is_ok() && (a.value() >> 28) == 0);
    auto s = decode_server_imm(a.value(), geo, 0);
    FUZZ_CHECK(s.is_ok() && s.value().buf_id == buf_id && s.value().offset == offset);
  }

  const u32 data_len = (y & 0x40000000u) ? y : y % (cs + 1);
  const u32 usr_len = (z & 0x80000000u) ? z : z % (cs + 1);
  auto w = geo.write_request_imm(buf_id, data_len, usr_len);
  if (usr_len > 0xffff || u64{data_len} + usr_len + sizeof(RdmaWriteTrailerWire) > cs) {
    FUZZ_CHECK(err(w) == -EMSGSIZE);
  } else if (buf_id >= qd) {
    FUZZ_CHECK(err(w) == -ERANGE);
  } else {
    FUZZ_CHECK(w.is_ok());
    auto s = decode_server_imm(w.value(), geo, 1);
    FUZZ_CHECK(s.is_ok() && s.value().buf_id == buf_id && s.value().offset == data_len + usr_len);
  }

  const u16 sg_cnt = static_cast<u16>((z >> 16) % 3);
  auto rd = geo.read_request_imm(buf_id, data_len, usr_len, sg_cnt);
  const u64 end = u64{data_len} + usr_len + sizeof(RdmaReadTrailerWire) +
                  u64{sg_cnt} * sizeof(SgDescWire);
  if (sg_cnt > 1) {
    FUZZ_CHECK(err(rd) == -EINVAL);
  } else if (usr_len > 0xffff || end > cs) {
    FUZZ_CHECK(err(rd) == -EMSGSIZE);
  } else if (buf_id >= qd) {
    FUZZ_CHECK(err(rd) == -ERANGE);
  } else {
    FUZZ_CHECK(rd.is_ok());
    auto s = decode_server_imm(rd.value(), geo, 1);
    FUZZ_CHECK(s.is_ok() && s.value().buf_id == buf_id && s.value().offset == data_len + usr_len);
  }

  const int e = -static_cast<int>(z % 1024);  // 0 .. -1023: both sides of the 9-bit limit
  const u32 msg_id = (x & 0x40000000u) ? x : x % (kIoRspMsgIdMask + 2);
  auto rsp = io_rsp_imm(msg_id, e, (z & 1) != 0);
  if (msg_id > kIoRspMsgIdMask || e < -kIoRspMaxErrno) {
    FUZZ_CHECK(err(rsp) == -ERANGE);
  } else {
    FUZZ_CHECK(rsp.is_ok());
    auto c = decode_client_imm(rsp.value(), kIoRspMsgIdMask + 1, 0);
    FUZZ_CHECK(c.is_ok() && c.value().msg_id == msg_id && c.value().err == e);
    FUZZ_CHECK(c.value().type == ((z & 1) ? ImmType::kIoRspWithInval : ImmType::kIoRsp));
  }
  FUZZ_CHECK(err(io_rsp_imm(0, static_cast<int>(x | 1) & 0x7fffffff, false)) == -ERANGE);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const u8* data, usize size) {
  Reader rd(data, size);
  const u32 qd = rd.le32();
  const u32 cs = rd.le32();
  const u32 cid = rd.le32() % 8;  // con[0] matters; the rest are equivalent
  auto g = ChunkGeometry::create(qd, cs);
  FUZZ_CHECK(errno_in(g, {EINVAL, ERANGE}));
  FUZZ_CHECK(g.is_ok() == geometry_model_ok(qd, cs));
  while (rd.rest_size() > 0) {
    const u32 imm = rd.le32(), x = rd.le32(), y = rd.le32(), z = rd.le32();
    FUZZ_CHECK(imm_from_wire(imm_to_wire(imm)) == imm);
    check_client_imm(imm, qd, cid);
    if (g.is_ok()) {
      const ChunkGeometry& geo = g.value();
      FUZZ_CHECK(geo.mem_bits() + geo.chunk_bits() == kImmPayloadBits);
      check_server_imm(imm, geo, cid);
      check_builders(geo, x, y, z);
    }
  }
  return 0;
}
