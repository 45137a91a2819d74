// SPDX-License-Identifier: GPL-2.0
// Host tests of the ibnbd command-line tool (tools/ibnbd) on a fake sysfs
// tree: a temporary directory laid out like /sys (names from
// tools/ibnbd/layout.h, i.e. docs/ibtrs.md and issue 4), with writes going
// to an injected writer that records them and fails with the errno a kernel
// store would return. The map lines the tool writes are also fed to the
// kernel's own map_device parser (ibnbd/core/map_options.h).
#include <gtest/gtest.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <ibnbd/core/map_options.h>

#include "tools/ibnbd/cli.h"
#include "tools/ibnbd/errors.h"
#include "tools/ibnbd/layout.h"
#include "tools/ibnbd/model.h"
#include "tools/ibnbd/output.h"
#include "tools/ibnbd/sysfs.h"

namespace {

using namespace ibnbd_tool;

int rm_entry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }

// A write the fake kernel saw.
struct Seen {
  std::string rel;  // relative to the sysfs root
  std::string value;
};

// Records writes; fails those whose relative path ends with a configured
// suffix; runs an optional effect (what the kernel would change in sysfs).
class FakeWriter final : public Writer {
 public:
  explicit FakeWriter(std::string root) : root_(std::move(root)) {}
  WriteResult write(const std::string& path, const std::string& value) override {
    const std::string rel = path.compare(0, root_.size() + 1, root_ + "/") == 0 ? path.substr(root_.size() + 1) : path;
    seen.push_back({rel, value});
    for (const auto& [suffix, res] : failures)
      if (rel.size() >= suffix.size() && rel.compare(rel.size() - suffix.size(), suffix.size(), suffix) == 0)
        return res;
    if (effect) effect(rel, value);
    return {};
  }
  std::vector<Seen> seen;
  std::map<std::string, WriteResult> failures;
  std::function<void(const std::string&, const std::string&)> effect;

 private:
  std::string root_;
};

class ToolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ibnbd-tool-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    writer_ = std::make_unique<FakeWriter>(root_);
  }
  void TearDown() override { ::nftw(root_.c_str(), rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

  std::string abs(const std::string& rel) const { return root_ + "/" + rel; }
  void mkdirs(const std::string& rel) {
    std::string p = root_;
    std::string rest = rel;
    size_t i = 0;
    while (i <= rest.size()) {
      size_t j = rest.find('/', i);
      if (j == std::string::npos) j = rest.size();
      p += "/" + rest.substr(i, j - i);
      ::mkdir(p.c_str(), 0755);
      i = j + 1;
    }
  }
  void file(const std::string& rel, const std::string& content) {
    const auto slash = rel.rfind('/');
    if (slash != std::string::npos) mkdirs(rel.substr(0, slash));
    const int fd = ::open(abs(rel).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0) << rel;
    ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    ::close(fd);
  }
  void link(const std::string& rel, const std::string& target) {
    const auto slash = rel.rfind('/');
    if (slash != std::string::npos) mkdirs(rel.substr(0, slash));
    ASSERT_EQ(::symlink(target.c_str(), abs(rel).c_str()), 0) << rel;
  }

  // The sysfs of a loaded ibnbd_client with no device.
  void client_module() { file("class/ibnbd-client/ctl/map_device", "Usage: ...\n"); }
  // A transport session with one path per destination (src 10.99.k.2 -> dst).
  void session(const std::string& name, const std::vector<std::string>& paths,
               const std::string& policy = "min-inflight (MI: 1)") {
    const std::string d = "class/ibtrs-client/" + name;
    file(d + "/mpath_policy", policy + "\n");
    file(d + "/max_reconnect_attempts", "-1\n");
    file(d + "/add_path", "Usage: echo [<source addr>@]<destination addr> > add_path\n");
    int k = 0;
    for (const std::string& p : paths) {
      const std::string pd = d + "/paths/" + p;
      const auto at = p.find('@');
      file(pd + "/state", "connected\n");
      file(pd + "/hca_name", "rxe" + std::to_string(2 * k + 1) + "\n");
      file(pd + "/hca_port", "1\n");
      file(pd + "/src_addr", p.substr(0, at) + "\n");
      file(pd + "/dst_addr", p.substr(at + 1) + "\n");
      file(pd + "/cur_latency", std::to_string(1000 * (k + 1)) + " ns\n");
      file(pd + "/stats/rdma", "10 5120 20 10240 " + std::to_string(k) + " " + std::to_string(k + 3) + "\n");
      file(pd + "/stats/reconnects", "2 1\n");
      file(pd + "/reconnect", "");
      file(pd + "/disconnect", "");
      file(pd + "/remove_path", "");
      k++;
    }
  }
  // A mapped device ibnbd<n> with its ctl/devices link.
  void device(int n, const std::string& sess, const std::string& mapping_path, const std::string& mode = "rw",
              const std::string& state = "open", bool with_link = true) {
    const std::string disk = "ibnbd" + std::to_string(n);
    const std::string d = "block/" + disk;
    file(d + "/size", "2097152\n");
    file(d + "/ibnbd/state", state + "\n");
    file(d + "/ibnbd/session", sess + "\n");
    file(d + "/ibnbd/mapping_path", mapping_path + "\n");
    file(d + "/ibnbd/access_mode", mode + "\n");
    file(d + "/ibnbd/nr_poll_queues", "0\n");
    for (const char* f : {"unmap_device", "remap_device", "resize"}) file(d + "/ibnbd/" + f, "");
    if (with_link) link("class/ibnbd-client/ctl/devices/" + device_link_name(mapping_path, sess), "../../../../" + d);
  }

  int run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    args.insert(args.begin(), {"--sysfs-root", root_});
    Environment env;
    env.poll_interval_ms = 1;
    return ibnbd_tool::run(args, env, out_, err_, *writer_);
  }
  std::string out() const { return out_.str(); }
  std::string err() const { return err_.str(); }
  const std::vector<Seen>& seen() const { return writer_->seen; }
  void fail_write(const std::string& suffix, int err, bool opened = true) {
    writer_->failures[suffix] = WriteResult{err, opened};
  }

  std::string root_;
  std::unique_ptr<FakeWriter> writer_;
  std::ostringstream out_, err_;
};

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// ---------------------------------------------------------------------------
// list / show

