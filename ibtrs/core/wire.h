/* SPDX-License-Identifier: GPL-2.0 */
// RTRS protocol 2.0 wire format (byte-compatible with Linux 5.8+ rtrs-client
// and rtrs-server): connection private data, the control messages on con[0],
// the I/O trailers written into server chunks, and the 32-bit RDMA immediate.
//
// This header is the portable core shared by the kernel modules, the userspace
// unit tests and the fuzzers. It allocates nothing, has no global state and
// uses no standard header. Everything is a pure function of its arguments.
//
// Contracts common to every codec here:
//  * Integers on the wire are little-endian, structs are natural-aligned C
//    layout without packing; each wire struct's size and field offsets are
//    pinned by static_asserts against the upstream layout.
//  * Decoders take (const u8* buf, usize len, negotiated parameters) and never
//    read outside [buf, buf + len). Input may be unaligned: decoders copy into
//    a local wire struct with __builtin_memcpy before reading fields.
//  * Encoders write into a caller-provided buffer and return the number of
//    bytes written. An encoder refuses (with the same errno) any message its
//    decoder would refuse, so we never send what we would not accept. On error
//    the contents of the output buffer are unspecified.
//  * Reserved bytes are always written as zero.
//
// Errno vocabulary (negative in Error):
//  EBADMSG          the buffer is shorter than the message, or the type field
//                   names another message / an unknown immediate type.
//  EPROTO           a field holds a value the protocol does not allow: wrong
//                   magic, reserved bits set, flags outside the known set,
//                   counts that contradict each other, immediates arriving on
//                   the wrong side or connection.
//  EPROTONOSUPPORT  the peer speaks another major protocol version.
//  ERANGE           a number is outside the range the negotiated parameters
//                   allow (buf_id >= queue_depth, offset beyond the chunk,
//                   cid >= cid_num, a geometry that breaks the 28-bit rule,
//                   a descriptor whose address range wraps).
//  EMSGSIZE         lengths do not fit together (usr_len > offset, trailer
//                   past the chunk end, descriptor longer than the data area);
//                   for encoders: the output buffer is too small.
//  EINVAL           malformed strings (no NUL inside the field, empty, '/' or
//                   '.' in a path name) and invalid encoder arguments.
#pragma once

#include <kx/endian.h>
#include <kx/errno.h>
#include <kx/result.h>
#include <kx/types.h>

namespace ibtrs::wire {

using kx::Error;
using kx::Le16;
using kx::Le32;
using kx::Le64;
using kx::Result;
using kx::u16;
using kx::u32;
using kx::u64;
using kx::u8;
using kx::usize;

// ---------------------------------------------------------------------------
// Constants (rtrs-pri.h of Linux 6.1).

inline constexpr u16 kMagic = 0x1BBD;
inline constexpr u8 kProtoVerMajor = 2;
inline constexpr u8 kProtoVerMinor = 0;
inline constexpr u16 kProtoVersion = (u16{kProtoVerMajor} << 8) | kProtoVerMinor;

// Paths per session; a client refuses more, a server resets the connection.
inline constexpr u32 kMaxPaths = 128;
// Smallest server chunk upstream accepts (max_chunk_size module parameter).
inline constexpr u32 kMinChunkSize = 8192;
// conn_rsp.queue_depth is a le16.
inline constexpr u32 kMaxQueueDepth = 65535;
// Upstream's sanity bound on cid_num (rtrs_rdma_connect); a client opens
// nr_cpu_ids + nr_poll_queues + 1 connections per path.
inline constexpr u32 kMaxConnsPerPath = 4096;
// NAME_MAX: the size of info_req.pathname, terminating NUL included.
inline constexpr usize kPathNameFieldSize = 255;
// Depth of the service connection (con[0]) and the upper bound of the
// signalling interval.
inline constexpr u32 kServiceConQueueDepth = 512;
inline constexpr u32 kHeartbeatIntervalMs = 5000;
inline constexpr u32 kHeartbeatMissedMax = 5;

enum class MsgType : u16 {
  kInfoReq = 0,
  kInfoRsp = 1,
  kWrite = 2,
  kRead = 3,
  kRkeyRsp = 4,
};

// rdma_read.flags: the server must remotely invalidate the client's
// descriptor rkey (SEND_WITH_INV) before the response.
inline constexpr u16 kMsgFlagNeedInval = 1u << 0;
// conn_rsp.flags: the server re-registers each chunk after every I/O
// (always_invalidate) and announces the new rkey in RKEY_RSP.
inline constexpr u32 kMsgFlagNewRkey = 1u << 1;

// ---------------------------------------------------------------------------
// Wire structs. Field names follow upstream where it helps cross-reading.

struct Uuid {
  u8 bytes[16];

