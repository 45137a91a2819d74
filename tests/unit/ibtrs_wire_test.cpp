// Unit tests for ibtrs/core/wire.h: golden bytes pin the RTRS 2.0 layout
// (hand-written from the upstream struct definitions), round trips, and one
// test per refusal rule with its exact errno.
#include <new>

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "ibtrs/core/wire.h"

namespace {

using namespace ibtrs::wire;
using kx::u16;
using kx::u32;
using kx::u64;
using kx::u8;
using kx::usize;

template <typename T> int errno_of(const kx::Result<T>& r) { return kx::to_errno(r); }

using Bytes = std::vector<u8>;

Uuid uuid_from(u8 first) {
  Uuid u{};
  for (int i = 0; i < 16; ++i) u.bytes[i] = static_cast<u8>(first + i);
  return u;
}

ConnReq sample_conn_req() {
  return ConnReq{kProtoVersion, 3, 9, 2, uuid_from(0x10), uuid_from(0x20), true};
}

ConnRsp sample_conn_rsp() { return ConnRsp{kProtoVersion, 512, 126976, 4096, kMsgFlagNewRkey}; }

ChunkGeometry geometry(u32 queue_depth, u32 chunk_size) {
  auto g = ChunkGeometry::create(queue_depth, chunk_size);
  EXPECT_TRUE(g.is_ok());
  return g.release_value();
}

void put_le16(Bytes& b, usize off, u16 v) {
  b[off] = static_cast<u8>(v);
  b[off + 1] = static_cast<u8>(v >> 8);
}

void put_le32(Bytes& b, usize off, u32 v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<u8>(v >> (8 * i));
}

void put_le64(Bytes& b, usize off, u64 v) {
  for (int i = 0; i < 8; ++i) b[off + i] = static_cast<u8>(v >> (8 * i));
}

// ---------------------------------------------------------------------------
// Endianness wrappers.

TEST(Endian, LeWrappersStoreLittleEndianBytes) {
  const auto v16 = kx::Le16::from_cpu(0x1BBD);
  const auto v32 = kx::Le32::from_cpu(0x11223344);
  const auto v64 = kx::Le64::from_cpu(0x0102030405060708ull);
  u8 b16[2], b32[4], b64[8];
  std::memcpy(b16, &v16, 2);
  std::memcpy(b32, &v32, 4);
  std::memcpy(b64, &v64, 8);
  EXPECT_EQ(Bytes(b16, b16 + 2), (Bytes{0xBD, 0x1B}));
  EXPECT_EQ(Bytes(b32, b32 + 4), (Bytes{0x44, 0x33, 0x22, 0x11}));
  EXPECT_EQ(Bytes(b64, b64 + 8), (Bytes{0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01}));
  EXPECT_EQ(v32.get(), 0x11223344u);
}

TEST(Endian, ImmediateTravelsBigEndian) {
  const u32 wire = imm_to_wire(0x00381020);
  u8 b[4];
  std::memcpy(b, &wire, 4);
  EXPECT_EQ(Bytes(b, b + 4), (Bytes{0x00, 0x38, 0x10, 0x20}));
  EXPECT_EQ(imm_from_wire(wire), 0x00381020u);
}

// ---------------------------------------------------------------------------
// Chunk geometry and the 28-bit rule.

TEST(ChunkGeometry, DefaultsGiveNineChunkBitsAndNineteenMemBits) {
  const auto g = geometry(512, 128 * 1024);
  EXPECT_EQ(g.chunk_bits(), 9u);
  EXPECT_EQ(g.mem_bits(), 19u);
  EXPECT_EQ(g.total_size(), 64ull << 20);
}

TEST(ChunkGeometry, QueueDepthOneUsesNoChunkBits) {
  const auto g = geometry(1, 8192);
  EXPECT_EQ(g.chunk_bits(), 0u);
  EXPECT_EQ(g.mem_bits(), 28u);
}

TEST(ChunkGeometry, ExactlyTwentyEightBitsIsAccepted) {
  const auto g = geometry(4096, 64 * 1024);  // 12 + 16
  EXPECT_EQ(g.mem_bits(), 16u);
}

TEST(ChunkGeometry, MoreThanTwentyEightBitsIsRefused) {
  EXPECT_EQ(errno_of(ChunkGeometry::create(4097, 64 * 1024)), -ERANGE);   // 13 + 16
  EXPECT_EQ(errno_of(ChunkGeometry::create(65535, 8192)), -ERANGE);       // 16 + 13
}

TEST(ChunkGeometry, QueueDepthOutOfRangeIsRefused) {
  EXPECT_EQ(errno_of(ChunkGeometry::create(0, 8192)), -EINVAL);
  EXPECT_EQ(errno_of(ChunkGeometry::create(65536, 8192)), -EINVAL);
}

TEST(ChunkGeometry, ChunkSizeMustBePowerOfTwoAndAtLeastMinimum) {
  EXPECT_EQ(errno_of(ChunkGeometry::create(8, 4096)), -EINVAL);
  EXPECT_EQ(errno_of(ChunkGeometry::create(8, 12288)), -EINVAL);
}

TEST(ChunkGeometry, IoReqImmRefusesBufIdOrOffsetOutsideTheSession) {
  const auto g = geometry(512, 128 * 1024);
  EXPECT_EQ(errno_of(g.io_req_imm(512, 0)), -ERANGE);
  EXPECT_EQ(errno_of(g.io_req_imm(0, 128 * 1024)), -ERANGE);
}

TEST(ChunkGeometry, DecodeIoReqRefusesBufIdBeyondQueueDepth) {
  const auto g = geometry(500, 128 * 1024);  // 9 chunk bits: ids 500..511 encodable
  EXPECT_EQ(errno_of(g.decode_io_req(510u << 19)), -ERANGE);
}

TEST(ChunkGeometry, DecodeIoReqRefusesOffsetBeyondChunk) {
  const auto g = geometry(512, 8192);  // mem_bits 19 > 13 offset bits
  EXPECT_EQ(errno_of(g.decode_io_req((3u << 19) | 8192)), -ERANGE);
}

TEST(ChunkGeometry, WriteRequestMustFitTheChunk) {
  const auto g = geometry(512, 8192);
  EXPECT_TRUE(g.write_request_imm(1, 8192 - 4 - 32, 32).is_ok());
  EXPECT_EQ(errno_of(g.write_request_imm(1, 8192 - 4 - 31, 32)), -EMSGSIZE);
  EXPECT_EQ(errno_of(g.write_request_imm(1, 0, 0x10000)), -EMSGSIZE);
}

TEST(ChunkGeometry, ReadRequestCountsItsDescriptor) {
  const auto g = geometry(512, 8192);
  EXPECT_TRUE(g.read_request_imm(1, 8192 - 24 - 32, 32, 1).is_ok());
  EXPECT_EQ(errno_of(g.read_request_imm(1, 8192 - 24 - 31, 32, 1)), -EMSGSIZE);
  EXPECT_EQ(errno_of(g.read_request_imm(1, 0, 32, 2)), -EINVAL);
}

// ---------------------------------------------------------------------------
// Immediates.

TEST(Imm, WorkedExampleWriteToPermitSeven) {
  const auto g = geometry(512, 128 * 1024);
  auto imm = g.write_request_imm(7, 4096, 32);
  ASSERT_TRUE(imm.is_ok());
  EXPECT_EQ(imm.value(), (7u << 19) | 4128u);
  EXPECT_EQ(imm.value(), 0x00381020u);
}

TEST(Imm, HeartbeatConstants) {
  EXPECT_EQ(kHbMsgImm, 0x80000000u);
  EXPECT_EQ(kHbAckImm, 0x90000000u);
}

TEST(Imm, IoRspGoldenValues) {
  EXPECT_EQ(io_rsp_imm(7, -EIO, false).value(), 0x10280007u);
  EXPECT_EQ(io_rsp_imm(7, -EIO, true).value(), 0x20280007u);
  EXPECT_EQ(io_rsp_imm(0x7ffff, 0, false).value(), 0x1007ffffu);
  EXPECT_EQ(io_rsp_imm(0, -511, false).value(), 0x1ff80000u);
}

TEST(Imm, IoRspRefusesErrnoThatDoesNotFitNineBits) {
  EXPECT_EQ(errno_of(io_rsp_imm(1, -512, false)), -ERANGE);
  EXPECT_EQ(errno_of(io_rsp_imm(1, -ENOTSUPP, false)), -ERANGE);
  EXPECT_EQ(errno_of(io_rsp_imm(1, 5, false)), -ERANGE);
}

TEST(Imm, IoRspRefusesMsgIdBeyondNineteenBits) {
  EXPECT_EQ(errno_of(io_rsp_imm(1u << 19, 0, false)), -ERANGE);
}

TEST(Imm, ServerDecodesIoReq) {
  const auto g = geometry(512, 128 * 1024);
  auto r = decode_server_imm(0x00381020, g, 3);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().type, ImmType::kIoReq);
  EXPECT_EQ(r.value().buf_id, 7u);
  EXPECT_EQ(r.value().offset, 4128u);
}