TEST_F(ToolTest, ListJsonIsExactlyTheTree) {
  client_module();
  session("s1", {"ip:10.99.0.2@ip:10.99.0.1"});
  device(0, "s1", "/dev/nullb0");
  ASSERT_EQ(run({"list", "--json"}), kExitOk) << err();
  EXPECT_EQ(out(),
            "{\"modules\":{\"ibnbd_client\":true,\"ibtrs_client\":true},"
            "\"devices\":[{\"name\":\"ibnbd0\",\"path\":\"/dev/ibnbd0\",\"session\":\"s1\","
            "\"mapping_path\":\"/dev/nullb0\",\"access_mode\":\"rw\",\"state\":\"open\",\"nr_poll_queues\":0,"
            "\"size_sectors\":2097152,\"size_bytes\":1073741824}],"
            "\"sessions\":[{\"name\":\"s1\",\"policy\":\"min-inflight\",\"policy_raw\":\"min-inflight (MI: 1)\","
            "\"max_reconnect_attempts\":-1,\"paths_connected\":1,\"paths_total\":1,\"paths\":[{\"session\":\"s1\","
            "\"name\":\"ip:10.99.0.2@ip:10.99.0.1\",\"state\":\"connected\",\"hca_name\":\"rxe1\",\"hca_port\":1,"
            "\"src_addr\":\"ip:10.99.0.2\",\"dst_addr\":\"ip:10.99.0.1\",\"cur_latency_ns\":1000,\"read_cnt\":10,"
            "\"read_bytes\":5120,\"write_cnt\":20,\"write_bytes\":10240,\"inflight\":0,\"failover_cnt\":3,"
            "\"reconnects_ok\":2,\"reconnects_failed\":1}],\"devices\":[\"ibnbd0\"]}]}\n");
  EXPECT_TRUE(seen().empty()) << "list must not write";
}

TEST_F(ToolTest, ListShowsMissingAttributesAsNullAndDash) {
  session("s1", {"ip:10.99.0.2@ip:10.99.0.1"});
  ::unlink(abs("class/ibtrs-client/s1/paths/ip:10.99.0.2@ip:10.99.0.1/cur_latency").c_str());
  file("class/ibtrs-client/s1/paths/ip:10.99.0.2@ip:10.99.0.1/stats/rdma", "garbage\n");
  ASSERT_EQ(run({"--json", "list", "paths"}), kExitOk) << err();
  EXPECT_TRUE(contains(out(), "\"cur_latency_ns\":null")) << out();
  EXPECT_TRUE(contains(out(), "\"read_cnt\":null,\"read_bytes\":null")) << out();
  ASSERT_EQ(run({"list", "paths"}), kExitOk);
  // SESSION PATH STATE HCA INFLIGHT FAILOVERS LATENCY ...: inflight, failovers, latency unknown.
  EXPECT_TRUE(contains(out(), "connected  rxe1:1  -         -          -")) << out();
}

