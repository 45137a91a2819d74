// SPDX-License-Identifier: GPL-2.0
#include "cli.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <map>
#include <optional>
#include <thread>

#include "errors.h"
#include "help.h"
#include "layout.h"
#include "model.h"
#include "output.h"

namespace ibnbd_tool {

namespace L = layout;

namespace {

// ---------------------------------------------------------------------------
// Command-line options of one command.

struct OptSpec {
  const char* name;   // long name without "--"
  char short_name;    // 0 if none
  bool takes_value;
};

struct Args {
  std::vector<std::string> pos;
  std::map<std::string, std::string> opts;  // long name -> value ("" for flags)
  bool has(const char* n) const { return opts.count(n) != 0; }
  std::string get(const char* n) const {
    auto it = opts.find(n);
    return it == opts.end() ? std::string() : it->second;
  }
};

// Parses options anywhere among the arguments ("--" ends them). Returns an
// error text, empty on success.
std::string parse_args(const std::vector<std::string>& in, const std::vector<OptSpec>& spec,
                       Args& out) {
  bool only_pos = false;
  for (size_t i = 0; i < in.size(); i++) {
    const std::string& a = in[i];
    if (only_pos || a.size() < 2 || a[0] != '-' || (a[1] != '-' && std::isdigit(static_cast<unsigned char>(a[1])))) {
      out.pos.push_back(a);  // "-1" is a value, not an option
      continue;
    }
    if (a == "--") {
      only_pos = true;
      continue;
    }
    std::string name, value;
    bool has_value = false;
    const OptSpec* found = nullptr;
    if (a[1] == '-') {
      name = a.substr(2);
      const auto eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_value = true;
      }
      for (const OptSpec& s : spec)
        if (name == s.name) found = &s;
    } else {
      if (a.size() != 2) return "unknown option '" + a + "' (short options cannot be combined)";
      for (const OptSpec& s : spec)
        if (s.short_name == a[1]) found = &s;
    }
    if (!found) return "unknown option '" + a + "'";
    if (found->takes_value && !has_value) {
      if (i + 1 >= in.size()) return "option --" + std::string(found->name) + " needs a value";
      value = in[++i];
    } else if (!found->takes_value && has_value) {
      return "option --" + std::string(found->name) + " takes no value";
    }
    out.opts[found->name] = value;
  }
  return {};
}

bool parse_int(const std::string& s, long long lo, long long hi, long long& v) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  v = std::strtoll(s.c_str(), &end, 10);
  return *end == '\0' && errno == 0 && v >= lo && v <= hi;
}

// ---------------------------------------------------------------------------
// The run of one command: streams, sysfs, output mode.

class Cli {
 public:
  Cli(Sysfs& fs, const Environment& env, std::ostream& out, std::ostream& err, bool json)
      : fs_(fs), env_(env), out_(out), err_(err), json_(json) {}

  int dispatch(const std::string& cmd, const std::vector<std::string>& args);

 private:
  int usage(const std::string& cmd, const std::string& msg);
  int fail(const Failure& f, const std::string& errno_str = {});
  int fail(const std::string& what, const std::string& hint, int code) {
    return fail(Failure{what, hint, code});
  }
  int write_failed(Op op, const WriteResult& r, const OpContext& ctx) {
    return fail(explain(op, r, ctx), errno_name(r.err));
  }
  bool want_help(const std::vector<std::string>& args) const;

  // Resolves <dev> to a disk name ("ibnbd0"); on failure prints and sets rc.
  std::optional<std::string> resolve_device(const std::string& arg, int& rc, bool quiet = false);
  int require_client_module();

  int cmd_map(const std::vector<std::string>& a);
  int cmd_unmap(const std::vector<std::string>& a);
  int cmd_resize(const std::vector<std::string>& a);
  int cmd_remap(const std::vector<std::string>& a);
  int cmd_list(const std::vector<std::string>& a);
  int cmd_show(const std::vector<std::string>& a);
  int cmd_path(const std::vector<std::string>& a);
  int cmd_policy(const std::vector<std::string>& a);
  int cmd_server(const std::vector<std::string>& a);
  int cmd_udev_name(const std::vector<std::string>& a);

  void json_device(Json& j, const Device& d);
  void json_path(Json& j, const Path& p);
  void json_session(Json& j, const Session& s);
  std::string table_devices(const std::vector<Device>& ds);
  std::string table_sessions(const std::vector<Session>& ss);
  std::string table_paths(const std::vector<const Path*>& ps);

  Sysfs& fs_;
  const Environment& env_;
  std::ostream& out_;
  std::ostream& err_;
  bool json_;
};

int Cli::usage(const std::string& cmd, const std::string& msg) {
  err_ << "ibnbd" << (cmd.empty() ? "" : " " + cmd) << ": " << msg << "\n"
       << "  see `ibnbd " << (cmd.empty() ? "" : cmd + " ") << "--help`\n";
  if (json_) {
    Json j;
    j.begin_object().key("error").begin_object();
    j.field("message", msg).field("exit_code", static_cast<int64_t>(kExitUsage));
    j.end_object().end_object();
    out_ << j.str();
  }
  return kExitUsage;
}

int Cli::fail(const Failure& f, const std::string& errno_str) {
  err_ << "ibnbd: " << f.what << "\n";
  if (!f.hint.empty()) err_ << "  hint: " << f.hint << "\n";
  if (json_) {
    Json j;
    j.begin_object().key("error").begin_object();
    j.field("message", f.what).field("hint", f.hint);
    if (!errno_str.empty()) j.field("errno", errno_str);
    j.field("exit_code", static_cast<int64_t>(f.exit_code));
    j.end_object().end_object();
    out_ << j.str();
  }
  return f.exit_code;
}

bool Cli::want_help(const std::vector<std::string>& args) const {
  for (const std::string& a : args) {
    if (a == "--") return false;
    if (a == "-h" || a == "--help") return true;
  }
  return false;
}

