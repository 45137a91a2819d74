// SPDX-License-Identifier: GPL-2.0
#include "model.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "layout.h"

namespace ibnbd_tool {

namespace L = layout;

OptNum parse_number(const OptStr& text) {
  if (!text || text->empty()) return std::nullopt;
  const char* s = text->c_str();
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s, &end, 10);
  if (end == s || errno == ERANGE) return std::nullopt;
  // Allow a unit after a blank ("123 ns"), nothing else.
  if (*end != '\0' && *end != ' ') return std::nullopt;
  return static_cast<int64_t>(v);
}

OptNum nth_number(const OptStr& text, size_t n) {
  if (!text) return std::nullopt;
  size_t i = 0, idx = 0;
  const std::string& s = *text;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) i++;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) j++;
    if (j > i) {
      if (idx == n) {
        const std::string word = s.substr(i, j - i);
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(word.c_str(), &end, 10);
        if (end == word.c_str() || *end != '\0' || errno == ERANGE) return std::nullopt;
        return static_cast<int64_t>(v);
      }
      idx++;
    }
    i = j;
  }
  return std::nullopt;
}

OptStr policy_name(const OptStr& raw) {
  if (!raw) return std::nullopt;
  const auto sp = raw->find(' ');
  return sp == std::string::npos ? *raw : raw->substr(0, sp);
}

bool is_disk_name(const std::string& name) {
  const std::string prefix = L::kDiskPrefix;
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return false;
  for (size_t i = prefix.size(); i < name.size(); i++)
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;
  return true;
}

std::string device_dir(const std::string& disk) { return join(L::kBlockDir, disk); }
std::string device_attr_dir(const std::string& disk) { return join(device_dir(disk), L::kDevAttrDir); }
std::string session_dir(const std::string& sess) { return join(L::kTrsClientClass, sess); }
std::string path_dir(const std::string& sess, const std::string& path) {
  return join(session_dir(sess), L::kPathsDir, path);
}

std::string device_link_name(const std::string& device_path, const std::string& sess) {
  std::string id = device_path;
  for (char& c : id)
    if (c == '/') c = L::kDeviceIdSlash;
  return id + L::kDeviceIdSessSep + sess;
}

Device read_device(const Sysfs& fs, const std::string& name) {
  Device d;
  d.name = name;
  const std::string a = device_attr_dir(name);
  d.session = fs.read(join(a, L::kDevSession));
  d.mapping_path = fs.read(join(a, L::kDevMappingPath));
  d.access_mode = fs.read(join(a, L::kDevAccessMode));
  d.state = fs.read(join(a, L::kDevState));
  d.nr_poll_queues = parse_number(fs.read(join(a, L::kDevPollQueues)));
  d.size_sectors = parse_number(fs.read(join(device_dir(name), L::kBlockSize)));
  return d;
}

Path read_path(const Sysfs& fs, const std::string& session, const std::string& name) {
  Path p;
  p.session = session;
  p.name = name;
  const std::string d = path_dir(session, name);
  p.state = fs.read(join(d, L::kPathState));
  p.hca_name = fs.read(join(d, L::kPathHcaName));
  p.hca_port = parse_number(fs.read(join(d, L::kPathHcaPort)));
  p.src_addr = fs.read(join(d, L::kPathSrcAddr));
  p.dst_addr = fs.read(join(d, L::kPathDstAddr));
  p.cur_latency_ns = parse_number(fs.read(join(d, L::kPathLatency)));
  const OptStr rdma = fs.read(join(d, L::kStatsDir, L::kStatsRdma));
  p.read_cnt = nth_number(rdma, 0);
  p.read_bytes = nth_number(rdma, 1);
  p.write_cnt = nth_number(rdma, 2);
  p.write_bytes = nth_number(rdma, 3);
  p.inflight = nth_number(rdma, 4);
  p.failover_cnt = nth_number(rdma, 5);
  const OptStr rec = fs.read(join(d, L::kStatsDir, L::kStatsReconnects));
  p.reconnects_ok = nth_number(rec, 0);
  p.reconnects_failed = nth_number(rec, 1);
  return p;
}