TEST_F(ToolTest, ListTableHasEverySection) {
  client_module();
  session("s1", {"ip:10.99.0.2@ip:10.99.0.1", "ip:10.99.1.2@ip:10.99.1.1"}, "round-robin (RR: 0)");
  file("class/ibtrs-client/s1/paths/ip:10.99.1.2@ip:10.99.1.1/state", "disconnected\n");
  device(0, "s1", "/dev/nullb0");
  device(1, "s1", "img/a.img", "ro", "closed");
  ASSERT_EQ(run({"list"}), kExitOk) << err();
  const std::string o = out();
  EXPECT_TRUE(contains(o, "ibnbd1  s1       img/a.img     ro    closed  1.0 GiB  0")) << o;
  EXPECT_TRUE(contains(o, "s1    round-robin  1/2    forever    ibnbd0,ibnbd1")) << o;
  EXPECT_TRUE(contains(o, "ip:10.99.1.2@ip:10.99.1.1  disconnected  rxe3:1  1         4          2.0 us   2/1"))
      << o;
}

TEST_F(ToolTest, ListWithoutModulesSaysWhatToLoad) {
  EXPECT_EQ(run({"list"}), kExitNotLoaded);
  EXPECT_TRUE(contains(err(), "modprobe ibnbd_client")) << err();
  EXPECT_EQ(run({"list", "everything"}), kExitUsage);
}

TEST_F(ToolTest, ListWithOnlyTheTransportShowsSessions) {
  session("s1", {"ip:10.99.0.2@ip:10.99.0.1"});
  ASSERT_EQ(run({"list", "--json"}), kExitOk) << err();
  EXPECT_TRUE(contains(out(), "{\"ibnbd_client\":false,\"ibtrs_client\":true},\"devices\":[]")) << out();
  ASSERT_EQ(run({"list"}), kExitOk);
  EXPECT_TRUE(contains(out(), "(ibnbd_client not loaded)")) << out();
}

TEST_F(ToolTest, ShowDeviceAndSession) {
  client_module();
  session("s1", {"ip:10.99.0.2@ip:10.99.0.1"});
  device(3, "s1", "/dev/nullb0");
  ASSERT_EQ(run({"show", "ibnbd3"}), kExitOk) << err();
  EXPECT_TRUE(contains(out(), "Device ibnbd3 (/dev/ibnbd3)")) << out();
  EXPECT_TRUE(contains(out(), "Session s1")) << out();
  ASSERT_EQ(run({"show", "s1", "--json"}), kExitOk) << err();
  EXPECT_EQ(out().rfind("{\"session\":{\"name\":\"s1\",\"policy\":\"min-inflight\"", 0), 0u) << out();
  EXPECT_TRUE(contains(out(), "\"devices\":[\"ibnbd3\"]")) << out();
  EXPECT_EQ(run({"show", "nosuch"}), kExitNotFound);
  EXPECT_TRUE(contains(err(), "no device or session 'nosuch'")) << err();
}

// ---------------------------------------------------------------------------
// device names

TEST_F(ToolTest, DeviceArgumentForms) {
  client_module();
  session("s1", {"ip:10.99.0.2@ip:10.99.0.1"});
  session("s2", {"ip:10.99.1.2@ip:10.99.1.1"});
  device(0, "s1", "/dev/nullb0");
  device(1, "s2", "/dev/nullb0");
  device(2, "s2", "img/x");
  // A udev-style link: <root>/dev/ibnbd/s2/img/x -> ../../../ibnbd2
  file("dev/ibnbd2", "");
  link("dev/ibnbd/s2/img/x", "../../../ibnbd2");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"ibnbd1", "ibnbd1"},           {"/dev/ibnbd1", "ibnbd1"},     {"/dev/nullb0@s2", "ibnbd1"},
      {"/dev/nullb0@s1", "ibnbd0"},   {"img/x", "ibnbd2"},           {abs("dev/ibnbd/s2/img/x"), "ibnbd2"},
  };
  for (const auto& [arg, disk] : cases) {
    writer_->seen.clear();
    ASSERT_EQ(run({"unmap", arg}), kExitOk) << arg << ": " << err();
    ASSERT_EQ(seen().size(), 1u);
    EXPECT_EQ(seen()[0].rel, "block/" + disk + "/ibnbd/unmap_device") << arg;
  }
  EXPECT_EQ(run({"unmap", "/dev/nullb0"}), kExitUsage) << "two devices have that path";
  EXPECT_TRUE(contains(err(), "mapped more than once")) << err();
  EXPECT_EQ(run({"unmap", "ibnbd9"}), kExitNotFound);
  EXPECT_EQ(run({"unmap", "/dev/nullb0@s3"}), kExitNotFound);
}