TEST(Imm, ServerAcceptsHeartbeatsOnConnectionZero) {
  const auto g = geometry(512, 128 * 1024);
  EXPECT_EQ(decode_server_imm(kHbMsgImm, g, 0).value().type, ImmType::kHbMsg);
  EXPECT_EQ(decode_server_imm(kHbAckImm, g, 0).value().type, ImmType::kHbAck);
}

TEST(Imm, ServerRefusesHeartbeatOnIoConnection) {
  const auto g = geometry(512, 128 * 1024);
  EXPECT_EQ(errno_of(decode_server_imm(kHbMsgImm, g, 1)), -EPROTO);
  EXPECT_EQ(errno_of(decode_server_imm(kHbAckImm, g, 2)), -EPROTO);
}

TEST(Imm, ServerRefusesHeartbeatWithPayload) {
  const auto g = geometry(512, 128 * 1024);
  EXPECT_EQ(errno_of(decode_server_imm(kHbMsgImm | 1, g, 0)), -EPROTO);
}

TEST(Imm, ServerRefusesResponseImmediates) {
  const auto g = geometry(512, 128 * 1024);
  EXPECT_EQ(errno_of(decode_server_imm(0x10000001, g, 1)), -EPROTO);
  EXPECT_EQ(errno_of(decode_server_imm(0x20000001, g, 1)), -EPROTO);
}

TEST(Imm, ServerRefusesUnknownType) {
  const auto g = geometry(512, 128 * 1024);
  EXPECT_EQ(errno_of(decode_server_imm(0x30000000, g, 1)), -EBADMSG);
  EXPECT_EQ(errno_of(decode_server_imm(0xF0000000, g, 0)), -EBADMSG);
}

TEST(Imm, ServerRefusesIoReqOutsideTheSession) {
  const auto g = geometry(500, 128 * 1024);
  EXPECT_EQ(errno_of(decode_server_imm(505u << 19, g, 1)), -ERANGE);
}

TEST(Imm, ClientDecodesResponses) {
  auto r = decode_client_imm(0x20280007, 512, 4);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().type, ImmType::kIoRspWithInval);
  EXPECT_EQ(r.value().msg_id, 7u);
  EXPECT_EQ(r.value().err, -EIO);
  auto ok = decode_client_imm(0x10000005, 512, 1);
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(ok.value().type, ImmType::kIoRsp);
  EXPECT_EQ(ok.value().err, 0);
}

TEST(Imm, ClientRefusesMsgIdBeyondQueueDepth) {
  EXPECT_EQ(errno_of(decode_client_imm(0x10000200, 512, 1)), -ERANGE);
}

TEST(Imm, ClientRefusesIoReq) {
  EXPECT_EQ(errno_of(decode_client_imm(0x00000001, 512, 1)), -EPROTO);
}

TEST(Imm, ClientRefusesHeartbeatOnIoConnectionOrWithPayload) {
  EXPECT_EQ(errno_of(decode_client_imm(kHbMsgImm, 512, 1)), -EPROTO);
  EXPECT_EQ(errno_of(decode_client_imm(kHbAckImm | 0x100, 512, 0)), -EPROTO);
  EXPECT_TRUE(decode_client_imm(kHbAckImm, 512, 0).is_ok());
}

