// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: the client's map_device parser (ibnbd/core/map_options.h
// parse_map_options) and the server's device path resolution
// (ibnbd/core/dev_path.h check_device_path / resolve_device_path).
//
// Input, by its first byte:
//   != 0  a map_device string (what a sysfs write hands the store), parsed as
//         a whole; an accepted device_path is then resolved against a few
//         search paths with the parsed session name;
//   == 0  [0][cap le16][n u8][search_path: n bytes][m u8][sessname: m bytes]
//         [device_path: the rest] resolved into an exact-size buffer of
//         cap % (PATH_MAX + 1) bytes.
//
// Properties:
//  * parser: errnos EINVAL / E2BIG / ENAMETOOLONG only, always with a
//    diagnostic whose token is empty or a slice of the input; on success
//    every slice (sessname, device_path, each path's src/dst text) lies
//    inside the input and contains no blank, the session name is one the
//    INFO_REQ encoder accepts, paths are distinct, src/dst kinds agree, the
//    numeric options are in range; the result printed back in canonical
//    form parses to the same options (round trip);
//  * resolve: equal, byte for byte, to a straightforward model (substitute
//    %SESSNAME%, append "/" and the device path, collapse '/' runs, refuse
//    empty/"."/".." components and control bytes with EINVAL and a result
//    that does not fit cap with ENAMETOOLONG); never writes past cap; the
//    result starts with the resolved search path.
#include "tests/fuzz/fuzz_common.h"

#include <string>

#include "ibnbd/core/dev_path.h"
#include "ibnbd/core/map_options.h"
#include "ibtrs/core/wire.h"

