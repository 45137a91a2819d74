// Unit tests for ibnbd/core/proto.h: golden bytes pin the RNBD 2.0 layout
// (hand-written from the upstream struct definitions), round trips, the
// feature extension's compatibility with 2.0 peers, and one test per refusal
// rule with its exact errno.
#include <new>

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "ibnbd/core/proto.h"

namespace {

using namespace ibnbd::proto;
using kx::u16;
using kx::u32;
using kx::u64;
using kx::u8;
using kx::usize;

template <typename T> int errno_of(const kx::Result<T>& r) { return kx::to_errno(r); }

using Bytes = std::vector<u8>;

constexpr Session kPlainSession{2, 0};
constexpr Session kWriteZeroesSession{2, kFeatureWriteZeroes};

constexpr Carrier read_carrier(u32 data_len) { return Carrier{TransferDir::kRead, data_len}; }
constexpr Carrier write_carrier(u32 data_len) { return Carrier{TransferDir::kWrite, data_len}; }

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
// Message header.

TEST(MsgType, PeekKnowsAllTypes) {
  const u8 close[4] = {0x05, 0x00, 0x00, 0x00};
  EXPECT_EQ(peek_msg_type(close, 4).value(), MsgType::kClose);
}

TEST(MsgType, UnknownTypeIsRefused) {
  const u8 msg[4] = {0x06, 0x00, 0x00, 0x00};
  EXPECT_EQ(errno_of(peek_msg_type(msg, 4)), -EBADMSG);
  const u8 high[4] = {0x00, 0x01, 0x00, 0x00};
  EXPECT_EQ(errno_of(peek_msg_type(high, 4)), -EBADMSG);
}

TEST(MsgType, ShortHeaderIsRefused) {
  const u8 msg[4] = {0x04, 0x00, 0x00, 0x00};
  EXPECT_EQ(errno_of(peek_msg_type(msg, 3)), -EBADMSG);
}

// ---------------------------------------------------------------------------
// SESS_INFO / SESS_INFO_RSP.

Bytes upstream_sess_info() {
  Bytes b = {0x00, 0x00, 0x00, 0x00, 0x02};  // type SESS_INFO, padding, ver 2
  b.resize(36, 0x00);
  return b;
}

TEST(SessInfo, WithoutFeaturesIsByteIdenticalToUpstream) {
  u8 out[36];
  auto n = encode_sess_info(out, sizeof(out), 0);
  ASSERT_TRUE(n.is_ok());
  ASSERT_EQ(n.value(), 36u);
  EXPECT_EQ(Bytes(out, out + 36), upstream_sess_info());
}

TEST(SessInfo, FeatureExtensionGoldenBytes) {
  u8 out[36];
  ASSERT_TRUE(encode_sess_info(out, sizeof(out), kFeatureWriteZeroes | kFeatureStrictFlush).is_ok());
  Bytes expected = {
      0x00, 0x00, 0x00, 0x00,  // hdr
      0x02, 0x00, 0x00, 0x00,  // ver, reserved
      0x31, 0x46, 0x58, 0x4B,  // ext_magic
      0x03, 0x00, 0x00, 0x00,  // features
      0xFC, 0xFF, 0xFF, 0xFF,  // ~features
  };
  expected.resize(36, 0x00);
  EXPECT_EQ(Bytes(out, out + 36), expected);
}

TEST(SessInfo, ServerDecodesOfferedFeatures) {
  u8 out[36];
  ASSERT_TRUE(encode_sess_info(out, sizeof(out), kFeatureStrictFlush).is_ok());
  auto r = decode_sess_info(out, sizeof(out), read_carrier(36));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().version, 2);
  EXPECT_EQ(r.value().features, kFeatureStrictFlush);
}

TEST(SessInfo, UpstreamClientOffersNothing) {
  const Bytes b = upstream_sess_info();
  auto r = decode_sess_info(b.data(), b.size(), read_carrier(36));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().features, 0u);
}

TEST(SessInfo, UninitialisedReservedBytesEnableNothing) {
  Bytes b = upstream_sess_info();
  std::memset(b.data() + 5, 0xFE, 31);  // CONFIG_INIT_STACK_ALL_PATTERN fill
  b[2] = 0xFE;
  auto r = decode_sess_info(b.data(), b.size(), read_carrier(36));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().features, 0u);
}

TEST(SessInfo, MagicWithoutMatchingCheckEnablesNothing) {
  u8 out[36];
  ASSERT_TRUE(encode_sess_info(out, sizeof(out), kFeatureWriteZeroes).is_ok());
  out[16] ^= 0x01;
  auto r = decode_sess_info(out, sizeof(out), read_carrier(36));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().features, 0u);
}

