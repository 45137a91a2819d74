// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: RTRS connection private data (ibtrs/core/wire.h):
// decode_conn_req, decode_conn_rsp, decode_conn_reject and their encoders.
//
// Input: the private data bytes as the CM delivers them (any length). The
// same bytes are also read as encoder arguments (encoder direction).
//
// Properties, beyond "no crash, no ASan/UBSan report":
//  * every refusal uses the errno the header documents for that decoder;
//    anything shorter than 56 bytes is EBADMSG;
//  * bytes beyond the 56-byte struct never change a decoder's answer;
//  * an accepted message re-encodes to a message the decoder accepts with the
//    same fields; for minor version 0 the re-encoding is byte-identical
//    (CONN_REQ: except the two CM-owned bytes, which decoders ignore);
//  * an accepted CONN_RSP yields a usable chunk geometry of at most 2^28
//    bytes (the 28-bit immediate rule); no input is both an accept and a
//    reject; a reject's errno constructs a kx::Error without a BUG;
//  * encoder direction: for arbitrary field values and output capacities the
//    encoder succeeds iff the decoder accepts the same fields laid out by an
//    independent model of the wire struct, with the same errno, and never
//    writes past the capacity it was given.
#include "tests/fuzz/fuzz_common.h"

#include "ibtrs/core/wire.h"