int Cli::require_client_module() {
  if (fs_.exists(join(L::kClientCtl, L::kMapDevice))) return kExitOk;
  return fail(std::string(L::kModClient) + " is not loaded (no " +
                  fs_.abs(join(L::kClientCtl, L::kMapDevice)) + ")",
              "load it with `modprobe " + std::string(L::kModClient) +
                  "` (it pulls in ibtrs_client and the RDMA stack)",
              kExitNotLoaded);
}

std::optional<std::string> Cli::resolve_device(const std::string& arg, int& rc, bool quiet) {
  auto found = [&](const std::string& name) -> std::optional<std::string> {
    if (is_disk_name(name) && fs_.is_dir(device_attr_dir(name))) return name;
    return std::nullopt;
  };
  // /dev/ibnbd0 or a udev link: follow it (realpath) to the kernel name.
  if (arg.find('/') != std::string::npos && arg[0] == '/') {
    char buf[PATH_MAX];
    if (::realpath(arg.c_str(), buf)) {
      std::string r = buf;
      if (auto n = found(r.substr(r.rfind('/') + 1))) return n;
    }
    if (arg.compare(0, 5, "/dev/") == 0)
      if (auto n = found(arg.substr(5))) return n;
  }
  if (auto n = found(arg)) return n;
  // <device_path>@<session>: the ctl/devices link.
  const auto at = arg.rfind(L::kDeviceIdSessSep);
  if (at != std::string::npos && at > 0 && at + 1 < arg.size()) {
    const std::string link =
        join(L::kClientCtl, L::kClientCtlDevices, device_link_name(arg.substr(0, at), arg.substr(at + 1)));
    if (auto target = fs_.link_name(link))
      if (auto n = found(*target)) return n;
    // The links may lag; match the attributes as well.
    for (const std::string& name : fs_.list(L::kBlockDir)) {
      if (!found(name)) continue;
      const Device d = read_device(fs_, name);
      if (d.mapping_path == arg.substr(0, at) && d.session == arg.substr(at + 1)) return name;
    }
  }
  // A device_path that only one device has.
  std::vector<std::string> matches;
  for (const std::string& name : fs_.list(L::kBlockDir)) {
    if (!found(name)) continue;
    const Device d = read_device(fs_, name);
    if (d.mapping_path && *d.mapping_path == arg) matches.push_back(name);
  }
  if (matches.size() == 1) return matches[0];
  if (quiet) {
    rc = kExitNotFound;
    return std::nullopt;
  }
  if (matches.size() > 1) {
    std::string names;
    for (const auto& m : matches) names += " " + m + " (" + arg + "@" + cell(read_device(fs_, m).session) + ")";
    rc = fail("'" + arg + "' is mapped more than once:" + names,
              "name the device, or use <device_path>@<session>", kExitUsage);
    return std::nullopt;
  }
  if (!fs_.is_dir(L::kClientCtl) && !fs_.is_dir(L::kBlockDir + std::string("/") + arg)) {
    rc = fail("no ibnbd device '" + arg + "': " + L::kModClient + " is not loaded",
              "`modprobe " + std::string(L::kModClient) + "`, then map devices with `ibnbd map`",
              kExitNotLoaded);
    return std::nullopt;
  }
  rc = fail("no ibnbd device '" + arg + "'",
            "`ibnbd list` shows the mapped devices (name as ibnbd0, /dev/ibnbd0, "
            "<device_path>@<session> or device_path)",
            kExitNotFound);
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// map

bool looks_like_ipv4(const std::string& s) {
  if (s.empty()) return false;
  int dots = 0;
  for (char c : s) {
    if (c == '.') dots++;
    else if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return dots == 3;
}

// One endpoint: keeps ip:/gid:, prefixes ip: to a bare IPv4/IPv6 address.
std::optional<std::string> normalize_endpoint(const std::string& s) {
  if (s.compare(0, 3, "ip:") == 0 || s.compare(0, 4, "gid:") == 0) {
    if (s.find(':') + 1 >= s.size()) return std::nullopt;  // empty after the prefix
    return s;
  }
  if (looks_like_ipv4(s)) return "ip:" + s;
  if (s.find(':') != std::string::npos) {
    for (char c : s)
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.' || c == '%' ||
            std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'))
        return std::nullopt;
    return "ip:" + s;
  }
  return std::nullopt;
}

// "[src@]dst" (or "src,dst") -> normalized "[src@]dst".
std::optional<std::string> normalize_path_addr(const std::string& s) {
  auto sep = s.find(L::kPathSrcDstSep);
  if (sep == std::string::npos) sep = s.find(',');
  if (sep == std::string::npos) return normalize_endpoint(s);
  auto src = normalize_endpoint(s.substr(0, sep));
  auto dst = normalize_endpoint(s.substr(sep + 1));
  if (!src || !dst) return std::nullopt;
  return *src + L::kPathSrcDstSep + *dst;
}

std::string dst_of(const std::string& path_addr) {
  const auto at = path_addr.find(L::kPathSrcDstSep);
  return at == std::string::npos ? path_addr : path_addr.substr(at + 1);
}

// A session name from an address: "ip:10.0.0.1" -> "10-0-0-1".
std::string session_name_from(const std::string& dst) {
  std::string body = dst.substr(dst.find(':') + 1);
  std::string out;
  for (char c : body) out += std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ? c : '-';
  return out;
}

std::string check_session_name(const std::string& s) {
  if (s.empty()) return "the session name is empty";
  if (s.size() > 255) return "the session name is longer than 255 bytes";
  if (s.find('/') != std::string::npos || s.find('.') != std::string::npos)
    return "the session name '" + s + "' contains '/' or '.'";
  for (char c : s)
    if (std::isspace(static_cast<unsigned char>(c)) || !std::isprint(static_cast<unsigned char>(c)))
      return "the session name '" + s + "' contains blanks or control characters";
  return {};
}

int Cli::cmd_map(const std::vector<std::string>& in) {
  Args a;
  const std::string e = parse_args(in, {{"session", 's', true}, {"ro", 0, false}, {"rw", 0, false},
                                        {"migration", 0, false}, {"port", 'p', true},
                                        {"poll-queues", 0, true}, {"dry-run", 'n', false}},
                                   a);
  if (!e.empty()) return usage("map", e);
  if (a.pos.size() < 2) return usage("map", "need at least one server address and the device path");
  const std::string device_path = a.pos.back();
  if (device_path.empty()) return usage("map", "the device path is empty");
  for (char c : device_path)
    if (std::isspace(static_cast<unsigned char>(c)))
      return usage("map", "the device path '" + device_path + "' contains blanks (the kernel splits on them)");
  if (device_path.size() > 255) return usage("map", "the device path is longer than 255 bytes");
  std::vector<std::string> paths;
  for (size_t i = 0; i + 1 < a.pos.size(); i++) {
    auto p = normalize_path_addr(a.pos[i]);
    if (!p)
      return usage("map", "'" + a.pos[i] +
                              "' is not an address: use 10.0.0.1, ip:<IPv4|IPv6>, gid:<GID>, or "
                              "<src>@<dst> (host names are not resolved)");
    paths.push_back(*p);
  }
  const int modes = a.has("ro") + a.has("rw") + a.has("migration");
  if (modes > 1) return usage("map", "choose one of --ro, --rw, --migration");
  const std::string mode = a.has("ro") ? "ro" : a.has("migration") ? "migration" : "rw";
  long long port = 0, pq = 0;
  if (a.has("port") && !parse_int(a.get("port"), 1, 65535, port))
    return usage("map", "--port takes 1..65535, not '" + a.get("port") + "'");
  if (a.has("poll-queues") && !parse_int(a.get("poll-queues"), -1, 4096, pq))
    return usage("map", "--poll-queues takes -1..4096, not '" + a.get("poll-queues") + "'");

  std::string sess = a.get("session");
  if (!a.has("session")) {
    // Reuse the session that already reaches this server, as the kernel reuses
    // a session given by name; otherwise derive a name from the address.
    std::vector<std::string> candidates;
    for (const std::string& name : fs_.list(L::kTrsClientClass)) {
      const Session s = read_session(fs_, name);
      for (const Path& p : s.paths)
        if (p.dst_addr && *p.dst_addr == dst_of(paths[0])) {
          candidates.push_back(name);
          break;
        }
    }
    if (candidates.size() > 1) {
      std::string names;
      for (auto& c : candidates) names += " " + c;
      return usage("map", "several sessions reach " + dst_of(paths[0]) + ":" + names +
                              "; choose one with --session");
    }
    sess = candidates.empty() ? session_name_from(dst_of(paths[0])) : candidates[0];
  }
  if (const std::string bad = check_session_name(sess); !bad.empty()) return usage("map", bad);

  std::string line = L::kTokSessname + sess;
  if (a.has("port")) line += std::string(" ") + L::kTokDestPort + std::to_string(port);
  for (const std::string& p : paths) line += std::string(" ") + L::kTokPath + p;
  line += std::string(" ") + L::kTokDevicePath + device_path;
  line += std::string(" ") + L::kTokAccessMode + mode;
  if (a.has("poll-queues")) line += std::string(" ") + L::kTokPollQueues + std::to_string(pq);

  if (a.has("dry-run")) {
    if (json_) {
      Json j;
      j.begin_object().field("map_device", line).end_object();
      out_ << j.str();
    } else {
      out_ << line << "\n";
    }
    return kExitOk;
  }
  if (int rc = require_client_module()) return rc;
  OpContext ctx{"map " + device_path + "@" + sess, device_path, sess, mode};
  const WriteResult r = fs_.write(join(L::kClientCtl, L::kMapDevice), line + "\n");
  if (!r.ok()) return write_failed(Op::kMap, r, ctx);

  const std::string link = join(L::kClientCtl, L::kClientCtlDevices, device_link_name(device_path, sess));
  int rc = kExitOk;
  std::optional<std::string> disk;
  if (auto t = fs_.link_name(link); t && is_disk_name(*t)) disk = *t;
  if (!disk) disk = resolve_device(device_path + "@" + sess, rc, true);
  if (!disk) {
    err_ << "ibnbd: mapped " << device_path << " over session " << sess
         << ", but cannot find its device (no " << fs_.abs(link) << ")\n"
         << "  hint: `ibnbd list` shows it once it is there\n";
    if (json_) {
      Json j;
      j.begin_object().field("mapped", true).field("session", sess).field("mapping_path", device_path);
      j.key("device").null().end_object();
      out_ << j.str();
    }
    return kExitOk;
  }
  const Device d = read_device(fs_, *disk);
  if (json_) {
    Json j;
    json_device(j, d);
    out_ << j.str();
  } else {
    out_ << "/dev/" << d.name << "\n";
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// unmap, resize, remap

int Cli::cmd_unmap(const std::vector<std::string>& in) {
  Args a;
  if (auto e = parse_args(in, {{"force", 'f', false}}, a); !e.empty()) return usage("unmap", e);
  if (a.pos.size() != 1) return usage("unmap", "need exactly one device");
  int rc = 0;
  auto disk = resolve_device(a.pos[0], rc);
  if (!disk) return rc;
  const bool force = a.has("force");
  const WriteResult r =
      fs_.write(join(device_attr_dir(*disk), L::kDevUnmap), std::string(force ? L::kUnmapForce : L::kUnmapNormal) + "\n");
  if (!r.ok()) return write_failed(force ? Op::kUnmapForce : Op::kUnmap, r, OpContext{*disk, {}, {}, {}});
  if (json_) {
    Json j;
    j.begin_object().field("device", *disk).field("unmapped", true).field("forced", force).end_object();
    out_ << j.str();
  } else {
    out_ << *disk << ": unmapped\n";
  }
  return kExitOk;
}

// "10G" -> bytes; nullopt if malformed.
std::optional<long long> parse_size(const std::string& s, bool& in_sectors) {
  in_sectors = false;
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) i++;
  if (i == 0 || i > 19) return std::nullopt;
  long long v = 0;
  if (!parse_int(s.substr(0, i), 0, LLONG_MAX, v)) return std::nullopt;
  std::string unit = s.substr(i);
  int shift = 0;
  if (unit == "s") {
    in_sectors = true;
    return v;
  }
  if (unit.empty() || unit == "B") shift = 0;
  else if (unit == "K" || unit == "KiB" || unit == "k") shift = 10;
  else if (unit == "M" || unit == "MiB") shift = 20;
  else if (unit == "G" || unit == "GiB") shift = 30;
  else if (unit == "T" || unit == "TiB") shift = 40;
  else if (unit == "P" || unit == "PiB") shift = 50;
  else return std::nullopt;
  if (shift && v > (LLONG_MAX >> shift)) return std::nullopt;
  return v << shift;
}

int Cli::cmd_resize(const std::vector<std::string>& in) {
  Args a;
  if (auto e = parse_args(in, {}, a); !e.empty()) return usage("resize", e);
  if (a.pos.size() != 2) return usage("resize", "need a device and a size");
  bool sectors_given = false;
  const auto v = parse_size(a.pos[1], sectors_given);
  if (!v) return usage("resize", "'" + a.pos[1] + "' is not a size (e.g. 10G, 2048s, 1073741824)");
  if (!sectors_given && *v % 512 != 0)
    return usage("resize", "'" + a.pos[1] + "' is not a whole number of 512-byte sectors");
  const long long sectors = sectors_given ? *v : *v / 512;
  if (sectors == 0) return usage("resize", "the size must not be 0");
  int rc = 0;
  auto disk = resolve_device(a.pos[0], rc);
  if (!disk) return rc;
  const WriteResult r = fs_.write(join(device_attr_dir(*disk), L::kDevResize), std::to_string(sectors) + "\n");
  if (!r.ok())
    return write_failed(Op::kResize, r, OpContext{*disk, {}, {}, std::to_string(sectors) + " sectors"});
  if (json_) {
    Json j;
    j.begin_object().field("device", *disk).field("size_sectors", static_cast<int64_t>(sectors));
    j.field("size_bytes", static_cast<int64_t>(sectors * 512)).end_object();
    out_ << j.str();
  } else {
    out_ << *disk << ": resized to " << sectors << " sectors (" << human_bytes(sectors * 512) << ")\n";
  }
  return kExitOk;
}

int Cli::cmd_remap(const std::vector<std::string>& in) {
  Args a;
  if (auto e = parse_args(in, {}, a); !e.empty()) return usage("remap", e);
  if (a.pos.size() != 1) return usage("remap", "need exactly one device");
  int rc = 0;
  auto disk = resolve_device(a.pos[0], rc);
  if (!disk) return rc;
  const Device d = read_device(fs_, *disk);
  const WriteResult r = fs_.write(join(device_attr_dir(*disk), L::kDevRemap), std::string(L::kTrigger) + "\n");
  bool already = false;
  if (!r.ok()) {
    if (r.opened && r.err == EALREADY) {
      already = true;  // documented: remapping an open device succeeds
    } else {
      return write_failed(Op::kRemap, r, OpContext{*disk, {}, d.session.value_or("?"), {}});
    }
  }
  if (json_) {
    Json j;
    j.begin_object().field("device", *disk).field("remapped", !already).field("already_open", already);
    j.end_object();
    out_ << j.str();
  } else if (already) {
    err_ << "ibnbd: " << *disk << " is already open; nothing to do\n";
  } else {
    out_ << *disk << ": remapped\n";
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// list, show

void Cli::json_device(Json& j, const Device& d) {
  j.begin_object();
  j.field("name", d.name).field("path", "/dev/" + d.name);
  j.field("session", d.session).field("mapping_path", d.mapping_path);
  j.field("access_mode", d.access_mode).field("state", d.state);
  j.field("nr_poll_queues", d.nr_poll_queues).field("size_sectors", d.size_sectors);
  j.field("size_bytes", d.size_sectors ? OptNum(*d.size_sectors * 512) : OptNum());
  j.end_object();
}

void Cli::json_path(Json& j, const Path& p) {
  j.begin_object();
  j.field("session", p.session).field("name", p.name).field("state", p.state);
  j.field("hca_name", p.hca_name).field("hca_port", p.hca_port);
  j.field("src_addr", p.src_addr).field("dst_addr", p.dst_addr);
  j.field("cur_latency_ns", p.cur_latency_ns);
  j.field("read_cnt", p.read_cnt).field("read_bytes", p.read_bytes);
  j.field("write_cnt", p.write_cnt).field("write_bytes", p.write_bytes);
  j.field("inflight", p.inflight).field("failover_cnt", p.failover_cnt);
  j.field("reconnects_ok", p.reconnects_ok).field("reconnects_failed", p.reconnects_failed);
  j.end_object();
}

void Cli::json_session(Json& j, const Session& s) {
  j.begin_object();
  j.field("name", s.name).field("policy", s.policy).field("policy_raw", s.policy_raw);
  j.field("max_reconnect_attempts", s.max_reconnect_attempts);
  j.field("paths_connected", static_cast<int64_t>(s.connected_paths()));
  j.field("paths_total", static_cast<int64_t>(s.paths.size()));
  j.key("paths").begin_array();
  for (const Path& p : s.paths) json_path(j, p);
  j.end_array();
  j.key("devices").begin_array();
  for (const std::string& d : s.devices) j.value(d);
  j.end_array();
  j.end_object();
}

std::string Cli::table_devices(const std::vector<Device>& ds) {
  Table t({"NAME", "SESSION", "MAPPING_PATH", "MODE", "STATE", "SIZE", "POLLQ"});
  for (const Device& d : ds)
    t.row({d.name, cell(d.session), cell(d.mapping_path), cell(d.access_mode), cell(d.state),
           d.size_sectors ? human_bytes(*d.size_sectors * 512) : "-", cell(d.nr_poll_queues)});
  return t.str();
}

std::string Cli::table_sessions(const std::vector<Session>& ss) {
  Table t({"NAME", "POLICY", "PATHS", "RECONNECT", "DEVICES"});
  for (const Session& s : ss) {
    std::string devs;
    for (const auto& d : s.devices) devs += (devs.empty() ? "" : ",") + d;
    std::string rec = "-";
    if (s.max_reconnect_attempts) rec = *s.max_reconnect_attempts < 0 ? "forever" : std::to_string(*s.max_reconnect_attempts);
    t.row({s.name, cell(s.policy), std::to_string(s.connected_paths()) + "/" + std::to_string(s.paths.size()),
           rec, devs.empty() ? "-" : devs});
  }
  return t.str();
}

std::string Cli::table_paths(const std::vector<const Path*>& ps) {
  Table t({"SESSION", "PATH", "STATE", "HCA", "INFLIGHT", "FAILOVERS", "LATENCY", "RECONNECTS", "READS",
           "WRITES"});
  for (const Path* p : ps) {
    std::string hca = cell(p->hca_name);
    if (p->hca_port) hca += ":" + std::to_string(*p->hca_port);
    std::string rec = p->reconnects_ok && p->reconnects_failed
                          ? std::to_string(*p->reconnects_ok) + "/" + std::to_string(*p->reconnects_failed)
                          : "-";
    auto io = [](const OptNum& cnt, const OptNum& bytes) {
      return cnt && bytes ? std::to_string(*cnt) + " (" + human_bytes(*bytes) + ")" : std::string("-");
    };
    t.row({p->session, p->name, cell(p->state), hca, cell(p->inflight), cell(p->failover_cnt),
           p->cur_latency_ns ? human_ns(*p->cur_latency_ns) : "-", rec, io(p->read_cnt, p->read_bytes),
           io(p->write_cnt, p->write_bytes)});
  }
  return t.str();
}

int Cli::cmd_list(const std::vector<std::string>& in) {
  Args a;
  if (auto e = parse_args(in, {}, a); !e.empty()) return usage("list", e);
  if (a.pos.size() > 1) return usage("list", "too many arguments");
  const std::string what = a.pos.empty() ? "all" : a.pos[0];
  if (what != "all" && what != "devices" && what != "sessions" && what != "paths")
    return usage("list", "list what? devices, sessions or paths, not '" + what + "'");
  const ClientState st = read_client(fs_);
  if (!st.ibnbd_loaded && !st.ibtrs_loaded)
    return fail("neither " + std::string(L::kModClient) + " nor " + L::kModTrsClient + " is loaded",
                "`modprobe " + std::string(L::kModClient) + "`", kExitNotLoaded);
  std::vector<const Path*> paths;
  for (const Session& s : st.sessions)
    for (const Path& p : s.paths) paths.push_back(&p);
  if (json_) {
    Json j;
    j.begin_object();
    if (what == "all") {
      j.key("modules").begin_object();
      j.field(L::kModClient, st.ibnbd_loaded).field(L::kModTrsClient, st.ibtrs_loaded).end_object();
    }
    if (what == "all" || what == "devices") {
      j.key("devices").begin_array();
      for (const Device& d : st.devices) json_device(j, d);
      j.end_array();
    }
    if (what == "all" || what == "sessions") {
      j.key("sessions").begin_array();
      for (const Session& s : st.sessions) json_session(j, s);
      j.end_array();
    }
    if (what == "paths") {
      j.key("paths").begin_array();
      for (const Path* p : paths) json_path(j, *p);
      j.end_array();
    }
    j.end_object();
    out_ << j.str();
    return kExitOk;
  }
  const bool all = what == "all";
  if (all || what == "devices") {
    if (all) out_ << "Devices:\n";
    if (st.devices.empty())
      out_ << (st.ibnbd_loaded ? "  (none mapped)\n" : "  (" + std::string(L::kModClient) + " not loaded)\n");
    else
      out_ << table_devices(st.devices);
  }
  if (all || what == "sessions") {
    if (all) out_ << "\nSessions:\n";
    if (st.sessions.empty()) out_ << "  (none)\n";
    else out_ << table_sessions(st.sessions);
  }
  if (all || what == "paths") {
    if (all) out_ << "\nPaths:\n";
    if (paths.empty()) out_ << "  (none)\n";
    else out_ << table_paths(paths);
  }
  return kExitOk;
}

int Cli::cmd_show(const std::vector<std::string>& in) {
  Args a;
  if (auto e = parse_args(in, {}, a); !e.empty()) return usage("show", e);
  if (a.pos.size() != 1) return usage("show", "need one device or session");
  const std::string& arg = a.pos[0];
  int rc = 0;
  std::optional<std::string> disk = resolve_device(arg, rc, true);
  std::optional<Session> sess;
  if (!disk && fs_.is_dir(session_dir(arg)) && arg.find('/') == std::string::npos) sess = read_session(fs_, arg);
  if (!disk && !sess) {
    if (!fs_.is_dir(L::kClientCtl) && !fs_.is_dir(L::kTrsClientClass))
      return fail("no device or session '" + arg + "': neither " + std::string(L::kModClient) + " nor " +
                      L::kModTrsClient + " is loaded",
                  "`modprobe " + std::string(L::kModClient) + "`", kExitNotLoaded);
    return fail("no device or session '" + arg + "'", "`ibnbd list` shows what exists", kExitNotFound);
  }
  const ClientState st = read_client(fs_);
  if (sess) {
    for (const Device& d : st.devices)
      if (d.session && *d.session == sess->name) sess->devices.push_back(d.name);
  }
  std::optional<Device> dev;
  if (disk) {
    dev = read_device(fs_, *disk);
    if (dev->session && fs_.is_dir(session_dir(*dev->session))) {
      sess = read_session(fs_, *dev->session);
      for (const Device& d : st.devices)
        if (d.session && *d.session == sess->name) sess->devices.push_back(d.name);
    }
  }
  if (json_) {
    Json j;
    j.begin_object();
    if (dev) {
      j.key("device");
      json_device(j, *dev);
    }
    j.key("session");
    if (sess) json_session(j, *sess);
    else j.null();
    j.end_object();
    out_ << j.str();
    return kExitOk;
  }
  if (dev) {
    out_ << "Device " << dev->name << " (/dev/" << dev->name << ")\n"
         << "  session:        " << cell(dev->session) << "\n"
         << "  mapping_path:   " << cell(dev->mapping_path) << "\n"
         << "  access_mode:    " << cell(dev->access_mode) << "\n"
         << "  state:          " << cell(dev->state) << "\n"
         << "  size:           "
         << (dev->size_sectors ? std::to_string(*dev->size_sectors) + " sectors (" + human_bytes(*dev->size_sectors * 512) + ")" : "-")
         << "\n"
         << "  nr_poll_queues: " << cell(dev->nr_poll_queues) << "\n";
    if (!sess) out_ << "  (its session is not in " << fs_.abs(L::kTrsClientClass) << ")\n";
  }
  if (sess) {
    if (dev) out_ << "\n";
    std::string devs;
    for (const auto& d : sess->devices) devs += (devs.empty() ? "" : " ") + d;
    out_ << "Session " << sess->name << "\n"
         << "  policy:                 " << cell(sess->policy_raw) << "\n"
         << "  max_reconnect_attempts: " << cell(sess->max_reconnect_attempts) << "\n"
         << "  paths:                  " << sess->connected_paths() << " of " << sess->paths.size()
         << " connected\n"
         << "  devices:                " << (devs.empty() ? "-" : devs) << "\n";
    if (!sess->paths.empty()) {
      std::vector<const Path*> ps;
      for (const Path& p : sess->paths) ps.push_back(&p);
      out_ << "\n" << table_paths(ps);
    }
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// path, policy

int Cli::cmd_path(const std::vector<std::string>& in) {
  if (in.empty()) return usage("path", "need a subcommand: add, remove, reconnect or disconnect");
  const std::string sub = in[0];
  Args a;
  if (auto e = parse_args({in.begin() + 1, in.end()}, {}, a); !e.empty()) return usage("path", e);
  Op op;
  const char* file = nullptr;
  if (sub == "add") op = Op::kPathAdd;
  else if (sub == "remove") op = Op::kPathRemove, file = L::kPathRemove;
  else if (sub == "reconnect") op = Op::kPathReconnect, file = L::kPathReconnect;
  else if (sub == "disconnect") op = Op::kPathDisconnect, file = L::kPathDisconnect;
  else return usage("path", "unknown subcommand '" + sub + "': add, remove, reconnect or disconnect");
  if (a.pos.size() != 2) return usage("path", "need a session and " + std::string(op == Op::kPathAdd ? "an address" : "a path"));
  const std::string& sess = a.pos[0];
  if (!fs_.is_dir(L::kTrsClientClass))
    return fail(std::string(L::kModTrsClient) + " is not loaded", "`modprobe " + std::string(L::kModClient) + "`",
                kExitNotLoaded);
  if (sess.find('/') != std::string::npos || !fs_.is_dir(session_dir(sess)))
    return fail("no session '" + sess + "'", "`ibnbd list sessions` shows the sessions", kExitNotFound);

  if (op == Op::kPathAdd) {
    auto addr = normalize_path_addr(a.pos[1]);
    if (!addr) return usage("path", "'" + a.pos[1] + "' is not an address ([src@]dst with ip:/gid:)");
    const WriteResult r = fs_.write(join(session_dir(sess), L::kSessAddPath), *addr + "\n");
    if (!r.ok()) return write_failed(op, r, OpContext{"session " + sess, {}, sess, *addr});
    if (json_) {
      Json j;
      j.begin_object().field("session", sess).field("added", *addr).end_object();
      out_ << j.str();
    } else {
      out_ << sess << ": path " << *addr << " added\n";
    }
    return kExitOk;
  }
  // Find the path: its directory name, or a unique destination address.
  const std::string want = a.pos[1];
  std::vector<std::string> matches;
  const Session s = read_session(fs_, sess);
  for (const Path& p : s.paths)
    if (p.name == want) matches = {p.name};
  if (matches.empty()) {
    const auto norm = normalize_endpoint(want);
    for (const Path& p : s.paths) {
      const std::string dst = p.dst_addr.value_or(dst_of(p.name));
      if (norm && dst == *norm) matches.push_back(p.name);
    }
  }
  if (matches.empty())
    return fail("session " + sess + " has no path '" + want + "'", "`ibnbd show " + sess + "` lists its paths",
                kExitNotFound);
  if (matches.size() > 1) {
    std::string names;
    for (auto& m : matches) names += " " + m;
    return usage("path", "'" + want + "' matches several paths:" + names + "; give the full name");
  }
  const WriteResult r = fs_.write(join(path_dir(sess, matches[0]), file), std::string(L::kTrigger) + "\n");
  if (!r.ok()) return write_failed(op, r, OpContext{"path " + matches[0], {}, sess, {}});
  if (json_) {
    Json j;
    j.begin_object().field("session", sess).field("path", matches[0]).field("done", sub).end_object();
    out_ << j.str();
  } else {
    const char* done = op == Op::kPathRemove ? "removed" : op == Op::kPathReconnect ? "reconnected" : "disconnected";
    out_ << sess << ": path " << matches[0] << " " << done << "\n";
  }
  return kExitOk;
}

int Cli::cmd_policy(const std::vector<std::string>& in) {
  Args a;
  if (auto e = parse_args(in, {}, a); !e.empty()) return usage("policy", e);
  if (a.pos.empty() || a.pos.size() > 2) return usage("policy", "need a session and optionally a policy name");
  const std::string& sess = a.pos[0];
  if (!fs_.is_dir(L::kTrsClientClass))
    return fail(std::string(L::kModTrsClient) + " is not loaded", "`modprobe " + std::string(L::kModClient) + "`",
                kExitNotLoaded);
  if (sess.find('/') != std::string::npos || !fs_.is_dir(session_dir(sess)))
    return fail("no session '" + sess + "'", "`ibnbd list sessions` shows the sessions", kExitNotFound);
  if (a.pos.size() == 2) {
    const WriteResult r = fs_.write(join(session_dir(sess), L::kSessPolicy), a.pos[1] + "\n");
    if (!r.ok()) return write_failed(Op::kPolicy, r, OpContext{"session " + sess, {}, sess, a.pos[1]});
  }
  const OptStr raw = fs_.read(join(session_dir(sess), L::kSessPolicy));
  if (json_) {
    Json j;
    j.begin_object().field("session", sess).field("policy", policy_name(raw)).field("policy_raw", raw).end_object();
    out_ << j.str();
  } else {
    out_ << sess << ": " << cell(policy_name(raw)) << "\n";
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// server

int Cli::cmd_server(const std::vector<std::string>& in) {
  if (in.empty()) return usage("server", "need a subcommand: list or close");
  const std::string sub = in[0];
  Args a;
  if (auto e = parse_args({in.begin() + 1, in.end()}, {}, a); !e.empty()) return usage("server", e);
  if (sub == "list") {
    if (!a.pos.empty()) return usage("server", "list takes no arguments");
    const ServerState st = read_server(fs_);
    if (!st.ibnbd_loaded && !st.ibtrs_loaded)
      return fail("neither " + std::string(L::kModServer) + " nor " + L::kModTrsServer + " is loaded",
                  "`modprobe " + std::string(L::kModServer) + "`", kExitNotLoaded);
    if (json_) {
      Json j;
      j.begin_object().key("modules").begin_object();
      j.field(L::kModServer, st.ibnbd_loaded).field(L::kModTrsServer, st.ibtrs_loaded).end_object();
      j.key("devices").begin_array();
      for (const ServerDevice& d : st.devices) {
        j.begin_object().field("name", d.name).field("block_dev", d.block_dev).key("sessions").begin_array();
        for (const auto& s : d.sessions) {
          j.begin_object().field("name", s.name);
          j.key("read_only");
          if (s.read_only) j.value(*s.read_only != 0);
          else j.null();
          j.field("access_mode", s.access_mode).field("mapping_path", s.mapping_path).end_object();
        }
        j.end_array().end_object();
      }
      j.end_array().key("sessions").begin_array();
      for (const ServerSession& s : st.sessions) {
        j.begin_object().field("name", s.name).key("paths").begin_array();
        for (const ServerPath& p : s.paths) {
          j.begin_object().field("name", p.name).field("hca_name", p.hca_name).field("hca_port", p.hca_port);
          j.field("src_addr", p.src_addr).field("dst_addr", p.dst_addr);
          j.field("rd_cnt", p.rd_cnt).field("rd_bytes", p.rd_bytes).field("wr_cnt", p.wr_cnt);
          j.field("wr_bytes", p.wr_bytes).end_object();
        }
        j.end_array().end_object();
      }
      j.end_array().end_object();
      out_ << j.str();
      return kExitOk;
    }
    out_ << "Devices:\n";
    if (!st.ibnbd_loaded) {
      out_ << "  (" << L::kModServer << " not loaded)\n";
    } else if (st.devices.empty()) {
      out_ << "  (none open)\n";
    } else {
      Table t({"DEVICE", "BLOCK_DEV", "SESSION", "MODE", "RO", "MAPPING_PATH"});
      for (const ServerDevice& d : st.devices) {
        if (d.sessions.empty()) t.row({d.name, cell(d.block_dev), "-", "-", "-", "-"});
        for (const auto& s : d.sessions)
          t.row({d.name, cell(d.block_dev), s.name, cell(s.access_mode), cell(s.read_only), cell(s.mapping_path)});
      }
      out_ << t.str();
    }
    out_ << "\nSessions:\n";
    Table t({"SESSION", "PATH", "HCA", "READS", "WRITES"});
    bool any = false;
    for (const ServerSession& s : st.sessions) {
      for (const ServerPath& p : s.paths) {
        any = true;
        std::string hca = cell(p.hca_name);
        if (p.hca_port) hca += ":" + std::to_string(*p.hca_port);
        auto io = [](const OptNum& c, const OptNum& b) {
          return c && b ? std::to_string(*c) + " (" + human_bytes(*b) + ")" : std::string("-");
        };
        t.row({s.name, p.name, hca, io(p.rd_cnt, p.rd_bytes), io(p.wr_cnt, p.wr_bytes)});
      }
      if (s.paths.empty()) t.row({s.name, "-", "-", "-", "-"}), any = true;
    }
    out_ << (any ? t.str() : "  (none)\n");
    return kExitOk;
  }
  if (sub == "close") {
    if (a.pos.size() != 2) return usage("server", "close needs a device and a session");
    const std::string& dev = a.pos[0];
    const std::string& sess = a.pos[1];
    if (!fs_.is_dir(L::kServerCtlDevices))
      return fail(std::string(L::kModServer) + " is not loaded", "run this on the server", kExitNotLoaded);
    // A /dev/ path names the device by its kernel name, as the directory does.
    const std::string name = dev.compare(0, 5, "/dev/") == 0 ? dev.substr(5) : dev;
    const std::string ddir = join(L::kServerCtlDevices, name);
    if (name.find('/') != std::string::npos || name.empty() || !fs_.is_dir(ddir))
      return fail("the server has no device '" + dev + "' open", "`ibnbd server list`", kExitNotFound);
    const std::string sdir = join(ddir, L::kSrvSessions, sess);
    if (sess.find('/') != std::string::npos || sess.empty() || !fs_.is_dir(sdir))
      return fail("session '" + sess + "' does not use '" + name + "'", "`ibnbd server list`", kExitNotFound);
    const WriteResult r = fs_.write(join(sdir, L::kSrvForceClose), std::string(L::kTrigger) + "\n");
    if (!r.ok()) return write_failed(Op::kServerClose, r, OpContext{name + " for session " + sess, {}, sess, {}});
    if (json_) {
      Json j;
      j.begin_object().field("device", name).field("session", sess).field("closed", true).end_object();
      out_ << j.str();
    } else {
      out_ << name << ": closed for session " << sess << "\n";
    }
    return kExitOk;
  }
  return usage("server", "unknown subcommand '" + sub + "': list or close");
}

// ---------------------------------------------------------------------------
// udev-name

// One path component made safe for a /dev link.
std::string udev_component(const std::string& c) {
  if (c == "." || c == "..") return "_";
  std::string o;
  for (char ch : c) {
    const unsigned char u = static_cast<unsigned char>(ch);
    o += (std::isspace(u) || u < 0x20 || u == 0x7f) ? '_' : ch;
  }
  return o;
}

int Cli::cmd_udev_name(const std::vector<std::string>& in) {
  Args a;
  if (auto e = parse_args(in, {{"wait", 0, true}}, a); !e.empty()) return usage("udev-name", e);
  if (a.pos.size() != 1) return usage("udev-name", "need the kernel name (%k), e.g. ibnbd0 or ibnbd0p1");
  long long wait_s = 5;
  if (a.has("wait") && !parse_int(a.get("wait"), 0, 600, wait_s))
    return usage("udev-name", "--wait takes 0..600 seconds");
  std::string k = a.pos[0];
  if (k.compare(0, 5, "/dev/") == 0) k = k.substr(5);
  // ibnbd<N> or ibnbd<N>p<M>
  std::string disk = k, part;
  const auto p = k.find('p', std::string(L::kDiskPrefix).size());
  if (p != std::string::npos) {
    disk = k.substr(0, p);
    part = k.substr(p + 1);
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos) disk.clear();
  }
  if (!is_disk_name(disk)) return fail("'" + a.pos[0] + "' is not an ibnbd disk or partition name", "", kExitNotFound);
  const std::string dir = device_attr_dir(disk);
  OptStr sess, mp;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
  for (;;) {
    sess = fs_.read(join(dir, L::kDevSession));
    mp = fs_.read(join(dir, L::kDevMappingPath));
    if ((sess && mp) || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(env_.poll_interval_ms));
  }
  if (!sess || !mp || sess->empty() || mp->empty())
    return fail(disk + " has no session/mapping_path attributes in " + fs_.abs(dir), "is it an ibnbd device?",
                kExitNotFound);
  std::string name = std::string(L::kDiskPrefix) + "/" + udev_component(*sess);
  size_t i = 0;
  bool any = false;
  while (i < mp->size()) {
    size_t j = mp->find('/', i);
    if (j == std::string::npos) j = mp->size();
    if (j > i) {
      name += "/" + udev_component(mp->substr(i, j - i));
      any = true;
    }
    i = j + 1;
  }
  if (!any) name += "/_";
  if (!part.empty()) name += "-part" + part;
  out_ << name << "\n";
  return kExitOk;
}

int Cli::dispatch(const std::string& cmd, const std::vector<std::string>& args) {
  if (cmd == "help") {
    const std::string topic = args.empty() ? "" : args[0];
    const char* text = help_text(topic);
    if (!text) return usage("help", "no command '" + topic + "'");
    out_ << text;
    return kExitOk;
  }
  if (want_help(args)) {
    const char* text = help_text(cmd);
    if (text) {
      out_ << text;
      return kExitOk;
    }
  }
  if (cmd == "map") return cmd_map(args);
  if (cmd == "unmap") return cmd_unmap(args);
  if (cmd == "resize") return cmd_resize(args);
  if (cmd == "remap") return cmd_remap(args);
  if (cmd == "list") return cmd_list(args);
  if (cmd == "show") return cmd_show(args);
  if (cmd == "path") return cmd_path(args);
  if (cmd == "policy") return cmd_policy(args);
  if (cmd == "server") return cmd_server(args);
  if (cmd == "udev-name") return cmd_udev_name(args);
  if (cmd == "version") {
    if (json_) {
      Json j;
      j.begin_object().field("version", kVersionString).end_object();
      out_ << j.str();
    } else {
      out_ << "ibnbd " << kVersionString << "\n";
    }
    return kExitOk;
  }
  return usage("", "unknown command '" + cmd + "'");
}

}  // namespace

int run(const std::vector<std::string>& args, const Environment& env, std::ostream& out, std::ostream& err,
        Writer& writer) {
  // Global options may come anywhere before "--"; the rest goes to the command.
  bool json = false, help = false;
  std::string root = env.sysfs_root;
  std::vector<std::string> rest;
  bool only_pos = false;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    if (only_pos) {
      rest.push_back(a);
    } else if (a == "--") {
      only_pos = true;
      rest.push_back(a);
    } else if (a == "--json" || a == "-j") {
      json = true;
    } else if (a == "--sysfs-root") {
      if (i + 1 >= args.size()) {
        err << "ibnbd: --sysfs-root needs a directory\n";
        return kExitUsage;
      }
      root = args[++i];
    } else if (a.compare(0, 13, "--sysfs-root=") == 0) {
      root = a.substr(13);
    } else if ((a == "-h" || a == "--help") && rest.empty()) {
      help = true;
    } else if (a == "--version" && rest.empty()) {
      rest.push_back("version");
    } else {
      rest.push_back(a);
    }
  }
  if (root.empty()) {
    err << "ibnbd: --sysfs-root is empty\n";
    return kExitUsage;
  }
  Sysfs fs(root, writer);
  Cli cli(fs, env, out, err, json);
  if (rest.empty()) {
    if (help) {
      out << help_text("");
      return kExitOk;
    }
    err << help_text("");
    return kExitUsage;
  }
  const std::string cmd = rest[0];
  std::vector<std::string> cmd_args(rest.begin() + 1, rest.end());
  if (help) cmd_args.push_back("--help");
  return cli.dispatch(cmd, cmd_args);
}

}  // namespace ibnbd_tool