TEST(Imm, ClientRefusesUnknownType) {
  EXPECT_EQ(errno_of(decode_client_imm(0x70000000, 512, 0)), -EBADMSG);
}

// ---------------------------------------------------------------------------
// CONN_REQ.

const Bytes kGoldenConnReq = {
    0x00, 0x00,              // cma_version, ip_version
    0xBD, 0x1B,              // magic
    0x00, 0x02,              // version 2.0
    0x03, 0x00,              // cid
    0x09, 0x00,              // cid_num
    0x02, 0x00,              // recon_cnt
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,  // sess_uuid
    0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F,
    0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,  // paths_uuid
    0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E, 0x2F,
    0x01,                    // first_conn
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // reserved
};

TEST(ConnReq, GoldenBytes) {
  u8 out[64];
  std::memset(out, 0xEE, sizeof(out));
  auto n = encode_conn_req(out, sizeof(out), sample_conn_req());
  ASSERT_TRUE(n.is_ok());
  ASSERT_EQ(n.value(), 56u);
  EXPECT_EQ(Bytes(out, out + 56), kGoldenConnReq);
  EXPECT_EQ(out[56], 0xEE);
}

TEST(ConnReq, DecodesGolden) {
  auto r = decode_conn_req(kGoldenConnReq.data(), kGoldenConnReq.size());
  ASSERT_TRUE(r.is_ok());
  const ConnReq& req = r.value();
  EXPECT_EQ(req.version, 0x0200);
  EXPECT_EQ(req.cid, 3);
  EXPECT_EQ(req.cid_num, 9);
  EXPECT_EQ(req.recon_cnt, 2);
  EXPECT_TRUE(req.sess_uuid == uuid_from(0x10));
  EXPECT_TRUE(req.paths_uuid == uuid_from(0x20));
  EXPECT_TRUE(req.first_conn);
}

TEST(ConnReq, CmaOwnedBytesAreIgnored) {
  Bytes b = kGoldenConnReq;
  b[0] = 0x40;
  b[1] = 0x60;
  EXPECT_TRUE(decode_conn_req(b.data(), b.size()).is_ok());
}

TEST(ConnReq, ShortBufferIsRefused) {
  EXPECT_EQ(errno_of(decode_conn_req(kGoldenConnReq.data(), 55)), -EBADMSG);
}

TEST(ConnReq, ZeroPaddedTruncatedPrivateDataIsRefused) {
  Bytes b(56, 0);
  std::memcpy(b.data(), kGoldenConnReq.data(), 20);  // the CM pads what is missing
  EXPECT_EQ(errno_of(decode_conn_req(b.data(), b.size())), -EPROTO);
  Bytes header_only(56, 0);
  std::memcpy(header_only.data(), kGoldenConnReq.data(), 6);
  EXPECT_EQ(errno_of(decode_conn_req(header_only.data(), header_only.size())), -ERANGE);
}

TEST(ConnReq, WrongMagicIsRefused) {
  Bytes b = kGoldenConnReq;
  b[2] = 0xBC;
  EXPECT_EQ(errno_of(decode_conn_req(b.data(), b.size())), -EPROTO);
}

TEST(ConnReq, OtherMajorVersionIsRefused) {
  Bytes b = kGoldenConnReq;
  b[5] = 0x03;
  EXPECT_EQ(errno_of(decode_conn_req(b.data(), b.size())), -EPROTONOSUPPORT);
  b[5] = 0x01;
  EXPECT_EQ(errno_of(decode_conn_req(b.data(), b.size())), -EPROTONOSUPPORT);
}

TEST(ConnReq, ZeroCidNumIsRefused) {
  Bytes b = kGoldenConnReq;
  put_le16(b, 6, 0);
  put_le16(b, 8, 0);
  EXPECT_EQ(errno_of(decode_conn_req(b.data(), b.size())), -ERANGE);
}

TEST(ConnReq, CidNumAboveBoundIsRefused) {
  Bytes b = kGoldenConnReq;
  put_le16(b, 8, 4097);
  EXPECT_EQ(errno_of(decode_conn_req(b.data(), b.size())), -ERANGE);
  put_le16(b, 8, 4096);
  EXPECT_TRUE(decode_conn_req(b.data(), b.size()).is_ok());
}

TEST(ConnReq, CidNotBelowCidNumIsRefused) {
  Bytes b = kGoldenConnReq;
  put_le16(b, 6, 9);
  EXPECT_EQ(errno_of(decode_conn_req(b.data(), b.size())), -ERANGE);
}

TEST(ConnReq, NilUuidsAreRefused) {
  Bytes b = kGoldenConnReq;
  std::memset(b.data() + 12, 0, 16);
  EXPECT_EQ(errno_of(decode_conn_req(b.data(), b.size())), -EPROTO);
  b = kGoldenConnReq;
  std::memset(b.data() + 28, 0, 16);
  EXPECT_EQ(errno_of(decode_conn_req(b.data(), b.size())), -EPROTO);
}

TEST(ConnReq, ReservedFlagBitsAreRefusedInMinorZero) {
  Bytes b = kGoldenConnReq;
  b[44] = 0x03;
  EXPECT_EQ(errno_of(decode_conn_req(b.data(), b.size())), -EPROTO);
}

TEST(ConnReq, ReservedBytesAreRefusedInMinorZero) {
  Bytes b = kGoldenConnReq;
  b[55] = 0x01;
  EXPECT_EQ(errno_of(decode_conn_req(b.data(), b.size())), -EPROTO);
}

TEST(ConnReq, ReservedBytesAreIgnoredInLaterMinor) {
  Bytes b = kGoldenConnReq;
  b[4] = 0x01;  // version 2.1
  b[44] = 0x81;
  b[50] = 0x7F;
  auto r = decode_conn_req(b.data(), b.size());
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().version, 0x0201);
  EXPECT_TRUE(r.value().first_conn);
}

