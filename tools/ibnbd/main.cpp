// SPDX-License-Identifier: GPL-2.0
// ibnbd: the command-line tool for IBNBD devices. All logic is in cli.cpp.
#include <cstdlib>
#include <iostream>

#include "cli.h"

int main(int argc, char** argv) {
  ibnbd_tool::Environment env;
  if (const char* root = std::getenv("IBNBD_SYSFS_ROOT"); root && *root) env.sysfs_root = root;
  ibnbd_tool::RealWriter writer;
  const std::vector<std::string> args(argv + 1, argv + argc);
  const int rc = ibnbd_tool::run(args, env, std::cout, std::cerr, writer);
  std::cout.flush();
  if (!std::cout) {
    std::cerr << "ibnbd: cannot write the output\n";
    return 1;
  }
  return rc;
}
