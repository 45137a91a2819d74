/* SPDX-License-Identifier: GPL-2.0 */
// RNBD protocol 2.0 wire format (byte-compatible with Linux 5.8+ rnbd-client
// and rnbd-server), plus a negotiated extension that 2.0 peers ignore.
//
// RNBD messages travel as the RTRS "user message" of a request:
//   SESS_INFO, OPEN  client -> server as an RTRS READ whose data area
//                    receives SESS_INFO_RSP / OPEN_RSP;
//   CLOSE            an RTRS WRITE without data;
//   IO               an RTRS READ or WRITE carrying the block data.
// Every result travels back as the errno of the RTRS response immediate.
// The server-side decoders therefore take a Carrier (the RTRS direction and
// data length of the request) and check that the message fits it.
//
// Portable core: no allocation, no global state, no standard header. The
// same contracts as ibtrs/core/wire.h apply: little-endian integers in
// natural-aligned C structs whose layout is pinned by static_asserts;
// decoders never read outside [buf, buf + len) and tolerate unaligned input;
// encoders refuse what their decoder would refuse and zero all reserved bytes.
//
// Reserved and padding bytes are NOT checked on decode. Upstream clients
// build SESS_INFO, OPEN, CLOSE and IO on the stack without clearing them
// (rnbd-clt.c: send_msg_sess_info, send_msg_open, send_msg_close,
// rnbd_client_xfer_request), so they hold stack garbage unless the kernel is
// built with CONFIG_INIT_STACK_ALL_ZERO (Debian's 6.1 is). The upstream server
// clears its responses (memset in process_msg_sess_info and
// rnbd_srv_fill_msg_open_rsp) and reads only the fields it knows, i.e. it
// ignores reserved bytes.
//
// Errno vocabulary (negative in Error):
//  EBADMSG          shorter than the message, unknown or unexpected type.
//  EPROTO           a field value the protocol does not allow (flags outside
//                   the known set, version 0, zero logical block size, a
//                   message on the wrong RTRS direction, an ungranted feature).
//  EOPNOTSUPP       unknown op code, or an extension op not negotiated.
//  EMSGSIZE         the RTRS data length contradicts the message (bi_size vs
//                   transferred bytes, a response buffer too small); for
//                   encoders: output buffer too small.
//  ERANGE           sector range or capacity overflows 64-bit byte addresses.
//  EINVAL           malformed strings (no NUL inside the field, empty),
//                   access_mode out of range, bi_size not in 512-byte units or
//                   zero where data is required, invalid I/O priority class,
//                   invalid encoder arguments.
#pragma once

#include <kx/endian.h>
#include <kx/errno.h>
#include <kx/result.h>
#include <kx/types.h>

