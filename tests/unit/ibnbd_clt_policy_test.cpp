// Unit tests for ibnbd/core/clt_policy.h: block request -> RNBD message
// translation (PREFLUSH is never reduced to FUA, extension ops only when
// granted) and the outage hold/fail decision.
#include <gtest/gtest.h>

#include "ibnbd/core/clt_policy.h"

namespace {

using namespace ibnbd;
using namespace ibnbd::clt;
using proto::Op;

constexpr proto::Session kUpstream{2, 0};
constexpr proto::Session kStrict{2, proto::kFeatureStrictFlush};
constexpr proto::Session kWz{2, proto::kFeatureWriteZeroes};

BlkReq req(BlkOp op, u32 bytes = 4096) { return BlkReq{op, false, false, false, false, 8, bytes}; }

TEST(CltPlan, ReadWrite) {
  auto r = plan_io(req(BlkOp::kRead), kUpstream);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().io.op, Op::kRead);
  EXPECT_EQ(r.value().dir, proto::TransferDir::kRead);
  EXPECT_TRUE(r.value().carries_data);
  EXPECT_FALSE(r.value().pre_flush);
  EXPECT_EQ(r.value().io.sector, 8u);
  EXPECT_EQ(r.value().io.bi_size, 4096u);
  auto w = plan_io(req(BlkOp::kWrite), kUpstream);
  ASSERT_TRUE(w.is_ok());
  EXPECT_EQ(w.value().io.op, Op::kWrite);
  EXPECT_EQ(w.value().dir, proto::TransferDir::kWrite);
  EXPECT_EQ(w.value().io.flags, 0u);
}

TEST(CltPlan, PreflushWriteToUpstreamIsFlushThenWrite) {
  BlkReq r = req(BlkOp::kWrite);
  r.preflush = true;
  auto p = plan_io(r, kUpstream);
  ASSERT_TRUE(p.is_ok());
  EXPECT_TRUE(p.value().pre_flush);
  // Not turned into FUA, and no 2.1 flag for a 2.0 server.
  EXPECT_EQ(p.value().io.flags & (proto::kFlagFua | proto::kFlagPreflush), 0u);
  // The flush that goes first encodes as a valid 2.0 FLUSH.
  kx::u8 buf[32];
  ASSERT_TRUE(proto::encode_io(buf, sizeof(buf), flush_io(), kUpstream).is_ok());
}

TEST(CltPlan, PreflushFuaWriteKeepsFua) {
  BlkReq r = req(BlkOp::kWrite);
  r.preflush = r.fua = true;
  auto p = plan_io(r, kUpstream);
  ASSERT_TRUE(p.is_ok());
  EXPECT_TRUE(p.value().pre_flush);
  EXPECT_EQ(p.value().io.flags, proto::kFlagFua);
}

TEST(CltPlan, PreflushWithStrictFlushIsOneMessage) {
  BlkReq r = req(BlkOp::kWrite);
  r.preflush = true;
  auto p = plan_io(r, kStrict);
  ASSERT_TRUE(p.is_ok());
  EXPECT_FALSE(p.value().pre_flush);
  EXPECT_EQ(p.value().io.flags, proto::kFlagPreflush);
}

TEST(CltPlan, FlushDiscardSecureErase) {
  auto f = plan_io(req(BlkOp::kFlush, 0), kUpstream);
  ASSERT_TRUE(f.is_ok());
  EXPECT_EQ(f.value().io.op, Op::kFlush);
  EXPECT_EQ(f.value().io.bi_size, 0u);
  EXPECT_EQ(f.value().dir, proto::TransferDir::kRead);
  EXPECT_FALSE(f.value().carries_data);
  auto d = plan_io(req(BlkOp::kDiscard, 1 << 20), kUpstream);
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ(d.value().io.op, Op::kDiscard);
  EXPECT_EQ(d.value().dir, proto::TransferDir::kWrite);
  EXPECT_FALSE(d.value().carries_data);
  EXPECT_EQ(d.value().io.bi_size, 1u << 20);
  auto s = plan_io(req(BlkOp::kSecureErase), kUpstream);
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s.value().io.op, Op::kSecureErase);
  // Every plan encodes (the encoder applies the wire rules).
  kx::u8 buf[32];
  for (auto* p : {&f, &d, &s}) {
    proto::IoReq io = p->value().io;
    EXPECT_TRUE(proto::encode_io(buf, sizeof(buf), io, kUpstream).is_ok());
  }
}