TEST(SessInfo, VersionZeroIsRefused) {
  Bytes b = upstream_sess_info();
  b[4] = 0;
  EXPECT_EQ(errno_of(decode_sess_info(b.data(), b.size(), read_carrier(36))), -EPROTO);
}

TEST(SessInfo, ShortOrMistypedMessageIsRefused) {
  Bytes b = upstream_sess_info();
  EXPECT_EQ(errno_of(decode_sess_info(b.data(), 35, read_carrier(36))), -EBADMSG);
  b[0] = 0x02;
  EXPECT_EQ(errno_of(decode_sess_info(b.data(), b.size(), read_carrier(36))), -EBADMSG);
}

TEST(SessInfo, MustRideAnRtrsReadWithRoomForTheAnswer) {
  const Bytes b = upstream_sess_info();
  EXPECT_EQ(errno_of(decode_sess_info(b.data(), b.size(), write_carrier(36))), -EPROTO);
  EXPECT_EQ(errno_of(decode_sess_info(b.data(), b.size(), read_carrier(35))), -EMSGSIZE);
}

TEST(SessInfo, EncoderRefusesUnknownFeatures) {
  u8 out[36];
  EXPECT_EQ(errno_of(encode_sess_info(out, sizeof(out), 1u << 7)), -EINVAL);
  EXPECT_EQ(errno_of(encode_sess_info(out, 35, 0)), -EMSGSIZE);
}

TEST(SessInfoRsp, UpstreamServerAnswerGrantsNothing) {
  Bytes b = {0x01, 0x00, 0x00, 0x00, 0x02};  // what rnbd-srv memsets and fills
  b.resize(36, 0x00);
  u8 out[36];
  ASSERT_TRUE(encode_sess_info_rsp(out, sizeof(out), 2, 0).is_ok());
  EXPECT_EQ(Bytes(out, out + 36), b);
  auto r = decode_sess_info_rsp(b.data(), b.size(), kKnownFeatures);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().version, 2);
  EXPECT_EQ(r.value().features, 0u);
}

TEST(SessInfoRsp, NegotiationRoundTrip) {
  const u32 offered = kFeatureWriteZeroes | kFeatureStrictFlush | (1u << 9);
  const u32 granted = negotiate_features(offered, kFeatureWriteZeroes);
  EXPECT_EQ(granted, kFeatureWriteZeroes);
  EXPECT_EQ(negotiate_version(7), 2);
  EXPECT_EQ(negotiate_version(1), 1);
  u8 out[36];
  ASSERT_TRUE(encode_sess_info_rsp(out, sizeof(out), negotiate_version(2), granted).is_ok());
  auto r = decode_sess_info_rsp(out, sizeof(out), kFeatureWriteZeroes | kFeatureStrictFlush);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().features, kFeatureWriteZeroes);
}

TEST(SessInfoRsp, GrantOfUnofferedFeatureIsRefused) {
  u8 out[36];
  ASSERT_TRUE(encode_sess_info_rsp(out, sizeof(out), 2, kFeatureStrictFlush).is_ok());
  EXPECT_EQ(errno_of(decode_sess_info_rsp(out, sizeof(out), kFeatureWriteZeroes)), -EPROTO);
}

TEST(SessInfoRsp, VersionZeroOrAboveOursIsRefused) {
  Bytes b = {0x01, 0x00, 0x00, 0x00, 0x03};
  b.resize(36, 0x00);
  EXPECT_EQ(errno_of(decode_sess_info_rsp(b.data(), b.size(), 0)), -EPROTO);
  b[4] = 0;
  EXPECT_EQ(errno_of(decode_sess_info_rsp(b.data(), b.size(), 0)), -EPROTO);
}

TEST(SessInfoRsp, ShortOrMistypedMessageIsRefused) {
  Bytes b = {0x01, 0x00, 0x00, 0x00, 0x02};
  b.resize(36, 0x00);
  EXPECT_EQ(errno_of(decode_sess_info_rsp(b.data(), 20, 0)), -EBADMSG);
  b[0] = 0x00;
  EXPECT_EQ(errno_of(decode_sess_info_rsp(b.data(), b.size(), 0)), -EBADMSG);
}

TEST(SessInfoRsp, EncoderRefusesBadArguments) {
  u8 out[36];
  EXPECT_EQ(errno_of(encode_sess_info_rsp(out, sizeof(out), 0, 0)), -EINVAL);
  EXPECT_EQ(errno_of(encode_sess_info_rsp(out, sizeof(out), 3, 0)), -EINVAL);
  EXPECT_EQ(errno_of(encode_sess_info_rsp(out, sizeof(out), 2, 1u << 30)), -EINVAL);
}