namespace {

using fuzz::err;
using fuzz::errno_in;
using fuzz::Exact;
using fuzz::Reader;
using ibnbd::AddrKind;
using ibnbd::MapDiag;
using ibnbd::MapOptions;
using ibnbd::PathSpec;
using ibnbd::Str;
using kx::u32;
using kx::u8;
using kx::usize;

MapOptions g_opts, g_opts2;

bool blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool slice_ok(Str s, const char* buf, usize len) {
  if (!fuzz::inside(s.ptr, s.len, buf, len)) return false;
  for (u32 i = 0; i < s.len; ++i)
    if (blank(s.ptr[i])) return false;
  return true;
}

std::string str(Str s) { return std::string(s.ptr, s.len); }

// Model of valid session names: 1..254 bytes, no '/', '.', blank, control.
bool sessname_model(Str s) {
  if (s.len == 0 || s.len >= ibnbd::kNameMax) return false;
  for (u32 i = 0; i < s.len; ++i) {
    const unsigned char c = static_cast<unsigned char>(s.ptr[i]);
    if (c == '/' || c == '.' || c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

// Model of address text: hex digits, '.', ':', and for ip: one %scope of
// interface-name characters that is not empty.
bool addr_model(AddrKind kind, Str t) {
  if (t.len == 0 || t.len > ibnbd::kMaxAddrText) return false;
  u32 i = 0;
  for (; i < t.len && t.ptr[i] != '%'; ++i) {
    const char c = t.ptr[i];
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex && c != '.' && c != ':') return false;
  }
  if (i == t.len) return true;
  if (kind != AddrKind::kIp || i + 1 == t.len) return false;
  for (++i; i < t.len; ++i) {
    const char c = t.ptr[i];
    const bool ifname = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ifname) return false;
  }
  return true;
}

std::string addr_text(const ibnbd::AddrText& a) {
  return (a.kind == AddrKind::kIp ? "ip:" : "gid:") + str(a.text);
}

std::string canonical(const MapOptions& o) {
  static const char* const kModes[] = {"ro", "rw", "migration"};
  std::string s = "sessname=" + str(o.sessname);
  for (u32 i = 0; i < o.nr_paths; ++i) {
    s += " path=";
    if (o.paths[i].has_src) s += addr_text(o.paths[i].src) + "@";
    s += addr_text(o.paths[i].dst);
  }
  s += " device_path=" + str(o.device_path);
  s += std::string(" access_mode=") + kModes[static_cast<u8>(o.access_mode)];
  s += " dest_port=" + std::to_string(o.dest_port);
  s += " nr_poll_queues=" + std::to_string(o.nr_poll_queues);
  s += "\n";
  return s;
}

bool same_addr(const ibnbd::AddrText& a, const ibnbd::AddrText& b) {
  return a.kind == b.kind && str(a.text) == str(b.text);
}

bool same(const MapOptions& a, const MapOptions& b) {
  if (str(a.sessname) != str(b.sessname) || str(a.device_path) != str(b.device_path) ||
      a.access_mode != b.access_mode || a.dest_port != b.dest_port ||
      a.nr_poll_queues != b.nr_poll_queues || a.nr_paths != b.nr_paths)
    return false;
  for (u32 i = 0; i < a.nr_paths; ++i) {
    if (a.paths[i].has_src != b.paths[i].has_src || !same_addr(a.paths[i].dst, b.paths[i].dst))
      return false;
    if (a.paths[i].has_src && !same_addr(a.paths[i].src, b.paths[i].src)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Device path resolution model.

int check_dev_model(const char* dev, usize n) {
  if (n == 0) return -EINVAL;
  bool any = false;
  usize start = 0;
  for (usize i = 0; i <= n; ++i) {
    if (i < n) {
      const unsigned char c = static_cast<unsigned char>(dev[i]);
      if (c < 0x20 || c == 0x7f) return -EINVAL;
      if (c != '/') continue;
    }
    const std::string comp(dev + start, i - start);
    if (comp == "." || comp == "..") return -EINVAL;
    if (!comp.empty()) any = true;
    start = i + 1;
  }
  return any ? 0 : -EINVAL;
}

std::string collapse(const std::string& s) {
  std::string out;
  for (char c : s)
    if (!(c == '/' && !out.empty() && out.back() == '/')) out += c;
  return out;
}

std::string substitute(const char* search, const char* sess, usize sess_len) {
  static const std::string kToken = "%SESSNAME%";
  const std::string sp(search);
  std::string out;
  for (usize i = 0; i < sp.size();) {
    if (sp.compare(i, kToken.size(), kToken) == 0) {
      out.append(sess, sess_len);
      i += kToken.size();
    } else {
      out += sp[i++];
    }
  }
  return out;
}

void check_resolve(const char* search, const char* sess, usize sess_len, const char* dev,
                   usize dev_len, usize cap) {
  Exact dev_copy(reinterpret_cast<const u8*>(dev), dev_len);
  Exact out(cap);
  auto r = ibnbd::resolve_device_path(search, sess, sess_len,
                                      reinterpret_cast<const char*>(dev_copy.data()), dev_len,
                                      reinterpret_cast<char*>(out.data()), cap);
  FUZZ_CHECK(errno_in(r, {EINVAL, ENAMETOOLONG}));
  auto chk = ibnbd::check_device_path(reinterpret_cast<const char*>(dev_copy.data()), dev_len);
  const int model_chk = check_dev_model(dev, dev_len);
  FUZZ_CHECK(err(chk) == model_chk);
  if (model_chk != 0) {
    FUZZ_CHECK(err(r) == model_chk);
    return;
  }
  const std::string prefix = collapse(substitute(search, sess, sess_len) + "/");
  const std::string want = collapse(substitute(search, sess, sess_len) + "/" + std::string(dev, dev_len));
  if (want.size() + 1 > cap) {
    FUZZ_CHECK(err(r) == -ENAMETOOLONG);
    return;
  }
  FUZZ_CHECK(r.is_ok() && r.value() == want.size());
  FUZZ_CHECK(memcmp(out.data(), want.data(), want.size()) == 0 && out.data()[want.size()] == 0);
  FUZZ_CHECK(want.compare(0, prefix.size(), prefix) == 0);
}

const char* long_search_path() {
  static char path[ibnbd::kPathMax - 8];
  if (!path[0]) {
    memset(path, 'x', sizeof(path) - 1);
    path[0] = '/';
  }
  return path;
}

// ---------------------------------------------------------------------------

void check_parse(const char* buf, usize len) {
  MapDiag diag;
  auto r = ibnbd::parse_map_options(buf, len, &g_opts, &diag);
  FUZZ_CHECK(errno_in(r, {EINVAL, E2BIG, ENAMETOOLONG}));
  if (r.is_error()) {
    FUZZ_CHECK(diag.what != nullptr && diag.what[0] != '\0');
    FUZZ_CHECK((diag.token.ptr == nullptr && diag.token.len == 0) ||
               fuzz::inside(diag.token.ptr, diag.token.len, buf, len));
    return;
  }
  const MapOptions& o = g_opts;
  FUZZ_CHECK(slice_ok(o.sessname, buf, len) && sessname_model(o.sessname));
  FUZZ_CHECK(slice_ok(o.device_path, buf, len));
  FUZZ_CHECK(o.device_path.len >= 1 && o.device_path.len < ibnbd::kNameMax);
  FUZZ_CHECK(static_cast<u8>(o.access_mode) <= 2);
  FUZZ_CHECK(o.dest_port >= 1);
  FUZZ_CHECK(o.nr_poll_queues >= -1 && o.nr_poll_queues <= 4096);
  FUZZ_CHECK(o.nr_paths <= ibnbd::kMaxMapPaths);
  for (u32 i = 0; i < o.nr_paths; ++i) {
    const PathSpec& p = o.paths[i];
    FUZZ_CHECK(slice_ok(p.dst.text, buf, len) && addr_model(p.dst.kind, p.dst.text));
    if (p.has_src) {
      FUZZ_CHECK(slice_ok(p.src.text, buf, len) && addr_model(p.src.kind, p.src.text));
      FUZZ_CHECK(p.src.kind == p.dst.kind);
    }
    for (u32 k = 0; k < i; ++k) {
      const PathSpec& q = o.paths[k];
      // The same endpoints twice are refused; the same text under another
      // address kind (ip:f, gid:f) is another address.
      FUZZ_CHECK(!(q.has_src == p.has_src && q.dst.kind == p.dst.kind &&
                   q.dst.text.same(p.dst.text) &&
                   (!p.has_src || (q.src.kind == p.src.kind && q.src.text.same(p.src.text)))));
    }
  }

  // The session name travels in INFO_REQ: the encoder must take it.
  u8 info_req[sizeof(ibtrs::wire::InfoReqWire)];
  FUZZ_CHECK(ibtrs::wire::encode_info_req(info_req, sizeof(info_req), o.sessname.ptr,
                                          o.sessname.len)
                 .is_ok());

  // Canonical form round trip.
  const std::string text = canonical(o);
  Exact copy(reinterpret_cast<const u8*>(text.data()), text.size());
  MapDiag diag2;
  auto r2 = ibnbd::parse_map_options(reinterpret_cast<const char*>(copy.data()), copy.size(),
                                     &g_opts2, &diag2);
  FUZZ_CHECK(r2.is_ok());
  FUZZ_CHECK(same(g_opts, g_opts2));

  // The server side of the same names.
  const char* search_paths[] = {"/dev", "/srv/%SESSNAME%/", "%SESSNAME%%SESSNAME%", "",
                                long_search_path()};
  for (const char* sp : search_paths)
    check_resolve(sp, o.sessname.ptr, o.sessname.len, o.device_path.ptr, o.device_path.len,
                  ibnbd::kPathMax);
}

void check_raw_resolve(const u8* data, usize size) {
  Reader rd(data + 1, size - 1);
  const usize cap = rd.le16() % (ibnbd::kPathMax + 1);
  const usize n = rd.u8v();
  std::string search;
  for (usize i = 0; i < n && rd.rest_size() > 0; ++i) search += static_cast<char>(rd.u8v());
  const usize m = rd.u8v();
  std::string sess;
  for (usize i = 0; i < m && rd.rest_size() > 0; ++i) sess += static_cast<char>(rd.u8v());
  // search_path is a C string (a module parameter): an embedded NUL ends it.
  Exact sp(reinterpret_cast<const u8*>(search.c_str()), strlen(search.c_str()) + 1);
  Exact sn(reinterpret_cast<const u8*>(sess.data()), sess.size());
  check_resolve(reinterpret_cast<const char*>(sp.data()),
                reinterpret_cast<const char*>(sn.data()), sn.size(),
                reinterpret_cast<const char*>(rd.rest()), rd.rest_size(), cap);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const u8* data, usize size) {
  if (size > 0 && data[0] == 0) {
    check_raw_resolve(data, size);
    return 0;
  }
  Exact in(data, size);
  check_parse(reinterpret_cast<const char*>(in.data()), in.size());
  return 0;
}
