/* SPDX-License-Identifier: GPL-2.0 */
// The client's map_device language, parsed without the kernel:
//
//   sessname=<name> path=[<src>@]<dst> [path=...] device_path=<path>
//   [access_mode=ro|rw|migration] [dest_port=<port>] [nr_poll_queues=<n>]
//   [max_reconnect_attempts=<n>]
//
// Tokens are separated by blanks (a sysfs write usually ends in '\n'). An
// address is `ip:<IPv4>`, `ip:<IPv6>[%scope]` or `gid:<GID>`; `<src>,<dst>` is
// accepted too, as upstream does. This parser checks the structure of every
// token and hands out slices of the input; turning an address slice into a
// sockaddr is the kernel's job (in4_pton/in6_pton in the RDMA shim), so there
// is exactly one address parser in the system.
//
// Differences from upstream rnbd, on purpose:
//  * up to kMaxMapPaths paths at map time (upstream: 6, an on-stack array);
//  * dest_port applies to every path wherever it appears (upstream applies it
//    only to the path= tokens after it);
//  * max_reconnect_attempts (-1 forever, the default; 0 never; 1..9999) is
//    given to the new session's transport, as the session's sysfs
//    max_reconnect_attempts would set it (upstream has only the sysfs file);
//  * a token given twice (other than path=), a path given twice, an empty
//    value, and any unknown key are refused.
//
// Errors are Error(-EINVAL) (or -E2BIG for too many paths, -ENAMETOOLONG for
// an over-long name) plus a MapDiag saying what was wrong and where, for the
// one log line the sysfs store prints.
#pragma once

#include <ibnbd/core/proto.h>
#include <kx/result.h>
#include <kx/types.h>

namespace ibnbd {

using kx::i32;
using kx::Result;
using kx::u16;
using kx::u8;
using kx::u32;
using kx::usize;

// A slice of the caller's input buffer (not NUL-terminated).
struct Str {
  const char* ptr = nullptr;
  u32 len = 0;