// ---------------------------------------------------------------------------
// OPEN.

Bytes golden_open() {
  Bytes b = {0x02, 0x00, 0x00, 0x00,            // type OPEN, padding
             0x01, 0x00,                        // access_mode rw, resv1
             'n',  'u',  'l',  'l', 'b', '0'};  // dev_name
  b.resize(264, 0x00);
  return b;
}

TEST(Open, GoldenBytes) {
  u8 out[264];
  auto n = encode_open(out, sizeof(out), AccessMode::kRw, "nullb0", 6);
  ASSERT_TRUE(n.is_ok());
  ASSERT_EQ(n.value(), 264u);
  EXPECT_EQ(Bytes(out, out + 264), golden_open());
}

TEST(Open, DecodesGolden) {
  const Bytes b = golden_open();
  auto r = decode_open(b.data(), b.size(), read_carrier(56));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().access_mode, AccessMode::kRw);
  EXPECT_EQ(r.value().dev_name.len, 6u);
  EXPECT_STREQ(r.value().dev_name.chars, "nullb0");
}

TEST(Open, GarbageAfterTheNameAndInReservedIsIgnored) {
  Bytes b = golden_open();
  std::memset(b.data() + 13, 0xFE, 264 - 13);
  b[5] = 0xFE;
  b[2] = 0xFE;
  auto r = decode_open(b.data(), b.size(), read_carrier(56));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().dev_name.len, 6u);
}

TEST(Open, LongestNameFits) {
  Bytes b = golden_open();
  std::memset(b.data() + 6, 'd', 254);
  b[6 + 254] = 0;
  auto r = decode_open(b.data(), b.size(), read_carrier(56));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().dev_name.len, 254u);
}

TEST(Open, NameFillingTheFieldWithoutNulIsRefused) {
  Bytes b = golden_open();
  std::memset(b.data() + 6, 'd', 255);
  std::memset(b.data() + 261, 0, 3);  // a NUL right after the field must not count
  EXPECT_EQ(errno_of(decode_open(b.data(), b.size(), read_carrier(56))), -EINVAL);
}

TEST(Open, EmptyNameIsRefused) {
  Bytes b = golden_open();
  std::memset(b.data() + 6, 0, 255);
  EXPECT_EQ(errno_of(decode_open(b.data(), b.size(), read_carrier(56))), -EINVAL);
}

TEST(Open, AccessModeOutOfRangeIsRefused) {
  Bytes b = golden_open();
  b[4] = 3;
  EXPECT_EQ(errno_of(decode_open(b.data(), b.size(), read_carrier(56))), -EINVAL);
  b[4] = 2;
  EXPECT_EQ(decode_open(b.data(), b.size(), read_carrier(56)).value().access_mode,
            AccessMode::kMigration);
}

TEST(Open, ShortOrMistypedMessageIsRefused) {
  Bytes b = golden_open();
  EXPECT_EQ(errno_of(decode_open(b.data(), 263, read_carrier(56))), -EBADMSG);
  b[0] = 0x03;
  EXPECT_EQ(errno_of(decode_open(b.data(), b.size(), read_carrier(56))), -EBADMSG);
}

TEST(Open, MustRideAnRtrsReadWithRoomForTheAnswer) {
  const Bytes b = golden_open();
  EXPECT_EQ(errno_of(decode_open(b.data(), b.size(), write_carrier(56))), -EPROTO);
  EXPECT_EQ(errno_of(decode_open(b.data(), b.size(), read_carrier(36))), -EMSGSIZE);
}

TEST(Open, EncoderRefusesBadArguments) {
  u8 out[264];
  char long_name[255];
  std::memset(long_name, 'd', sizeof(long_name));
  EXPECT_EQ(errno_of(encode_open(out, sizeof(out), AccessMode::kRo, long_name, 255)), -EINVAL);
  EXPECT_EQ(errno_of(encode_open(out, sizeof(out), AccessMode::kRo, "", 0)), -EINVAL);
  EXPECT_EQ(errno_of(encode_open(out, sizeof(out), AccessMode::kRo, "a\0b", 3)), -EINVAL);
  EXPECT_EQ(errno_of(encode_open(out, sizeof(out), static_cast<AccessMode>(3), "a", 1)), -EINVAL);
  EXPECT_EQ(errno_of(encode_open(out, 263, AccessMode::kRo, "a", 1)), -EMSGSIZE);
}

