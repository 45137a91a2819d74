// SPDX-License-Identifier: GPL-2.0
// Host tests of the server's per-device IO rules (ibnbd/core/srv_io.h):
// every refusal with its errno, and the backend command for each op.
#include <gtest/gtest.h>

#include <ibnbd/core/srv_io.h>

namespace {

using ibnbd::BackendOp;
using ibnbd::DevState;
using ibnbd::IoPlan;
using ibnbd::plan_io;
using ibnbd::proto::AccessMode;
using ibnbd::proto::IoReq;
using ibnbd::proto::Op;
namespace proto = ibnbd::proto;

constexpr kx::u64 kSectors = 2048;  // 1 MiB

DevState dev(AccessMode mode = AccessMode::kRw, kx::u32 lbs = 512) {
  return DevState{kSectors, lbs, mode, 1024, 0, 0};
}

IoReq io(Op op, kx::u64 sector, kx::u32 bytes, kx::u32 flags = 0) {
  return IoReq{7, sector, op, flags, bytes, 0};
}

int err(const IoReq& r, const DevState* d, kx::u32 features = 0) {
  auto p = plan_io(r, d, features);
  return p.is_error() ? p.error().code() : 0;
}

TEST(SrvIo, UnknownDeviceIsNotConnected) {
  EXPECT_EQ(err(io(Op::kRead, 0, 4096), nullptr), -ENOTCONN);
}

TEST(SrvIo, ReadWriteInsideTheDevice) {
  const DevState d = dev();
  auto r = plan_io(io(Op::kRead, 8, 4096, proto::kFlagSync), &d, 0);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().op, BackendOp::kRead);
  EXPECT_EQ(r.value().sector, 8u);
  EXPECT_EQ(r.value().len, 4096u);
  EXPECT_TRUE(r.value().data);
  EXPECT_EQ(r.value().flags, ibnbd::kBeSync);
  // The last sector exactly.
  EXPECT_EQ(err(io(Op::kWrite, kSectors - 1, 512), &d), 0);
  EXPECT_EQ(err(io(Op::kWrite, 0, kSectors * 512), &d), 0);
}

TEST(SrvIo, RangeOutsideTheDevice) {
  const DevState d = dev();
  EXPECT_EQ(err(io(Op::kRead, kSectors, 512), &d), -ERANGE);
  EXPECT_EQ(err(io(Op::kWrite, kSectors - 1, 1024), &d), -ERANGE);
  EXPECT_EQ(err(io(Op::kRead, ~kx::u64{0} >> 9, 512), &d), -ERANGE);
  EXPECT_EQ(err(io(Op::kDiscard, kSectors - 4, 4096), &d), -ERANGE);
}

TEST(SrvIo, AlignmentToTheLogicalBlockSize) {
  const DevState d = dev(AccessMode::kRw, 4096);
  EXPECT_EQ(err(io(Op::kRead, 0, 512), &d), -EINVAL);
  EXPECT_EQ(err(io(Op::kRead, 1, 4096), &d), -EINVAL);
  EXPECT_EQ(err(io(Op::kRead, 8, 4096), &d), 0);
  EXPECT_EQ(err(io(Op::kRead, 0, 0), &d), -EINVAL);
  DevState bad = dev(AccessMode::kRw, 0);
  EXPECT_EQ(err(io(Op::kRead, 0, 512), &bad), -EINVAL);
}

TEST(SrvIo, ReadOnlyOpenCannotModify) {
  const DevState d = dev(AccessMode::kRo);
  EXPECT_EQ(err(io(Op::kRead, 0, 4096), &d), 0);
  EXPECT_EQ(err(io(Op::kFlush, 0, 0), &d), 0);
  EXPECT_EQ(err(io(Op::kWrite, 0, 4096), &d), -EROFS);
  EXPECT_EQ(err(io(Op::kDiscard, 0, 4096), &d), -EROFS);
  DevState se = d;
  se.max_secure_erase_sectors = 8;
  EXPECT_EQ(err(io(Op::kSecureErase, 0, 4096), &se), -EROFS);
  // Migration opens write.
  const DevState m = dev(AccessMode::kMigration);
  EXPECT_EQ(err(io(Op::kWrite, 0, 4096), &m), 0);
}

TEST(SrvIo, WriteSameIsRefused) {
  const DevState d = dev();
  EXPECT_EQ(err(io(Op::kWriteSame, 0, 4096), &d), -EOPNOTSUPP);
}