  bool empty() const { return len == 0; }
  bool equals(const char* lit) const {
    u32 i = 0;
    for (; i < len; i++)
      if (lit[i] != ptr[i] || lit[i] == '\0') return false;
    return lit[i] == '\0';
  }
  bool starts_with(const char* lit) const {
    for (u32 i = 0; lit[i]; i++)
      if (i >= len || ptr[i] != lit[i]) return false;
    return true;
  }
  bool same(const Str& o) const {
    if (len != o.len) return false;
    for (u32 i = 0; i < len; i++)
      if (ptr[i] != o.ptr[i]) return false;
    return true;
  }
};

enum class AddrKind : u8 { kIp, kGid };

// One endpoint as text: kind from the prefix, text after it (e.g. "10.0.0.1",
// "fe80::1%veth0", "fe80:0000:...:0001").
struct AddrText {
  AddrKind kind = AddrKind::kIp;
  Str text;
};

struct PathSpec {
  bool has_src = false;
  AddrText src;
  AddrText dst;
};

inline constexpr u32 kMaxMapPaths = 128;     // the transport's limit per session
inline constexpr u32 kNameMax = 255;         // NAME_MAX, as upstream
inline constexpr u32 kMaxAddrText = 64;      // longest IPv6 text with a scope fits
inline constexpr i32 kPollQueuesAllCpus = -1;
inline constexpr i32 kMaxReconnectAttemptsMax = 9999;  // as ibtrs-client's sysfs file

struct MapOptions {
  Str sessname;
  Str device_path;
  proto::AccessMode access_mode = proto::AccessMode::kRw;
  u16 dest_port = proto::kDefaultPort;
  i32 nr_poll_queues = 0;  // -1 = one per CPU (the caller resolves it)
  i32 max_reconnect_attempts = -1;  // -1 forever, 0 never, else a count
  bool has_max_reconnect_attempts = false;  // given (only a new session uses it)
  u32 nr_paths = 0;
  PathSpec paths[kMaxMapPaths];
};

// What was wrong, for the log line: "<what>: '<token>'".
struct MapDiag {
  const char* what = nullptr;
  Str token;
};

namespace map_detail {

inline bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

inline Result<u32> parse_u32(Str s, u32 max) {
  if (s.empty() || s.len > 10) return kx::Error(-EINVAL);
  kx::u64 v = 0;
  for (u32 i = 0; i < s.len; i++) {
    if (s.ptr[i] < '0' || s.ptr[i] > '9') return kx::Error(-EINVAL);
    v = v * 10 + static_cast<u32>(s.ptr[i] - '0');
  }
  if (v > max) return kx::Error(-ERANGE);
  return static_cast<u32>(v);
}

// Accepts only characters that can appear in an IPv4/IPv6/GID literal (plus a
// %scope of interface-name characters); the kernel parser does the rest.
inline bool plausible_addr_text(AddrKind kind, Str t) {
  if (t.empty() || t.len > kMaxAddrText) return false;
  bool in_scope = false;
  for (u32 i = 0; i < t.len; i++) {
    const char c = t.ptr[i];
    if (in_scope) {
      const bool ifname = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
      if (!ifname) return false;
      continue;
    }
    if (c == '%' && kind == AddrKind::kIp) {
      if (i + 1 == t.len) return false;
      in_scope = true;
      continue;
    }
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex && c != '.' && c != ':') return false;
  }
  return true;
}

inline Result<AddrText> parse_addr(Str s, MapDiag* diag) {
  AddrText a;
  if (s.starts_with("ip:")) {
    a.kind = AddrKind::kIp;
    a.text = Str{s.ptr + 3, s.len - 3};
  } else if (s.starts_with("gid:")) {
    a.kind = AddrKind::kGid;
    a.text = Str{s.ptr + 4, s.len - 4};
  } else {
    *diag = {"address must start with ip: or gid:", s};
    return kx::Error(-EINVAL);
  }
  if (!plausible_addr_text(a.kind, a.text)) {
    *diag = {"malformed address", s};
    return kx::Error(-EINVAL);
  }
  return a;
}

// "[src@]dst" or "[src,]dst".
inline Result<PathSpec> parse_path(Str v, MapDiag* diag) {
  PathSpec p;
  u32 sep = v.len;
  for (u32 i = 0; i < v.len; i++) {
    if (v.ptr[i] == '@' || v.ptr[i] == ',') {
      if (sep != v.len) {
        *diag = {"path has more than one src/dst separator", v};
        return kx::Error(-EINVAL);
      }
      sep = i;
    }
  }
  if (sep == v.len) {
    p.dst = KX_TRY(parse_addr(v, diag));
    return p;
  }
  p.has_src = true;
  p.src = KX_TRY(parse_addr(Str{v.ptr, sep}, diag));
  p.dst = KX_TRY(parse_addr(Str{v.ptr + sep + 1, v.len - sep - 1}, diag));
  if (p.src.kind != p.dst.kind) {
    *diag = {"src and dst are of different address kinds", v};
    return kx::Error(-EINVAL);
  }
  return p;
}

// A sysfs write is a byte buffer: a NUL or control character inside a value
// would cut or corrupt the name later (C strings, log lines, OPEN).
inline bool printable(Str s) {
  for (u32 i = 0; i < s.len; i++) {
    const unsigned char c = static_cast<unsigned char>(s.ptr[i]);
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// Session names become sysfs directory names on both sides and travel in
// INFO_REQ, where upstream refuses '/' and '.'.
inline bool valid_sessname(Str s) {
  if (s.empty() || s.len >= kNameMax) return false;
  for (u32 i = 0; i < s.len; i++) {
    const char c = s.ptr[i];
    if (c == '/' || c == '.' || static_cast<unsigned char>(c) < 0x21 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace map_detail

// Parses buf[0..len) into *out. On error, *diag names the problem.
inline Result<void> parse_map_options(const char* buf, usize len, MapOptions* out, MapDiag* diag) {
  using namespace map_detail;
  *out = MapOptions{};
  *diag = MapDiag{};
  if (len > 64 * 1024) {
    *diag = {"input too long", Str{}};
    return kx::Error(-E2BIG);
  }
  bool seen_mode = false, seen_port = false, seen_poll = false;
  usize i = 0;
  while (i < len) {
    while (i < len && is_blank(buf[i])) i++;
    if (i == len) break;
    const usize start = i;
    while (i < len && !is_blank(buf[i])) i++;
    const Str token{buf + start, static_cast<u32>(i - start)};
    u32 eq = 0;
    while (eq < token.len && token.ptr[eq] != '=') eq++;
    if (eq == token.len) {
      *diag = {"token is not key=value", token};
      return kx::Error(-EINVAL);
    }
    const Str key{token.ptr, eq};
    const Str value{token.ptr + eq + 1, token.len - eq - 1};
    if (value.empty()) {
      *diag = {"empty value", token};
      return kx::Error(-EINVAL);
    }
    if (key.equals("sessname")) {
      if (!out->sessname.empty()) {
        *diag = {"sessname given twice", token};
        return kx::Error(-EINVAL);
      }
      if (value.len >= kNameMax) {
        *diag = {"sessname too long", token};
        return kx::Error(-ENAMETOOLONG);
      }
      if (!valid_sessname(value)) {
        *diag = {"sessname must not contain '/', '.', blanks or control characters", token};
        return kx::Error(-EINVAL);
      }
      out->sessname = value;
    } else if (key.equals("path")) {
      if (out->nr_paths == kMaxMapPaths) {
        *diag = {"too many paths", token};
        return kx::Error(-E2BIG);
      }
      PathSpec p = KX_TRY(parse_path(value, diag));
      for (u32 k = 0; k < out->nr_paths; k++) {
        const PathSpec& q = out->paths[k];
        if (q.dst.kind == p.dst.kind && q.dst.text.same(p.dst.text) && q.has_src == p.has_src &&
            (!p.has_src || (q.src.kind == p.src.kind && q.src.text.same(p.src.text)))) {
          *diag = {"path given twice", token};
          return kx::Error(-EINVAL);
        }
      }
      out->paths[out->nr_paths++] = p;
    } else if (key.equals("device_path")) {
      if (!out->device_path.empty()) {
        *diag = {"device_path given twice", token};
        return kx::Error(-EINVAL);
      }
      if (value.len >= kNameMax) {
        *diag = {"device_path too long", token};
        return kx::Error(-ENAMETOOLONG);
      }
      if (!printable(value)) {
        *diag = {"device_path must not contain NUL or control characters", token};
        return kx::Error(-EINVAL);
      }
      out->device_path = value;
    } else if (key.equals("access_mode")) {
      if (seen_mode) {
        *diag = {"access_mode given twice", token};
        return kx::Error(-EINVAL);
      }
      seen_mode = true;
      if (value.equals("ro")) {
        out->access_mode = proto::AccessMode::kRo;
      } else if (value.equals("rw")) {
        out->access_mode = proto::AccessMode::kRw;
      } else if (value.equals("migration")) {
        out->access_mode = proto::AccessMode::kMigration;
      } else {
        *diag = {"access_mode must be ro, rw or migration", token};
        return kx::Error(-EINVAL);
      }
    } else if (key.equals("dest_port")) {
      if (seen_port) {
        *diag = {"dest_port given twice", token};
        return kx::Error(-EINVAL);
      }
      seen_port = true;
      auto port = parse_u32(value, 65535);
      if (port.is_error() || port.value() == 0) {
        *diag = {"dest_port must be 1..65535", token};
        return kx::Error(-EINVAL);
      }
      out->dest_port = static_cast<u16>(port.value());
    } else if (key.equals("nr_poll_queues")) {
      if (seen_poll) {
        *diag = {"nr_poll_queues given twice", token};
        return kx::Error(-EINVAL);
      }
      seen_poll = true;
      if (value.equals("-1")) {
        out->nr_poll_queues = kPollQueuesAllCpus;
      } else {
        auto n = parse_u32(value, 4096);
        if (n.is_error()) {
          *diag = {"nr_poll_queues must be -1 or 0..4096", token};
          return kx::Error(-EINVAL);
        }
        out->nr_poll_queues = static_cast<i32>(n.value());
      }
    } else if (key.equals("max_reconnect_attempts")) {
      if (out->has_max_reconnect_attempts) {
        *diag = {"max_reconnect_attempts given twice", token};
        return kx::Error(-EINVAL);
      }
      out->has_max_reconnect_attempts = true;
      if (value.equals("-1")) {
        out->max_reconnect_attempts = -1;
      } else {
        auto n = parse_u32(value, static_cast<u32>(kMaxReconnectAttemptsMax));
        if (n.is_error()) {
          *diag = {"max_reconnect_attempts must be -1 or 0..9999", token};
          return kx::Error(-EINVAL);
        }
        out->max_reconnect_attempts = static_cast<i32>(n.value());
      }
    } else {
      *diag = {"unknown token", token};
      return kx::Error(-EINVAL);
    }
  }
  if (out->sessname.empty()) {
    *diag = {"sessname= is required", Str{}};
    return kx::Error(-EINVAL);
  }
  if (out->device_path.empty()) {
    *diag = {"device_path= is required", Str{}};
    return kx::Error(-EINVAL);
  }
  // path= may be omitted only when the session already exists; the caller
  // decides that (upstream returns ENXIO for an unknown session then).
  return kx::ok();
}

// nr_poll_queues as the session uses it: -1 = one per online CPU, 0 = none,
// n = n, at most one per online CPU (upstream rnbd's bound). -EINVAL (with
// diag->what set) otherwise.
inline Result<u32> resolve_poll_queues(i32 requested, u32 online_cpus, MapDiag* diag) {
  if (requested == kPollQueuesAllCpus) return online_cpus;
  if (requested < 0) {
    *diag = {"nr_poll_queues must be -1 or 0..nproc", Str{}};
    return kx::Error(-EINVAL);
  }
  if (static_cast<u32>(requested) > online_cpus) {
    *diag = {"nr_poll_queues is more than the CPUs online", Str{}};
    return kx::Error(-EINVAL);
  }
  return static_cast<u32>(requested);
}

// The blk-mq layout of a session's tag set: HCTX_TYPE_DEFAULT and
// HCTX_TYPE_READ share the per-CPU hw queues [0, io_queues), the poll
// queues are [io_queues, io_queues + poll_queues) (HCTX_TYPE_POLL), as
// upstream rnbd_rdma_map_queues. nr_maps 0 (one map) without poll queues.
struct QueueLayout {
  u32 io_queues;
  u32 poll_queues;
  u32 nr_hw_queues;
  u32 nr_maps;
  // The poll connection of hw queue hctx_index, or -1 for a per-CPU one.
  i32 poll_index(u32 hctx_index) const {
    if (hctx_index < io_queues || hctx_index >= nr_hw_queues) return -1;
    return static_cast<i32>(hctx_index - io_queues);
  }
};

inline QueueLayout queue_layout(u32 online_cpus, u32 poll_queues) {
  const u32 io = online_cpus ? online_cpus : 1;
  return {io, poll_queues, io + poll_queues, poll_queues ? 3u : 0u};
}

}  // namespace ibnbd