TEST(ConnReq, EncoderRefusesWhatTheDecoderRefuses) {
  u8 out[56];
  ConnReq req = sample_conn_req();
  req.cid = 9;
  EXPECT_EQ(errno_of(encode_conn_req(out, sizeof(out), req)), -ERANGE);
  req = sample_conn_req();
  req.paths_uuid = Uuid{};
  EXPECT_EQ(errno_of(encode_conn_req(out, sizeof(out), req)), -EPROTO);
  EXPECT_EQ(errno_of(encode_conn_req(out, 55, sample_conn_req())), -EMSGSIZE);
}

// ---------------------------------------------------------------------------
// CONN_RSP and reject.

Bytes golden_conn_rsp() {
  Bytes b = {
      0xBD, 0x1B,              // magic
      0x00, 0x02,              // version 2.0
      0x00, 0x00,              // errno
      0x00, 0x02,              // queue_depth 512
      0x00, 0xF0, 0x01, 0x00,  // max_io_size 126976
      0x00, 0x10, 0x00, 0x00,  // max_hdr_size 4096
      0x02, 0x00, 0x00, 0x00,  // flags NEW_RKEY
  };
  b.resize(56, 0x00);  // reserved[36]
  return b;
}

TEST(ConnRsp, GoldenBytes) {
  u8 out[56];
  auto n = encode_conn_rsp(out, sizeof(out), sample_conn_rsp());
  ASSERT_TRUE(n.is_ok());
  EXPECT_EQ(n.value(), 56u);
  EXPECT_EQ(Bytes(out, out + 56), golden_conn_rsp());
}

TEST(ConnRsp, DecodesGoldenAndYieldsGeometry) {
  const Bytes b = golden_conn_rsp();
  auto r = decode_conn_rsp(b.data(), b.size());
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().queue_depth, 512);
  EXPECT_EQ(r.value().max_io_size, 126976u);
  EXPECT_EQ(r.value().max_hdr_size, 4096u);
  EXPECT_EQ(r.value().flags, kMsgFlagNewRkey);
  auto g = chunk_geometry(r.value());
  ASSERT_TRUE(g.is_ok());
  EXPECT_EQ(g.value().chunk_size(), 131072u);
  EXPECT_EQ(g.value().mem_bits(), 19u);
}

TEST(ConnRsp, ShortBufferIsRefused) {
  const Bytes b = golden_conn_rsp();
  EXPECT_EQ(errno_of(decode_conn_rsp(b.data(), 55)), -EBADMSG);
}

TEST(ConnRsp, WrongMagicIsRefused) {
  Bytes b = golden_conn_rsp();
  b[1] = 0x1C;
  EXPECT_EQ(errno_of(decode_conn_rsp(b.data(), b.size())), -EPROTO);
}

TEST(ConnRsp, OtherMajorVersionIsRefused) {
  Bytes b = golden_conn_rsp();
  b[3] = 0x01;
  EXPECT_EQ(errno_of(decode_conn_rsp(b.data(), b.size())), -EPROTONOSUPPORT);
}

TEST(ConnRsp, AcceptCarryingErrnoIsRefused) {
  Bytes b = golden_conn_rsp();
  put_le16(b, 4, static_cast<u16>(-EBUSY));
  EXPECT_EQ(errno_of(decode_conn_rsp(b.data(), b.size())), -EPROTO);
}

TEST(ConnRsp, UnknownFlagsAreRefused) {
  Bytes b = golden_conn_rsp();
  put_le32(b, 16, kMsgFlagNewRkey | 1);  // NEED_INVAL belongs to READ trailers
  EXPECT_EQ(errno_of(decode_conn_rsp(b.data(), b.size())), -EPROTO);
  put_le32(b, 16, 1u << 5);
  EXPECT_EQ(errno_of(decode_conn_rsp(b.data(), b.size())), -EPROTO);
}

TEST(ConnRsp, ZeroQueueDepthIsRefused) {
  Bytes b = golden_conn_rsp();
  put_le16(b, 6, 0);
  EXPECT_EQ(errno_of(decode_conn_rsp(b.data(), b.size())), -EINVAL);
}

TEST(ConnRsp, ZeroMaxIoSizeIsRefused) {
  Bytes b = golden_conn_rsp();
  put_le32(b, 8, 0);
  EXPECT_EQ(errno_of(decode_conn_rsp(b.data(), b.size())), -EPROTO);
}

TEST(ConnRsp, HeaderRoomTooSmallForAReadIsRefused) {
  Bytes b = golden_conn_rsp();
  put_le32(b, 8, 131072 - 16);
  put_le32(b, 12, 16);
  EXPECT_EQ(errno_of(decode_conn_rsp(b.data(), b.size())), -EPROTO);
}

TEST(ConnRsp, ChunkSizeNotPowerOfTwoIsRefused) {
  Bytes b = golden_conn_rsp();
  put_le32(b, 8, 100000);
  EXPECT_EQ(errno_of(decode_conn_rsp(b.data(), b.size())), -EINVAL);
}

TEST(ConnRsp, GeometryBreakingTheBitsRuleIsRefused) {
  Bytes b = golden_conn_rsp();
  put_le16(b, 6, 65535);
  put_le32(b, 8, 8192 - 4096);  // chunk 8192: 16 + 13 bits
  EXPECT_EQ(errno_of(decode_conn_rsp(b.data(), b.size())), -ERANGE);
}

TEST(ConnRsp, ChunkSizeOverflowIsRefused) {
  Bytes b = golden_conn_rsp();
  put_le32(b, 8, 0xFFFFF000);
  put_le32(b, 12, 0x2000);
  EXPECT_EQ(errno_of(decode_conn_rsp(b.data(), b.size())), -ERANGE);
}

TEST(ConnRsp, ReservedBytesAreRefusedInMinorZero) {
  Bytes b = golden_conn_rsp();
  b[40] = 0x01;
  EXPECT_EQ(errno_of(decode_conn_rsp(b.data(), b.size())), -EPROTO);
}