// ---------------------------------------------------------------------------
// map

TEST_F(ToolTest, MapWritesOneLineTheKernelParserAccepts) {
  client_module();
  writer_->effect = [&](const std::string& rel, const std::string&) {
    if (rel == "class/ibnbd-client/ctl/map_device") device(4, "store1", "/dev/nullb0", "ro");
  };
  ASSERT_EQ(run({"map", "10.99.0.1", "ip:10.99.1.2@ip:10.99.1.1", "fe80::1%veth0", "/dev/nullb0", "--session",
                 "store1", "--ro", "--port", "4321", "--poll-queues", "-1"}),
            kExitOk)
      << err();
  EXPECT_EQ(out(), "/dev/ibnbd4\n");
  ASSERT_EQ(seen().size(), 1u);
  EXPECT_EQ(seen()[0].rel, "class/ibnbd-client/ctl/map_device");
  const std::string line = seen()[0].value;
  EXPECT_EQ(line,
            "sessname=store1 dest_port=4321 path=ip:10.99.0.1 path=ip:10.99.1.2@ip:10.99.1.1 "
            "path=ip:fe80::1%veth0 device_path=/dev/nullb0 access_mode=ro nr_poll_queues=-1\n");
  // The kernel side's parser takes it and finds the same fields.
  auto opts = std::make_unique<ibnbd::MapOptions>();
  ibnbd::MapDiag diag;
  auto r = ibnbd::parse_map_options(line.data(), line.size(), opts.get(), &diag);
  ASSERT_TRUE(r.is_ok()) << (diag.what ? diag.what : "?");
  EXPECT_EQ(std::string(opts->sessname.ptr, opts->sessname.len), "store1");
  EXPECT_EQ(std::string(opts->device_path.ptr, opts->device_path.len), "/dev/nullb0");
  EXPECT_EQ(opts->nr_paths, 3u);
  EXPECT_EQ(opts->dest_port, 4321);
  EXPECT_EQ(opts->nr_poll_queues, -1);
  EXPECT_EQ(opts->access_mode, ibnbd::proto::AccessMode::kRo);
}

TEST_F(ToolTest, MapJsonDescribesTheNewDevice) {
  client_module();
  writer_->effect = [&](const std::string&, const std::string&) { device(0, "10-99-0-1", "/dev/nullb0"); };
  ASSERT_EQ(run({"--json", "map", "10.99.0.1", "/dev/nullb0"}), kExitOk) << err();
  EXPECT_EQ(seen()[0].value, "sessname=10-99-0-1 path=ip:10.99.0.1 device_path=/dev/nullb0 access_mode=rw\n");
  EXPECT_TRUE(contains(out(), "{\"name\":\"ibnbd0\",\"path\":\"/dev/ibnbd0\",\"session\":\"10-99-0-1\"")) << out();
}

TEST_F(ToolTest, MapReusesTheSessionThatReachesTheServer) {
  client_module();
  session("blk", {"ip:10.99.0.2@ip:10.99.0.1"});
  ASSERT_EQ(run({"map", "-n", "10.99.0.1", "/dev/nullb1"}), kExitOk) << err();
  EXPECT_EQ(out(), "sessname=blk path=ip:10.99.0.1 device_path=/dev/nullb1 access_mode=rw\n");
  EXPECT_TRUE(seen().empty()) << "--dry-run wrote";
  session("blk2", {"ip:10.99.5.2@ip:10.99.0.1"});
  EXPECT_EQ(run({"map", "-n", "10.99.0.1", "/dev/nullb1"}), kExitUsage);
  EXPECT_TRUE(contains(err(), "choose one with --session")) << err();
}

TEST_F(ToolTest, MapRefusesBadCommandLinesWithoutWriting) {
  client_module();
  const std::vector<std::vector<std::string>> bad = {
      {"map", "/dev/nullb0"},                                   // no address
      {"map", "server.example.com", "/dev/nullb0"},             // host name
      {"map", "10.99.0.1", "/dev/nullb0", "--ro", "--rw"},      // two modes
      {"map", "10.99.0.1", "/dev/nullb0", "--port", "70000"},   // port range
      {"map", "10.99.0.1", "/dev/nullb0", "--port"},            // missing value
      {"map", "10.99.0.1", "/dev/nullb0", "-s", "a.b"},         // '.' in session
      {"map", "10.99.0.1", "/dev/null b0"},                     // blank in path
      {"map", "10.99.0.1", "/dev/nullb0", "--bogus"},           // unknown option
      {"map", "ip:", "/dev/nullb0"},                            // empty address
  };
  for (const auto& args : bad) {
    EXPECT_EQ(run(args), kExitUsage) << args[1] << " " << args.back();
    EXPECT_TRUE(contains(err(), "see `ibnbd map --help`")) << err();
  }
  EXPECT_TRUE(seen().empty());
}