namespace {

using namespace ibtrs::wire;
using fuzz::err;
using fuzz::errno_in;
using fuzz::Exact;
using fuzz::Reader;

constexpr usize kWireSize = 56;

bool same(const ConnReq& a, const ConnReq& b) {
  return a.version == b.version && a.cid == b.cid && a.cid_num == b.cid_num &&
         a.recon_cnt == b.recon_cnt && a.sess_uuid == b.sess_uuid && a.paths_uuid == b.paths_uuid &&
         a.first_conn == b.first_conn;
}

bool same(const ConnRsp& a, const ConnRsp& b) {
  return a.version == b.version && a.queue_depth == b.queue_depth &&
         a.max_io_size == b.max_io_size && a.max_hdr_size == b.max_hdr_size && a.flags == b.flags;
}

// ---------------------------------------------------------------------------
// Decoder direction.

void check_conn_req(const u8* data, usize size) {
  Exact in(data, size);
  auto r = decode_conn_req(in.data(), in.size());
  FUZZ_CHECK(errno_in(r, {EBADMSG, EPROTO, EPROTONOSUPPORT, ERANGE}));
  if (size < kWireSize) {
    FUZZ_CHECK(err(r) == -EBADMSG);
    return;
  }
  // Trailing bytes carry nothing.
  Exact head(data, kWireSize);
  auto h = decode_conn_req(head.data(), head.size());
  FUZZ_CHECK(err(h) == err(r));
  if (r.is_error()) return;
  const ConnReq req = r.value();
  FUZZ_CHECK(same(req, h.value()));
  FUZZ_CHECK((req.version >> 8) == kProtoVerMajor);
  FUZZ_CHECK(req.cid_num >= 1 && req.cid_num <= kMaxConnsPerPath && req.cid < req.cid_num);
  FUZZ_CHECK(!req.sess_uuid.is_nil() && !req.paths_uuid.is_nil());
  FUZZ_CHECK(req.first_conn == ((data[44] & kConnReqFirstConn) != 0));

  Exact out(data, kWireSize);  // scratch of exactly the struct size
  auto e = encode_conn_req(out.data(), out.size(), req);
  FUZZ_CHECK(e.is_ok() && e.value() == kWireSize);
  FUZZ_CHECK(out.data()[0] == 0 && out.data()[1] == 0);  // CM-owned bytes sent as 0
  auto again = decode_conn_req(out.data(), out.size());
  FUZZ_CHECK(again.is_ok() && same(again.value(), req));
  if ((req.version & 0xff) == 0) FUZZ_CHECK(memcmp(out.data() + 2, data + 2, kWireSize - 2) == 0);
}

void check_conn_rsp(const u8* data, usize size) {
  Exact in(data, size);
  auto r = decode_conn_rsp(in.data(), in.size());
  FUZZ_CHECK(errno_in(r, {EBADMSG, EPROTO, EPROTONOSUPPORT, EINVAL, ERANGE}));
  if (size < kWireSize) {
    FUZZ_CHECK(err(r) == -EBADMSG);
    return;
  }
  Exact head(data, kWireSize);
  auto h = decode_conn_rsp(head.data(), head.size());
  FUZZ_CHECK(err(h) == err(r));
  if (r.is_error()) return;
  const ConnRsp rsp = r.value();
  FUZZ_CHECK(same(rsp, h.value()));
  FUZZ_CHECK((rsp.version >> 8) == kProtoVerMajor);
  FUZZ_CHECK((rsp.flags & ~kMsgFlagNewRkey) == 0);
  FUZZ_CHECK(rsp.max_io_size != 0 && rsp.max_hdr_size >= kMinHdrSize);
  auto g = chunk_geometry(rsp);
  FUZZ_CHECK(g.is_ok());
  FUZZ_CHECK(g.value().queue_depth() == rsp.queue_depth);
  FUZZ_CHECK(u64{g.value().chunk_size()} == u64{rsp.max_io_size} + rsp.max_hdr_size);
  FUZZ_CHECK(g.value().total_size() <= (u64{1} << kImmPayloadBits));

  Exact out(data, kWireSize);
  auto e = encode_conn_rsp(out.data(), out.size(), rsp);
  FUZZ_CHECK(e.is_ok() && e.value() == kWireSize);
  auto again = decode_conn_rsp(out.data(), out.size());
  FUZZ_CHECK(again.is_ok() && same(again.value(), rsp));
  if ((rsp.version & 0xff) == 0) FUZZ_CHECK(memcmp(out.data(), data, kWireSize) == 0);
}

void check_conn_reject(const u8* data, usize size, bool accepted) {
  Exact in(data, size);
  auto r = decode_conn_reject(in.data(), in.size());
  FUZZ_CHECK(errno_in(r, {EBADMSG, EPROTO, EPROTONOSUPPORT}));
  if (size < kWireSize) {
    FUZZ_CHECK(err(r) == -EBADMSG);
    return;
  }
  if (r.is_error()) return;
  FUZZ_CHECK(!accepted);  // an accept carries errno 0, a reject never does
  const int peer = r.value().peer_errno;
  FUZZ_CHECK(peer < 0 && peer >= -kx::kMaxErrno);
  const kx::Error as_error(peer);  // what a caller does with it; BUGs if out of range
  FUZZ_CHECK(as_error.code() == peer);

  Exact out(data, kWireSize);
  auto e = encode_conn_reject(out.data(), out.size(), peer);
  FUZZ_CHECK(e.is_ok() && e.value() == kWireSize);
  auto again = decode_conn_reject(out.data(), out.size());
  FUZZ_CHECK(again.is_ok() && again.value().peer_errno == peer);
  // magic and errno are the same bytes; the version is ours.
  FUZZ_CHECK(memcmp(out.data(), data, 2) == 0 && memcmp(out.data() + 4, data + 4, 2) == 0);
}

// ---------------------------------------------------------------------------
// Encoder direction. The wire image is laid out by hand (an independent model
// of the struct offsets) so that encoder and decoder are compared against
// each other rather than against themselves.

void model_conn_req(u8* w, const ConnReq& req) {
  memset(w, 0, kWireSize);
  fuzz::put_le16(w + 2, kMagic);
  fuzz::put_le16(w + 4, req.version);
  fuzz::put_le16(w + 6, req.cid);
  fuzz::put_le16(w + 8, req.cid_num);
  fuzz::put_le16(w + 10, req.recon_cnt);
  memcpy(w + 12, req.sess_uuid.bytes, 16);
  memcpy(w + 28, req.paths_uuid.bytes, 16);
  w[44] = req.first_conn ? 1 : 0;
}

void model_conn_rsp(u8* w, const ConnRsp& rsp) {
  memset(w, 0, kWireSize);
  fuzz::put_le16(w + 0, kMagic);
  fuzz::put_le16(w + 2, rsp.version);
  fuzz::put_le16(w + 6, rsp.queue_depth);
  fuzz::put_le32(w + 8, rsp.max_io_size);
  fuzz::put_le32(w + 12, rsp.max_hdr_size);
  fuzz::put_le32(w + 16, rsp.flags);
}

void check_encoders(const u8* data, usize size) {
  Reader rd(data, size);
  const usize cap = rd.u8v() % (kWireSize + 8);
  u8 model[kWireSize];

  ConnReq req{};
  req.version = rd.le16();
  req.cid = rd.le16();
  req.cid_num = rd.le16();
  req.recon_cnt = rd.le16();
  for (u8& b : req.sess_uuid.bytes) b = rd.u8v();
  for (u8& b : req.paths_uuid.bytes) b = rd.u8v();
  req.first_conn = rd.u8v() & 1;
  {
    Exact dst(cap);  // the encoder must not write past cap
    auto e = encode_conn_req(dst.data(), cap, req);
    model_conn_req(model, req);
    auto d = decode_conn_req(model, kWireSize);
    if (cap < kWireSize) {
      FUZZ_CHECK(err(e) == -EMSGSIZE);
    } else {
      FUZZ_CHECK(err(e) == err(d));
      if (e.is_ok()) {
        FUZZ_CHECK(e.value() == kWireSize && memcmp(dst.data(), model, kWireSize) == 0);
        FUZZ_CHECK(same(d.value(), req));
      }
    }
  }

  ConnRsp rsp{};
  rsp.version = rd.le16();
  rsp.queue_depth = rd.le16();
  rsp.max_io_size = rd.le32();
  rsp.max_hdr_size = rd.le32();
  rsp.flags = rd.le32();
  {
    Exact dst(cap);
    auto e = encode_conn_rsp(dst.data(), cap, rsp);
    model_conn_rsp(model, rsp);
    auto d = decode_conn_rsp(model, kWireSize);
    if (cap < kWireSize) {
      FUZZ_CHECK(err(e) == -EMSGSIZE);
    } else {
      FUZZ_CHECK(err(e) == err(d));
      if (e.is_ok()) {
        FUZZ_CHECK(e.value() == kWireSize && memcmp(dst.data(), model, kWireSize) == 0);
        FUZZ_CHECK(same(d.value(), rsp));
      }
    }
  }

  const int peer = static_cast<int>(rd.le32());
  {
    Exact dst(cap);
    auto e = encode_conn_reject(dst.data(), cap, peer);
    if (cap < kWireSize) {
      FUZZ_CHECK(err(e) == -EMSGSIZE);
    } else if (peer >= 0 || peer < -kx::kMaxErrno) {
      FUZZ_CHECK(err(e) == -EINVAL);
    } else {
      FUZZ_CHECK(e.is_ok());
      auto d = decode_conn_reject(dst.data(), kWireSize);
      FUZZ_CHECK(d.is_ok() && d.value().peer_errno == peer);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const u8* data, usize size) {
  check_conn_req(data, size);
  check_conn_rsp(data, size);
  {
    Exact in(data, size);
    const bool accepted = decode_conn_rsp(in.data(), in.size()).is_ok();
    check_conn_reject(data, size, accepted);
  }
  check_encoders(data, size);
  return 0;
}