// ---------------------------------------------------------------------------
// OPEN_RSP.

OpenRsp sample_open_rsp() {
  OpenRsp r{};
  r.device_id = 7;
  r.nsectors = 0x200000;  // 1 GiB
  r.max_hw_sectors = 256;
  r.max_discard_sectors = 0x1000;
  r.discard_granularity = 4096;
  r.physical_block_size = 4096;
  r.logical_block_size = 512;
  r.max_segments = 128;
  r.cache_policy = kCacheFua | kCacheWriteback;
  r.max_write_zeroes_sectors = 0x800;
  return r;
}

Bytes golden_open_rsp() {
  Bytes b = {
      0x03, 0x00, 0x00, 0x00,                          // type OPEN_RSP, padding
      0x07, 0x00, 0x00, 0x00,                          // device_id
      0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00,  // nsectors
      0x00, 0x01, 0x00, 0x00,                          // max_hw_sectors
      0x00, 0x00, 0x00, 0x00,                          // max_write_same_sectors
      0x00, 0x10, 0x00, 0x00,                          // max_discard_sectors
      0x00, 0x10, 0x00, 0x00,                          // discard_granularity
      0x00, 0x00, 0x00, 0x00,                          // discard_alignment
      0x00, 0x10,                                      // physical_block_size
      0x00, 0x02,                                      // logical_block_size
      0x80, 0x00,                                      // max_segments
      0x00, 0x00,                                      // secure_discard
      0x00,                                            // obsolete_rotational
      0x03,                                            // cache_policy
  };
  b.resize(56, 0x00);  // reserved[10]
  return b;
}

TEST(OpenRsp, GoldenBytesWithoutExtension) {
  u8 out[56];
  auto n = encode_open_rsp(out, sizeof(out), sample_open_rsp(), 0);
  ASSERT_TRUE(n.is_ok());
  ASSERT_EQ(n.value(), 56u);
  EXPECT_EQ(Bytes(out, out + 56), golden_open_rsp());
}

TEST(OpenRsp, WriteZeroesLimitTravelsInReservedWhenGranted) {
  u8 out[56];
  ASSERT_TRUE(encode_open_rsp(out, sizeof(out), sample_open_rsp(), kFeatureWriteZeroes).is_ok());
  Bytes expected = golden_open_rsp();
  put_le32(expected, 48, 0x800);
  EXPECT_EQ(Bytes(out, out + 56), expected);
  EXPECT_EQ(decode_open_rsp(out, sizeof(out), kFeatureWriteZeroes).value().max_write_zeroes_sectors,
            0x800u);
  EXPECT_EQ(decode_open_rsp(out, sizeof(out), 0).value().max_write_zeroes_sectors, 0u);
}

TEST(OpenRsp, DecodesGolden) {
  const Bytes b = golden_open_rsp();
  auto r = decode_open_rsp(b.data(), b.size(), 0);
  ASSERT_TRUE(r.is_ok());
  const OpenRsp& rsp = r.value();
  EXPECT_EQ(rsp.device_id, 7u);
  EXPECT_EQ(rsp.nsectors, 0x200000u);
  EXPECT_EQ(rsp.max_hw_sectors, 256u);
  EXPECT_EQ(rsp.max_discard_sectors, 0x1000u);
  EXPECT_EQ(rsp.discard_granularity, 4096u);
  EXPECT_EQ(rsp.physical_block_size, 4096);
  EXPECT_EQ(rsp.logical_block_size, 512);
  EXPECT_EQ(rsp.max_segments, 128);
  EXPECT_EQ(rsp.cache_policy, kCacheFua | kCacheWriteback);
}

TEST(OpenRsp, ZeroLogicalBlockSizeIsRefused) {
  Bytes b = golden_open_rsp();
  put_le16(b, 38, 0);
  EXPECT_EQ(errno_of(decode_open_rsp(b.data(), b.size(), 0)), -EPROTO);
}

TEST(OpenRsp, LogicalBlockSizeNotPowerOfTwoOrBelowSectorIsRefused) {
  Bytes b = golden_open_rsp();
  put_le16(b, 38, 1000);
  EXPECT_EQ(errno_of(decode_open_rsp(b.data(), b.size(), 0)), -EPROTO);
  put_le16(b, 38, 256);
  EXPECT_EQ(errno_of(decode_open_rsp(b.data(), b.size(), 0)), -EPROTO);
}