  constexpr bool is_nil() const {
    for (u8 b : bytes)
      if (b != 0) return false;
    return true;
  }
  constexpr bool operator==(const Uuid&) const = default;
};
static_assert(sizeof(Uuid) == 16 && alignof(Uuid) == 1);

// Private data of rdma_connect(): 56 bytes, the maximum the CM carries for an
// IP-addressed REQ.
struct ConnReqWire {
  // Owned by the RDMA CM: must be sent as 0 (cma_save_ip_info() parses them
  // for AF_IB) and may be rewritten in flight, so decoders ignore them.
  u8 cma_version;
  u8 ip_version;
  Le16 magic;
  Le16 version;
  Le16 cid;
  Le16 cid_num;
  Le16 recon_cnt;
  Uuid sess_uuid;   // identifies the path
  Uuid paths_uuid;  // identifies the session (all paths of one client)
  u8 flags;         // bit 0: first_conn; bits 1..7 reserved
  u8 reserved[11];
};
inline constexpr u8 kConnReqFirstConn = 1u << 0;
static_assert(sizeof(ConnReqWire) == 56);
static_assert(__builtin_offsetof(ConnReqWire, cma_version) == 0);
static_assert(__builtin_offsetof(ConnReqWire, ip_version) == 1);
static_assert(__builtin_offsetof(ConnReqWire, magic) == 2);
static_assert(__builtin_offsetof(ConnReqWire, version) == 4);
static_assert(__builtin_offsetof(ConnReqWire, cid) == 6);
static_assert(__builtin_offsetof(ConnReqWire, cid_num) == 8);
static_assert(__builtin_offsetof(ConnReqWire, recon_cnt) == 10);
static_assert(__builtin_offsetof(ConnReqWire, sess_uuid) == 12);
static_assert(__builtin_offsetof(ConnReqWire, paths_uuid) == 28);
static_assert(__builtin_offsetof(ConnReqWire, flags) == 44);
static_assert(__builtin_offsetof(ConnReqWire, reserved) == 45);

// Private data of rdma_accept() and of a consumer-defined rdma_reject().
struct ConnRspWire {
  Le16 magic;
  Le16 version;
  Le16 errno_code;  // 0 on accept; the negative errno as a two's-complement le16 on reject
  Le16 queue_depth;
  Le32 max_io_size;
  Le32 max_hdr_size;
  Le32 flags;
  u8 reserved[36];
};
static_assert(sizeof(ConnRspWire) == 56);
static_assert(__builtin_offsetof(ConnRspWire, magic) == 0);
static_assert(__builtin_offsetof(ConnRspWire, version) == 2);
static_assert(__builtin_offsetof(ConnRspWire, errno_code) == 4);
static_assert(__builtin_offsetof(ConnRspWire, queue_depth) == 6);
static_assert(__builtin_offsetof(ConnRspWire, max_io_size) == 8);
static_assert(__builtin_offsetof(ConnRspWire, max_hdr_size) == 12);
static_assert(__builtin_offsetof(ConnRspWire, flags) == 16);
static_assert(__builtin_offsetof(ConnRspWire, reserved) == 20);

// SEND on con[0] once every connection of the path is up.
struct InfoReqWire {
  Le16 type;
  char pathname[kPathNameFieldSize];  // the session name, NUL-terminated
  u8 reserved[15];
};
static_assert(sizeof(InfoReqWire) == 272);
static_assert(__builtin_offsetof(InfoReqWire, type) == 0);
static_assert(__builtin_offsetof(InfoReqWire, pathname) == 2);
static_assert(__builtin_offsetof(InfoReqWire, reserved) == 257);

// One registered memory region: INFO_RSP lists the server's chunk regions,
// a READ trailer carries the client's destination buffer.
struct SgDescWire {
  Le64 addr;
  Le32 key;
  Le32 len;
};
static_assert(sizeof(SgDescWire) == 16);
static_assert(__builtin_offsetof(SgDescWire, addr) == 0);
static_assert(__builtin_offsetof(SgDescWire, key) == 8);
static_assert(__builtin_offsetof(SgDescWire, len) == 12);

// Header of INFO_RSP; sg_cnt SgDescWire follow at offset 8.
struct InfoRspHdrWire {
  Le16 type;
  Le16 sg_cnt;
  u8 reserved[4];
};
static_assert(sizeof(InfoRspHdrWire) == 8);
static_assert(__builtin_offsetof(InfoRspHdrWire, type) == 0);
static_assert(__builtin_offsetof(InfoRspHdrWire, sg_cnt) == 2);
static_assert(__builtin_offsetof(InfoRspHdrWire, reserved) == 4);

// Trailer of a WRITE request, at chunk offset data_len + usr_len.
struct RdmaWriteTrailerWire {
  Le16 type;
  Le16 usr_len;
};
static_assert(sizeof(RdmaWriteTrailerWire) == 4);
static_assert(__builtin_offsetof(RdmaWriteTrailerWire, type) == 0);
static_assert(__builtin_offsetof(RdmaWriteTrailerWire, usr_len) == 2);

// Trailer of a READ request, at chunk offset data_len + usr_len; sg_cnt
// SgDescWire follow at offset 8.
struct RdmaReadTrailerWire {
  Le16 type;
  Le16 usr_len;
  Le16 flags;
  Le16 sg_cnt;
};
static_assert(sizeof(RdmaReadTrailerWire) == 8);
static_assert(__builtin_offsetof(RdmaReadTrailerWire, type) == 0);
static_assert(__builtin_offsetof(RdmaReadTrailerWire, usr_len) == 2);
static_assert(__builtin_offsetof(RdmaReadTrailerWire, flags) == 4);
static_assert(__builtin_offsetof(RdmaReadTrailerWire, sg_cnt) == 6);

// SEND_WITH_IMM payload announcing a chunk's new rkey (always_invalidate).
struct RkeyRspWire {
  Le16 type;
  Le16 buf_id;
  Le32 rkey;
};
static_assert(sizeof(RkeyRspWire) == 8);
static_assert(__builtin_offsetof(RkeyRspWire, type) == 0);
static_assert(__builtin_offsetof(RkeyRspWire, buf_id) == 2);
static_assert(__builtin_offsetof(RkeyRspWire, rkey) == 4);

namespace detail {

// Wire structs are read from and written to possibly unaligned buffers.
using kx::load_wire;
using kx::store_wire;

inline bool all_zero(const u8* bytes, usize n) {
  for (usize i = 0; i < n; ++i)
    if (bytes[i] != 0) return false;
  return true;
}

inline u16 peek_type(const u8* buf) { return load_wire<Le16>(buf).get(); }

constexpr u8 version_major(u16 version) { return static_cast<u8>(version >> 8); }
constexpr u8 version_minor(u16 version) { return static_cast<u8>(version & 0xff); }

// Bits needed to index n distinct values: ilog2(n - 1) + 1, and 0 for n <= 1
// (what the kernel's run-time ilog2(0) == -1 yields upstream).
constexpr u32 index_bits(u64 n) { return n <= 1 ? 0 : kx::ilog2(n - 1) + 1; }

// [addr, addr + len) must not wrap around the 64-bit address space.
constexpr bool range_wraps(u64 addr, u32 len) { return len != 0 && addr + (len - 1) < addr; }

}  // namespace detail

// ---------------------------------------------------------------------------
// The 32-bit immediate: type in bits 28..31, payload in bits 0..27. Verbs
// carry it big-endian (ib_wc.ex.imm_data is __be32); the functions below
// work on host-order values, convert at the verbs boundary with these two.

inline constexpr u32 kImmTypeBits = 4;
inline constexpr u32 kImmPayloadBits = 28;
inline constexpr u32 kImmPayloadMask = (1u << kImmPayloadBits) - 1;
// IO_RSP payload: |errno| in bits 19..27, msg_id (= buf_id) in bits 0..18.
inline constexpr u32 kIoRspMsgIdBits = 19;
inline constexpr u32 kIoRspMsgIdMask = (1u << kIoRspMsgIdBits) - 1;
inline constexpr u32 kIoRspErrnoBits = 9;
inline constexpr int kIoRspMaxErrno = (1 << kIoRspErrnoBits) - 1;

constexpr u32 imm_from_wire(u32 be_imm) { return kx::be_to_host(be_imm); }
constexpr u32 imm_to_wire(u32 host_imm) { return kx::host_to_be(host_imm); }

enum class ImmType : u8 {
  kIoReq = 0,           // client -> server: buf_id << mem_bits | offset
  kIoRsp = 1,           // server -> client: errno:9 | msg_id:19
  kIoRspWithInval = 2,  // as kIoRsp; the client's read rkey was already invalidated
  kHbMsg = 8,           // heartbeat, payload 0, con[0] only
  kHbAck = 9,           // heartbeat answer, payload 0, con[0] only
};

constexpr u32 make_imm(ImmType type, u32 payload) {
  return (static_cast<u32>(type) << kImmPayloadBits) | (payload & kImmPayloadMask);
}
constexpr u32 imm_type_field(u32 imm) { return imm >> kImmPayloadBits; }
constexpr u32 imm_payload(u32 imm) { return imm & kImmPayloadMask; }

inline constexpr u32 kHbMsgImm = make_imm(ImmType::kHbMsg, 0);
inline constexpr u32 kHbAckImm = make_imm(ImmType::kHbAck, 0);

// IO_RSP / IO_RSP_W_INV for request msg_id completed with err (0 or a
// negative errno). Only 9 bits carry |errno|: upstream silently truncates
// (ENOTSUPP 524 arrives as ENOMEM 12); we refuse with ERANGE instead, so
// callers must map kernel-internal codes (ENOTSUPP -> EOPNOTSUPP) first.
inline Result<u32> io_rsp_imm(u32 msg_id, int err, bool with_inval) {
  if (msg_id > kIoRspMsgIdMask) return Error(-ERANGE);
  if (err > 0 || err < -kIoRspMaxErrno) return Error(-ERANGE);
  const u32 payload = (static_cast<u32>(-err) << kIoRspMsgIdBits) | msg_id;
  return make_imm(with_inval ? ImmType::kIoRspWithInval : ImmType::kIoRsp, payload);
}

// ---------------------------------------------------------------------------
// Chunk geometry: the server exposes queue_depth chunks of chunk_size bytes
// (chunk_size = max_io_size + max_hdr_size of conn_rsp). An IO_REQ immediate
// addresses a byte inside a chunk with buf_id << mem_bits | offset, where
// chunk_bits = ilog2(queue_depth - 1) + 1 and mem_bits = 28 - chunk_bits. The
// combination is only usable if every offset < chunk_size fits in mem_bits:
// index_bits(queue_depth) + index_bits(chunk_size) <= 28.

struct IoReqImm {
  u32 buf_id;  // chunk index (the client's permit)
  u32 offset;  // byte offset of the RTRS trailer inside the chunk
};

class ChunkGeometry {
 public:
  // EINVAL: queue_depth outside 1..65535, chunk_size not a power of two or
  // below kMinChunkSize. ERANGE: the pair breaks the 28-bit rule.
  static Result<ChunkGeometry> create(u32 queue_depth, u32 chunk_size) {
    if (queue_depth == 0 || queue_depth > kMaxQueueDepth) return Error(-EINVAL);
    if (chunk_size < kMinChunkSize || !kx::is_power_of_2(chunk_size)) return Error(-EINVAL);
    const u32 chunk_bits = detail::index_bits(queue_depth);
    if (chunk_bits + detail::index_bits(chunk_size) > kImmPayloadBits) return Error(-ERANGE);
    return ChunkGeometry(queue_depth, chunk_size, chunk_bits);
  }

