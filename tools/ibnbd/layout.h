// SPDX-License-Identifier: GPL-2.0
// Every sysfs path, file name and value the ibnbd tool reads or writes, in
// one table, so that a rename in the kernel modules is a one-line change here.
//
// Sources: docs/ibtrs.md "sysfs" (ibtrs-client, ibtrs-server: these exist and
// were checked against ibtrs/*/ibtrs_*_main.c), issue 4 (ibnbd-client,
// ibnbd-server: specified, not yet built when this table was written) and
// upstream RNBD/RTRS (rnbd-features.md §1.2-1.6) with our class names.
//
// Paths are relative to the sysfs root ("/sys", or --sysfs-root for tests).
#pragma once

namespace ibnbd_tool::layout {

// ---- ibnbd-client: mapping control ---------------------------------------
// /sys/class/ibnbd-client/ctl/map_device: "sessname=... path=... device_path=..."
inline constexpr const char* kClientCtl = "class/ibnbd-client/ctl";
inline constexpr const char* kMapDevice = "map_device";
// ctl/devices/<device_id>@<sessname> -> the block device's sysfs directory;
// device_id is device_path with every '/' replaced by '!'.
inline constexpr const char* kClientCtlDevices = "devices";
inline constexpr char kDeviceIdSlash = '!';
inline constexpr char kDeviceIdSessSep = '@';

// Map tokens, in the order the tool writes them (dest_port before the paths:
// upstream applies it only to the path= tokens after it).
inline constexpr const char* kTokSessname = "sessname=";
inline constexpr const char* kTokDestPort = "dest_port=";
inline constexpr const char* kTokPath = "path=";
inline constexpr const char* kTokDevicePath = "device_path=";
inline constexpr const char* kTokAccessMode = "access_mode=";
inline constexpr const char* kTokPollQueues = "nr_poll_queues=";
inline constexpr char kPathSrcDstSep = '@';

// ---- ibnbd-client: block devices ------------------------------------------
// /sys/block/ibnbd<N>/{size} and /sys/block/ibnbd<N>/ibnbd/<attr>
inline constexpr const char* kBlockDir = "block";
inline constexpr const char* kDiskPrefix = "ibnbd";      // kernel names ibnbd0, ibnbd1p2
inline constexpr const char* kBlockSize = "size";        // in 512-byte sectors
inline constexpr const char* kDevAttrDir = "ibnbd";
inline constexpr const char* kDevState = "state";        // init|open|closed|unmapped
inline constexpr const char* kDevUnmap = "unmap_device";
inline constexpr const char* kDevRemap = "remap_device";
inline constexpr const char* kDevResize = "resize";      // write: sectors
inline constexpr const char* kDevSession = "session";
inline constexpr const char* kDevMappingPath = "mapping_path";
inline constexpr const char* kDevAccessMode = "access_mode";
inline constexpr const char* kDevPollQueues = "nr_poll_queues";
inline constexpr const char* kUnmapNormal = "normal";
inline constexpr const char* kUnmapForce = "force";
inline constexpr const char* kStateOpen = "open";

// ---- ibtrs-client: sessions and paths --------------------------------------
// /sys/class/ibtrs-client/<sess>/{mpath_policy,max_reconnect_attempts,add_path}
// /sys/class/ibtrs-client/<sess>/paths/<src@dst>/{state,...,stats/...}
inline constexpr const char* kTrsClientClass = "class/ibtrs-client";
inline constexpr const char* kSessPolicy = "mpath_policy";
inline constexpr const char* kSessMaxReconnect = "max_reconnect_attempts";
inline constexpr const char* kSessAddPath = "add_path";
inline constexpr const char* kPathsDir = "paths";
inline constexpr const char* kPathState = "state";       // connecting|connected|disconnected|dead|closed
inline constexpr const char* kPathReconnect = "reconnect";
inline constexpr const char* kPathDisconnect = "disconnect";
inline constexpr const char* kPathRemove = "remove_path";
inline constexpr const char* kPathHcaName = "hca_name";
inline constexpr const char* kPathHcaPort = "hca_port";
inline constexpr const char* kPathSrcAddr = "src_addr";
inline constexpr const char* kPathDstAddr = "dst_addr";
inline constexpr const char* kPathLatency = "cur_latency"; // "<n> ns"
inline constexpr const char* kStatsDir = "stats";
// read_cnt read_bytes write_cnt write_bytes inflight failover_cnt
inline constexpr const char* kStatsRdma = "rdma";
inline constexpr const char* kStatsReconnects = "reconnects"; // successful failed
inline constexpr const char* kStatsResetAll = "reset_all";
inline constexpr const char* kPathStateConnected = "connected";

// Policy names the client accepts (ibtrs/core/mpath.h); shown in help and
// hints. The kernel is the judge: the tool writes whatever name it is given.
inline constexpr const char* kPolicyNames[] = {"round-robin", "min-inflight", "min-latency",
                                               "adaptive"};

// ---- ibnbd-server ----------------------------------------------------------
// /sys/class/ibnbd-server/ctl/devices/<name>/block_dev -> the exported disk
// .../devices/<name>/sessions/<sess>/{read_only,access_mode,mapping_path,force_close}
inline constexpr const char* kServerCtlDevices = "class/ibnbd-server/ctl/devices";
inline constexpr const char* kSrvBlockDev = "block_dev";
inline constexpr const char* kSrvSessions = "sessions";
inline constexpr const char* kSrvReadOnly = "read_only";
inline constexpr const char* kSrvAccessMode = "access_mode";
inline constexpr const char* kSrvMappingPath = "mapping_path";
inline constexpr const char* kSrvForceClose = "force_close";

// ---- ibtrs-server ------------------------------------------------------------
// /sys/class/ibtrs-server/<sess>/paths/<src@dst>/{disconnect,hca_name,hca_port,
// src_addr,dst_addr,stats/rdma ("rd_cnt rd_bytes wr_cnt wr_bytes")}
inline constexpr const char* kTrsServerClass = "class/ibtrs-server";

// The value every "trigger" file takes.
inline constexpr const char* kTrigger = "1";

// ---- module names, for messages ---------------------------------------------
inline constexpr const char* kModClient = "ibnbd_client";
inline constexpr const char* kModServer = "ibnbd_server";
inline constexpr const char* kModTrsClient = "ibtrs_client";
inline constexpr const char* kModTrsServer = "ibtrs_server";

// Default listen port of ibnbd_server (module parameter port_nr).
inline constexpr int kDefaultPort = 1234;

}  // namespace ibnbd_tool::layout
