// Unit tests for the hostile peer's case logic (tests/hostile/cases.h): every
// generated malformed message must be refused by the same wire.h decoder the
// server runs, with the errno class the case claims; seeds must replay; the
// case picker must reach every kind.
#include <new>

#include <cstring>
#include <set>

#include <gtest/gtest.h>

#include "tests/hostile/cases.h"

namespace {

using namespace hostile;

wire::ChunkGeometry geo(u32 qd, u32 chunk) { return wire::ChunkGeometry::create(qd, chunk).value(); }

TEST(HostileRng, SeedReplaysAndSeedsDiffer) {
  Rng a(42), b(42), c(43);
  bool differ = false;
  for (int i = 0; i < 100; i++) {
    const u64 x = a.next();
    EXPECT_EQ(x, b.next());
    differ |= x != c.next();
  }
  EXPECT_TRUE(differ);
  Rng r(7);
  for (int i = 0; i < 2000; i++) {
    const u32 v = r.range(5, 9);
    EXPECT_GE(v, 5u);
    EXPECT_LE(v, 9u);
    EXPECT_LT(r.below(3), 3u);
    EXPECT_FALSE(r.uuid().is_nil());
  }
}

TEST(HostileCases, PickReachesEveryKindAndHonoursTheIoShare) {
  Rng r(1);
  std::set<u32> seen;
  u32 io = 0;
  const u32 n = 50000;
  for (u32 i = 0; i < n; i++) {
    const Kind k = pick_kind(r, 900);
    seen.insert(static_cast<u32>(k));
    io += is_io_kind(k);
  }
  EXPECT_EQ(seen.size(), kKindCount);
  EXPECT_NEAR(static_cast<double>(io) / n, 0.9, 0.02);
  for (u32 k = 0; k < kKindCount; k++) EXPECT_STRNE(kind_name(static_cast<Kind>(k)), "?");
}

TEST(HostileCases, GoodMessagesAreAccepted) {
  u8 pd[56];
  Rng r(3);
  good_conn_req(pd, 1, 3, r.uuid(), r.uuid(), true);
  EXPECT_TRUE(wire::decode_conn_req(pd, sizeof(pd)).is_ok());
  InfoCase ic{};
  good_info_req(ic, "hostile-1");
  EXPECT_TRUE(wire::decode_info_req(ic.buf, ic.len).is_ok());
}

TEST(HostileCases, EveryConnCaseIsRefused) {
  Rng r(0xc0ffee);
  for (u32 k = static_cast<u32>(Kind::kConnBadMagic); k <= static_cast<u32>(Kind::kConnShort); k++) {
    for (int i = 0; i < 500; i++) {
      ConnCase c = make_conn_case(static_cast<Kind>(k), r);
      // What the server sees: the CM pads short private data with zeros.
      u8 seen[56] = {};
      memcpy(seen, c.pdata, c.len);
      auto d = wire::decode_conn_req(seen, sizeof(seen));
      ASSERT_TRUE(d.is_error()) << kind_name(static_cast<Kind>(k)) << " iteration " << i;
    }
  }
  // Without first_conn the message is well formed: the server must refuse
  // it because it names no session.
  ConnCase c = make_conn_case(Kind::kConnNoFirstConn, r);
  auto d = wire::decode_conn_req(c.pdata, c.len);
  ASSERT_TRUE(d.is_ok());
  EXPECT_FALSE(d.value().first_conn);
}

TEST(HostileCases, InfoCasesAreRefused) {
  Rng r(11);
  for (Kind k : {Kind::kInfoEmptyName, Kind::kInfoNoNul, Kind::kInfoWrongType, Kind::kInfoShort,
                 Kind::kInfoSlashName}) {
    for (int i = 0; i < 1000; i++) {
      InfoCase c = make_info_case(k, r, "hostile-name");
      EXPECT_TRUE(wire::decode_info_req(c.buf, c.len).is_error()) << kind_name(k);
    }
  }
}

TEST(HostileCases, ImmCasesAreRefused) {
  for (auto g : {geo(48, 131072), geo(512, 131072), geo(64, 8192), geo(3, 1u << 20)}) {
    Rng r(g.queue_depth());
    for (Kind k : {Kind::kImmBadBufId, Kind::kImmOffsetBeyondChunk, Kind::kImmUnknownType,
                   Kind::kImmResponseType, Kind::kImmHbOnIoCon, Kind::kImmHbWithPayload}) {
      for (int i = 0; i < 300; i++) {
        const u16 cid_num = static_cast<u16>(r.range(1, 5));
        ImmCase c = make_imm_case(k, r, g, cid_num);
        ASSERT_LT(c.cid, cid_num);
        auto d = wire::decode_server_imm(c.imm, g, c.cid);
        ASSERT_TRUE(d.is_error()) << kind_name(k) << " imm " << std::hex << c.imm;
      }
    }
  }
  // With a queue depth that is not a power of two the buf_id itself is out
  // of range (not the offset).
  Rng r(5);
  const auto g = geo(48, 131072);
  for (int i = 0; i < 1000; i++) {
    ImmCase c = make_imm_case(Kind::kImmBadBufId, r, g, 2);
    const u32 buf_id = wire::imm_payload(c.imm) >> g.mem_bits();
    EXPECT_GE(buf_id, 48u);
    EXPECT_EQ(kx::to_errno(wire::decode_server_imm(c.imm, g, c.cid)), -ERANGE);
  }
}

TEST(HostileCases, IoCasesAreRefusedByTheRequestDecoder) {
  const Kind kinds[] = {Kind::kIoUsrLenGtOffset,    Kind::kIoUnknownType,
                        Kind::kIoTrailerPastChunk,  Kind::kIoReadBadFlags,
                        Kind::kIoReadNeedInvalNoDesc, Kind::kIoReadSgCntGt1,
                        Kind::kIoReadDescLenZero,   Kind::kIoReadDescTooLong,
                        Kind::kIoReadDescWraps,     Kind::kIoReadNoDescWithData};
  for (auto g : {geo(48, 131072), geo(512, 8192), geo(16, 1u << 20)}) {
    std::vector<u8> chunk(g.chunk_size());
    Rng r(g.chunk_size());
    // Stale random content: a case must not depend on what the chunk held.
    for (auto& b : chunk) b = static_cast<u8>(r.next());
    for (Kind k : kinds) {
      for (int i = 0; i < 200; i++) {
        IoCase c = make_io_case(k, r, g, 0x7f0000001000ull, 0x1234);
        ASSERT_LT(c.buf_id, g.queue_depth());
        ASSERT_LT(c.imm_off, g.chunk_size());
        ASSERT_LE(c.write_off + c.len, g.chunk_size());
        ASSERT_LE(c.len, sizeof(c.bytes));
        ASSERT_TRUE(g.io_req_imm(c.buf_id, c.imm_off).is_ok());
        memcpy(chunk.data() + c.write_off, c.bytes, c.len);
        auto d = wire::decode_io_request(chunk.data(), chunk.size(), c.imm_off);
        ASSERT_TRUE(d.is_error()) << kind_name(k) << " off " << c.imm_off << " len " << c.len;
      }
    }
  }
}

TEST(HostileCases, ExpectationsFollowTheKindRanges) {
  EXPECT_EQ(expect_of(Kind::kConnShort), Expect::kReject);
  EXPECT_EQ(expect_of(Kind::kConnDuplicatePath), Expect::kReject);
  EXPECT_EQ(expect_of(Kind::kInfoEmptyName), Expect::kClose);
  EXPECT_EQ(expect_of(Kind::kImmReadDescOutsideMr), Expect::kClose);
  EXPECT_EQ(expect_of(Kind::kIoUsrLenGtOffset), Expect::kErrnoOrClose);
  EXPECT_EQ(expect_of(Kind::kIoReplayFinished), Expect::kErrnoOrClose);
  u32 n = 0;
  for (u32 k = 0; k < kKindCount; k++) {
    const Kind kk = static_cast<Kind>(k);
    n += is_conn_kind(kk) + is_info_kind(kk) + is_imm_kind(kk) + is_io_kind(kk);
  }
  EXPECT_EQ(n, kKindCount);  // every kind in exactly one group
}

}  // namespace