TEST(OpenRsp, PhysicalBlockSizeNotMultipleOfLogicalIsRefused) {
  Bytes b = golden_open_rsp();
  put_le16(b, 36, 256);
  EXPECT_EQ(errno_of(decode_open_rsp(b.data(), b.size(), 0)), -EPROTO);
  put_le16(b, 38, 4096);
  put_le16(b, 36, 6144);
  EXPECT_EQ(errno_of(decode_open_rsp(b.data(), b.size(), 0)), -EPROTO);
}

TEST(OpenRsp, UnknownCachePolicyBitsAreRefused) {
  Bytes b = golden_open_rsp();
  b[45] = 0x04;
  EXPECT_EQ(errno_of(decode_open_rsp(b.data(), b.size(), 0)), -EPROTO);
}

TEST(OpenRsp, CapacityOverflowingByteAddressesIsRefused) {
  Bytes b = golden_open_rsp();
  put_le64(b, 8, 1ull << 55);
  EXPECT_EQ(errno_of(decode_open_rsp(b.data(), b.size(), 0)), -ERANGE);
}

TEST(OpenRsp, ShortOrMistypedMessageIsRefused) {
  Bytes b = golden_open_rsp();
  EXPECT_EQ(errno_of(decode_open_rsp(b.data(), 55, 0)), -EBADMSG);
  b[0] = 0x02;
  EXPECT_EQ(errno_of(decode_open_rsp(b.data(), b.size(), 0)), -EBADMSG);
}

TEST(OpenRsp, EncoderRefusesWhatTheDecoderRefuses) {
  u8 out[56];
  OpenRsp rsp = sample_open_rsp();
  rsp.logical_block_size = 0;
  EXPECT_EQ(errno_of(encode_open_rsp(out, sizeof(out), rsp, 0)), -EPROTO);
  EXPECT_EQ(errno_of(encode_open_rsp(out, 55, sample_open_rsp(), 0)), -EMSGSIZE);
}

// ---------------------------------------------------------------------------
// CLOSE.

TEST(Close, GoldenBytesAndRoundTrip) {
  u8 out[8];
  auto n = encode_close(out, sizeof(out), 7);
  ASSERT_TRUE(n.is_ok());
  EXPECT_EQ(Bytes(out, out + 8), (Bytes{0x05, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00}));
  EXPECT_EQ(decode_close(out, sizeof(out), write_carrier(0)).value().device_id, 7u);
}

TEST(Close, MustRideAnRtrsWriteWithoutData) {
  u8 out[8];
  ASSERT_TRUE(encode_close(out, sizeof(out), 7).is_ok());
  EXPECT_EQ(errno_of(decode_close(out, sizeof(out), read_carrier(0))), -EPROTO);
  EXPECT_EQ(errno_of(decode_close(out, sizeof(out), write_carrier(512))), -EMSGSIZE);
}

TEST(Close, ShortOrMistypedMessageIsRefused) {
  u8 out[8];
  ASSERT_TRUE(encode_close(out, sizeof(out), 7).is_ok());
  EXPECT_EQ(errno_of(decode_close(out, 7, write_carrier(0))), -EBADMSG);
  out[0] = 0x04;
  EXPECT_EQ(errno_of(decode_close(out, sizeof(out), write_carrier(0))), -EBADMSG);
}

// ---------------------------------------------------------------------------
// IO.

const Bytes kGoldenIo = {
    0x04, 0x00, 0x00, 0x00,                          // type IO, padding
    0x07, 0x00, 0x00, 0x00,                          // device_id
    0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // sector 0x1000
    0x01, 0x03, 0x00, 0x00,                          // rw WRITE | SYNC | FUA
    0x00, 0x10, 0x00, 0x00,                          // bi_size 4096
    0x04, 0x40,                                      // prio BE level 4
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00,              // padding
};

IoReq sample_write() { return IoReq{7, 0x1000, Op::kWrite, kFlagSync | kFlagFua, 4096, 0x4004}; }

TEST(Io, GoldenBytes) {
  u8 out[32];
  auto n = encode_io(out, sizeof(out), sample_write(), kPlainSession);
  ASSERT_TRUE(n.is_ok());
  ASSERT_EQ(n.value(), 32u);
  EXPECT_EQ(Bytes(out, out + 32), kGoldenIo);
}

TEST(Io, DecodesGolden) {
  auto r = decode_io(kGoldenIo.data(), kGoldenIo.size(), write_carrier(4096), kPlainSession);
  ASSERT_TRUE(r.is_ok());
  const IoReq& io = r.value();
  EXPECT_EQ(io.device_id, 7u);
  EXPECT_EQ(io.sector, 0x1000u);
  EXPECT_EQ(io.op, Op::kWrite);
  EXPECT_EQ(io.flags, kFlagSync | kFlagFua);
  EXPECT_EQ(io.bi_size, 4096u);
  EXPECT_EQ(io.prio, 0x4004);
}