TEST(ConnRsp, RejectGoldenBytesCarryNegativeErrno) {
  u8 out[56];
  auto n = encode_conn_reject(out, sizeof(out), -EBUSY);
  ASSERT_TRUE(n.is_ok());
  Bytes expected = {0xBD, 0x1B, 0x00, 0x02, 0xF0, 0xFF};
  expected.resize(56, 0x00);
  EXPECT_EQ(Bytes(out, out + 56), expected);
  auto r = decode_conn_reject(out, sizeof(out));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().peer_errno, -EBUSY);
}

TEST(ConnRsp, RejectWithoutNegativeErrnoIsRefused) {
  Bytes b = golden_conn_rsp();  // errno 0
  EXPECT_EQ(errno_of(decode_conn_reject(b.data(), b.size())), -EPROTO);
  put_le16(b, 4, 5);
  EXPECT_EQ(errno_of(decode_conn_reject(b.data(), b.size())), -EPROTO);
  put_le16(b, 4, static_cast<u16>(-5000));
  EXPECT_EQ(errno_of(decode_conn_reject(b.data(), b.size())), -EPROTO);
}

TEST(ConnRsp, RejectWithBadMagicOrVersionIsRefused) {
  u8 out[56];
  ASSERT_TRUE(encode_conn_reject(out, sizeof(out), -ENXIO).is_ok());
  out[0] = 0;
  EXPECT_EQ(errno_of(decode_conn_reject(out, sizeof(out))), -EPROTO);
  ASSERT_TRUE(encode_conn_reject(out, sizeof(out), -ENXIO).is_ok());
  out[3] = 7;
  EXPECT_EQ(errno_of(decode_conn_reject(out, sizeof(out))), -EPROTONOSUPPORT);
  EXPECT_EQ(errno_of(decode_conn_reject(out, 40)), -EBADMSG);
}

TEST(ConnRsp, RejectEncoderNeedsNegativeErrno) {
  u8 out[56];
  EXPECT_EQ(errno_of(encode_conn_reject(out, sizeof(out), 0)), -EINVAL);
  EXPECT_EQ(errno_of(encode_conn_reject(out, sizeof(out), 16)), -EINVAL);
}

// ---------------------------------------------------------------------------
// INFO_REQ.

TEST(InfoReq, GoldenBytes) {
  u8 out[272];
  auto n = encode_info_req(out, sizeof(out), "sess1", 5);
  ASSERT_TRUE(n.is_ok());
  ASSERT_EQ(n.value(), 272u);
  Bytes expected = {0x00, 0x00, 's', 'e', 's', 's', '1'};
  expected.resize(272, 0x00);
  EXPECT_EQ(Bytes(out, out + 272), expected);
}

TEST(InfoReq, RoundTrip) {
  u8 out[272];
  ASSERT_TRUE(encode_info_req(out, sizeof(out), "client-a", 8).is_ok());
  auto r = decode_info_req(out, sizeof(out));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().path_name.len, 8u);
  EXPECT_STREQ(r.value().path_name.chars, "client-a");
}

TEST(InfoReq, LongestNameFits) {
  Bytes b(272, 0);
  std::memset(b.data() + 2, 'x', 254);
  auto r = decode_info_req(b.data(), b.size());
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().path_name.len, 254u);
}

TEST(InfoReq, NameWithoutNulInsideTheFieldIsRefused) {
  Bytes b(272, 0);
  std::memset(b.data() + 2, 'x', 255);
  EXPECT_EQ(errno_of(decode_info_req(b.data(), b.size())), -EINVAL);
}

TEST(InfoReq, EmptyNameIsRefused) {
  Bytes b(272, 0);
  EXPECT_EQ(errno_of(decode_info_req(b.data(), b.size())), -EINVAL);
}

TEST(InfoReq, SlashOrDotInNameIsRefused) {
  Bytes b(272, 0);
  std::memcpy(b.data() + 2, "a/b", 3);
  EXPECT_EQ(errno_of(decode_info_req(b.data(), b.size())), -EINVAL);
  std::memcpy(b.data() + 2, "a.b", 3);
  EXPECT_EQ(errno_of(decode_info_req(b.data(), b.size())), -EINVAL);
}

TEST(InfoReq, WrongTypeOrShortBufferIsRefused) {
  Bytes b(272, 0);
  b[2] = 'a';
  b[0] = 1;
  EXPECT_EQ(errno_of(decode_info_req(b.data(), b.size())), -EBADMSG);
  b[0] = 0;
  EXPECT_EQ(errno_of(decode_info_req(b.data(), 271)), -EBADMSG);
}

TEST(InfoReq, EncoderRefusesBadNames) {
  u8 out[272];
  char long_name[256];
  std::memset(long_name, 'n', sizeof(long_name));
  EXPECT_EQ(errno_of(encode_info_req(out, sizeof(out), long_name, 255)), -EINVAL);
  EXPECT_EQ(errno_of(encode_info_req(out, sizeof(out), "a\0b", 3)), -EINVAL);
  EXPECT_EQ(errno_of(encode_info_req(out, sizeof(out), "a.b", 3)), -EINVAL);
  EXPECT_EQ(errno_of(encode_info_req(out, sizeof(out), "", 0)), -EINVAL);
  EXPECT_EQ(errno_of(encode_info_req(out, 100, "a", 1)), -EMSGSIZE);
}

// ---------------------------------------------------------------------------
// INFO_RSP.

const Bytes kGoldenInfoRsp = {
    0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,  // type INFO_RSP, sg_cnt 2, reserved
    0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00,  // desc[0].addr 0x10000000
    0x11, 0x00, 0x00, 0x00,                          // desc[0].key
    0x00, 0x40, 0x00, 0x00,                          // desc[0].len 16384
    0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00,  // desc[1].addr 0x20000000
    0x22, 0x00, 0x00, 0x00,                          // desc[1].key
    0x00, 0x40, 0x00, 0x00,                          // desc[1].len 16384
};

TEST(InfoRsp, GoldenBytes) {
  const auto g = geometry(4, 8192);
  const SgDesc descs[2] = {{0x10000000, 0x11, 16384}, {0x20000000, 0x22, 16384}};
  u8 out[64];
  auto n = encode_info_rsp(out, sizeof(out), g, descs, 2);
  ASSERT_TRUE(n.is_ok());
  ASSERT_EQ(n.value(), 40u);
  EXPECT_EQ(Bytes(out, out + 40), kGoldenInfoRsp);
}

