// SPDX-License-Identifier: GPL-2.0
// Exit codes of the ibnbd tool and the messages for failed sysfs writes.
//
// A sysfs store answers with a bare errno. What it means depends on which
// file was written (EPERM on map_device is the server refusing the access
// mode, EPERM at open() is "not root"), so every write names its operation
// and the explanation is chosen from (operation, errno).
#pragma once

#include <string>

#include "sysfs.h"

namespace ibnbd_tool {

// Documented in ibnbd.8 and `ibnbd help`; scripts depend on them.
enum Exit : int {
  kExitOk = 0,
  kExitFailed = 1,      // the kernel refused the request (other errno), or output failed
  kExitUsage = 2,       // bad command line
  kExitNotFound = 3,    // the named device, session, path or server device does not exist
  kExitNotLoaded = 4,   // the kernel module behind the command is not loaded
  kExitDenied = 5,      // not permitted: not root, or the server refused the access mode
  kExitBusy = 6,        // the device is in use (EBUSY)
  kExitExists = 7,      // already mapped / path already there (EEXIST)
  kExitConnect = 8,     // cannot reach the server: connection refused, timed out, no path up
};

enum class Op {
  kMap,
  kUnmap,
  kUnmapForce,
  kRemap,
  kResize,
  kPathAdd,
  kPathRemove,
  kPathReconnect,
  kPathDisconnect,
  kPolicy,
  kServerClose,
};

// What went wrong, what to do, and the exit code.
struct Failure {
  std::string what;
  std::string hint;
  int exit_code = kExitFailed;
};

// Context for the messages: the object the command was about.
struct OpContext {
  std::string object;       // "ibnbd0", "session s1", "path ip:a@ip:b"
  std::string device_path;  // map: the remote device
  std::string session;
  std::string detail;       // map: access mode; resize: the size; policy: the name
};

// "EBUSY" for EBUSY, "errno 12345" for an unknown one.
std::string errno_name(int err);
// "EBUSY: Device or resource busy".
std::string errno_text(int err);

Failure explain(Op op, const WriteResult& r, const OpContext& ctx);

}  // namespace ibnbd_tool
