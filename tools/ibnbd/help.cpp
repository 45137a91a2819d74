// SPDX-License-Identifier: GPL-2.0
// `ibnbd help [command]` and `ibnbd <command> --help`. The man page
// (ibnbd.8) says the same at greater length; keep the two in step.
#include "help.h"

namespace ibnbd_tool {

namespace {

const char kMain[] = R"(Usage: ibnbd [--json] [--sysfs-root DIR] <command> [arguments]

Map and manage IBNBD network block devices (client) and inspect the IBNBD
server, through the sysfs files of the ibnbd_client/ibtrs_client and
ibnbd_server/ibtrs_server kernel modules.

Client commands:
  map <server-addr>... <device_path>   map a remote device as /dev/ibnbdN
  unmap <dev> [--force]                unmap a device
  resize <dev> <size>                  change the size the client sees
  remap <dev>                          re-open a device whose session came back
  list [devices|sessions|paths]        devices, sessions and paths with their state
  show <dev|session>                   everything about one device or session
  path add|remove|reconnect|disconnect manage the paths (RDMA connections) of a session
  policy <session> [<name>]            show or set the multipath policy

Server commands:
  server list                          exported devices, client sessions and paths
  server close <device> <session>      close a device for one client session

Other:
  udev-name <kernel-name>              stable name for udev: ibnbd/<session>/<device_path>
  help [<command>]                     this text, or a command's
  version                              the tool's version

Global options:
  --json               machine-readable output (one JSON document on stdout;
                       on failure {"error": {...}} as well as the message on stderr)
  --sysfs-root DIR     read and write sysfs below DIR instead of /sys (also the
                       environment variable IBNBD_SYSFS_ROOT); for tests
  -h, --help           help; after a command, that command's help

<dev> is any of: ibnbd0, /dev/ibnbd0, a udev link /dev/ibnbd/<session>/<path>,
<device_path>@<session>, or a device_path that only one mapped device has.

Exit status:
  0  success
  1  the kernel refused the request with an error not listed below
  2  usage: bad command line, or the kernel found the request malformed (EINVAL)
  3  not found: no such device, session, path or server device
  4  the kernel module the command needs is not loaded
  5  not permitted: not root, or the server refused the access mode
  6  busy: the device is in use (EBUSY)
  7  already there: the device is already mapped, or the path exists (EEXIST)
  8  connection: the server cannot be reached, or no path is connected

Every failure prints what went wrong (with the kernel's errno) and what to do.
See ibnbd(8).
)";

const char kMap[] = R"(Usage: ibnbd map <server-addr>... <device_path> [options]

Map the remote device <device_path> as a local block device /dev/ibnbdN by
writing one request to /sys/class/ibnbd-client/ctl/map_device.

<server-addr>   one per path (RDMA connection) of the session, at least one:
                10.0.0.1 or ip:10.0.0.1, fe80::1%ib0 or ip:fe80::1%ib0,
                gid:fe80:0000:0000:0000:0002:c903:0010:4a11; to choose the
                local address, <src>@<dst> (ip:10.0.0.2@ip:10.0.0.1).
                Every path given must connect or the map fails.
<device_path>   the device on the server, relative to the server's
                dev_search_path (ibnbd_server module parameter), e.g.
                /dev/nullb0 or images/vm1.img.

Options:
  -s, --session NAME   session name (no '/' or '.'; at most 255 bytes). A
                       second device on an existing session reuses it and its
                       paths. Default: the session that already has a path to
                       the first server address, otherwise a name made from
                       that address (10.0.0.1 -> 10-0-0-1).
  --rw                 read-write access (default). The server allows one
                       writer per device.
  --ro                 read-only: any number of clients.
  --migration          a second writer, while moving a VM between hosts.
  -p, --port N         server port (ibnbd_server port_nr, default 1234).
  --poll-queues N      nr_poll_queues: polling queues (-1 = one per CPU). A
                       session with poll queues cannot be shared with devices
                       without, and the reverse.
  -n, --dry-run        print the map_device line and do nothing.

Prints the new device (/dev/ibnbdN), or its JSON description with --json.

Errors (exit status):
  EEXIST (7)   already mapped over that session: see `ibnbd list`
  ENOENT (3)   the server cannot open device_path under its dev_search_path
  EPERM  (5)   the server refused the access mode: someone else writes to it
  EINVAL (2)   malformed request (address, name, port); see dmesg
  ECONNREFUSED, ETIMEDOUT, ECONNRESET, ... (8)
               the server modules are not loaded there, wrong port, or the
               RDMA link is down
  module not loaded (4): modprobe ibnbd_client

Example:
  ibnbd map 10.99.0.1 10.99.1.1 /dev/nullb0 --session store1 --ro
)";

const char kUnmap[] = R"(Usage: ibnbd unmap <dev> [--force]

Unmap a device: writes "normal" (or "force") to
/sys/block/ibnbdN/ibnbd/unmap_device. The client closes the device on the
server and /dev/ibnbdN goes away.

Options:
  -f, --force   unmap even if the device is open (mounted, held by a
                process or by device-mapper/MD): IO in flight fails.

Errors: EBUSY (6) the device is open: unmount it or stop its users first,
or use --force. A device that does not exist (3).
)";

const char kResize[] = R"(Usage: ibnbd resize <dev> <size>

Set the size of /dev/ibnbdN as the client sees it, after the device was
grown on the server. Writes the size in 512-byte sectors to
/sys/block/ibnbdN/ibnbd/resize. The server is not asked: a size beyond the
server's device makes IO there fail.