TEST(InfoRsp, ExpandsDescriptorsIntoChunks) {
  const auto g = geometry(4, 8192);
  RemoteChunk chunks[4] = {};
  ASSERT_TRUE(decode_info_rsp(kGoldenInfoRsp.data(), kGoldenInfoRsp.size(), g, chunks, 4).is_ok());
  EXPECT_EQ(chunks[0].addr, 0x10000000u);
  EXPECT_EQ(chunks[0].rkey, 0x11u);
  EXPECT_EQ(chunks[1].addr, 0x10002000u);
  EXPECT_EQ(chunks[1].rkey, 0x11u);
  EXPECT_EQ(chunks[2].addr, 0x20000000u);
  EXPECT_EQ(chunks[2].rkey, 0x22u);
  EXPECT_EQ(chunks[3].addr, 0x20002000u);
}

TEST(InfoRsp, CallbackSeesEveryChunkInOrder) {
  const auto g = geometry(4, 8192);
  std::vector<u32> ids;
  auto r = for_each_remote_chunk(kGoldenInfoRsp.data(), kGoldenInfoRsp.size(), g,
                                 [&](u32 buf_id, RemoteChunk) { ids.push_back(buf_id); });
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(ids, (std::vector<u32>{0, 1, 2, 3}));
}

TEST(InfoRsp, DefaultSessionWithOneDescriptor) {
  const auto g = geometry(512, 131072);
  const SgDesc desc{0x7f0000000000ull, 0xabc, 512u * 131072u};
  u8 out[24];
  ASSERT_TRUE(encode_info_rsp(out, sizeof(out), g, &desc, 1).is_ok());
  std::vector<RemoteChunk> chunks(512);
  ASSERT_TRUE(decode_info_rsp(out, sizeof(out), g, chunks.data(), chunks.size()).is_ok());
  EXPECT_EQ(chunks[511].addr, 0x7f0000000000ull + 511ull * 131072);
}

TEST(InfoRsp, ZeroSgCntIsRefused) {
  const auto g = geometry(4, 8192);
  Bytes b = kGoldenInfoRsp;
  put_le16(b, 2, 0);
  EXPECT_EQ(errno_of(validate_info_rsp(b.data(), b.size(), g)), -EPROTO);
}

TEST(InfoRsp, SgCntNotDividingQueueDepthIsRefused) {
  const auto g = geometry(4, 8192);
  Bytes b = kGoldenInfoRsp;
  put_le16(b, 2, 3);
  b.resize(8 + 3 * 16, 0);
  EXPECT_EQ(errno_of(validate_info_rsp(b.data(), b.size(), g)), -EPROTO);
}

TEST(InfoRsp, TruncatedDescriptorListIsRefused) {
  const auto g = geometry(4, 8192);
  EXPECT_EQ(errno_of(validate_info_rsp(kGoldenInfoRsp.data(), 39, g)), -EBADMSG);
  EXPECT_EQ(errno_of(validate_info_rsp(kGoldenInfoRsp.data(), 7, g)), -EBADMSG);
}

TEST(InfoRsp, WrongTypeIsRefused) {
  const auto g = geometry(4, 8192);
  Bytes b = kGoldenInfoRsp;
  b[0] = 0;
  EXPECT_EQ(errno_of(validate_info_rsp(b.data(), b.size(), g)), -EBADMSG);
}

TEST(InfoRsp, ZeroLengthDescriptorIsRefused) {
  const auto g = geometry(4, 8192);
  Bytes b = kGoldenInfoRsp;
  put_le32(b, 20, 0);
  EXPECT_EQ(errno_of(validate_info_rsp(b.data(), b.size(), g)), -EPROTO);
}

TEST(InfoRsp, DescriptorLengthNotWholeChunksIsRefused) {
  const auto g = geometry(4, 8192);
  Bytes b = kGoldenInfoRsp;
  put_le32(b, 20, 16384 - 4096);
  put_le32(b, 36, 16384 + 4096);  // total still 4 chunks
  EXPECT_EQ(errno_of(validate_info_rsp(b.data(), b.size(), g)), -EPROTO);
}

TEST(InfoRsp, TotalLengthMismatchIsRefused) {
  const auto g = geometry(4, 8192);
  Bytes b = kGoldenInfoRsp;
  put_le32(b, 36, 8192);  // 3 chunks
  EXPECT_EQ(errno_of(validate_info_rsp(b.data(), b.size(), g)), -EPROTO);
  put_le32(b, 36, 3 * 8192);  // 5 chunks
  EXPECT_EQ(errno_of(validate_info_rsp(b.data(), b.size(), g)), -EPROTO);
}

TEST(InfoRsp, WrappingAddressRangeIsRefused) {
  const auto g = geometry(4, 8192);
  Bytes b = kGoldenInfoRsp;
  put_le64(b, 8, ~u64{0} - 8192);
  EXPECT_EQ(errno_of(validate_info_rsp(b.data(), b.size(), g)), -ERANGE);
}

TEST(InfoRsp, OutputLeftUntouchedOnErrorAndMustHoldQueueDepth) {
  const auto g = geometry(4, 8192);
  Bytes b = kGoldenInfoRsp;
  put_le32(b, 36, 8192);
  RemoteChunk chunks[4];
  std::memset(chunks, 0x5A, sizeof(chunks));
  EXPECT_EQ(errno_of(decode_info_rsp(b.data(), b.size(), g, chunks, 4)), -EPROTO);
  for (const RemoteChunk& c : chunks) EXPECT_EQ(c.rkey, 0x5A5A5A5Au);
  EXPECT_EQ(errno_of(decode_info_rsp(kGoldenInfoRsp.data(), kGoldenInfoRsp.size(), g, chunks, 3)),
            -EINVAL);
}

// ---------------------------------------------------------------------------
// I/O requests in a chunk.

constexpr u32 kChunk = 128 * 1024;

