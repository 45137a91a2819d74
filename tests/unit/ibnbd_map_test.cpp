// SPDX-License-Identifier: GPL-2.0
// Host tests of the IBNBD policy core: the map_device parser, device path
// resolution on the server, and the ro/rw/migration open rules.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include <ibnbd/core/dev_path.h>
#include <ibnbd/core/map_options.h>
#include <ibnbd/core/open_rules.h>

namespace {

using ibnbd::MapDiag;
using ibnbd::MapOptions;
using ibnbd::proto::AccessMode;

std::string str(ibnbd::Str s) { return std::string(s.ptr, s.len); }

// Owns the input: the parser's slices point into it (its contract).
struct Parsed {
  std::unique_ptr<std::string> input;
  int err = 0;
  std::unique_ptr<MapOptions> opts = std::make_unique<MapOptions>();
  MapDiag diag;
};

Parsed parse(const std::string& in) {
  Parsed p;
  p.input = std::make_unique<std::string>(in);
  auto r = ibnbd::parse_map_options(p.input->data(), p.input->size(), p.opts.get(), &p.diag);
  p.err = r.is_ok() ? 0 : r.error().code();
  return p;
}

TEST(MapOptions, FullLineWithEveryToken) {
  auto p = parse(
      "sessname=blk1 path=ip:10.99.0.2@ip:10.99.0.1 path=ip:10.99.1.1 device_path=/dev/nullb0 "
      "access_mode=ro dest_port=4321 nr_poll_queues=2\n");
  ASSERT_EQ(p.err, 0) << p.diag.what;
  const MapOptions& o = *p.opts;
  EXPECT_EQ(str(o.sessname), "blk1");
  EXPECT_EQ(str(o.device_path), "/dev/nullb0");
  EXPECT_EQ(o.access_mode, AccessMode::kRo);
  EXPECT_EQ(o.dest_port, 4321);
  EXPECT_EQ(o.nr_poll_queues, 2);
  ASSERT_EQ(o.nr_paths, 2u);
  EXPECT_TRUE(o.paths[0].has_src);
  EXPECT_EQ(str(o.paths[0].src.text), "10.99.0.2");
  EXPECT_EQ(str(o.paths[0].dst.text), "10.99.0.1");
  EXPECT_FALSE(o.paths[1].has_src);
  EXPECT_EQ(str(o.paths[1].dst.text), "10.99.1.1");
}

TEST(MapOptions, DefaultsAndAlternativeSyntax) {
  auto p = parse("device_path=disk path=ip:fe80::1%veth0,ip:fe80::2%veth1 sessname=s");
  ASSERT_EQ(p.err, 0) << p.diag.what;
  EXPECT_EQ(p.opts->access_mode, AccessMode::kRw);
  EXPECT_EQ(p.opts->dest_port, 1234);
  EXPECT_EQ(p.opts->nr_poll_queues, 0);
  EXPECT_EQ(str(p.opts->paths[0].src.text), "fe80::1%veth0");
  auto gid = parse("sessname=s device_path=d path=gid:fe80:0000:0000:0000:0002:c903:0010:c0f1");
  ASSERT_EQ(gid.err, 0);
  EXPECT_EQ(gid.opts->paths[0].dst.kind, ibnbd::AddrKind::kGid);
  auto all = parse("sessname=s device_path=d nr_poll_queues=-1");
  ASSERT_EQ(all.err, 0);  // no path: allowed if the session exists (caller's check)
  EXPECT_EQ(all.opts->nr_poll_queues, ibnbd::kPollQueuesAllCpus);
}

TEST(MapOptions, MaxReconnectAttempts) {
  auto d = parse("sessname=s device_path=d path=ip:10.99.0.1");
  ASSERT_EQ(d.err, 0);
  EXPECT_EQ(d.opts->max_reconnect_attempts, -1);  // forever unless given
  EXPECT_FALSE(d.opts->has_max_reconnect_attempts);
  for (const char* v : {"-1", "0", "3", "9999"}) {
    auto p = parse(std::string("sessname=s device_path=d path=ip:10.99.0.1 max_reconnect_attempts=") + v);
    ASSERT_EQ(p.err, 0) << v << ": " << p.diag.what;
    EXPECT_EQ(p.opts->max_reconnect_attempts, std::stoi(v));
    EXPECT_TRUE(p.opts->has_max_reconnect_attempts);
  }
  for (const char* v : {"10000", "-2", "x", "3x", "- 1"}) {
    auto p = parse(std::string("sessname=s device_path=d max_reconnect_attempts=") + v);
    EXPECT_EQ(p.err, -EINVAL) << v;
  }
  auto twice = parse("sessname=s device_path=d max_reconnect_attempts=1 max_reconnect_attempts=1");
  EXPECT_EQ(twice.err, -EINVAL);
  EXPECT_STREQ(twice.diag.what, "max_reconnect_attempts given twice");
}

TEST(MapOptions, EightPathsMixingIpv4Ipv6AndGid) {
  std::string line = "sessname=s device_path=d";
  for (int k = 0; k < 4; k++) {
    line += " path=ip:10.99." + std::to_string(k) + ".2@ip:10.99." + std::to_string(k) + ".1";
    line += " path=ip:fd99:" + std::to_string(k) + "::2@ip:fd99:" + std::to_string(k) + "::1";
  }
  line += " path=gid:fd99:0000:0000:0000:0000:0000:0000:0002@gid:fd99::1";
  auto p = parse(line);
  ASSERT_EQ(p.err, 0) << p.diag.what;
  ASSERT_EQ(p.opts->nr_paths, 9u);
  EXPECT_EQ(p.opts->paths[1].dst.kind, ibnbd::AddrKind::kIp);
  EXPECT_EQ(str(p.opts->paths[1].dst.text), "fd99:0::1");
  EXPECT_EQ(p.opts->paths[8].src.kind, ibnbd::AddrKind::kGid);
  EXPECT_EQ(str(p.opts->paths[8].dst.text), "fd99::1");
}

TEST(MapOptions, AtLeastEightPathsAndTheLimit) {
  std::string line = "sessname=s device_path=d";
  for (int i = 0; i < 128; i++) line += " path=ip:10.99." + std::to_string(i) + ".1";
  auto p = parse(line);
  ASSERT_EQ(p.err, 0) << p.diag.what;
  EXPECT_EQ(p.opts->nr_paths, 128u);
  auto over = parse(line + " path=ip:10.98.0.1");
  EXPECT_EQ(over.err, -E2BIG);
  EXPECT_STREQ(over.diag.what, "too many paths");
}

struct Refusal {
  const char* input;
  int err;
  const char* what;
  const char* token;  // nullptr: no token in the diagnostic
};

class MapRefusal : public ::testing::TestWithParam<Refusal> {};

TEST_P(MapRefusal, SaysWhatWasWrong) {
  const Refusal& r = GetParam();
  auto p = parse(r.input);
  EXPECT_EQ(p.err, r.err) << r.input;
  ASSERT_NE(p.diag.what, nullptr);
  EXPECT_STREQ(p.diag.what, r.what) << r.input;
  if (r.token) {
    EXPECT_EQ(str(p.diag.token), r.token);
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, MapRefusal,
    ::testing::Values(
        Refusal{"sessname=s device_path=d colour=red", -EINVAL, "unknown token", "colour=red"},
        Refusal{"sessname=s device_path=d bogus", -EINVAL, "token is not key=value", "bogus"},
        Refusal{"device_path=d path=ip:1.2.3.4", -EINVAL, "sessname= is required", nullptr},
        Refusal{"sessname=s path=ip:1.2.3.4", -EINVAL, "device_path= is required", nullptr},
        Refusal{"sessname= device_path=d", -EINVAL, "empty value", "sessname="},
        Refusal{"sessname=a.b device_path=d", -EINVAL,
                "sessname must not contain '/', '.', blanks or control characters", "sessname=a.b"},
        Refusal{"sessname=a/b device_path=d", -EINVAL,
                "sessname must not contain '/', '.', blanks or control characters", "sessname=a/b"},
        Refusal{"sessname=s sessname=t device_path=d", -EINVAL, "sessname given twice", "sessname=t"},
        Refusal{"sessname=s device_path=d path=10.0.0.1", -EINVAL,
                "address must start with ip: or gid:", "10.0.0.1"},
        Refusal{"sessname=s device_path=d path=ip:10.0.0.x", -EINVAL, "malformed address",
                "ip:10.0.0.x"},
        Refusal{"sessname=s device_path=d path=ip:", -EINVAL, "malformed address", "ip:"},
        Refusal{"sessname=s device_path=d path=ip:fe80::1%", -EINVAL, "malformed address",
                "ip:fe80::1%"},
        Refusal{"sessname=s device_path=d path=ip:1.1.1.1@ip:2.2.2.2@ip:3.3.3.3", -EINVAL,
                "path has more than one src/dst separator", nullptr},
        Refusal{"sessname=s device_path=d path=ip:1.1.1.1@gid:fe80::1", -EINVAL,
                "src and dst are of different address kinds", nullptr},
        Refusal{"sessname=s device_path=d path=ip:1.1.1.1 path=ip:1.1.1.1", -EINVAL,
                "path given twice", "path=ip:1.1.1.1"},
        Refusal{"sessname=s device_path=d access_mode=rx", -EINVAL,
                "access_mode must be ro, rw or migration", "access_mode=rx"},
        Refusal{"sessname=s device_path=d dest_port=0", -EINVAL, "dest_port must be 1..65535",
                "dest_port=0"},
        Refusal{"sessname=s device_path=d dest_port=65536", -EINVAL, "dest_port must be 1..65535",
                nullptr},
        Refusal{"sessname=s device_path=d dest_port=12a", -EINVAL, "dest_port must be 1..65535",
                nullptr},
        Refusal{"sessname=s device_path=d nr_poll_queues=-2", -EINVAL,
                "nr_poll_queues must be -1 or 0..4096", nullptr},
        Refusal{"sessname=s device_path=d device_path=e", -EINVAL, "device_path given twice",
                nullptr}));

TEST(MapOptions, NulOrControlCharacterInDevicePath) {
  auto nul = parse(std::string("sessname=a device_path=x\0y", 26));
  EXPECT_EQ(nul.err, -EINVAL);
  EXPECT_STREQ(nul.diag.what, "device_path must not contain NUL or control characters");
  EXPECT_EQ(parse("sessname=a device_path=x\x01y").err, -EINVAL);
}

TEST(MapOptions, SameTextDifferentKindIsADifferentPath) {
  auto p = parse("sessname=s device_path=d path=ip:fe80::1 path=gid:fe80::1");
  EXPECT_EQ(p.err, 0) << p.diag.what;
  EXPECT_EQ(p.opts->nr_paths, 2u);
}

TEST(MapOptions, OverlongNames) {
  const std::string long_name(255, 'x');
  EXPECT_EQ(parse("sessname=" + long_name + " device_path=d").err, -ENAMETOOLONG);
  EXPECT_EQ(parse("sessname=s device_path=" + long_name).err, -ENAMETOOLONG);
  EXPECT_EQ(parse("sessname=" + std::string(254, 'x') + " device_path=d").err, 0);
}

std::string resolve(const char* search, const char* sess, const std::string& dev, int* err) {
  char out[ibnbd::kPathMax];
  auto r = ibnbd::resolve_device_path(search, sess, strlen(sess), dev.data(), dev.size(), out,
                                      sizeof(out));
  *err = r.is_ok() ? 0 : r.error().code();
  return r.is_ok() ? std::string(out, r.value()) : std::string();
}

TEST(DevicePath, JoinsCollapsesAndSubstitutes) {
  int err;
  EXPECT_EQ(resolve("/", "s1", "dev/nullb0", &err), "/dev/nullb0");
  EXPECT_EQ(err, 0);
  EXPECT_EQ(resolve("/", "s1", "/dev//nullb0", &err), "/dev/nullb0");
  EXPECT_EQ(resolve("/srv/%SESSNAME%/", "clientA", "vol1", &err), "/srv/clientA/vol1");
  EXPECT_EQ(resolve("/a/%SESSNAME%/%SESSNAME%", "x", "v", &err), "/a/x/x/v");
  EXPECT_EQ(resolve("/srv", "s", "a..b/c.d", &err), "/srv/a..b/c.d");  // not a component
  EXPECT_EQ(err, 0);
}

TEST(DevicePath, RefusesEscapesAndJunk) {
  int err;
  for (const char* bad : {"..", "../etc/passwd", "a/../../b", "a/..", "./x", "a/./b", "", "/", "//"}) {
    resolve("/srv", "s", bad, &err);
    EXPECT_EQ(err, -EINVAL) << bad;
  }
  resolve("/srv", "s", std::string("a\0b", 3), &err);
  EXPECT_EQ(err, -EINVAL);
  resolve("/srv", "s", "a\nb", &err);
  EXPECT_EQ(err, -EINVAL);
  resolve("/srv", "s", std::string(5000, 'a'), &err);
  EXPECT_EQ(err, -ENAMETOOLONG);
}

TEST(OpenRules, ManyReadersOneWriterMigrationSecond) {
  ibnbd::OpenCounts c;
  EXPECT_TRUE(c.admit(AccessMode::kRo).is_ok());
  EXPECT_TRUE(c.admit(AccessMode::kRo).is_ok());
  EXPECT_TRUE(c.admit(AccessMode::kRw).is_ok());
  EXPECT_EQ(c.admit(AccessMode::kRw).error().code(), -EPERM);
  EXPECT_TRUE(c.admit(AccessMode::kMigration).is_ok());
  EXPECT_EQ(c.admit(AccessMode::kMigration).error().code(), -EPERM);
  c.release(AccessMode::kRw);
  EXPECT_EQ(c.admit(AccessMode::kRw).error().code(), -EPERM);  // migration writer remains
  c.release(AccessMode::kMigration);
  EXPECT_TRUE(c.admit(AccessMode::kRw).is_ok());
  c.release(AccessMode::kRw);
  c.release(AccessMode::kRo);
  c.release(AccessMode::kRo);
  EXPECT_TRUE(c.idle());
  EXPECT_FALSE(ibnbd::mode_allows_write(AccessMode::kRo));
  EXPECT_TRUE(ibnbd::mode_allows_write(AccessMode::kMigration));
}

}  // namespace

TEST(MapOptions, ResolvePollQueues) {
  ibnbd::MapDiag d;
  auto all = ibnbd::resolve_poll_queues(ibnbd::kPollQueuesAllCpus, 4, &d);
  ASSERT_TRUE(all.is_ok());
  EXPECT_EQ(all.value(), 4u);
  auto none = ibnbd::resolve_poll_queues(0, 4, &d);
  ASSERT_TRUE(none.is_ok());
  EXPECT_EQ(none.value(), 0u);
  auto max = ibnbd::resolve_poll_queues(4, 4, &d);
  ASSERT_TRUE(max.is_ok());
  EXPECT_EQ(max.value(), 4u);
  EXPECT_EQ(d.what, nullptr);
  auto over = ibnbd::resolve_poll_queues(5, 4, &d);
  ASSERT_TRUE(over.is_error());
  EXPECT_EQ(over.error().code(), -EINVAL);
  EXPECT_STREQ(d.what, "nr_poll_queues is more than the CPUs online");
  ibnbd::MapDiag d2;
  auto neg = ibnbd::resolve_poll_queues(-2, 4, &d2);
  ASSERT_TRUE(neg.is_error());
  EXPECT_EQ(neg.error().code(), -EINVAL);
  EXPECT_NE(d2.what, nullptr);
  // The parser's own bound still refuses what no machine resolves.
  auto big = parse("sessname=s device_path=d nr_poll_queues=4097");
  EXPECT_EQ(big.err, -EINVAL);
}

TEST(MapOptions, QueueLayout) {
  const auto none = ibnbd::queue_layout(2, 0);
  EXPECT_EQ(none.nr_hw_queues, 2u);
  EXPECT_EQ(none.nr_maps, 0u);
  EXPECT_EQ(none.poll_index(0), -1);
  EXPECT_EQ(none.poll_index(1), -1);
  EXPECT_EQ(none.poll_index(2), -1);
  const auto one = ibnbd::queue_layout(2, 1);
  EXPECT_EQ(one.io_queues, 2u);
  EXPECT_EQ(one.nr_hw_queues, 3u);
  EXPECT_EQ(one.nr_maps, 3u);
  EXPECT_EQ(one.poll_index(1), -1);
  EXPECT_EQ(one.poll_index(2), 0);
  EXPECT_EQ(one.poll_index(3), -1);
  const auto all = ibnbd::queue_layout(4, 4);
  EXPECT_EQ(all.nr_hw_queues, 8u);
  EXPECT_EQ(all.poll_index(4), 0);
  EXPECT_EQ(all.poll_index(7), 3);
  EXPECT_EQ(ibnbd::queue_layout(0, 0).nr_hw_queues, 1u);
}