<size>   a number with an optional unit: 512-byte sectors with "s"; bytes
         with "B" or no unit; K, M, G, T, P (or KiB, MiB, GiB, TiB, PiB)
         for powers of 1024. Must be a whole number of sectors.
         Examples: 10G, 2048s, 1073741824.

Errors: ENOENT (3) the device is not open (state closed): remap it first;
EINVAL (2) the kernel refused the size.
)";

const char kRemap[] = R"(Usage: ibnbd remap <dev>

Re-open a device on the server: writes 1 to /sys/block/ibnbdN/ibnbd/remap_device.
The client does this by itself when a session reconnects; use it when that
failed (state "closed" with a connected path). A device that is already
open is left alone and the command succeeds (exit 0, with a note).

Errors: ENODEV (3) the device is unmapped; ENOTCONN and similar (8) no path
of the session is connected: reconnect a path first.
)";

const char kList[] = R"(Usage: ibnbd list [devices|sessions|paths] [--json]

Without an argument: all mapped devices, all client sessions, and every path
of every session. Read from /sys/block/ibnbd*/ibnbd/ and
/sys/class/ibtrs-client/<session>/ (see ibnbd(8) for each column).

Devices:  NAME SESSION MAPPING_PATH MODE STATE SIZE POLLQ
Sessions: NAME POLICY PATHS (connected/total) RECONNECT (max attempts) DEVICES
Paths:    SESSION PATH STATE HCA INFLIGHT FAILOVERS LATENCY (last heartbeat
          round trip) RECONNECTS (successful/failed) READS WRITES

--json prints {"modules": {...}, "devices": [...], "sessions": [...]} with
every path inside its session; numbers are integers (bytes, ns, sectors) and
a value that could not be read is null.

Exit 4 if neither ibnbd_client nor ibtrs_client is loaded.
)";

const char kShow[] = R"(Usage: ibnbd show <dev|session> [--json]

Everything about one device (its attributes, then its session and paths) or
one session (policy, reconnect limit, paths with statistics, devices).
<dev> as for unmap; a name that is not a device is looked up as a session.

Exit 3 if there is no such device or session.
)";

const char kPath[] = R"(Usage: ibnbd path add <session> <[src@]dst>
       ibnbd path remove <session> <path>
       ibnbd path reconnect <session> <path>
       ibnbd path disconnect <session> <path>

Manage the paths (RDMA connections) of a client session, through
/sys/class/ibtrs-client/<session>/add_path and .../paths/<path>/{remove_path,
reconnect,disconnect}.

add         connect a new path (synchronous; fails if it cannot connect).
            Addresses as for map.
remove      disconnect the path and remove it; IO moves to the others.
reconnect   disconnect if connected, then connect now (blocks until the path
            is up or failed).
disconnect  close the path; it does not reconnect by itself afterwards.

<path> is the path's name as `ibnbd list paths` shows it (ip:A@ip:B), or its
destination address alone when that is unique in the session.

Errors: EINVAL (2) bad address; EEXIST (7) the path exists; ENOTCONN,
ETIMEDOUT, ... (8) the path could not connect; no such session or path (3).
)";

const char kPolicy[] = R"(Usage: ibnbd policy <session> [<name>]

Show or set the multipath policy of a session (mpath_policy), which picks a
path for every IO:
  round-robin    the next connected path in turn
  min-inflight   the path with the fewest requests in flight (default)
  min-latency    the path with the smallest heartbeat round trip
  adaptive       the smallest IO completion latency (EWMA) weighted by the
                 requests in flight: a slow path sheds load within
                 milliseconds

Errors: EINVAL (2) the kernel does not know the name; no such session (3).
)";

const char kServer[] = R"(Usage: ibnbd server list [--json]
       ibnbd server close <device> <session>

list    the devices ibnbd_server has open (from
        /sys/class/ibnbd-server/ctl/devices/), each with the client sessions
        using it (access mode, read-only, the path the client asked for),
        and the transport sessions with their paths and counters (from
        /sys/class/ibtrs-server/).
close   close <device> for one client session only (writes 1 to
        .../devices/<device>/sessions/<session>/force_close). The client is
        not told: its IO to that device fails from then on.

Exit 3 if the device or session does not exist, 4 if ibnbd_server (close)
or both server modules (list) are not loaded.
)";

const char kUdevName[] = R"(Usage: ibnbd udev-name <kernel-name> [--wait SEC]

Print the stable name of an ibnbd disk or partition for udev, relative to
/dev: ibnbd/<session>/<device_path> (a leading '/' of device_path dropped,
"." and ".." components and blanks replaced by "_"), with "-part<N>" for
partition N. Used by the udev rule 90-ibnbd.rules:

  KERNEL=="ibnbd[0-9]*", PROGRAM="/usr/local/sbin/ibnbd udev-name %k", SYMLINK+="%c"

so /dev/ibnbd/store1/dev/nullb0 points to /dev/ibnbd0. Waits up to SEC
seconds (default 5) for the device's session and mapping_path attributes,
which appear just after the disk. Exit 3 if the name is not an ibnbd
device.
)";

const char kVersion[] = R"(Usage: ibnbd version

Print the tool's version.
)";

}  // namespace

const char* help_text(const std::string& command) {
  if (command.empty() || command == "help") return kMain;
  if (command == "map") return kMap;
  if (command == "unmap") return kUnmap;
  if (command == "resize") return kResize;
  if (command == "remap") return kRemap;
  if (command == "list") return kList;
  if (command == "show") return kShow;
  if (command == "path") return kPath;
  if (command == "policy") return kPolicy;
  if (command == "server") return kServer;
  if (command == "udev-name") return kUdevName;
  if (command == "version") return kVersion;
  return nullptr;
}

}  // namespace ibnbd_tool
