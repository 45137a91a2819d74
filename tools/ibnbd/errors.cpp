// SPDX-License-Identifier: GPL-2.0
#include "errors.h"

#include <cerrno>
#include <cstring>

#include "layout.h"

namespace ibnbd_tool {

namespace L = layout;

std::string errno_name(int err) {
  switch (err) {
#define IBNBD_E(x) \
  case x:          \
    return #x;
    IBNBD_E(EPERM) IBNBD_E(ENOENT) IBNBD_E(EIO) IBNBD_E(ENXIO) IBNBD_E(E2BIG) IBNBD_E(ENOMEM)
    IBNBD_E(EACCES) IBNBD_E(EBUSY) IBNBD_E(EEXIST) IBNBD_E(ENODEV) IBNBD_E(EINVAL) IBNBD_E(ENOSPC)
    IBNBD_E(EROFS) IBNBD_E(ERANGE) IBNBD_E(ENAMETOOLONG) IBNBD_E(EALREADY) IBNBD_E(EINPROGRESS)
    IBNBD_E(EOPNOTSUPP) IBNBD_E(EADDRINUSE) IBNBD_E(EADDRNOTAVAIL) IBNBD_E(ENETDOWN)
    IBNBD_E(ENETUNREACH) IBNBD_E(ECONNABORTED) IBNBD_E(ECONNRESET) IBNBD_E(ENOTCONN)
    IBNBD_E(ETIMEDOUT) IBNBD_E(ECONNREFUSED) IBNBD_E(EHOSTDOWN) IBNBD_E(EHOSTUNREACH)
    IBNBD_E(EAGAIN) IBNBD_E(EINTR) IBNBD_E(EFAULT) IBNBD_E(ENOTDIR) IBNBD_E(EISDIR)
    IBNBD_E(EMSGSIZE) IBNBD_E(EPROTO)
#undef IBNBD_E
    default:
      return "errno " + std::to_string(err);
  }
}

std::string errno_text(int err) { return errno_name(err) + ": " + std::strerror(err); }

namespace {

bool is_connect_error(int err) {
  switch (err) {
    case ECONNREFUSED: case ECONNRESET: case ECONNABORTED: case ETIMEDOUT: case ENOTCONN:
    case EHOSTUNREACH: case EHOSTDOWN: case ENETUNREACH: case ENETDOWN: case EADDRNOTAVAIL:
    case EPROTO:
      return true;
    default:
      return false;
  }
}

const char* kDmesgHint = "the kernel log says why: dmesg | tail";

std::string policy_list() {
  std::string s;
  for (const char* p : L::kPolicyNames) s += (s.empty() ? "" : ", ") + std::string(p);
  return s;
}

// The first line every failure message starts with.
std::string refused(const OpContext& c, const char* action, int err) {
  return c.object + ": " + action + " failed (" + errno_text(err) + ")";
}

Failure explain_map(int err, const OpContext& c) {
  const std::string dp = "'" + c.device_path + "'";
  const std::string sess = "'" + c.session + "'";
  switch (err) {
    case EINVAL:
      return {"the kernel refused the map request as malformed (" + errno_text(err) + ")",
              "check the addresses (ip:<IPv4>, ip:<IPv6>[%iface], gid:<GID>, [src@]dst), the "
              "session name (no '/' or '.'), the device path and --port/--poll-queues (a "
              "session with poll queues cannot be shared with a device without, and the "
              "reverse); " + std::string(kDmesgHint),
              kExitUsage};
    case EEXIST:
      return {dp + " is already mapped over session " + sess + " (" + errno_text(err) + ")",
              "`ibnbd list` shows the existing device; unmap it first to map it again", kExitExists};
    case ENOENT:
      return {"the server cannot open " + dp + " (" + errno_text(err) + ")",
              "device_path is relative to the server's dev_search_path (parameter of " +
                  std::string(L::kModServer) + "); check that it exists there and contains no "
                  "'..'; `ibnbd server list` on the server shows what is open",
              kExitNotFound};
    case EPERM:
    case EACCES:
      return {"the server refused " + c.detail + " access to " + dp + " (" + errno_text(err) + ")",
              "another client has it open for writing: map it with --ro, or with --migration "
              "while moving a writer from one host to another",
              kExitDenied};
    case ENXIO:
      return {"session " + sess + " is unknown and the request named no path (" +
                  errno_text(err) + ")",
              "give at least one server address", kExitUsage};
    case E2BIG:
      return {"too many paths for one session (" + errno_text(err) + ")",
              "map with fewer addresses and add the others with `ibnbd path add`", kExitUsage};
    case ENAMETOOLONG:
      return {"the session name or device path is too long (" + errno_text(err) + ")",
              "names are limited to 255 bytes", kExitUsage};
    case ENOMEM:
      return {"the kernel is out of memory (" + errno_text(err) + ")",
              "each session pins memory on the server (sess_queue_depth x max_chunk_size); "
              "free memory or lower those parameters of ibtrs_server",
              kExitFailed};
    case EBUSY:
      return {"session " + sess + " is busy (" + errno_text(err) + ")",
              "it is being set up or torn down; retry in a moment", kExitBusy};
    case ENODEV:
      return {"no RDMA device can reach the server (" + errno_text(err) + ")",
              "check `rdma link` (the port must be ACTIVE) and that the source address "
              "belongs to an RDMA-capable interface",
              kExitConnect};
    default:
      break;
  }
  if (is_connect_error(err))
    return {"cannot connect session " + sess + " to the server (" + errno_text(err) + ")",
            "check that " + std::string(L::kModTrsServer) + " and " + L::kModServer +
                " are loaded on the server and listen on that port (--port, module parameter "
                "port_nr, default 1234), that the RDMA link is up (`rdma link`), and that the "
                "server address is reachable from the source address; every path given must "
                "connect",
            kExitConnect};
  return {"the kernel refused the map request (" + errno_text(err) + ")", kDmesgHint, kExitFailed};
}

Failure explain_unmap(int err, const OpContext& c, bool force) {
  switch (err) {
    case EBUSY:
      return {refused(c, "unmap", err) + ": the device is in use",
              "unmount file systems on it (findmnt /dev/" + c.object + "), stop the processes "
              "holding it (fuser -v /dev/" + c.object + ") and remove device-mapper/MD users "
              "(dmsetup ls, /proc/mdstat); or unmap anyway with `ibnbd unmap --force " +
                  c.object + "` (IO in flight fails)",
              kExitBusy};
    case ENOENT:
    case ENODEV:
      return {refused(c, "unmap", err) + ": the device is already gone",
              "`ibnbd list` shows what is still mapped", kExitNotFound};
    case EINVAL:
      return {refused(c, "unmap", err) + ": the kernel did not accept '" +
                  (force ? L::kUnmapForce : L::kUnmapNormal) + "'",
              kDmesgHint, kExitFailed};
    default:
      return {refused(c, "unmap", err), kDmesgHint, kExitFailed};
  }
}

Failure explain_remap(int err, const OpContext& c) {
  switch (err) {
    case ENODEV:
      return {refused(c, "remap", err) + ": the device is unmapped", "map it again with `ibnbd map`",
              kExitNotFound};
    case EINVAL:
      return {refused(c, "remap", err), kDmesgHint, kExitFailed};
    default:
      break;
  }
  if (is_connect_error(err))
    return {refused(c, "remap", err) + ": session '" + c.session + "' has no connected path",
            "bring a path back first (`ibnbd show " + c.session + "`, `ibnbd path reconnect`), "
            "then remap",
            kExitConnect};
  return {refused(c, "remap", err), kDmesgHint, kExitFailed};
}

Failure explain_resize(int err, const OpContext& c) {
  switch (err) {
    case ENOENT:
    case ENODEV:
      return {refused(c, "resize", err) + ": the device is not open",
              "a device can only be resized in state 'open': `ibnbd remap " + c.object + "` first",
              kExitNotFound};
    case EINVAL:
    case ERANGE:
      return {refused(c, "resize", err) + ": the kernel refused the size " + c.detail, kDmesgHint,
              kExitUsage};
    default:
      return {refused(c, "resize", err), kDmesgHint, kExitFailed};
  }
}

Failure explain_path(Op op, int err, const OpContext& c) {
  const char* action = op == Op::kPathAdd          ? "add path"
                       : op == Op::kPathRemove     ? "remove path"
                       : op == Op::kPathReconnect  ? "reconnect"
                                                   : "disconnect";
  if (op == Op::kPathAdd) {
    switch (err) {
      case EINVAL:
        return {refused(c, action, err) + ": address refused or the session has its maximum "
                                          "of 128 paths",
                "addresses are ip:<IPv4>, ip:<IPv6>[%iface] or gid:<GID>, as [src@]dst; " +
                    std::string(kDmesgHint),
                kExitUsage};
      case EEXIST:
        return {refused(c, action, err) + ": the session already has this path",
                "`ibnbd show " + c.session + "` lists its paths", kExitExists};
      default:
        break;
    }
  }
  if (op == Op::kPathReconnect && is_connect_error(err))
    return {refused(c, action, err) + ": the path did not come up",
            "check the server and the link (`rdma link`, ping the server address); the path "
            "keeps retrying if max_reconnect_attempts allows",
            kExitConnect};
  if (is_connect_error(err))
    return {refused(c, action, err) + ": cannot reach the server over this path",
            "check that the server modules are loaded and the link is up (`rdma link`)",
            kExitConnect};
  if (err == ENOENT || err == ENODEV)
    return {refused(c, action, err) + ": the path is gone", "`ibnbd show " + c.session + "`",
            kExitNotFound};
  if (err == EBUSY)
    return {refused(c, action, err) + ": the path is busy", "retry in a moment", kExitBusy};
  return {refused(c, action, err), kDmesgHint, err == EINVAL ? kExitUsage : kExitFailed};
}

}  // namespace

Failure explain(Op op, const WriteResult& r, const OpContext& c) {
  const int err = r.err;
  if (!r.opened) {
    // open() failed: no kernel store ran, so this is about the file itself.
    if (err == EACCES || err == EPERM || err == EROFS)
      return {c.object + ": permission denied (" + errno_text(err) + ")",
              "writing to sysfs needs root: run it with sudo", kExitDenied};
    if (err == ENOENT || err == ENOTDIR)
      return {c.object + ": its sysfs file disappeared (" + errno_text(err) + ")",
              "it was removed meanwhile (unmapped, path removed, or module unloaded): "
              "`ibnbd list`",
              kExitNotFound};
    return {c.object + ": cannot open its sysfs file (" + errno_text(err) + ")", "", kExitFailed};
  }
  switch (op) {
    case Op::kMap:
      return explain_map(err, c);
    case Op::kUnmap:
      return explain_unmap(err, c, false);
    case Op::kUnmapForce:
      return explain_unmap(err, c, true);
    case Op::kRemap:
      return explain_remap(err, c);
    case Op::kResize:
      return explain_resize(err, c);
    case Op::kPathAdd:
    case Op::kPathRemove:
    case Op::kPathReconnect:
    case Op::kPathDisconnect:
      return explain_path(op, err, c);
    case Op::kPolicy:
      if (err == EINVAL)
        return {c.object + ": the kernel does not know the policy '" + c.detail + "' (" +
                    errno_text(err) + ")",
                "valid policies: " + policy_list(), kExitUsage};
      return {refused(c, "set policy", err), kDmesgHint, kExitFailed};
    case Op::kServerClose:
      if (err == ENOENT || err == ENODEV)
        return {refused(c, "close", err) + ": the session no longer has the device open",
                "`ibnbd server list`", kExitNotFound};
      return {refused(c, "close", err), kDmesgHint, kExitFailed};
  }
  return {refused(c, "operation", err), kDmesgHint, kExitFailed};
}

}  // namespace ibnbd_tool