  u32 queue_depth() const { return queue_depth_; }
  u32 chunk_size() const { return chunk_size_; }
  u32 chunk_bits() const { return chunk_bits_; }
  u32 mem_bits() const { return kImmPayloadBits - chunk_bits_; }
  // Bytes of remote memory the server pins for this session.
  u64 total_size() const { return u64{queue_depth_} * chunk_size_; }

  // IO_REQ immediate addressing byte `offset` of chunk `buf_id`.
  Result<u32> io_req_imm(u32 buf_id, u32 offset) const {
    if (buf_id >= queue_depth_ || offset >= chunk_size_) return Error(-ERANGE);
    return make_imm(ImmType::kIoReq, (buf_id << mem_bits()) | offset);
  }

  // Splits an IO_REQ payload; ERANGE if it names no byte of the session.
  Result<IoReqImm> decode_io_req(u32 payload) const {
    const u32 buf_id = (payload & kImmPayloadMask) >> mem_bits();
    const u32 offset = payload & ((1u << mem_bits()) - 1);
    if (buf_id >= queue_depth_ || offset >= chunk_size_) return Error(-ERANGE);
    return IoReqImm{buf_id, offset};
  }

  // Immediate of a WRITE whose chunk image is
  //   data[0, data_len) | usr[data_len, +usr_len) | write trailer (4 B).
  // EMSGSIZE if it does not fit the chunk or usr_len exceeds the le16 field.
  Result<u32> write_request_imm(u32 buf_id, u32 data_len, u32 usr_len) const {
    if (usr_len > 0xffff) return Error(-EMSGSIZE);
    const u64 end = u64{data_len} + usr_len + sizeof(RdmaWriteTrailerWire);
    if (end > chunk_size_) return Error(-EMSGSIZE);
    return io_req_imm(buf_id, data_len + usr_len);
  }

