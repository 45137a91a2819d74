// SPDX-License-Identifier: GPL-2.0
#include "output.h"

#include <algorithm>
#include <cstdio>

namespace ibnbd_tool {

std::string json_escape(const std::string& s) {
  std::string o = "\"";
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      case '\r': o += "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          o += buf;
        } else {
          o += static_cast<char>(c);  // UTF-8 passes through unchanged
        }
    }
  }
  return o + "\"";
}

void Json::separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_ += ",";
    first_.back() = false;
  }
}

Json& Json::begin_object() {
  separate();
  out_ += "{";
  first_.push_back(true);
  return *this;
}
Json& Json::end_object() {
  first_.pop_back();
  out_ += "}";
  return *this;
}
Json& Json::begin_array() {
  separate();
  out_ += "[";
  first_.push_back(true);
  return *this;
}
Json& Json::end_array() {
  first_.pop_back();
  out_ += "]";
  return *this;
}
Json& Json::key(const std::string& k) {
  separate();
  out_ += json_escape(k) + ":";
  after_key_ = true;
  return *this;
}
Json& Json::value(const std::string& s) {
  separate();
  out_ += json_escape(s);
  return *this;
}
Json& Json::value(int64_t v) {
  separate();
  out_ += std::to_string(v);
  return *this;
}
Json& Json::value(bool b) {
  separate();
  out_ += b ? "true" : "false";
  return *this;
}
Json& Json::null() {
  separate();
  out_ += "null";
  return *this;
}

std::string Table::str() const {
  std::vector<size_t> width(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size() && i < width.size(); i++) width[i] = std::max(width[i], r[i].size());
  };
  measure(header_);
  for (const auto& r : rows_) measure(r);
  std::string out;
  auto emit = [&](const std::vector<std::string>& r) {
    std::string line;
    for (size_t i = 0; i < width.size(); i++) {
      const std::string& c = i < r.size() ? r[i] : std::string();
      line += c;
      if (i + 1 < width.size()) line += std::string(width[i] - c.size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  emit(header_);
  for (const auto& r : rows_) emit(r);
  return out;
}

std::string cell(const std::optional<std::string>& s) { return s && !s->empty() ? *s : "-"; }
std::string cell(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "-"; }

std::string human_bytes(int64_t bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
    v /= 1024.0;
    u++;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %s", v, units[u]);
  return buf;
}

std::string human_ns(int64_t ns) {
  char buf[32];
  if (ns < 1000) return std::to_string(ns) + " ns";
  if (ns < 1000000)
    std::snprintf(buf, sizeof(buf), "%.1f us", static_cast<double>(ns) / 1e3);
  else if (ns < 1000000000)
    std::snprintf(buf, sizeof(buf), "%.1f ms", static_cast<double>(ns) / 1e6);
  else
    std::snprintf(buf, sizeof(buf), "%.1f s", static_cast<double>(ns) / 1e9);
  return buf;
}

}  // namespace ibnbd_tool
