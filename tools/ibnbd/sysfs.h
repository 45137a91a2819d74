// SPDX-License-Identifier: GPL-2.0
// Access to sysfs (or a fake tree laid out like it) for the ibnbd tool.
//
// Reads go straight to the file system under the root. Writes go through a
// Writer, because the interesting part of a sysfs write is the errno the
// kernel's store function returns, which a fake tree cannot produce: tests
// inject a Writer that fails the way the kernel would.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace ibnbd_tool {

// Outcome of one sysfs write. err is 0 or a positive errno; opened tells
// whether the file could be opened (EACCES at open means "not root", at
// write it is the kernel's answer).
struct WriteResult {
  int err = 0;
  bool opened = true;
  bool ok() const { return err == 0; }
};

class Writer {
 public:
  virtual ~Writer() = default;
  // Writes value to the file at the absolute path in one write() call, as
  // sysfs needs (a store sees one buffer).
  virtual WriteResult write(const std::string& path, const std::string& value) = 0;
};

// open(O_WRONLY) + one write() + close(), errno as the kernel returned it.
class RealWriter final : public Writer {
 public:
  WriteResult write(const std::string& path, const std::string& value) override;
};

class Sysfs {
 public:
  Sysfs(std::string root, Writer& writer);

  const std::string& root() const { return root_; }
  // root + "/" + rel (rel has no leading slash).
  std::string abs(const std::string& rel) const;

  // File content without trailing newlines/blanks; nullopt if unreadable.
  std::optional<std::string> read(const std::string& rel) const;
  bool exists(const std::string& rel) const;
  bool is_dir(const std::string& rel) const;
  // Names in a directory (following symlinks), sorted, without "." and "..";
  // empty if it does not exist.
  std::vector<std::string> list(const std::string& rel) const;
  // The last component of a symlink's target (e.g. "ibnbd0" for
  // ctl/devices/x@s -> ../../block/ibnbd0); nullopt if not a symlink.
  std::optional<std::string> link_name(const std::string& rel) const;

  WriteResult write(const std::string& rel, const std::string& value);

 private:
  std::string root_;
  Writer& writer_;
};

// Joins path components with '/'.
std::string join(const std::string& a, const std::string& b);
template <typename... Rest>
std::string join(const std::string& a, const std::string& b, const Rest&... rest) {
  return join(join(a, b), rest...);
}

}  // namespace ibnbd_tool