int Session::connected_paths() const {
  int n = 0;
  for (const Path& p : paths)
    if (p.state && *p.state == L::kPathStateConnected) n++;
  return n;
}

Session read_session(const Sysfs& fs, const std::string& name) {
  Session s;
  s.name = name;
  const std::string d = session_dir(name);
  s.policy_raw = fs.read(join(d, L::kSessPolicy));
  s.policy = policy_name(s.policy_raw);
  s.max_reconnect_attempts = parse_number(fs.read(join(d, L::kSessMaxReconnect)));
  for (const std::string& p : fs.list(join(d, L::kPathsDir))) {
    if (fs.is_dir(join(d, L::kPathsDir, p))) s.paths.push_back(read_path(fs, name, p));
  }
  return s;
}

ClientState read_client(const Sysfs& fs) {
  ClientState st;
  st.ibnbd_loaded = fs.is_dir(L::kClientCtl);
  st.ibtrs_loaded = fs.is_dir(L::kTrsClientClass);
  for (const std::string& name : fs.list(L::kBlockDir)) {
    if (is_disk_name(name) && fs.is_dir(device_attr_dir(name)))
      st.devices.push_back(read_device(fs, name));
  }
  for (const std::string& name : fs.list(L::kTrsClientClass)) {
    if (!fs.is_dir(session_dir(name))) continue;
    Session s = read_session(fs, name);
    for (const Device& d : st.devices)
      if (d.session && *d.session == name) s.devices.push_back(d.name);
    st.sessions.push_back(std::move(s));
  }
  return st;
}

ServerState read_server(const Sysfs& fs) {
  ServerState st;
  st.ibnbd_loaded = fs.is_dir(L::kServerCtlDevices);
  st.ibtrs_loaded = fs.is_dir(L::kTrsServerClass);
  for (const std::string& name : fs.list(L::kServerCtlDevices)) {
    const std::string d = join(L::kServerCtlDevices, name);
    if (!fs.is_dir(d)) continue;
    ServerDevice dev;
    dev.name = name;
    dev.block_dev = fs.link_name(join(d, L::kSrvBlockDev));
    for (const std::string& sess : fs.list(join(d, L::kSrvSessions))) {
      const std::string sd = join(d, L::kSrvSessions, sess);
      if (!fs.is_dir(sd)) continue;
      ServerDeviceSession s;
      s.name = sess;
      s.read_only = parse_number(fs.read(join(sd, L::kSrvReadOnly)));
      s.access_mode = fs.read(join(sd, L::kSrvAccessMode));
      s.mapping_path = fs.read(join(sd, L::kSrvMappingPath));
      dev.sessions.push_back(std::move(s));
    }
    st.devices.push_back(std::move(dev));
  }
  for (const std::string& name : fs.list(L::kTrsServerClass)) {
    const std::string sd = join(L::kTrsServerClass, name);
    if (!fs.is_dir(sd)) continue;
    ServerSession s;
    s.name = name;
    for (const std::string& pn : fs.list(join(sd, L::kPathsDir))) {
      const std::string pd = join(sd, L::kPathsDir, pn);
      if (!fs.is_dir(pd)) continue;
      ServerPath p;
      p.session = name;
      p.name = pn;
      p.hca_name = fs.read(join(pd, L::kPathHcaName));
      p.hca_port = parse_number(fs.read(join(pd, L::kPathHcaPort)));
      p.src_addr = fs.read(join(pd, L::kPathSrcAddr));
      p.dst_addr = fs.read(join(pd, L::kPathDstAddr));
      const OptStr rdma = fs.read(join(pd, L::kStatsDir, L::kStatsRdma));
      p.rd_cnt = nth_number(rdma, 0);
      p.rd_bytes = nth_number(rdma, 1);
      p.wr_cnt = nth_number(rdma, 2);
      p.wr_bytes = nth_number(rdma, 3);
      s.paths.push_back(std::move(p));
    }
    st.sessions.push_back(std::move(s));
  }
  return st;
}

}  // namespace ibnbd_tool
