// SPDX-License-Identifier: GPL-2.0
// Output helpers: a minimal JSON writer (objects, arrays, strings, integers,
// booleans, null; strings escaped per RFC 8259) and an aligned text table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ibnbd_tool {

class Json {
 public:
  Json& begin_object();
  Json& end_object();
  Json& begin_array();
  Json& end_array();
  Json& key(const std::string& k);
  Json& value(const std::string& s);
  Json& value(const char* s) { return value(std::string(s)); }
  Json& value(int64_t v);
  Json& value(bool b);
  Json& null();
  Json& value(const std::optional<std::string>& s) { return s ? value(*s) : null(); }
  Json& value(const std::optional<int64_t>& v) { return v ? value(*v) : null(); }
  // key + value in one call.
  template <typename T>
  Json& field(const std::string& k, const T& v) {
    key(k);
    return value(v);
  }
  std::string str() const { return out_ + "\n"; }

 private:
  void separate();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

std::string json_escape(const std::string& s);

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  bool empty() const { return rows_.empty(); }
  // Columns padded to the widest cell, two blanks apart, no trailing blanks.
  std::string str() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// "-" for a missing value.
std::string cell(const std::optional<std::string>& s);
std::string cell(const std::optional<int64_t>& v);
// 1536 -> "1.5 KiB"; bytes below 1 KiB as "512 B".
std::string human_bytes(int64_t bytes);
// 1500 ns -> "1.5 us", 2000000 -> "2.0 ms".
std::string human_ns(int64_t ns);

}  // namespace ibnbd_tool