Bytes io_bytes(u32 rw, u32 bi_size, u64 sector = 0x1000) {
  Bytes b = kGoldenIo;
  put_le32(b, 16, rw);
  put_le32(b, 20, bi_size);
  put_le64(b, 8, sector);
  return b;
}

TEST(Io, ReadTravelsAsRtrsReadWithMatchingLength) {
  const Bytes b = io_bytes(static_cast<u32>(Op::kRead), 8192);
  EXPECT_TRUE(decode_io(b.data(), b.size(), read_carrier(8192), kPlainSession).is_ok());
}

TEST(Io, FlushIsAcceptedOnEitherDirectionWithoutData) {
  const Bytes b = io_bytes(static_cast<u32>(Op::kFlush) | kFlagSync | kFlagFua, 0);
  EXPECT_TRUE(decode_io(b.data(), b.size(), read_carrier(0), kPlainSession).is_ok());
  EXPECT_TRUE(decode_io(b.data(), b.size(), write_carrier(0), kPlainSession).is_ok());
  EXPECT_EQ(io_transfer_dir(Op::kFlush), TransferDir::kRead);
}

// rnbd-client 6.1 sends a flush request's blk_rq_pos(), all ones: not a range.
TEST(Io, FlushSectorIsIgnored) {
  const Bytes b = io_bytes(static_cast<u32>(Op::kFlush) | kFlagFua, 0, ~u64{0});
  EXPECT_TRUE(decode_io(b.data(), b.size(), read_carrier(0), kPlainSession).is_ok());
  const Bytes w = io_bytes(static_cast<u32>(Op::kWrite), 4096, ~u64{0});
  auto r = decode_io(w.data(), w.size(), write_carrier(4096), kPlainSession);
  ASSERT_TRUE(r.is_error());
  EXPECT_EQ(r.error().code(), -ERANGE);
}

TEST(Io, DiscardAndSecureEraseCarryNoData) {
  const Bytes d = io_bytes(static_cast<u32>(Op::kDiscard), 1 << 20);
  EXPECT_TRUE(decode_io(d.data(), d.size(), write_carrier(0), kPlainSession).is_ok());
  EXPECT_EQ(errno_of(decode_io(d.data(), d.size(), write_carrier(4096), kPlainSession)), -EMSGSIZE);
  const Bytes s = io_bytes(static_cast<u32>(Op::kSecureErase), 1 << 20);
  EXPECT_TRUE(decode_io(s.data(), s.size(), write_carrier(0), kPlainSession).is_ok());
  EXPECT_EQ(errno_of(decode_io(s.data(), s.size(), write_carrier(512), kPlainSession)), -EMSGSIZE);
}

TEST(Io, PreflushFlagOfProtocolTwoOneIsAccepted) {
  const Bytes b = io_bytes(static_cast<u32>(Op::kWrite) | kFlagPreflush, 4096);
  EXPECT_TRUE(decode_io(b.data(), b.size(), write_carrier(4096), kPlainSession).is_ok());
}

TEST(Io, UnknownOpIsRefused) {
  const Bytes b = io_bytes(6, 4096);
  EXPECT_EQ(errno_of(decode_io(b.data(), b.size(), write_carrier(4096), kPlainSession)), -EOPNOTSUPP);
  const Bytes c = io_bytes(0x7F, 4096);
  EXPECT_EQ(errno_of(decode_io(c.data(), c.size(), write_carrier(4096), kPlainSession)), -EOPNOTSUPP);
}

TEST(Io, WriteZeroesNeedsTheFeature) {
  const Bytes b = io_bytes(static_cast<u32>(Op::kWriteZeroes) | kFlagNoUnmap, 1 << 20);
  EXPECT_EQ(errno_of(decode_io(b.data(), b.size(), write_carrier(0), kPlainSession)), -EOPNOTSUPP);
  auto r = decode_io(b.data(), b.size(), write_carrier(0), kWriteZeroesSession);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().op, Op::kWriteZeroes);
  EXPECT_EQ(r.value().flags, kFlagNoUnmap);
  EXPECT_EQ(errno_of(decode_io(b.data(), b.size(), write_carrier(512), kWriteZeroesSession)),
            -EMSGSIZE);
}