// The worked example: 4 KiB write to permit 7 with a 32-byte user message.
TEST(IoRequest, WorkedExampleChunkLayout) {
  const auto g = geometry(512, kChunk);
  Bytes chunk(kChunk, 0);
  std::memset(chunk.data(), 0xAB, 4096);         // data[0..4096)
  std::memset(chunk.data() + 4096, 0xCD, 32);    // usr[4096..4128)
  auto n = encode_write_trailer(chunk.data() + 4128, chunk.size() - 4128, 32);
  ASSERT_TRUE(n.is_ok());
  EXPECT_EQ(n.value(), 4u);
  EXPECT_EQ(Bytes(chunk.begin() + 4128, chunk.begin() + 4132), (Bytes{0x02, 0x00, 0x20, 0x00}));

  const u32 imm = g.write_request_imm(7, 4096, 32).value();
  EXPECT_EQ(imm, (7u << 19) | 4128u);
  const ServerImm s = decode_server_imm(imm, g, 1).value();
  EXPECT_EQ(s.buf_id, 7u);
  auto r = decode_io_request(chunk.data(), chunk.size(), s.offset);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().type, MsgType::kWrite);
  EXPECT_EQ(r.value().data_len, 4096u);
  EXPECT_EQ(r.value().usr_offset, 4096u);
  EXPECT_EQ(r.value().usr_len, 32);
}

const Bytes kGoldenReadTrailer = {
    0x03, 0x00, 0x20, 0x00, 0x01, 0x00, 0x01, 0x00,  // type READ, usr_len 32, NEED_INVAL, sg_cnt 1
    0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,  // desc.addr
    0xDD, 0xCC, 0xBB, 0xAA,                          // desc.key
    0x00, 0x10, 0x00, 0x00,                          // desc.len 4096
};

TEST(IoRequest, ReadTrailerGoldenBytes) {
  const SgDesc desc{0x1122334455667788ull, 0xAABBCCDD, 4096};
  u8 out[24];
  auto n = encode_read_trailer(out, sizeof(out), 32, &desc, true);
  ASSERT_TRUE(n.is_ok());
  ASSERT_EQ(n.value(), 24u);
  EXPECT_EQ(Bytes(out, out + 24), kGoldenReadTrailer);
}

// A 4 KiB read: 4096 bytes reserved for the answer, usr at 4096, trailer at 4128.
Bytes read_chunk(const Bytes& trailer, u32 offset = 4128) {
  Bytes chunk(kChunk, 0);
  std::memcpy(chunk.data() + offset, trailer.data(), trailer.size());
  return chunk;
}

TEST(IoRequest, DecodesRead) {
  const Bytes chunk = read_chunk(kGoldenReadTrailer);
  auto r = decode_io_request(chunk.data(), chunk.size(), 4128);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().type, MsgType::kRead);
  EXPECT_EQ(r.value().data_len, 4096u);
  EXPECT_EQ(r.value().usr_len, 32);
  EXPECT_TRUE(r.value().need_inval);
  EXPECT_TRUE(r.value().has_desc);
  EXPECT_EQ(r.value().desc.addr, 0x1122334455667788ull);
  EXPECT_EQ(r.value().desc.key, 0xAABBCCDDu);
  EXPECT_EQ(r.value().desc.len, 4096u);
}

TEST(IoRequest, ReadWithoutDescriptorAndWithoutDataIsAccepted) {
  u8 trailer[8];
  ASSERT_TRUE(encode_read_trailer(trailer, sizeof(trailer), 32, nullptr, false).is_ok());
  const Bytes chunk = read_chunk(Bytes(trailer, trailer + 8), 32);
  auto r = decode_io_request(chunk.data(), chunk.size(), 32);
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE(r.value().has_desc);
  EXPECT_EQ(r.value().data_len, 0u);
}

TEST(IoRequest, TrailerPastChunkEndIsRefused) {
  Bytes chunk(kChunk, 0);
  EXPECT_EQ(errno_of(decode_io_request(chunk.data(), chunk.size(), kChunk - 2)), -EMSGSIZE);
  EXPECT_EQ(errno_of(decode_io_request(chunk.data(), chunk.size(), kChunk + 8)), -EMSGSIZE);
}

TEST(IoRequest, ReadTrailerPastChunkEndIsRefused) {
  Bytes chunk(kChunk, 0);
  chunk[kChunk - 4] = 0x03;  // READ type, but only 4 bytes of trailer fit
  EXPECT_EQ(errno_of(decode_io_request(chunk.data(), chunk.size(), kChunk - 4)), -EMSGSIZE);
}

TEST(IoRequest, ReadDescriptorPastChunkEndIsRefused) {
  Bytes t = kGoldenReadTrailer;
  t.resize(8);
  put_le16(t, 2, 0);
  Bytes chunk = read_chunk(t, kChunk - 8);
  EXPECT_EQ(errno_of(decode_io_request(chunk.data(), chunk.size(), kChunk - 8)), -EMSGSIZE);
}

TEST(IoRequest, WriteUsrLenBeyondOffsetIsRefused) {
  Bytes chunk(kChunk, 0);
  u8 trailer[4];
  ASSERT_TRUE(encode_write_trailer(trailer, sizeof(trailer), 64).is_ok());
  std::memcpy(chunk.data() + 32, trailer, 4);
  EXPECT_EQ(errno_of(decode_io_request(chunk.data(), chunk.size(), 32)), -EMSGSIZE);
}

TEST(IoRequest, ReadUsrLenBeyondOffsetIsRefused) {
  Bytes t = kGoldenReadTrailer;
  put_le16(t, 2, 4129);
  const Bytes chunk = read_chunk(t);
  EXPECT_EQ(errno_of(decode_io_request(chunk.data(), chunk.size(), 4128)), -EMSGSIZE);
}

TEST(IoRequest, ReadSgCntAboveOneIsRefused) {
  Bytes t = kGoldenReadTrailer;
  put_le16(t, 6, 2);
  const Bytes chunk = read_chunk(t);
  EXPECT_EQ(errno_of(decode_io_request(chunk.data(), chunk.size(), 4128)), -EPROTO);
}