TEST_F(ToolTest, MapWithoutTheModule) {
  EXPECT_EQ(run({"map", "10.99.0.1", "/dev/nullb0"}), kExitNotLoaded);
  EXPECT_TRUE(contains(err(), "ibnbd_client is not loaded")) << err();
  EXPECT_TRUE(contains(err(), "modprobe ibnbd_client")) << err();
  EXPECT_TRUE(seen().empty());
}

struct MapErrCase {
  int err;
  int exit_code;
  const char* errno_name;
  const char* hint_part;
};

TEST_F(ToolTest, MapErrnoBecomesMessageHintAndExitCode) {
  client_module();
  const MapErrCase cases[] = {
      {EEXIST, kExitExists, "EEXIST", "ibnbd list"},
      {ENOENT, kExitNotFound, "ENOENT", "dev_search_path"},
      {EPERM, kExitDenied, "EPERM", "--ro"},
      {EINVAL, kExitUsage, "EINVAL", "dmesg"},
      {ECONNREFUSED, kExitConnect, "ECONNREFUSED", "port_nr"},
      {ETIMEDOUT, kExitConnect, "ETIMEDOUT", "rdma link"},
      {ENOMEM, kExitFailed, "ENOMEM", "sess_queue_depth"},
      {EIO, kExitFailed, "EIO", "dmesg"},
  };
  for (const auto& c : cases) {
    fail_write("map_device", c.err);
    EXPECT_EQ(run({"map", "10.99.0.1", "/dev/nullb0", "-s", "s1"}), c.exit_code) << c.errno_name;
    EXPECT_TRUE(contains(err(), std::string("(") + c.errno_name + ": ")) << err();
    EXPECT_TRUE(contains(err(), "hint: ")) << err();
    EXPECT_TRUE(contains(err(), c.hint_part)) << c.errno_name << ": " << err();
    EXPECT_TRUE(out().empty());
  }
  // Not root: open() fails, no store ran.
  fail_write("map_device", EACCES, false);
  EXPECT_EQ(run({"map", "10.99.0.1", "/dev/nullb0"}), kExitDenied);
  EXPECT_TRUE(contains(err(), "needs root")) << err();
  // --json: the error as a document too.
  fail_write("map_device", EEXIST);
  EXPECT_EQ(run({"--json", "map", "10.99.0.1", "/dev/nullb0"}), kExitExists);
  EXPECT_TRUE(contains(out(), "{\"error\":{\"message\":")) << out();
  EXPECT_TRUE(contains(out(), "\"errno\":\"EEXIST\",\"exit_code\":7}}")) << out();
}

// ---------------------------------------------------------------------------
// unmap, resize, remap

TEST_F(ToolTest, UnmapNormalForceAndBusy) {
  client_module();
  device(0, "s1", "/dev/nullb0");
  ASSERT_EQ(run({"unmap", "ibnbd0"}), kExitOk) << err();
  ASSERT_EQ(run({"unmap", "--force", "ibnbd0"}), kExitOk) << err();
  ASSERT_EQ(seen().size(), 2u);
  EXPECT_EQ(seen()[0].value, "normal\n");
  EXPECT_EQ(seen()[1].value, "force\n");
  fail_write("unmap_device", EBUSY);
  EXPECT_EQ(run({"unmap", "ibnbd0"}), kExitBusy);
  EXPECT_TRUE(contains(err(), "in use")) << err();
  EXPECT_TRUE(contains(err(), "ibnbd unmap --force ibnbd0")) << err();
}

