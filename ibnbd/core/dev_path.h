/* SPDX-License-Identifier: GPL-2.0 */
// Server side: which file a client's OPEN names.
//
// The server exports nothing explicitly; a client names a device relative to
// the module parameter dev_search_path, in which every "%SESSNAME%" is
// replaced by the client's session name (a per-client namespace). This is
// the lexical part of the check: the resolved path is search_path + "/" +
// device_path with duplicate '/' collapsed, and it is refused when
// device_path has an empty name, a "." or ".." component, a NUL, or control
// characters, or when the result exceeds PATH_MAX. Symlinks that lead out of
// the search path are the kernel side's to refuse at open time (it opens with
// the search path as the root of the lookup).
#pragma once

#include <kx/result.h>
#include <kx/types.h>

namespace ibnbd {

inline constexpr kx::usize kPathMax = 4096;  // PATH_MAX, NUL included

namespace dev_path_detail {

// Appends src[0..n) to out[*pos..cap), collapsing runs of '/' with what is
// already there. -ENAMETOOLONG when it does not fit (NUL included).
inline kx::Result<void> append(char* out, kx::usize cap, kx::usize* pos, const char* src, kx::usize n) {
  for (kx::usize i = 0; i < n; i++) {
    const char c = src[i];
    if (c == '/' && *pos > 0 && out[*pos - 1] == '/') continue;
    if (*pos + 1 >= cap) return kx::Error(-ENAMETOOLONG);
    out[(*pos)++] = c;
  }
  return kx::ok();
}

}  // namespace dev_path_detail

// Checks device_path[0..dev_len) component by component (see above).
inline kx::Result<void> check_device_path(const char* dev, kx::usize dev_len) {
  if (dev_len == 0) return kx::Error(-EINVAL);
  kx::usize start = 0;
  bool any_name = false;
  for (kx::usize i = 0; i <= dev_len; i++) {
    if (i < dev_len) {
      const unsigned char c = static_cast<unsigned char>(dev[i]);
      if (c == 0 || c < 0x20 || c == 0x7f) return kx::Error(-EINVAL);
      if (c != '/') continue;
    }
    const kx::usize n = i - start;
    if (n == 1 && dev[start] == '.') return kx::Error(-EINVAL);
    if (n == 2 && dev[start] == '.' && dev[start + 1] == '.') return kx::Error(-EINVAL);
    if (n > 0) any_name = true;
    start = i + 1;
  }
  return any_name ? kx::ok() : kx::Result<void>(kx::Error(-EINVAL));
}

// The search path with every %SESSNAME% replaced by sessname and runs of '/'
// collapsed: the directory beneath which this session's devices must
// resolve (the backend's root). NUL-terminated in out[0..cap); returns its
// length. -ENAMETOOLONG if it does not fit.
inline kx::Result<kx::usize> resolve_search_root(const char* search_path, const char* sessname,
                                                 kx::usize sessname_len, char* out,
                                                 kx::usize cap) {
  using dev_path_detail::append;
  static constexpr char kToken[] = "%SESSNAME%";
  constexpr kx::usize kTokenLen = sizeof(kToken) - 1;
  if (cap == 0) return kx::Error(-ENAMETOOLONG);
  kx::usize pos = 0;
  for (kx::usize i = 0; search_path[i];) {
    kx::usize k = 0;
    while (k < kTokenLen && search_path[i + k] == kToken[k]) k++;
    if (k == kTokenLen) {
      KX_TRY(append(out, cap, &pos, sessname, sessname_len));
      i += kTokenLen;
    } else {
      KX_TRY(append(out, cap, &pos, &search_path[i], 1));
      i++;
    }
  }
  out[pos] = '\0';
  return pos;
}

// Writes the resolved, NUL-terminated path into out[0..cap) and returns its
// length. search_path is the module parameter (NUL-terminated); sessname is
// the session's validated name.
inline kx::Result<kx::usize> resolve_device_path(const char* search_path, const char* sessname,
                                                 kx::usize sessname_len, const char* dev,
                                                 kx::usize dev_len, char* out, kx::usize cap) {
  using dev_path_detail::append;
  KX_TRY(check_device_path(dev, dev_len));
  kx::usize pos = KX_TRY(resolve_search_root(search_path, sessname, sessname_len, out, cap));
  KX_TRY(append(out, cap, &pos, "/", 1));
  KX_TRY(append(out, cap, &pos, dev, dev_len));
  out[pos] = '\0';
  return pos;
}

}  // namespace ibnbd
