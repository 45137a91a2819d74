// SPDX-License-Identifier: GPL-2.0
#include "sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace ibnbd_tool {

std::string join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  if (a.back() == '/') return a + b;
  return a + "/" + b;
}

WriteResult RealWriter::write(const std::string& path, const std::string& value) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return WriteResult{errno, false};
  WriteResult r;
  const ssize_t n = ::write(fd, value.data(), value.size());
  if (n < 0) {
    r.err = errno;
  } else if (static_cast<size_t>(n) != value.size()) {
    r.err = EIO;  // a store that consumed part of the buffer: never expected
  }
  if (::close(fd) != 0 && r.err == 0) r.err = errno;
  return r;
}

Sysfs::Sysfs(std::string root, Writer& writer) : root_(std::move(root)), writer_(writer) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::string Sysfs::abs(const std::string& rel) const { return join(root_, rel); }

std::optional<std::string> Sysfs::read(const std::string& rel) const {
  const int fd = ::open(abs(rel).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '\t'))
    out.pop_back();
  return out;
}

bool Sysfs::exists(const std::string& rel) const {
  struct stat st;
  return ::stat(abs(rel).c_str(), &st) == 0;
}

bool Sysfs::is_dir(const std::string& rel) const {
  struct stat st;
  return ::stat(abs(rel).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::vector<std::string> Sysfs::list(const std::string& rel) const {
  std::vector<std::string> names;
  DIR* d = ::opendir(abs(rel).c_str());
  if (!d) return names;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<std::string> Sysfs::link_name(const std::string& rel) const {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink(abs(rel).c_str(), buf, sizeof(buf) - 1);
  if (n < 0) return std::nullopt;
  std::string target(buf, static_cast<size_t>(n));
  while (target.size() > 1 && target.back() == '/') target.pop_back();
  const auto slash = target.rfind('/');
  return slash == std::string::npos ? target : target.substr(slash + 1);
}

WriteResult Sysfs::write(const std::string& rel, const std::string& value) {
  return writer_.write(abs(rel), value);
}

}  // namespace ibnbd_tool