TEST_F(ToolTest, ResizeConvertsToSectors) {
  client_module();
  device(0, "s1", "/dev/nullb0");
  const std::vector<std::pair<std::string, std::string>> ok = {
      {"1G", "2097152\n"}, {"2048s", "2048\n"}, {"1048576", "2048\n"}, {"3MiB", "6144\n"}, {"1T", "2147483648\n"}};
  for (const auto& [size, written] : ok) {
    writer_->seen.clear();
    ASSERT_EQ(run({"resize", "ibnbd0", size}), kExitOk) << size << ": " << err();
    ASSERT_EQ(seen().size(), 1u);
    EXPECT_EQ(seen()[0].rel, "block/ibnbd0/ibnbd/resize");
    EXPECT_EQ(seen()[0].value, written) << size;
  }
  writer_->seen.clear();
  for (const char* bad : {"1000", "0", "1X", "G", "-5G", "99999999999999999999"})
    EXPECT_EQ(run({"resize", "ibnbd0", bad}), kExitUsage) << bad;
  EXPECT_TRUE(seen().empty());
  fail_write("resize", ENOENT);
  EXPECT_EQ(run({"resize", "ibnbd0", "1G"}), kExitNotFound);
  EXPECT_TRUE(contains(err(), "ibnbd remap ibnbd0")) << err();
}

TEST_F(ToolTest, RemapAlreadyOpenIsSuccessNoPathIsConnectError) {
  client_module();
  device(0, "s1", "/dev/nullb0", "rw", "closed");
  ASSERT_EQ(run({"remap", "ibnbd0"}), kExitOk) << err();
  EXPECT_EQ(seen().back().value, "1\n");
  EXPECT_EQ(out(), "ibnbd0: remapped\n");
  fail_write("remap_device", EALREADY);
  EXPECT_EQ(run({"remap", "ibnbd0"}), kExitOk);
  EXPECT_TRUE(contains(err(), "already open")) << err();
  fail_write("remap_device", ENOTCONN);
  EXPECT_EQ(run({"remap", "ibnbd0"}), kExitConnect);
  EXPECT_TRUE(contains(err(), "session 's1' has no connected path")) << err();
}

// ---------------------------------------------------------------------------
// path, policy

TEST_F(ToolTest, PathCommands) {
  session("s1", {"ip:10.99.0.2@ip:10.99.0.1", "ip:10.99.1.2@ip:10.99.1.1"});
  ASSERT_EQ(run({"path", "add", "s1", "10.99.2.2@10.99.2.1"}), kExitOk) << err();
  EXPECT_EQ(seen().back().rel, "class/ibtrs-client/s1/add_path");
  EXPECT_EQ(seen().back().value, "ip:10.99.2.2@ip:10.99.2.1\n");
  ASSERT_EQ(run({"path", "disconnect", "s1", "10.99.1.1"}), kExitOk) << err();
  EXPECT_EQ(seen().back().rel, "class/ibtrs-client/s1/paths/ip:10.99.1.2@ip:10.99.1.1/disconnect");
  ASSERT_EQ(run({"path", "reconnect", "s1", "ip:10.99.0.2@ip:10.99.0.1"}), kExitOk) << err();
  EXPECT_EQ(seen().back().rel, "class/ibtrs-client/s1/paths/ip:10.99.0.2@ip:10.99.0.1/reconnect");
  ASSERT_EQ(run({"path", "remove", "s1", "ip:10.99.0.1"}), kExitOk) << err();
  EXPECT_EQ(seen().back().rel, "class/ibtrs-client/s1/paths/ip:10.99.0.2@ip:10.99.0.1/remove_path");
  EXPECT_EQ(seen().back().value, "1\n");
  const size_t writes = seen().size();
  EXPECT_EQ(run({"path", "remove", "s1", "10.99.7.1"}), kExitNotFound);
  EXPECT_EQ(run({"path", "remove", "s9", "10.99.0.1"}), kExitNotFound);
  EXPECT_EQ(run({"path", "frobnicate", "s1", "10.99.0.1"}), kExitUsage);
  EXPECT_EQ(run({"path", "add", "s1", "nonsense"}), kExitUsage);
  EXPECT_EQ(seen().size(), writes);
  fail_write("add_path", EEXIST);
  EXPECT_EQ(run({"path", "add", "s1", "10.99.0.2@10.99.0.1"}), kExitExists);
  fail_write("reconnect", ENOTCONN);
  EXPECT_EQ(run({"path", "reconnect", "s1", "10.99.1.1"}), kExitConnect);
  EXPECT_TRUE(contains(err(), "did not come up")) << err();
}