namespace ibnbd::proto {

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

inline constexpr u8 kProtoVerMajor = 2;
inline constexpr u8 kProtoVerMinor = 0;
// Default listen port of the server (RTRS_PORT).
inline constexpr u16 kDefaultPort = 1234;
// NAME_MAX: size of open.dev_name, terminating NUL included.
inline constexpr usize kDevNameFieldSize = 255;
inline constexpr u32 kSectorShift = 9;
inline constexpr u32 kSectorSize = 1u << kSectorShift;

enum class MsgType : u16 {
  kSessInfo = 0,
  kSessInfoRsp = 1,
  kOpen = 2,
  kOpenRsp = 3,
  kIo = 4,
  kClose = 5,
};
inline constexpr u16 kLastMsgType = static_cast<u16>(MsgType::kClose);

// RO may be opened many times; RW once; MIGRATION allows a second writer.
enum class AccessMode : u8 {
  kRo = 0,
  kRw = 1,
  kMigration = 2,
};

// open_rsp.cache_policy bits.
inline constexpr u8 kCacheFua = 1u << 0;
inline constexpr u8 kCacheWriteback = 1u << 1;
inline constexpr u8 kKnownCachePolicy = kCacheFua | kCacheWriteback;

// io.rw: op code in bits 0..7, flags above.
inline constexpr u32 kOpBits = 8;
inline constexpr u32 kOpMask = (1u << kOpBits) - 1;

enum class Op : u8 {
  kRead = 0,
  kWrite = 1,
  kFlush = 2,        // the server issues an empty write with PREFLUSH
  kDiscard = 3,      // no data; bi_size is the range
  kSecureErase = 4,  // no data; bi_size is the range
  kWriteSame = 5,    // one block of data repeated over bi_size (6.1 servers refuse it)
  // Project extension, valid only with kFeatureWriteZeroes negotiated. Placed
  // at the top of the op space, away from upstream's sequential codes.
  kWriteZeroes = 0x80,  // no data; bi_size is the range
};

inline constexpr u32 kFlagSync = 1u << 8;
inline constexpr u32 kFlagFua = 1u << 9;
// RNBD 2.1 (Linux, Dec 2025): the write is preceded by a cache flush. 2.0
// servers ignore unknown flag bits, so a 2.1 client sends it unannounced; we
// always honour it because an extra flush is always safe.
inline constexpr u32 kFlagPreflush = 1u << 10;
// Project extension, valid only on kWriteZeroes: do not deallocate.
inline constexpr u32 kFlagNoUnmap = 1u << 16;

// ---------------------------------------------------------------------------
// Feature negotiation (project extension).
//
// SESS_INFO and SESS_INFO_RSP have 31 reserved bytes. We use 12 of them:
//   offset  8: le32 ext_magic          == kSessInfoExtMagic
//   offset 12: le32 features
//   offset 16: le32 features_check     == ~features
// The client offers features in SESS_INFO; the server answers with the subset
// it grants (offered & supported). The extension counts as present only if
// both the magic and the check match, so neither the all-zero reserved bytes
// of an upstream server's response nor the possibly uninitialised ones of an
// upstream client's request (see the file comment) can enable anything: an
// upstream server answers "no features" and an upstream client never reads
// the answer's reserved bytes. A feature is in effect only once granted.

inline constexpr u32 kSessInfoExtMagic = 0x4B584631;  // "1FXK" in wire byte order

// The client may send Op::kWriteZeroes (with kFlagNoUnmap); OPEN_RSP then
// carries max_write_zeroes_sectors.
inline constexpr u32 kFeatureWriteZeroes = 1u << 0;
// The client sends 2.1 flush semantics: kFlagPreflush for a preflush and
// kFlagFua only for FUA. Without it the server must assume a 2.0 client,
// which sets FUA for any op_is_flush() request (PREFLUSH or FUA), and treat
// a FUA write as PREFLUSH|FUA (see io_needs_preflush).
inline constexpr u32 kFeatureStrictFlush = 1u << 1;
inline constexpr u32 kKnownFeatures = kFeatureWriteZeroes | kFeatureStrictFlush;

constexpr u8 negotiate_version(u8 peer_version) { return kx::min(peer_version, kProtoVerMajor); }
constexpr u32 negotiate_features(u32 offered, u32 supported) {
  return offered & supported & kKnownFeatures;
}

// What both ends agreed on in SESS_INFO / SESS_INFO_RSP.
struct Session {
  u8 version;     // negotiated RNBD major version
  u32 features;   // granted kFeature* bits
};

// ---------------------------------------------------------------------------
// Wire structs.

struct MsgHdrWire {
  Le16 type;
  Le16 padding;
};
static_assert(sizeof(MsgHdrWire) == 4);
static_assert(__builtin_offsetof(MsgHdrWire, type) == 0);
static_assert(__builtin_offsetof(MsgHdrWire, padding) == 2);

// SESS_INFO and SESS_INFO_RSP share this layout.
struct SessInfoWire {
  MsgHdrWire hdr;
  u8 ver;
  u8 reserved0[3];
  Le32 ext_magic;
  Le32 ext_features;
  Le32 ext_features_check;
  u8 reserved1[16];
};
using SessInfoRspWire = SessInfoWire;
static_assert(sizeof(SessInfoWire) == 36);
static_assert(__builtin_offsetof(SessInfoWire, hdr) == 0);
static_assert(__builtin_offsetof(SessInfoWire, ver) == 4);
static_assert(__builtin_offsetof(SessInfoWire, reserved0) == 5);
static_assert(__builtin_offsetof(SessInfoWire, ext_magic) == 8);
static_assert(__builtin_offsetof(SessInfoWire, ext_features) == 12);
static_assert(__builtin_offsetof(SessInfoWire, ext_features_check) == 16);
static_assert(__builtin_offsetof(SessInfoWire, reserved1) == 20);

struct OpenWire {
  MsgHdrWire hdr;
  u8 access_mode;
  u8 resv1;
  char dev_name[kDevNameFieldSize];  // relative to the server's search path, NUL-terminated
  u8 reserved[3];
};
static_assert(sizeof(OpenWire) == 264);
static_assert(__builtin_offsetof(OpenWire, hdr) == 0);
static_assert(__builtin_offsetof(OpenWire, access_mode) == 4);
static_assert(__builtin_offsetof(OpenWire, resv1) == 5);
static_assert(__builtin_offsetof(OpenWire, dev_name) == 6);
static_assert(__builtin_offsetof(OpenWire, reserved) == 261);

struct OpenRspWire {
  MsgHdrWire hdr;
  Le32 device_id;
  Le64 nsectors;  // capacity in 512-byte sectors
  Le32 max_hw_sectors;
  Le32 max_write_same_sectors;
  Le32 max_discard_sectors;
  Le32 discard_granularity;  // bytes
  Le32 discard_alignment;    // bytes
  Le16 physical_block_size;
  Le16 logical_block_size;
  Le16 max_segments;
  Le16 secure_discard;  // max secure-erase sectors; 0 = unsupported
  u8 obsolete_rotational;
  u8 cache_policy;
  u8 reserved0[2];
  Le32 ext_max_write_zeroes_sectors;  // extension: meaningful only with kFeatureWriteZeroes
  u8 reserved1[4];
};
static_assert(sizeof(OpenRspWire) == 56);
static_assert(__builtin_offsetof(OpenRspWire, hdr) == 0);
static_assert(__builtin_offsetof(OpenRspWire, device_id) == 4);
static_assert(__builtin_offsetof(OpenRspWire, nsectors) == 8);
static_assert(__builtin_offsetof(OpenRspWire, max_hw_sectors) == 16);
static_assert(__builtin_offsetof(OpenRspWire, max_write_same_sectors) == 20);
static_assert(__builtin_offsetof(OpenRspWire, max_discard_sectors) == 24);
static_assert(__builtin_offsetof(OpenRspWire, discard_granularity) == 28);
static_assert(__builtin_offsetof(OpenRspWire, discard_alignment) == 32);
static_assert(__builtin_offsetof(OpenRspWire, physical_block_size) == 36);
static_assert(__builtin_offsetof(OpenRspWire, logical_block_size) == 38);
static_assert(__builtin_offsetof(OpenRspWire, max_segments) == 40);
static_assert(__builtin_offsetof(OpenRspWire, secure_discard) == 42);
static_assert(__builtin_offsetof(OpenRspWire, obsolete_rotational) == 44);
static_assert(__builtin_offsetof(OpenRspWire, cache_policy) == 45);
static_assert(__builtin_offsetof(OpenRspWire, reserved0) == 46);
static_assert(__builtin_offsetof(OpenRspWire, ext_max_write_zeroes_sectors) == 48);
static_assert(__builtin_offsetof(OpenRspWire, reserved1) == 52);

struct IoWire {
  MsgHdrWire hdr;
  Le32 device_id;
  Le64 sector;
  Le32 rw;  // Op | flags
  Le32 bi_size;
  Le16 prio;  // ioprio (class << 13 | data); only from version 2
  u8 tail_padding[6];
};
static_assert(sizeof(IoWire) == 32);
static_assert(__builtin_offsetof(IoWire, hdr) == 0);
static_assert(__builtin_offsetof(IoWire, device_id) == 4);
static_assert(__builtin_offsetof(IoWire, sector) == 8);
static_assert(__builtin_offsetof(IoWire, rw) == 16);
static_assert(__builtin_offsetof(IoWire, bi_size) == 20);
static_assert(__builtin_offsetof(IoWire, prio) == 24);
static_assert(__builtin_offsetof(IoWire, tail_padding) == 26);
// Version-1 (IBNBD) clients send the message without prio.
inline constexpr usize kIoWireSizeV1 = 24;

struct CloseWire {
  MsgHdrWire hdr;
  Le32 device_id;
};
static_assert(sizeof(CloseWire) == 8);
static_assert(__builtin_offsetof(CloseWire, hdr) == 0);
static_assert(__builtin_offsetof(CloseWire, device_id) == 4);

namespace detail {

// Wire structs are read from and written to possibly unaligned buffers.
using kx::load_wire;
using kx::store_wire;

inline MsgHdrWire make_hdr(MsgType type) {
  MsgHdrWire h{};
  h.type.set(static_cast<u16>(type));
  return h;
}

// Feature bits carried by a SESS_INFO(_RSP), or 0 if the extension is absent.
inline u32 ext_features(const SessInfoWire& w) {
  if (w.ext_magic.get() != kSessInfoExtMagic) return 0;
  const u32 features = w.ext_features.get();
  if (w.ext_features_check.get() != ~features) return 0;
  return features;
}

inline void set_ext_features(SessInfoWire& w, u32 features) {
  if (features == 0) return;  // byte-identical to an upstream message
  w.ext_magic.set(kSessInfoExtMagic);
  w.ext_features.set(features);
  w.ext_features_check.set(~features);
}

}  // namespace detail

// Type of any RNBD message. EBADMSG: shorter than the header, unknown type.
inline Result<MsgType> peek_msg_type(const u8* buf, usize len) {
  if (len < sizeof(MsgHdrWire)) return Error(-EBADMSG);
  const u16 type = detail::load_wire<MsgHdrWire>(buf).type.get();
  if (type > kLastMsgType) return Error(-EBADMSG);
  return static_cast<MsgType>(type);
}

// The RTRS request that carried a message to the server.
enum class TransferDir : u8 { kRead, kWrite };
struct Carrier {
  TransferDir dir;
  u32 data_len;  // RTRS data bytes: WRITE payload, or READ answer buffer
};

namespace detail {

// The message must ride an RTRS READ with room for a response of rsp_size.
inline Result<void> check_rpc_carrier(Carrier carrier, usize rsp_size) {
  if (carrier.dir != TransferDir::kRead) return Error(-EPROTO);
  if (carrier.data_len < rsp_size) return Error(-EMSGSIZE);
  return kx::ok();
}

inline Result<void> check_header(const u8* buf, usize len, usize size, MsgType type) {
  if (len < size) return Error(-EBADMSG);
  if (detail::load_wire<MsgHdrWire>(buf).type.get() != static_cast<u16>(type)) return Error(-EBADMSG);
  return kx::ok();
}

}  // namespace detail

// ---------------------------------------------------------------------------
// SESS_INFO / SESS_INFO_RSP.

struct SessInfo {
  u8 version;    // SESS_INFO: the client's; SESS_INFO_RSP: the negotiated one
  u32 features;  // SESS_INFO: offered (unknown bits included); RSP: granted
};

// Server side. EBADMSG: len < 36 or wrong type. EPROTO: version 0, not an
// RTRS READ. EMSGSIZE: answer buffer < 36 bytes.
inline Result<SessInfo> decode_sess_info(const u8* buf, usize len, Carrier carrier) {
  KX_TRY(detail::check_header(buf, len, sizeof(SessInfoWire), MsgType::kSessInfo));
  KX_TRY(detail::check_rpc_carrier(carrier, sizeof(SessInfoRspWire)));
  const auto w = detail::load_wire<SessInfoWire>(buf);
  if (w.ver == 0) return Error(-EPROTO);
  return SessInfo{w.ver, detail::ext_features(w)};
}

// Client side: offers version kProtoVerMajor and `features`.
// EINVAL: unknown feature bits.
inline Result<usize> encode_sess_info(u8* out, usize cap, u32 features) {
  if (cap < sizeof(SessInfoWire)) return Error(-EMSGSIZE);
  if ((features & ~kKnownFeatures) != 0) return Error(-EINVAL);
  SessInfoWire w{};
  w.hdr = detail::make_hdr(MsgType::kSessInfo);
  w.ver = kProtoVerMajor;
  detail::set_ext_features(w, features);
  detail::store_wire(out, w);
  return sizeof(w);
}

// Client side, after offering `offered_features` with version
// kProtoVerMajor. EBADMSG: len < 36 or wrong type. EPROTO: version 0 or
// above ours, or a granted feature that was not offered.
inline Result<SessInfo> decode_sess_info_rsp(const u8* buf, usize len, u32 offered_features) {
  KX_TRY(detail::check_header(buf, len, sizeof(SessInfoRspWire), MsgType::kSessInfoRsp));
  const auto w = detail::load_wire<SessInfoRspWire>(buf);
  if (w.ver == 0 || w.ver > kProtoVerMajor) return Error(-EPROTO);
  const u32 granted = detail::ext_features(w);
  if ((granted & ~offered_features) != 0) return Error(-EPROTO);
  return SessInfo{w.ver, granted};
}

// Server side: `version` = negotiate_version(client's), `granted` =
// negotiate_features(offered, supported). EINVAL: version 0 or above ours,
// unknown feature bits.
inline Result<usize> encode_sess_info_rsp(u8* out, usize cap, u8 version, u32 granted) {
  if (cap < sizeof(SessInfoRspWire)) return Error(-EMSGSIZE);
  if (version == 0 || version > kProtoVerMajor) return Error(-EINVAL);
  if ((granted & ~kKnownFeatures) != 0) return Error(-EINVAL);
  SessInfoRspWire w{};
  w.hdr = detail::make_hdr(MsgType::kSessInfoRsp);
  w.ver = version;
  detail::set_ext_features(w, granted);
  detail::store_wire(out, w);
  return sizeof(w);
}

// ---------------------------------------------------------------------------
// OPEN / OPEN_RSP.

// A device path inside a decoded buffer: chars[len] == '\0' lies inside the
// wire field, so chars is a valid C string as long as the buffer lives. Path
// policy (no "..", search-path prefix, PATH_MAX) belongs to the server.
struct DeviceName {
  const char* chars;
  usize len;
};

struct OpenReq {
  AccessMode access_mode;
  DeviceName dev_name;  // points into the decoded buffer
};

// Server side. EBADMSG: len < 264 or wrong type. EINVAL: access_mode > 2,
// dev_name without NUL inside its 255 bytes (upstream's strlen ran off the
// field and crashed), or empty. EPROTO: not an RTRS READ. EMSGSIZE: answer
// buffer < 56 bytes. Bytes after the NUL, resv1 and reserved are ignored.
inline Result<OpenReq> decode_open(const u8* buf, usize len, Carrier carrier) {
  KX_TRY(detail::check_header(buf, len, sizeof(OpenWire), MsgType::kOpen));
  KX_TRY(detail::check_rpc_carrier(carrier, sizeof(OpenRspWire)));
  const u8 mode = buf[__builtin_offsetof(OpenWire, access_mode)];
  if (mode > static_cast<u8>(AccessMode::kMigration)) return Error(-EINVAL);
  const char* name = reinterpret_cast<const char*>(buf + __builtin_offsetof(OpenWire, dev_name));
  usize name_len = 0;
  while (name_len < kDevNameFieldSize && name[name_len] != '\0') ++name_len;
  if (name_len == kDevNameFieldSize || name_len == 0) return Error(-EINVAL);
  return OpenReq{static_cast<AccessMode>(mode), DeviceName{name, name_len}};
}

// name need not be NUL-terminated; name_len excludes any terminator.
// EINVAL: empty, >= 255 bytes, embedded NUL, bad access mode.
inline Result<usize> encode_open(u8* out, usize cap, AccessMode mode, const char* name,
                                 usize name_len) {
  if (cap < sizeof(OpenWire)) return Error(-EMSGSIZE);
  if (static_cast<u8>(mode) > static_cast<u8>(AccessMode::kMigration)) return Error(-EINVAL);
  if (name_len == 0 || name_len >= kDevNameFieldSize) return Error(-EINVAL);
  for (usize i = 0; i < name_len; ++i)
    if (name[i] == '\0') return Error(-EINVAL);
  OpenWire w{};
  w.hdr = detail::make_hdr(MsgType::kOpen);
  w.access_mode = static_cast<u8>(mode);
  __builtin_memcpy(w.dev_name, name, name_len);
  detail::store_wire(out, w);
  return sizeof(w);
}

struct OpenRsp {
  u32 device_id;
  u64 nsectors;
  u32 max_hw_sectors;          // informational: the client uses RTRS limits
  u32 max_write_same_sectors;  // informational: upstream sends 0
  u32 max_discard_sectors;
  u32 discard_granularity;
  u32 discard_alignment;
  u16 physical_block_size;
  u16 logical_block_size;
  u16 max_segments;              // informational: the client uses RTRS limits
  u16 max_secure_erase_sectors;  // "secure_discard" upstream
  u8 cache_policy;               // kCacheFua | kCacheWriteback
  u32 max_write_zeroes_sectors;  // 0 unless kFeatureWriteZeroes is granted
};

// EPROTO: logical_block_size not a power of two >= 512 (0 included),
// physical_block_size not a multiple of it, unknown cache_policy bits.
// ERANGE: capacity overflows 64-bit byte addresses.
inline Result<void> validate_open_rsp(const OpenRsp& rsp) {
  const u16 lbs = rsp.logical_block_size;
  if (lbs < kSectorSize || !kx::is_power_of_2(lbs)) return Error(-EPROTO);
  const u16 pbs = rsp.physical_block_size;
  if (pbs < lbs || pbs % lbs != 0) return Error(-EPROTO);
  if ((rsp.cache_policy & ~kKnownCachePolicy) != 0) return Error(-EPROTO);
  if (rsp.nsectors > (~u64{0} >> kSectorShift)) return Error(-ERANGE);
  return kx::ok();
}

// Client side, with the granted features. EBADMSG: len < 56 or wrong type;
// otherwise as validate_open_rsp. obsolete_rotational and reserved bytes are
// ignored; the extension field is read only if write-zeroes was granted.
inline Result<OpenRsp> decode_open_rsp(const u8* buf, usize len, u32 features) {
  KX_TRY(detail::check_header(buf, len, sizeof(OpenRspWire), MsgType::kOpenRsp));
  const auto w = detail::load_wire<OpenRspWire>(buf);
  const OpenRsp rsp{
      w.device_id.get(),
      w.nsectors.get(),
      w.max_hw_sectors.get(),
      w.max_write_same_sectors.get(),
      w.max_discard_sectors.get(),
      w.discard_granularity.get(),
      w.discard_alignment.get(),
      w.physical_block_size.get(),
      w.logical_block_size.get(),
      w.max_segments.get(),
      w.secure_discard.get(),
      w.cache_policy,
      (features & kFeatureWriteZeroes) ? w.ext_max_write_zeroes_sectors.get() : 0,
  };
  KX_TRY(validate_open_rsp(rsp));
  return rsp;
}

// Server side. The extension field is written only if write-zeroes was
// granted, so a 2.0 client receives upstream's bytes exactly.
inline Result<usize> encode_open_rsp(u8* out, usize cap, const OpenRsp& rsp, u32 features) {
  if (cap < sizeof(OpenRspWire)) return Error(-EMSGSIZE);
  KX_TRY(validate_open_rsp(rsp));
  OpenRspWire w{};
  w.hdr = detail::make_hdr(MsgType::kOpenRsp);
  w.device_id.set(rsp.device_id);
  w.nsectors.set(rsp.nsectors);
  w.max_hw_sectors.set(rsp.max_hw_sectors);
  w.max_write_same_sectors.set(rsp.max_write_same_sectors);
  w.max_discard_sectors.set(rsp.max_discard_sectors);
  w.discard_granularity.set(rsp.discard_granularity);
  w.discard_alignment.set(rsp.discard_alignment);
  w.physical_block_size.set(rsp.physical_block_size);
  w.logical_block_size.set(rsp.logical_block_size);
  w.max_segments.set(rsp.max_segments);
  w.secure_discard.set(rsp.max_secure_erase_sectors);
  w.cache_policy = rsp.cache_policy;
  if (features & kFeatureWriteZeroes) w.ext_max_write_zeroes_sectors.set(rsp.max_write_zeroes_sectors);
  detail::store_wire(out, w);
  return sizeof(w);
}

// ---------------------------------------------------------------------------
// CLOSE.

struct CloseReq {
  u32 device_id;
};

// Server side. EBADMSG: len < 8 or wrong type. EPROTO: not an RTRS WRITE.
// EMSGSIZE: carries data.
inline Result<CloseReq> decode_close(const u8* buf, usize len, Carrier carrier) {
  KX_TRY(detail::check_header(buf, len, sizeof(CloseWire), MsgType::kClose));
  if (carrier.dir != TransferDir::kWrite) return Error(-EPROTO);
  if (carrier.data_len != 0) return Error(-EMSGSIZE);
  return CloseReq{detail::load_wire<CloseWire>(buf).device_id.get()};
}

inline Result<usize> encode_close(u8* out, usize cap, u32 device_id) {
  if (cap < sizeof(CloseWire)) return Error(-EMSGSIZE);
  CloseWire w{};
  w.hdr = detail::make_hdr(MsgType::kClose);
  w.device_id.set(device_id);
  detail::store_wire(out, w);
  return sizeof(w);
}

// ---------------------------------------------------------------------------
// IO.

struct IoReq {
  u32 device_id;
  u64 sector;
  Op op;
  u32 flags;    // kFlag* bits (the rw field without the op)
  u32 bi_size;  // bytes of the block range
  u16 prio;     // 0 when the session version is < 2
};

inline constexpr u16 kIoprioClassShift = 13;
// IOPRIO_CLASS_NONE, RT, BE, IDLE.
inline constexpr u16 kIoprioMaxClass = 3;

// The RTRS direction Linux gives the op (rq_data_dir): REQ_OP_FLUSH is not a
// write, so upstream clients send FLUSH as an RTRS READ without descriptor.
constexpr TransferDir io_transfer_dir(Op op) {
  return (op == Op::kRead || op == Op::kFlush) ? TransferDir::kRead : TransferDir::kWrite;
}

// Whether the op moves data in the RTRS data area.
constexpr bool op_carries_data(Op op) {
  return op == Op::kRead || op == Op::kWrite || op == Op::kWriteSame;
}

// Whether the op modifies the device (refused on a read-only open).
constexpr bool op_writes(Op op) { return op != Op::kRead; }

// Whether the server must flush the volatile cache before executing io.
// Without kFeatureStrictFlush a 2.0 client may have meant PREFLUSH by FUA.
constexpr bool io_needs_preflush(const IoReq& io, u32 features) {
  if (io.op == Op::kFlush || (io.flags & kFlagPreflush) != 0) return true;
  return (features & kFeatureStrictFlush) == 0 && (io.flags & kFlagFua) != 0 &&
         io.op != Op::kRead;
}

namespace detail {

inline bool known_op(u32 op, u32 features) {
  switch (op) {
    case static_cast<u32>(Op::kRead):
    case static_cast<u32>(Op::kWrite):
    case static_cast<u32>(Op::kFlush):
    case static_cast<u32>(Op::kDiscard):
    case static_cast<u32>(Op::kSecureErase):
    case static_cast<u32>(Op::kWriteSame):
      return true;
    case static_cast<u32>(Op::kWriteZeroes):
      return (features & kFeatureWriteZeroes) != 0;
    default:
      return false;
  }
}

// Field rules shared by decode_io and encode_io (everything but the carrier).
inline Result<void> validate_io_fields(const IoReq& io, const Session& session) {
  if (!known_op(static_cast<u32>(io.op), session.features)) return Error(-EOPNOTSUPP);
  const u32 allowed = kFlagSync | kFlagFua | kFlagPreflush |
                      (io.op == Op::kWriteZeroes ? kFlagNoUnmap : 0);
  if ((io.flags & ~allowed) != 0) return Error(-EPROTO);
  if (io.bi_size % kSectorSize != 0) return Error(-EINVAL);
  const bool ranged = io.op != Op::kFlush;
  if (ranged && io.bi_size == 0) return Error(-EINVAL);
  if (!ranged && io.bi_size != 0) return Error(-EINVAL);
  // A FLUSH has no range: Linux clients send whatever blk_rq_pos() of the
  // flush request holds (rnbd-client 6.1: all ones), and the server ignores it.
  const u64 last_sector_limit = ~u64{0} >> kSectorShift;
  if (ranged && io.sector > last_sector_limit - (io.bi_size >> kSectorShift))
    return Error(-ERANGE);
  if ((io.prio >> kIoprioClassShift) > kIoprioMaxClass) return Error(-EINVAL);
  return kx::ok();
}

}  // namespace detail

// Server side: an IO message that arrived with `carrier` in a session that
// negotiated `session`.
// EBADMSG: shorter than 32 bytes (24 for version < 2) or wrong type.
// EOPNOTSUPP: unknown op code; kWriteZeroes without the feature.
// EPROTO: flag bits outside SYNC|FUA|PREFLUSH (+NOUNMAP on write-zeroes);
//   op on the wrong RTRS direction (READ must be a READ, FLUSH either, every
//   other op a WRITE).
// EINVAL: bi_size not a multiple of 512, zero for a ranged op, non-zero for
//   FLUSH; I/O priority class above IDLE.
// EMSGSIZE: READ/WRITE with data_len != bi_size (a larger bi_size would make
//   the server touch chunk bytes the client never sent); FLUSH, DISCARD,
//   SECURE_ERASE, WRITE_ZEROES with data; WRITE_SAME whose bi_size is not a
//   whole multiple of its (non-empty) data.
// ERANGE: sector + bi_size overflows 64-bit byte addresses (not checked for
//   FLUSH, whose sector is meaningless).
// Device-dependent checks (device_id known, write on a read-only open, range
// within the capacity) are the server's.
inline Result<IoReq> decode_io(const u8* buf, usize len, Carrier carrier, const Session& session) {
  const usize min_size = session.version >= 2 ? sizeof(IoWire) : kIoWireSizeV1;
  KX_TRY(detail::check_header(buf, len, min_size, MsgType::kIo));
  IoWire w{};
  __builtin_memcpy(&w, buf, min_size);
  const u32 rw = w.rw.get();
  const IoReq io{
      w.device_id.get(),
      w.sector.get(),
      static_cast<Op>(rw & kOpMask),
      rw & ~kOpMask,
      w.bi_size.get(),
      session.version >= 2 ? w.prio.get() : u16{0},
  };
  KX_TRY(detail::validate_io_fields(io, session));
  if (io.op == Op::kRead && carrier.dir != TransferDir::kRead) return Error(-EPROTO);
  if (io.op != Op::kRead && io.op != Op::kFlush && carrier.dir != TransferDir::kWrite)
    return Error(-EPROTO);
  switch (io.op) {
    case Op::kRead:
    case Op::kWrite:
      if (carrier.data_len != io.bi_size) return Error(-EMSGSIZE);
      break;
    case Op::kWriteSame:
      if (carrier.data_len == 0 || io.bi_size % carrier.data_len != 0) return Error(-EMSGSIZE);
      break;
    default:
      if (carrier.data_len != 0) return Error(-EMSGSIZE);
      break;
  }
  return io;
}

// Client side; always writes the 32-byte version-2 message. Refuses io with
// the errnos of decode_io's field rules.
inline Result<usize> encode_io(u8* out, usize cap, const IoReq& io, const Session& session) {
  if (cap < sizeof(IoWire)) return Error(-EMSGSIZE);
  KX_TRY(detail::validate_io_fields(io, session));
  IoWire w{};
  w.hdr = detail::make_hdr(MsgType::kIo);
  w.device_id.set(io.device_id);
  w.sector.set(io.sector);
  w.rw.set(static_cast<u32>(io.op) | io.flags);
  w.bi_size.set(io.bi_size);
  w.prio.set(io.prio);
  detail::store_wire(out, w);
  return sizeof(w);
}

}  // namespace ibnbd::proto