TEST(Io, FlagsOutsideTheKnownSetAreRefused) {
  const Bytes b = io_bytes(static_cast<u32>(Op::kWrite) | (1u << 11), 4096);
  EXPECT_EQ(errno_of(decode_io(b.data(), b.size(), write_carrier(4096), kPlainSession)), -EPROTO);
  const Bytes c = io_bytes(static_cast<u32>(Op::kWrite) | (1u << 31), 4096);
  EXPECT_EQ(errno_of(decode_io(c.data(), c.size(), write_carrier(4096), kPlainSession)), -EPROTO);
}

TEST(Io, NoUnmapOnlyOnWriteZeroes) {
  const Bytes b = io_bytes(static_cast<u32>(Op::kWrite) | kFlagNoUnmap, 4096);
  EXPECT_EQ(errno_of(decode_io(b.data(), b.size(), write_carrier(4096), kWriteZeroesSession)),
            -EPROTO);
}

TEST(Io, OpOnTheWrongRtrsDirectionIsRefused) {
  const Bytes r = io_bytes(static_cast<u32>(Op::kRead), 4096);
  EXPECT_EQ(errno_of(decode_io(r.data(), r.size(), write_carrier(4096), kPlainSession)), -EPROTO);
  const Bytes w = io_bytes(static_cast<u32>(Op::kWrite), 4096);
  EXPECT_EQ(errno_of(decode_io(w.data(), w.size(), read_carrier(4096), kPlainSession)), -EPROTO);
  const Bytes d = io_bytes(static_cast<u32>(Op::kDiscard), 4096);
  EXPECT_EQ(errno_of(decode_io(d.data(), d.size(), read_carrier(0), kPlainSession)), -EPROTO);
}

TEST(Io, BiSizeLargerThanTransferredDataIsRefused) {
  const Bytes w = io_bytes(static_cast<u32>(Op::kWrite), 8192);
  EXPECT_EQ(errno_of(decode_io(w.data(), w.size(), write_carrier(4096), kPlainSession)), -EMSGSIZE);
  const Bytes r = io_bytes(static_cast<u32>(Op::kRead), 8192);
  EXPECT_EQ(errno_of(decode_io(r.data(), r.size(), read_carrier(4096), kPlainSession)), -EMSGSIZE);
  EXPECT_EQ(errno_of(decode_io(r.data(), r.size(), read_carrier(16384), kPlainSession)), -EMSGSIZE);
}

TEST(Io, BiSizeNotInSectorsIsRefused) {
  const Bytes b = io_bytes(static_cast<u32>(Op::kWrite), 1000);
  EXPECT_EQ(errno_of(decode_io(b.data(), b.size(), write_carrier(1000), kPlainSession)), -EINVAL);
}

TEST(Io, ZeroBiSizeForRangedOpIsRefused) {
  const Bytes w = io_bytes(static_cast<u32>(Op::kWrite), 0);
  EXPECT_EQ(errno_of(decode_io(w.data(), w.size(), write_carrier(0), kPlainSession)), -EINVAL);
  const Bytes d = io_bytes(static_cast<u32>(Op::kDiscard), 0);
  EXPECT_EQ(errno_of(decode_io(d.data(), d.size(), write_carrier(0), kPlainSession)), -EINVAL);
}

TEST(Io, FlushWithRangeIsRefused) {
  const Bytes b = io_bytes(static_cast<u32>(Op::kFlush), 4096);
  EXPECT_EQ(errno_of(decode_io(b.data(), b.size(), read_carrier(0), kPlainSession)), -EINVAL);
}

TEST(Io, FlushWithDataIsRefused) {
  const Bytes b = io_bytes(static_cast<u32>(Op::kFlush), 0);
  EXPECT_EQ(errno_of(decode_io(b.data(), b.size(), write_carrier(4096), kPlainSession)), -EMSGSIZE);
}

TEST(Io, WriteSameNeedsWholeRepetitionsOfItsData) {
  const Bytes b = io_bytes(static_cast<u32>(Op::kWriteSame), 8192);
  EXPECT_TRUE(decode_io(b.data(), b.size(), write_carrier(512), kPlainSession).is_ok());
  EXPECT_EQ(errno_of(decode_io(b.data(), b.size(), write_carrier(0), kPlainSession)), -EMSGSIZE);
  EXPECT_EQ(errno_of(decode_io(b.data(), b.size(), write_carrier(1536), kPlainSession)), -EMSGSIZE);
  EXPECT_EQ(errno_of(decode_io(b.data(), b.size(), write_carrier(16384), kPlainSession)), -EMSGSIZE);
}