TEST(SrvIo, UnsupportedOpsOfTheDevice) {
  DevState d = dev();
  d.max_discard_sectors = 0;
  EXPECT_EQ(err(io(Op::kDiscard, 0, 4096), &d), -EOPNOTSUPP);
  EXPECT_EQ(err(io(Op::kSecureErase, 0, 4096), &d), -EOPNOTSUPP);
  // Write-zeroes: only with the feature, and only if the device has it.
  EXPECT_EQ(err(io(Op::kWriteZeroes, 0, 4096), &d, 0), -EOPNOTSUPP);
  EXPECT_EQ(err(io(Op::kWriteZeroes, 0, 4096), &d, proto::kFeatureWriteZeroes), -EOPNOTSUPP);
  d.max_write_zeroes_sectors = 64;
  auto r = plan_io(io(Op::kWriteZeroes, 0, 4096, proto::kFlagNoUnmap), &d,
                   proto::kFeatureWriteZeroes);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().op, BackendOp::kWriteZeroes);
  EXPECT_EQ(r.value().flags, ibnbd::kBeNoUnmap);
  EXPECT_FALSE(r.value().data);
}

TEST(SrvIo, UnknownOpCode) {
  const DevState d = dev();
  EXPECT_EQ(err(io(static_cast<Op>(0x42), 0, 4096), &d), -EOPNOTSUPP);
}

TEST(SrvIo, FlushIsAnOpOfItsOwn) {
  const DevState d = dev();
  auto r = plan_io(io(Op::kFlush, 123, 0, proto::kFlagFua | proto::kFlagSync), &d, 0);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().op, BackendOp::kFlush);
  EXPECT_EQ(r.value().flags, 0u);
  EXPECT_EQ(r.value().sector, 0u);
  EXPECT_EQ(r.value().len, 0u);
  EXPECT_FALSE(r.value().data);
}

TEST(SrvIo, PreflushBeforeTheWrite) {
  const DevState d = dev();
  // 2.1 PREFLUSH flag: flush, then write.
  auto r = plan_io(io(Op::kWrite, 0, 4096, proto::kFlagPreflush), &d, 0);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().flags, ibnbd::kBePreflush);
  // A 2.0 client's FUA may mean PREFLUSH|FUA: both.
  r = plan_io(io(Op::kWrite, 0, 4096, proto::kFlagFua), &d, 0);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().flags, ibnbd::kBeFua | ibnbd::kBePreflush);
  // With strict flush semantics FUA is FUA only.
  r = plan_io(io(Op::kWrite, 0, 4096, proto::kFlagFua), &d, proto::kFeatureStrictFlush);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().flags, ibnbd::kBeFua);
  // Plain write: nothing.
  r = plan_io(io(Op::kWrite, 0, 4096), &d, 0);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().flags, 0u);
}

TEST(SrvIo, DiscardCarriesTheRangeWithoutData) {
  const DevState d = dev();
  auto r = plan_io(io(Op::kDiscard, 16, 8192, proto::kFlagSync), &d, 0);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value().op, BackendOp::kDiscard);
  EXPECT_EQ(r.value().flags, 0u);
  EXPECT_EQ(r.value().len, 8192u);
  EXPECT_FALSE(r.value().data);
}

}  // namespace

#include <ibnbd/core/dev_path.h>

namespace {

TEST(SearchRoot, SessionNameSubstitutedAndSlashesCollapsed) {
  char out[64];
  auto r = ibnbd::resolve_search_root("/srv//%SESSNAME%/", "clt1", 4, out, sizeof(out));
  ASSERT_TRUE(r.is_ok());
  EXPECT_STREQ(out, "/srv/clt1/");
  EXPECT_EQ(r.value(), 10u);
  r = ibnbd::resolve_search_root("/", "x", 1, out, sizeof(out));
  ASSERT_TRUE(r.is_ok());
  EXPECT_STREQ(out, "/");
  // The device path resolves beneath the root.
  char dev[64];
  auto d = ibnbd::resolve_device_path("/srv//%SESSNAME%/", "clt1", 4, "a/b", 3, dev, sizeof(dev));
  ASSERT_TRUE(d.is_ok());
  EXPECT_STREQ(dev, "/srv/clt1/a/b");
}

TEST(SearchRoot, TooLong) {
  char out[8];
  auto r = ibnbd::resolve_search_root("/srv/%SESSNAME%", "clt1", 4, out, sizeof(out));
  ASSERT_TRUE(r.is_error());
  EXPECT_EQ(r.error().code(), -ENAMETOOLONG);
}

}  // namespace
