// SPDX-License-Identifier: GPL-2.0
// What the ibnbd tool knows about the system, read from sysfs: client block
// devices, transport sessions and their paths, and the server's view.
//
// Every attribute is optional: a file that is missing or does not parse is
// shown as "-" (table) or null (JSON) rather than failing the whole listing,
// because a path can disappear between listing its directory and reading it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sysfs.h"

namespace ibnbd_tool {

using OptStr = std::optional<std::string>;
using OptNum = std::optional<int64_t>;

struct Device {
  std::string name;  // ibnbd0
  OptStr session, mapping_path, access_mode, state;
  OptNum nr_poll_queues;
  OptNum size_sectors;  // /sys/block/<name>/size
};

struct Path {
  std::string session;
  std::string name;  // <src@dst>, the directory name
  OptStr state, hca_name, src_addr, dst_addr;
  OptNum hca_port;
  OptNum cur_latency_ns;
  OptNum read_cnt, read_bytes, write_cnt, write_bytes, inflight, failover_cnt;
  OptNum reconnects_ok, reconnects_failed;
};

struct Session {
  std::string name;
  OptStr policy_raw;  // as read: "min-inflight (MI: 1)"
  OptStr policy;      // the name part: "min-inflight"
  OptNum max_reconnect_attempts;
  std::vector<Path> paths;
  std::vector<std::string> devices;  // ibnbd devices mapped over this session
  int connected_paths() const;
};

struct ClientState {
  bool ibnbd_loaded = false;  // /sys/class/ibnbd-client/ctl exists
  bool ibtrs_loaded = false;  // /sys/class/ibtrs-client exists
  std::vector<Device> devices;
  std::vector<Session> sessions;
};

struct ServerDeviceSession {
  std::string name;
  OptNum read_only;
  OptStr access_mode, mapping_path;
};

struct ServerDevice {
  std::string name;
  OptStr block_dev;  // the name the block_dev link points to
  std::vector<ServerDeviceSession> sessions;
};

struct ServerPath {
  std::string session;
  std::string name;
  OptStr hca_name, src_addr, dst_addr;
  OptNum hca_port;
  OptNum rd_cnt, rd_bytes, wr_cnt, wr_bytes;
};

struct ServerSession {
  std::string name;
  std::vector<ServerPath> paths;
};

struct ServerState {
  bool ibnbd_loaded = false;
  bool ibtrs_loaded = false;
  std::vector<ServerDevice> devices;
  std::vector<ServerSession> sessions;
};

// Numbers: a signed decimal integer, optionally followed by a unit word
// ("123 ns"); nullopt for anything else.
OptNum parse_number(const OptStr& text);
// The n-th (0-based) blank-separated integer of a line ("1 2 3").
OptNum nth_number(const OptStr& text, size_t n);
// "min-inflight (MI: 1)" -> "min-inflight".
OptStr policy_name(const OptStr& raw);
// "ibnbd0" or "ibnbd12": a whole disk name of ours (not a partition).
bool is_disk_name(const std::string& name);

Device read_device(const Sysfs& fs, const std::string& name);
Path read_path(const Sysfs& fs, const std::string& session, const std::string& name);
Session read_session(const Sysfs& fs, const std::string& name);
ClientState read_client(const Sysfs& fs);
ServerState read_server(const Sysfs& fs);

// Relative sysfs directories.
std::string device_dir(const std::string& disk);       // block/<disk>
std::string device_attr_dir(const std::string& disk);  // block/<disk>/ibnbd
std::string session_dir(const std::string& sess);      // class/ibtrs-client/<sess>
std::string path_dir(const std::string& sess, const std::string& path);
// device_path -> the ctl/devices link name: '/' -> '!', then "@<sess>".
std::string device_link_name(const std::string& device_path, const std::string& sess);

}  // namespace ibnbd_tool