TEST(Io, SectorRangeOverflowIsRefused) {
  const u64 last = ~u64{0} >> 9;
  const Bytes ok = io_bytes(static_cast<u32>(Op::kWrite), 4096, last - 8);
  EXPECT_TRUE(decode_io(ok.data(), ok.size(), write_carrier(4096), kPlainSession).is_ok());
  const Bytes b = io_bytes(static_cast<u32>(Op::kWrite), 4096, last - 7);
  EXPECT_EQ(errno_of(decode_io(b.data(), b.size(), write_carrier(4096), kPlainSession)), -ERANGE);
  const Bytes c = io_bytes(static_cast<u32>(Op::kWrite), 4096, ~u64{0});
  EXPECT_EQ(errno_of(decode_io(c.data(), c.size(), write_carrier(4096), kPlainSession)), -ERANGE);
}

TEST(Io, InvalidPriorityClassIsRefused) {
  Bytes b = kGoldenIo;
  put_le16(b, 24, 4u << 13);
  EXPECT_EQ(errno_of(decode_io(b.data(), b.size(), write_carrier(4096), kPlainSession)), -EINVAL);
  put_le16(b, 24, (3u << 13) | 7);
  EXPECT_TRUE(decode_io(b.data(), b.size(), write_carrier(4096), kPlainSession).is_ok());
}

TEST(Io, ShortOrMistypedMessageIsRefused) {
  EXPECT_EQ(errno_of(decode_io(kGoldenIo.data(), 31, write_carrier(4096), kPlainSession)), -EBADMSG);
  Bytes b = kGoldenIo;
  b[0] = 0x05;
  EXPECT_EQ(errno_of(decode_io(b.data(), b.size(), write_carrier(4096), kPlainSession)), -EBADMSG);
}

TEST(Io, VersionOneClientsSendTwentyFourBytesWithoutPrio) {
  const Session v1{1, 0};
  auto r = decode_io(kGoldenIo.data(), 24, write_carrier(4096), v1);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().prio, 0);
  Bytes b = kGoldenIo;
  put_le16(b, 24, 7u << 13);  // not read at version 1
  EXPECT_TRUE(decode_io(b.data(), b.size(), write_carrier(4096), v1).is_ok());
  EXPECT_EQ(errno_of(decode_io(kGoldenIo.data(), 23, write_carrier(4096), v1)), -EBADMSG);
}

TEST(Io, EncoderRefusesWhatTheDecoderRefuses) {
  u8 out[32];
  IoReq io = sample_write();
  io.op = static_cast<Op>(9);
  EXPECT_EQ(errno_of(encode_io(out, sizeof(out), io, kPlainSession)), -EOPNOTSUPP);
  io = sample_write();
  io.flags |= 1u << 12;
  EXPECT_EQ(errno_of(encode_io(out, sizeof(out), io, kPlainSession)), -EPROTO);
  io = sample_write();
  io.bi_size = 100;
  EXPECT_EQ(errno_of(encode_io(out, sizeof(out), io, kPlainSession)), -EINVAL);
  EXPECT_EQ(errno_of(encode_io(out, 31, sample_write(), kPlainSession)), -EMSGSIZE);
}

TEST(Io, PreflushNeedsStrictFlushToTrustFua) {
  IoReq fua_write = sample_write();
  fua_write.flags = kFlagFua;
  EXPECT_TRUE(io_needs_preflush(fua_write, 0));
  EXPECT_FALSE(io_needs_preflush(fua_write, kFeatureStrictFlush));
  IoReq preflush = sample_write();
  preflush.flags = kFlagPreflush;
  EXPECT_TRUE(io_needs_preflush(preflush, kFeatureStrictFlush));
  IoReq flush{7, 0, Op::kFlush, 0, 0, 0};
  EXPECT_TRUE(io_needs_preflush(flush, kFeatureStrictFlush));
  IoReq fua_read{7, 0, Op::kRead, kFlagFua, 4096, 0};
  EXPECT_FALSE(io_needs_preflush(fua_read, 0));
}

TEST(Io, OpClassification) {
  EXPECT_EQ(io_transfer_dir(Op::kRead), TransferDir::kRead);
  EXPECT_EQ(io_transfer_dir(Op::kWrite), TransferDir::kWrite);
  EXPECT_EQ(io_transfer_dir(Op::kDiscard), TransferDir::kWrite);
  EXPECT_FALSE(op_writes(Op::kRead));
  EXPECT_TRUE(op_writes(Op::kDiscard));
  EXPECT_TRUE(op_carries_data(Op::kWriteSame));
  EXPECT_FALSE(op_carries_data(Op::kWriteZeroes));
}

}  // namespace