TEST(CltPlan, WriteZeroesOnlyWhenGranted) {
  BlkReq r = req(BlkOp::kWriteZeroes);
  EXPECT_EQ(kx::to_errno(plan_io(r, kUpstream)), -EOPNOTSUPP);
  EXPECT_EQ(kx::to_errno(plan_io(r, kStrict)), -EOPNOTSUPP);
  r.nounmap = true;
  auto p = plan_io(r, kWz);
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p.value().io.op, Op::kWriteZeroes);
  EXPECT_EQ(p.value().io.flags, proto::kFlagNoUnmap);
  kx::u8 buf[32];
  EXPECT_TRUE(proto::encode_io(buf, sizeof(buf), p.value().io, kWz).is_ok());
}

TEST(CltPlan, Refusals) {
  EXPECT_EQ(kx::to_errno(plan_io(req(BlkOp::kOther), kUpstream)), -EOPNOTSUPP);
  EXPECT_EQ(kx::to_errno(plan_io(req(BlkOp::kWrite, 0), kUpstream)), -EINVAL);
  EXPECT_EQ(kx::to_errno(plan_io(req(BlkOp::kRead, 100), kUpstream)), -EINVAL);
}

TEST(CltOutage, OpenSendsAndServerErrorsFail) {
  u64 t = 0;
  EXPECT_EQ(outage_action(DevState::kOpen, 0, 5, &t, 30), IoAction::kSend);
  EXPECT_EQ(outage_action(DevState::kOpen, -EIO, 5, &t, 30), IoAction::kFail);
  EXPECT_EQ(outage_action(DevState::kOpen, -ENOSPC, 5, &t, 30), IoAction::kFail);
  EXPECT_EQ(t, 0u);
}

TEST(CltOutage, ZeroTimeoutFailsAtOnce) {
  u64 t = 0;
  EXPECT_EQ(outage_action(DevState::kClosed, 0, 5, &t, 0), IoAction::kFail);
  EXPECT_EQ(outage_action(DevState::kOpen, -ECONNABORTED, 5, &t, 0), IoAction::kFail);
}

TEST(CltOutage, HoldIsBoundedPerRequest) {
  u64 t = 0;
  const u64 s = kNsPerSec;
  EXPECT_EQ(outage_action(DevState::kClosed, 0, 100 * s, &t, 10), IoAction::kHold);
  EXPECT_EQ(t, 100 * s);
  EXPECT_EQ(outage_action(DevState::kClosed, 0, 109 * s, &t, 10), IoAction::kHold);
  EXPECT_EQ(outage_action(DevState::kOpen, -ECONNABORTED, 109 * s, &t, 10), IoAction::kHold);
  EXPECT_EQ(outage_action(DevState::kClosed, 0, 110 * s, &t, 10), IoAction::kFail);
  // Once open again, a held request is simply sent.
  EXPECT_EQ(outage_action(DevState::kOpen, 0, 111 * s, &t, 10), IoAction::kSend);
}

TEST(CltOutage, UnmappedAlwaysFails) {
  u64 t = 0;
  EXPECT_EQ(outage_action(DevState::kUnmapped, 0, 1, &t, 100), IoAction::kFail);
  EXPECT_EQ(outage_action(DevState::kUnmapped, -ECONNABORTED, 1, &t, 100), IoAction::kFail);
}

TEST(CltNames, DevicesLinkName) {
  char out[32];
  auto n = devices_link_name(out, sizeof(out), "a/b/c", 5, "s1", 2);
  ASSERT_TRUE(n.is_ok());
  EXPECT_STREQ(out, "a!b!c@s1");
  EXPECT_EQ(n.value(), 8u);
  char small[8];
  EXPECT_EQ(kx::to_errno(devices_link_name(small, sizeof(small), "a/b/c", 5, "s1", 2)), -ENAMETOOLONG);
  EXPECT_STREQ(dev_state_name(DevState::kClosed), "closed");
}

}  // namespace