TEST_F(ToolTest, PolicyShowSetAndRefused) {
  session("s1", {"ip:10.99.0.2@ip:10.99.0.1"});
  ASSERT_EQ(run({"policy", "s1"}), kExitOk);
  EXPECT_EQ(out(), "s1: min-inflight\n");
  EXPECT_TRUE(seen().empty());
  writer_->effect = [&](const std::string& rel, const std::string&) {
    file(rel, "adaptive (AD: 3)\n");  // the kernel shows the new policy
  };
  ASSERT_EQ(run({"policy", "s1", "adaptive"}), kExitOk) << err();
  EXPECT_EQ(seen().back().rel, "class/ibtrs-client/s1/mpath_policy");
  EXPECT_EQ(seen().back().value, "adaptive\n");
  EXPECT_EQ(out(), "s1: adaptive\n");
  fail_write("mpath_policy", EINVAL);
  EXPECT_EQ(run({"policy", "s1", "fastest"}), kExitUsage);
  EXPECT_TRUE(contains(err(), "round-robin, min-inflight, min-latency, adaptive")) << err();
  EXPECT_EQ(run({"policy", "nosuch", "rr"}), kExitNotFound);
}

// ---------------------------------------------------------------------------
// server

TEST_F(ToolTest, ServerListAndClose) {
  file("block/nullb0/size", "2097152\n");
  link("class/ibnbd-server/ctl/devices/nullb0/block_dev", "../../../../../block/nullb0");
  file("class/ibnbd-server/ctl/devices/nullb0/sessions/s1/read_only", "0\n");
  file("class/ibnbd-server/ctl/devices/nullb0/sessions/s1/access_mode", "rw\n");
  file("class/ibnbd-server/ctl/devices/nullb0/sessions/s1/mapping_path", "/dev/nullb0\n");
  file("class/ibnbd-server/ctl/devices/nullb0/sessions/s1/force_close", "");
  const std::string sp = "class/ibtrs-server/s1/paths/ip:10.99.0.1@ip:10.99.0.2";
  file(sp + "/hca_name", "rxe0\n");
  file(sp + "/hca_port", "1\n");
  file(sp + "/src_addr", "ip:10.99.0.1\n");
  file(sp + "/dst_addr", "ip:10.99.0.2\n");
  file(sp + "/stats/rdma", "1 4096 2 8192\n");
  ASSERT_EQ(run({"server", "list", "--json"}), kExitOk) << err();
  EXPECT_EQ(out(),
            "{\"modules\":{\"ibnbd_server\":true,\"ibtrs_server\":true},\"devices\":[{\"name\":\"nullb0\","
            "\"block_dev\":\"nullb0\",\"sessions\":[{\"name\":\"s1\",\"read_only\":false,\"access_mode\":\"rw\","
            "\"mapping_path\":\"/dev/nullb0\"}]}],\"sessions\":[{\"name\":\"s1\",\"paths\":[{\"name\":"
            "\"ip:10.99.0.1@ip:10.99.0.2\",\"hca_name\":\"rxe0\",\"hca_port\":1,\"src_addr\":\"ip:10.99.0.1\","
            "\"dst_addr\":\"ip:10.99.0.2\",\"rd_cnt\":1,\"rd_bytes\":4096,\"wr_cnt\":2,\"wr_bytes\":8192}]}]}\n");
  ASSERT_EQ(run({"server", "list"}), kExitOk);
  EXPECT_TRUE(contains(out(), "nullb0  nullb0     s1       rw    0   /dev/nullb0")) << out();
  ASSERT_EQ(run({"server", "close", "/dev/nullb0", "s1"}), kExitOk) << err();
  EXPECT_EQ(seen().back().rel, "class/ibnbd-server/ctl/devices/nullb0/sessions/s1/force_close");
  EXPECT_EQ(seen().back().value, "1\n");
  const size_t writes = seen().size();
  EXPECT_EQ(run({"server", "close", "nullb0", "s2"}), kExitNotFound);
  EXPECT_EQ(run({"server", "close", "nullb9", "s1"}), kExitNotFound);
  EXPECT_EQ(run({"server", "close", "nullb0", "../s1"}), kExitNotFound);
  EXPECT_EQ(seen().size(), writes);
}

TEST_F(ToolTest, ServerWithoutModules) {
  EXPECT_EQ(run({"server", "list"}), kExitNotLoaded);
  EXPECT_EQ(run({"server", "close", "nullb0", "s1"}), kExitNotLoaded);
  EXPECT_TRUE(contains(err(), "ibnbd_server is not loaded")) << err();
}

// ---------------------------------------------------------------------------
// udev-name

