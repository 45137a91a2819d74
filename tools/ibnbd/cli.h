// SPDX-License-Identifier: GPL-2.0
// The ibnbd command line: parses arguments, runs one command against sysfs
// and prints the result. main() is a thin wrapper so that the unit tests run
// the same code on a fake sysfs tree with an injected Writer.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "sysfs.h"

namespace ibnbd_tool {

struct Environment {
  std::string sysfs_root = "/sys";  // IBNBD_SYSFS_ROOT, overridden by --sysfs-root
  // udev-name polls for the device's attributes this often (ms); tests keep it short.
  int poll_interval_ms = 100;
};

// args excludes argv[0]. Returns the exit code (errors.h).
int run(const std::vector<std::string>& args, const Environment& env, std::ostream& out,
        std::ostream& err, Writer& writer);

}  // namespace ibnbd_tool
