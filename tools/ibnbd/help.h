// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <string>

namespace ibnbd_tool {

// The help text of a command ("" or "help": the overview); nullptr if there
// is no such command.
const char* help_text(const std::string& command);

inline constexpr const char* kVersionString = "0.1";

}  // namespace ibnbd_tool