TEST_F(ToolTest, UdevNameIsStableAndSafe) {
  device(0, "s1", "/dev/nullb0");
  device(1, "s2", "images//../vm 1.img");
  ASSERT_EQ(run({"udev-name", "ibnbd0"}), kExitOk) << err();
  EXPECT_EQ(out(), "ibnbd/s1/dev/nullb0\n");
  ASSERT_EQ(run({"udev-name", "ibnbd0p12"}), kExitOk) << err();
  EXPECT_EQ(out(), "ibnbd/s1/dev/nullb0-part12\n");
  ASSERT_EQ(run({"udev-name", "ibnbd1"}), kExitOk) << err();
  EXPECT_EQ(out(), "ibnbd/s2/images/_/vm_1.img\n");
  EXPECT_EQ(run({"udev-name", "sda"}), kExitNotFound);
  EXPECT_EQ(run({"udev-name", "ibnbd0px"}), kExitNotFound);
  EXPECT_EQ(run({"udev-name", "ibnbd7", "--wait", "0"}), kExitNotFound);
}

// ---------------------------------------------------------------------------
// help, usage, output helpers

TEST_F(ToolTest, EveryCommandHasHelp) {
  for (const char* cmd : {"map", "unmap", "resize", "remap", "list", "show", "path", "policy", "server", "udev-name"}) {
    ASSERT_EQ(run({cmd, "--help"}), kExitOk) << cmd;
    EXPECT_EQ(out().rfind(std::string("Usage: ibnbd ") + cmd, 0), 0u) << out();
    const std::string via_option = out();
    ASSERT_EQ(run({"help", cmd}), kExitOk);
    EXPECT_EQ(out(), via_option);
  }
  ASSERT_EQ(run({"--help"}), kExitOk);
  EXPECT_TRUE(contains(out(), "Exit status:")) << out();
  EXPECT_EQ(run({}), kExitUsage);
  EXPECT_EQ(run({"frob"}), kExitUsage);
  EXPECT_TRUE(contains(err(), "unknown command 'frob'")) << err();
  EXPECT_TRUE(seen().empty());
}

TEST(ToolOutput, JsonEscapesControlAndQuote) {
  EXPECT_EQ(json_escape("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\u0001\"");
  Json j;
  j.begin_object().field("a", OptNum()).key("b").begin_array().value(int64_t{-1}).value(true).end_array();
  j.end_object();
  EXPECT_EQ(j.str(), "{\"a\":null,\"b\":[-1,true]}\n");
}

TEST(ToolOutput, NumbersFromSysfsText) {
  EXPECT_EQ(parse_number(std::string("123 ns")), OptNum(123));
  EXPECT_EQ(parse_number(std::string("-1")), OptNum(-1));
  EXPECT_EQ(parse_number(std::string("12x")), std::nullopt);
  EXPECT_EQ(nth_number(std::string("1 2 3 4 5 6"), 5), OptNum(6));
  EXPECT_EQ(nth_number(std::string("1 2"), 2), std::nullopt);
  EXPECT_EQ(policy_name(std::string("min-latency (ML: 2)")), OptStr("min-latency"));
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_ns(2500000), "2.5 ms");
  EXPECT_EQ(device_link_name("/dev/nullb0", "s1"), "!dev!nullb0@s1");
}

TEST(ToolErrors, EveryOpAnswersNotRootAtOpen) {
  for (Op op : {Op::kMap, Op::kUnmap, Op::kRemap, Op::kResize, Op::kPathAdd, Op::kPolicy, Op::kServerClose}) {
    const Failure f = explain(op, WriteResult{EACCES, false}, OpContext{"x", {}, {}, {}});
    EXPECT_EQ(f.exit_code, kExitDenied);
    EXPECT_TRUE(contains(f.hint, "root"));
  }
  EXPECT_EQ(errno_name(EBUSY), "EBUSY");
  EXPECT_EQ(errno_name(123456), "errno 123456");
}

// The real writer: one write(), errno from open vs from write.
TEST(ToolRealWriter, ReportsWhereItFailed) {
  char tmpl[] = "/tmp/ibnbd-writer-test.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  RealWriter w;
  const WriteResult ok = w.write(dir + "/nofile/x", "1\n");
  EXPECT_EQ(ok.err, ENOENT);
  EXPECT_FALSE(ok.opened);
  const WriteResult isdir = w.write(dir, "1\n");
  EXPECT_EQ(isdir.err, EISDIR);
  const std::string f = dir + "/f";
  const int fd = ::open(f.c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ::close(fd);
  const WriteResult good = w.write(f, "force\n");
  EXPECT_TRUE(good.ok());
  Sysfs fs(dir, w);
  EXPECT_EQ(fs.read("f"), OptStr("force"));
  // /dev/full fails at write(): the errno of the "store".
  const WriteResult full = w.write("/dev/full", "1\n");
  EXPECT_TRUE(full.opened);
  EXPECT_EQ(full.err, ENOSPC);
  ::unlink(f.c_str());
  ::rmdir(dir.c_str());
}

}  // namespace