TEST(IoRequest, ReadUnknownFlagsAreRefused) {
  Bytes t = kGoldenReadTrailer;
  put_le16(t, 4, kMsgFlagNeedInval | 0x4);
  const Bytes chunk = read_chunk(t);
  EXPECT_EQ(errno_of(decode_io_request(chunk.data(), chunk.size(), 4128)), -EPROTO);
}

TEST(IoRequest, NeedInvalWithoutDescriptorIsRefused) {
  Bytes t = kGoldenReadTrailer;
  put_le16(t, 6, 0);
  const Bytes chunk = read_chunk(t);
  EXPECT_EQ(errno_of(decode_io_request(chunk.data(), chunk.size(), 4128)), -EPROTO);
}

TEST(IoRequest, ZeroLengthDescriptorIsRefused) {
  Bytes t = kGoldenReadTrailer;
  put_le32(t, 20, 0);
  const Bytes chunk = read_chunk(t);
  EXPECT_EQ(errno_of(decode_io_request(chunk.data(), chunk.size(), 4128)), -EPROTO);
}

TEST(IoRequest, DescriptorLongerThanDataAreaIsRefused) {
  Bytes t = kGoldenReadTrailer;
  put_le32(t, 20, kChunk);  // "give me the whole chunk": stale data of earlier requests
  const Bytes chunk = read_chunk(t);
  EXPECT_EQ(errno_of(decode_io_request(chunk.data(), chunk.size(), 4128)), -EMSGSIZE);
  put_le32(t, 20, 4097);
  const Bytes chunk2 = read_chunk(t);
  EXPECT_EQ(errno_of(decode_io_request(chunk2.data(), chunk2.size(), 4128)), -EMSGSIZE);
}

TEST(IoRequest, ReadWithoutDescriptorReservingDataIsRefused) {
  Bytes t = kGoldenReadTrailer;
  t.resize(8);
  put_le16(t, 4, 0);
  put_le16(t, 6, 0);
  const Bytes chunk = read_chunk(t);  // data_len 4096 with nowhere to send it
  EXPECT_EQ(errno_of(decode_io_request(chunk.data(), chunk.size(), 4128)), -EMSGSIZE);
}

TEST(IoRequest, WrappingDescriptorIsRefused) {
  Bytes t = kGoldenReadTrailer;
  put_le64(t, 8, ~u64{0} - 100);
  const Bytes chunk = read_chunk(t);
  EXPECT_EQ(errno_of(decode_io_request(chunk.data(), chunk.size(), 4128)), -ERANGE);
}

TEST(IoRequest, UnknownTrailerTypeIsRefused) {
  Bytes chunk(kChunk, 0);
  put_le16(chunk, 100, static_cast<u16>(MsgType::kRkeyRsp));
  EXPECT_EQ(errno_of(decode_io_request(chunk.data(), chunk.size(), 100)), -EBADMSG);
  put_le16(chunk, 100, static_cast<u16>(MsgType::kInfoReq));
  EXPECT_EQ(errno_of(decode_io_request(chunk.data(), chunk.size(), 100)), -EBADMSG);
}

TEST(IoRequest, ReadTrailerEncoderRefusesInconsistentArguments) {
  u8 out[24];
  const SgDesc empty{0x1000, 1, 0};
  EXPECT_EQ(errno_of(encode_read_trailer(out, sizeof(out), 0, nullptr, true)), -EINVAL);
  EXPECT_EQ(errno_of(encode_read_trailer(out, sizeof(out), 0, &empty, false)), -EINVAL);
  const SgDesc desc{0x1000, 1, 4096};
  EXPECT_EQ(errno_of(encode_read_trailer(out, 23, 0, &desc, false)), -EMSGSIZE);
}

// ---------------------------------------------------------------------------
// RKEY_RSP.

TEST(RkeyRsp, GoldenBytesAndRoundTrip) {
  u8 out[8];
  ASSERT_TRUE(encode_rkey_rsp(out, sizeof(out), RkeyRsp{7, 0x01020304}).is_ok());
  EXPECT_EQ(Bytes(out, out + 8), (Bytes{0x04, 0x00, 0x07, 0x00, 0x04, 0x03, 0x02, 0x01}));
  auto r = decode_rkey_rsp(out, sizeof(out), 512);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().buf_id, 7);
  EXPECT_EQ(r.value().rkey, 0x01020304u);
}

TEST(RkeyRsp, BufIdBeyondQueueDepthIsRefused) {
  u8 out[8];
  ASSERT_TRUE(encode_rkey_rsp(out, sizeof(out), RkeyRsp{512, 1}).is_ok());
  EXPECT_EQ(errno_of(decode_rkey_rsp(out, sizeof(out), 512)), -ERANGE);
}

TEST(RkeyRsp, OnlyTheAnswerOfItsOwnChunkMayCarryIt) {
  const RkeyRsp rsp{7, 0x1234};
  EXPECT_TRUE(check_rkey_rsp(rsp, ClientImm{ImmType::kIoRsp, 7, 0}).is_ok());
  EXPECT_TRUE(check_rkey_rsp(rsp, ClientImm{ImmType::kIoRspWithInval, 7, -EIO}).is_ok());
  EXPECT_EQ(errno_of(check_rkey_rsp(rsp, ClientImm{ImmType::kIoRsp, 8, 0})), -EPROTO);
  EXPECT_EQ(errno_of(check_rkey_rsp(rsp, ClientImm{ImmType::kHbMsg, 7, 0})), -EPROTO);
  EXPECT_EQ(errno_of(check_rkey_rsp(rsp, ClientImm{ImmType::kHbAck, 0, 0})), -EPROTO);
}

TEST(RkeyRsp, WrongTypeOrShortBufferIsRefused) {
  u8 out[8];
  ASSERT_TRUE(encode_rkey_rsp(out, sizeof(out), RkeyRsp{1, 1}).is_ok());
  EXPECT_EQ(errno_of(decode_rkey_rsp(out, 7, 512)), -EBADMSG);
  out[0] = 3;
  EXPECT_EQ(errno_of(decode_rkey_rsp(out, sizeof(out), 512)), -EBADMSG);
}

}  // namespace