  // Immediate of a READ whose usr message and trailer (8 B + sg_cnt * 16 B)
  // are placed after data_len bytes reserved for the server's answer.
  // EINVAL if sg_cnt > 1 (one descriptor is all the protocol transfers).
  Result<u32> read_request_imm(u32 buf_id, u32 data_len, u32 usr_len, u16 sg_cnt) const {
    if (sg_cnt > 1) return Error(-EINVAL);
    if (usr_len > 0xffff) return Error(-EMSGSIZE);
    const u64 end = u64{data_len} + usr_len + sizeof(RdmaReadTrailerWire) +
                    u64{sg_cnt} * sizeof(SgDescWire);
    if (end > chunk_size_) return Error(-EMSGSIZE);
    return io_req_imm(buf_id, data_len + usr_len);
  }

 private:
  ChunkGeometry(u32 queue_depth, u32 chunk_size, u32 chunk_bits)
      : queue_depth_(queue_depth), chunk_size_(chunk_size), chunk_bits_(chunk_bits) {}

  u32 queue_depth_;
  u32 chunk_size_;
  u32 chunk_bits_;
};

// ---------------------------------------------------------------------------
// Immediates as each side receives them. Receiving one is also the liveness
// signal (heartbeat counter reset); the caller does that before decoding.

struct ServerImm {
  ImmType type;  // kIoReq, kHbMsg or kHbAck
  u32 buf_id;    // kIoReq only
  u32 offset;    // kIoReq only
};

// An immediate received by the server on connection `cid` of a path.
// EBADMSG: unknown type. EPROTO: a server->client type, a heartbeat on
// cid != 0 or with a payload. ERANGE: IO_REQ outside the session's chunks.
inline Result<ServerImm> decode_server_imm(u32 imm, const ChunkGeometry& geometry, u32 cid) {
  const u32 payload = imm_payload(imm);
  switch (imm_type_field(imm)) {
    case static_cast<u32>(ImmType::kIoReq): {
      const IoReqImm req = KX_TRY(geometry.decode_io_req(payload));
      return ServerImm{ImmType::kIoReq, req.buf_id, req.offset};
    }
    case static_cast<u32>(ImmType::kHbMsg):
    case static_cast<u32>(ImmType::kHbAck):
      if (cid != 0 || payload != 0) return Error(-EPROTO);
      return ServerImm{static_cast<ImmType>(imm_type_field(imm)), 0, 0};
    case static_cast<u32>(ImmType::kIoRsp):
    case static_cast<u32>(ImmType::kIoRspWithInval):
      return Error(-EPROTO);
    default:
      return Error(-EBADMSG);
  }
}

struct ClientImm {
  ImmType type;  // kIoRsp, kIoRspWithInval, kHbMsg or kHbAck
  u32 msg_id;    // responses only: the buf_id of the completed request
  int err;       // responses only: 0 or a negative errno
};

// An immediate received by the client on connection `cid` of a path whose
// session has queue_depth chunks. EBADMSG: unknown type. EPROTO: IO_REQ, or a
// heartbeat on cid != 0 or with a payload. ERANGE: msg_id >= queue_depth.
inline Result<ClientImm> decode_client_imm(u32 imm, u32 queue_depth, u32 cid) {
  const u32 payload = imm_payload(imm);
  switch (imm_type_field(imm)) {
    case static_cast<u32>(ImmType::kIoRsp):
    case static_cast<u32>(ImmType::kIoRspWithInval): {
      const u32 msg_id = payload & kIoRspMsgIdMask;
      if (msg_id >= queue_depth) return Error(-ERANGE);
      const int err = -static_cast<int>(payload >> kIoRspMsgIdBits);
      return ClientImm{static_cast<ImmType>(imm_type_field(imm)), msg_id, err};
    }
    case static_cast<u32>(ImmType::kHbMsg):
    case static_cast<u32>(ImmType::kHbAck):
      if (cid != 0 || payload != 0) return Error(-EPROTO);
      return ClientImm{static_cast<ImmType>(imm_type_field(imm)), 0, 0};
    case static_cast<u32>(ImmType::kIoReq):
      return Error(-EPROTO);
    default:
      return Error(-EBADMSG);
  }
}

// ---------------------------------------------------------------------------
// CONN_REQ (client -> server, rdma_connect private data).
//
// The CM zero-pads private data shorter than the struct, so the length check
// proves nothing: every field is validated. A nil UUID or cid_num == 0 is
// what a truncated request looks like.

struct ConnReq {
  u16 version;  // encode with kProtoVersion
  u16 cid;
  u16 cid_num;
  u16 recon_cnt;
  Uuid sess_uuid;
  Uuid paths_uuid;
  bool first_conn;  // the server may create a new session only if set
};

// EBADMSG: len < 56. EPROTO: magic, nil UUID, or (minor 0) reserved bits or
// bytes set. EPROTONOSUPPORT: major != 2. ERANGE: cid_num == 0 or
// > kMaxConnsPerPath, or cid >= cid_num.
//
// Reserved bytes are checked only when the peer claims minor 0: upstream
// zero-fills them (compound-literal initialisation), and a later minor
// version may give them a meaning that a 2.0 server must ignore.
inline Result<ConnReq> decode_conn_req(const u8* buf, usize len) {
  if (len < sizeof(ConnReqWire)) return Error(-EBADMSG);
  const auto w = detail::load_wire<ConnReqWire>(buf);
  if (w.magic.get() != kMagic) return Error(-EPROTO);
  const u16 version = w.version.get();
  if (detail::version_major(version) != kProtoVerMajor) return Error(-EPROTONOSUPPORT);
  const u16 cid_num = w.cid_num.get();
  const u16 cid = w.cid.get();
  if (cid_num == 0 || cid_num > kMaxConnsPerPath || cid >= cid_num) return Error(-ERANGE);
  if (w.sess_uuid.is_nil() || w.paths_uuid.is_nil()) return Error(-EPROTO);
  if (detail::version_minor(version) == 0 &&
      ((w.flags & ~kConnReqFirstConn) != 0 || !detail::all_zero(w.reserved, sizeof(w.reserved))))
    return Error(-EPROTO);
  return ConnReq{version,      cid,          cid_num, w.recon_cnt.get(),
                 w.sess_uuid, w.paths_uuid, (w.flags & kConnReqFirstConn) != 0};
}

inline Result<usize> encode_conn_req(u8* out, usize cap, const ConnReq& req) {
  if (cap < sizeof(ConnReqWire)) return Error(-EMSGSIZE);
  ConnReqWire w{};
  w.magic.set(kMagic);
  w.version.set(req.version);
  w.cid.set(req.cid);
  w.cid_num.set(req.cid_num);
  w.recon_cnt.set(req.recon_cnt);
  w.sess_uuid = req.sess_uuid;
  w.paths_uuid = req.paths_uuid;
  w.flags = req.first_conn ? kConnReqFirstConn : 0;
  detail::store_wire(out, w);
  KX_TRY(decode_conn_req(out, sizeof(w)));
  return sizeof(w);
}

// ---------------------------------------------------------------------------
// CONN_RSP (server -> client): rdma_accept private data, or rdma_reject
// private data carrying only an errno.

struct ConnRsp {
  u16 version;  // encode with kProtoVersion
  u16 queue_depth;
  u32 max_io_size;   // chunk_size - max_hdr_size
  u32 max_hdr_size;  // room for usr message + trailer at the chunk end
  u32 flags;         // kMsgFlagNewRkey or 0
};

// Smallest max_hdr_size with which a READ (trailer + one descriptor) fits.
inline constexpr u32 kMinHdrSize = sizeof(RdmaReadTrailerWire) + sizeof(SgDescWire);

// The geometry an accept announces: queue_depth chunks of
// max_io_size + max_hdr_size bytes. ERANGE if the sum overflows 32 bits.
inline Result<ChunkGeometry> chunk_geometry(const ConnRsp& rsp) {
  const u64 chunk_size = u64{rsp.max_io_size} + rsp.max_hdr_size;
  if (chunk_size > 0xffffffffu) return Error(-ERANGE);
  return ChunkGeometry::create(rsp.queue_depth, static_cast<u32>(chunk_size));
}

// Accept private data. EBADMSG: len < 56. EPROTO: magic, errno != 0, flags
// outside kMsgFlagNewRkey, max_io_size == 0, max_hdr_size < kMinHdrSize,
// (minor 0) reserved bytes set. EPROTONOSUPPORT: major != 2. EINVAL/ERANGE:
// the announced chunk geometry is unusable (see ChunkGeometry::create).
inline Result<ConnRsp> decode_conn_rsp(const u8* buf, usize len) {
  if (len < sizeof(ConnRspWire)) return Error(-EBADMSG);
  const auto w = detail::load_wire<ConnRspWire>(buf);
  if (w.magic.get() != kMagic) return Error(-EPROTO);
  const u16 version = w.version.get();
  if (detail::version_major(version) != kProtoVerMajor) return Error(-EPROTONOSUPPORT);
  if (w.errno_code.get() != 0) return Error(-EPROTO);
  const ConnRsp rsp{version, w.queue_depth.get(), w.max_io_size.get(), w.max_hdr_size.get(),
                    w.flags.get()};
  if ((rsp.flags & ~kMsgFlagNewRkey) != 0) return Error(-EPROTO);
  if (rsp.max_io_size == 0 || rsp.max_hdr_size < kMinHdrSize) return Error(-EPROTO);
  if (detail::version_minor(version) == 0 && !detail::all_zero(w.reserved, sizeof(w.reserved)))
    return Error(-EPROTO);
  KX_TRY(chunk_geometry(rsp));
  return rsp;
}

inline Result<usize> encode_conn_rsp(u8* out, usize cap, const ConnRsp& rsp) {
  if (cap < sizeof(ConnRspWire)) return Error(-EMSGSIZE);
  ConnRspWire w{};
  w.magic.set(kMagic);
  w.version.set(rsp.version);
  w.queue_depth.set(rsp.queue_depth);
  w.max_io_size.set(rsp.max_io_size);
  w.max_hdr_size.set(rsp.max_hdr_size);
  w.flags.set(rsp.flags);
  detail::store_wire(out, w);
  KX_TRY(decode_conn_rsp(out, sizeof(w)));
  return sizeof(w);
}

struct ConnReject {
  int peer_errno;  // negative; -EBUSY means "the old session still exists, retry later"
};

// Reject private data. EBADMSG: len < 56. EPROTO: magic, or errno not in
// [-4095, -1]. EPROTONOSUPPORT: major != 2. Upstream fills only magic,
// version and errno, so the remaining fields are not interpreted.
inline Result<ConnReject> decode_conn_reject(const u8* buf, usize len) {
  if (len < sizeof(ConnRspWire)) return Error(-EBADMSG);
  const auto w = detail::load_wire<ConnRspWire>(buf);
  if (w.magic.get() != kMagic) return Error(-EPROTO);
  if (detail::version_major(w.version.get()) != kProtoVerMajor) return Error(-EPROTONOSUPPORT);
  const int err = static_cast<kx::i16>(w.errno_code.get());
  if (err >= 0 || err < -kx::kMaxErrno) return Error(-EPROTO);
  return ConnReject{err};
}

// EINVAL: err not a negative errno.
inline Result<usize> encode_conn_reject(u8* out, usize cap, int err) {
  if (cap < sizeof(ConnRspWire)) return Error(-EMSGSIZE);
  if (err >= 0 || err < -kx::kMaxErrno) return Error(-EINVAL);
  ConnRspWire w{};
  w.magic.set(kMagic);
  w.version.set(kProtoVersion);
  w.errno_code.set(static_cast<u16>(err));
  detail::store_wire(out, w);
  return sizeof(w);
}

// ---------------------------------------------------------------------------
// INFO_REQ (client -> server SEND on con[0]).

// A session name inside a decoded buffer: chars[len] == '\0' lies inside the
// wire field, so chars is a valid C string as long as the buffer lives.
struct PathName {
  const char* chars;
  usize len;
};

// EINVAL: no NUL inside the field, empty name, or a '/' or '.' (the name
// becomes a sysfs directory; upstream refuses both characters on both sides).
inline Result<PathName> validate_path_name(const char* field, usize field_size) {
  usize len = 0;
  while (len < field_size && field[len] != '\0') {
    if (field[len] == '/' || field[len] == '.') return Error(-EINVAL);
    ++len;
  }
  if (len == field_size || len == 0) return Error(-EINVAL);
  return PathName{field, len};
}

struct InfoReq {
  PathName path_name;  // points into the decoded buffer
};

// EBADMSG: len < 272 or type != INFO_REQ. EINVAL: path name (see above).
// Bytes after the NUL and the reserved tail carry no meaning in 2.0 and are
// ignored.
inline Result<InfoReq> decode_info_req(const u8* buf, usize len) {
  if (len < sizeof(InfoReqWire)) return Error(-EBADMSG);
  if (detail::peek_type(buf) != static_cast<u16>(MsgType::kInfoReq)) return Error(-EBADMSG);
  const char* field = reinterpret_cast<const char*>(buf + __builtin_offsetof(InfoReqWire, pathname));
  return InfoReq{KX_TRY(validate_path_name(field, kPathNameFieldSize))};
}

// name need not be NUL-terminated; name_len excludes any terminator.
inline Result<usize> encode_info_req(u8* out, usize cap, const char* name, usize name_len) {
  if (cap < sizeof(InfoReqWire)) return Error(-EMSGSIZE);
  if (name_len >= kPathNameFieldSize) return Error(-EINVAL);
  InfoReqWire w{};
  w.type.set(static_cast<u16>(MsgType::kInfoReq));
  __builtin_memcpy(w.pathname, name, name_len);
  detail::store_wire(out, w);
  const InfoReq decoded = KX_TRY(decode_info_req(out, sizeof(w)));
  if (decoded.path_name.len != name_len) return Error(-EINVAL);  // name had an embedded NUL
  return sizeof(w);
}

// ---------------------------------------------------------------------------
// INFO_RSP (server -> client SEND on con[0]): the registered regions that
// hold the session's chunks, in buf_id order.

struct SgDesc {
  u64 addr;
  u32 key;
  u32 len;
};

struct RemoteChunk {
  u64 addr;
  u32 rkey;
};

// Checks an INFO_RSP against the geometry from the accept, as the client must
// before it writes to any chunk; returns sg_cnt.
// EBADMSG: shorter than its header or its sg_cnt descriptors, or type !=
// INFO_RSP. EPROTO: sg_cnt == 0, queue_depth % sg_cnt != 0, a descriptor len
// of 0 or not a multiple of chunk_size, total length != queue_depth *
// chunk_size. ERANGE: a descriptor's address range wraps.
// The 28-bit rule upstream re-checks here (index_bits(sg_cnt) +
// index_bits(chunk_size) <= 28) follows from the geometry: sg_cnt divides
// queue_depth.
inline Result<u16> validate_info_rsp(const u8* buf, usize len, const ChunkGeometry& geometry) {
  if (len < sizeof(InfoRspHdrWire)) return Error(-EBADMSG);
  const auto hdr = detail::load_wire<InfoRspHdrWire>(buf);
  if (hdr.type.get() != static_cast<u16>(MsgType::kInfoRsp)) return Error(-EBADMSG);
  const u16 sg_cnt = hdr.sg_cnt.get();
  if (sg_cnt == 0 || geometry.queue_depth() % sg_cnt != 0) return Error(-EPROTO);
  if ((len - sizeof(InfoRspHdrWire)) / sizeof(SgDescWire) < sg_cnt) return Error(-EBADMSG);
  u64 total = 0;
  for (u16 i = 0; i < sg_cnt; ++i) {
    const auto d = detail::load_wire<SgDescWire>(buf + sizeof(InfoRspHdrWire) + i * sizeof(SgDescWire));
    const u32 dlen = d.len.get();
    if (dlen == 0 || dlen % geometry.chunk_size() != 0) return Error(-EPROTO);
    if (detail::range_wraps(d.addr.get(), dlen)) return Error(-ERANGE);
    total += dlen;
  }
  if (total != geometry.total_size()) return Error(-EPROTO);
  return sg_cnt;
}

// Validates, then calls fn(u32 buf_id, RemoteChunk) once per chunk in buf_id
// order. fn is not called at all if the message is refused.
template <typename Fn>
inline Result<void> for_each_remote_chunk(const u8* buf, usize len, const ChunkGeometry& geometry,
                                          Fn&& fn) {
  const u16 sg_cnt = KX_TRY(validate_info_rsp(buf, len, geometry));
  u32 buf_id = 0;
  for (u16 i = 0; i < sg_cnt; ++i) {
    const auto d = detail::load_wire<SgDescWire>(buf + sizeof(InfoRspHdrWire) + i * sizeof(SgDescWire));
    const u32 chunks = d.len.get() / geometry.chunk_size();
    for (u32 c = 0; c < chunks; ++c, ++buf_id)
      fn(buf_id, RemoteChunk{d.addr.get() + u64{c} * geometry.chunk_size(), d.key.get()});
  }
  return kx::ok();
}

// Array form: chunks[0, queue_depth) receives the expansion; chunks is left
// untouched on error. EINVAL: chunks_len < queue_depth.
inline Result<void> decode_info_rsp(const u8* buf, usize len, const ChunkGeometry& geometry,
                                    RemoteChunk* chunks, usize chunks_len) {
  if (chunks_len < geometry.queue_depth()) return Error(-EINVAL);
  return for_each_remote_chunk(buf, len, geometry,
                               [chunks](u32 buf_id, RemoteChunk c) { chunks[buf_id] = c; });
}

inline constexpr usize info_rsp_size(u16 sg_cnt) {
  return sizeof(InfoRspHdrWire) + usize{sg_cnt} * sizeof(SgDescWire);
}

inline Result<usize> encode_info_rsp(u8* out, usize cap, const ChunkGeometry& geometry,
                                     const SgDesc* descs, u16 sg_cnt) {
  const usize size = info_rsp_size(sg_cnt);
  if (cap < size) return Error(-EMSGSIZE);
  InfoRspHdrWire hdr{};
  hdr.type.set(static_cast<u16>(MsgType::kInfoRsp));
  hdr.sg_cnt.set(sg_cnt);
  detail::store_wire(out, hdr);
  for (u16 i = 0; i < sg_cnt; ++i) {
    SgDescWire d{};
    d.addr.set(descs[i].addr);
    d.key.set(descs[i].key);
    d.len.set(descs[i].len);
    detail::store_wire(out + sizeof(InfoRspHdrWire) + i * sizeof(SgDescWire), d);
  }
  KX_TRY(validate_info_rsp(out, size, geometry));
  return size;
}

// ---------------------------------------------------------------------------
// I/O requests: what the server finds in chunk buf_id after an IO_REQ
// immediate pointing at `offset`.
//
//   WRITE: data[0, data_len) | usr[data_len, offset) | {type=2, usr_len}
//   READ:  (room for the answer)[0, data_len) | usr[data_len, offset)
//          | {type=3, usr_len, flags, sg_cnt} | desc[sg_cnt]
//
// with data_len = offset - usr_len.

struct IoRequest {
  MsgType type;     // kWrite or kRead
  u32 data_len;     // WRITE: payload bytes; READ: bytes reserved for the answer
  u32 usr_offset;   // == data_len
  u16 usr_len;      // user (RNBD) message length
  bool need_inval;  // READ: the answer must SEND_WITH_INV desc.key
  bool has_desc;    // READ: sg_cnt == 1
  SgDesc desc;      // READ with has_desc: where the answer goes (desc.len bytes)
};

// chunk/chunk_len: the whole chunk; offset: from the IO_REQ immediate.
// EMSGSIZE: trailer or descriptor past the chunk end, usr_len > offset, a
// descriptor longer than the data area (it would return stale chunk bytes of
// earlier requests), or a READ without descriptor that reserves data.
// EPROTO: READ flags outside kMsgFlagNeedInval, sg_cnt not in {0, 1},
// NEED_INVAL without a descriptor, descriptor len == 0. ERANGE: descriptor
// address range wraps. EBADMSG: trailer type neither WRITE nor READ.
// A refused request still owns its slot: the server answers buf_id with the
// errno (IO_RSP) or closes the path; it never just drops it.
inline Result<IoRequest> decode_io_request(const u8* chunk, usize chunk_len, u32 offset) {
  if (offset > chunk_len || chunk_len - offset < sizeof(RdmaWriteTrailerWire))
    return Error(-EMSGSIZE);
  const u8* trailer = chunk + offset;
  IoRequest req{};
  switch (detail::peek_type(trailer)) {
    case static_cast<u16>(MsgType::kWrite): {
      const auto w = detail::load_wire<RdmaWriteTrailerWire>(trailer);
      req.type = MsgType::kWrite;
      req.usr_len = w.usr_len.get();
      if (req.usr_len > offset) return Error(-EMSGSIZE);
      break;
    }
    case static_cast<u16>(MsgType::kRead): {
      if (chunk_len - offset < sizeof(RdmaReadTrailerWire)) return Error(-EMSGSIZE);
      const auto r = detail::load_wire<RdmaReadTrailerWire>(trailer);
      req.type = MsgType::kRead;
      req.usr_len = r.usr_len.get();
      const u16 flags = r.flags.get();
      const u16 sg_cnt = r.sg_cnt.get();
      if ((flags & ~kMsgFlagNeedInval) != 0 || sg_cnt > 1) return Error(-EPROTO);
      req.need_inval = (flags & kMsgFlagNeedInval) != 0;
      req.has_desc = sg_cnt == 1;
      if (req.need_inval && !req.has_desc) return Error(-EPROTO);
      if (req.usr_len > offset) return Error(-EMSGSIZE);
      if (req.has_desc) {
        if (chunk_len - offset - sizeof(RdmaReadTrailerWire) < sizeof(SgDescWire))
          return Error(-EMSGSIZE);
        const auto d = detail::load_wire<SgDescWire>(trailer + sizeof(RdmaReadTrailerWire));
        req.desc = SgDesc{d.addr.get(), d.key.get(), d.len.get()};
        if (req.desc.len == 0) return Error(-EPROTO);
        if (req.desc.len > offset - req.usr_len) return Error(-EMSGSIZE);
        if (detail::range_wraps(req.desc.addr, req.desc.len)) return Error(-ERANGE);
      } else if (offset != req.usr_len) {
        return Error(-EMSGSIZE);
      }
      break;
    }
    default:
      return Error(-EBADMSG);
  }
  req.data_len = offset - req.usr_len;
  req.usr_offset = req.data_len;
  return req;
}

// Writes the 4-byte WRITE trailer (placed right after the usr message).
inline Result<usize> encode_write_trailer(u8* out, usize cap, u16 usr_len) {
  if (cap < sizeof(RdmaWriteTrailerWire)) return Error(-EMSGSIZE);
  RdmaWriteTrailerWire w{};
  w.type.set(static_cast<u16>(MsgType::kWrite));
  w.usr_len.set(usr_len);
  detail::store_wire(out, w);
  return sizeof(w);
}

// Writes the READ trailer and, if desc is non-null, its one descriptor.
// EINVAL: need_inval without a descriptor, or a descriptor of length 0.
inline Result<usize> encode_read_trailer(u8* out, usize cap, u16 usr_len, const SgDesc* desc,
                                         bool need_inval) {
  const usize size = sizeof(RdmaReadTrailerWire) + (desc ? sizeof(SgDescWire) : 0);
  if (cap < size) return Error(-EMSGSIZE);
  if ((need_inval && !desc) || (desc && desc->len == 0)) return Error(-EINVAL);
  RdmaReadTrailerWire r{};
  r.type.set(static_cast<u16>(MsgType::kRead));
  r.usr_len.set(usr_len);
  r.flags.set(need_inval ? kMsgFlagNeedInval : 0);
  r.sg_cnt.set(desc ? 1 : 0);
  detail::store_wire(out, r);
  if (desc) {
    SgDescWire d{};
    d.addr.set(desc->addr);
    d.key.set(desc->key);
    d.len.set(desc->len);
    detail::store_wire(out + sizeof(r), d);
  }
  return size;
}

// ---------------------------------------------------------------------------
// RKEY_RSP (server -> client SEND_WITH_IMM when always_invalidate is on). The
// immediate is the IO_RSP of the same request; the caller checks that its
// msg_id equals buf_id.

struct RkeyRsp {
  u16 buf_id;
  u32 rkey;
};

// EBADMSG: len < 8 or type != RKEY_RSP. ERANGE: buf_id >= queue_depth.
inline Result<RkeyRsp> decode_rkey_rsp(const u8* buf, usize len, u32 queue_depth) {
  if (len < sizeof(RkeyRspWire)) return Error(-EBADMSG);
  const auto w = detail::load_wire<RkeyRspWire>(buf);
  if (w.type.get() != static_cast<u16>(MsgType::kRkeyRsp)) return Error(-EBADMSG);
  if (w.buf_id.get() >= queue_depth) return Error(-ERANGE);
  return RkeyRsp{w.buf_id.get(), w.rkey.get()};
}

// An RKEY_RSP is valid only as the answer for its own chunk: the immediate
// it arrived with must be an IO_RSP (or IO_RSP_W_INV) whose msg_id is the
// RKEY_RSP's buf_id. EPROTO otherwise (a heartbeat, or another chunk's key).
inline Result<void> check_rkey_rsp(const RkeyRsp& rsp, const ClientImm& imm) {
  if (imm.type != ImmType::kIoRsp && imm.type != ImmType::kIoRspWithInval) return Error(-EPROTO);
  if (imm.msg_id != rsp.buf_id) return Error(-EPROTO);
  return kx::ok();
}

inline Result<usize> encode_rkey_rsp(u8* out, usize cap, const RkeyRsp& rsp) {
  if (cap < sizeof(RkeyRspWire)) return Error(-EMSGSIZE);
  RkeyRspWire w{};
  w.type.set(static_cast<u16>(MsgType::kRkeyRsp));
  w.buf_id.set(rsp.buf_id);
  w.rkey.set(rsp.rkey);
  detail::store_wire(out, w);
  return sizeof(w);
}

}  // namespace ibtrs::wire
