// SPDX-License-Identifier: GPL-2.0
// Writes the seed corpus of the fuzz targets: valid messages produced by the
// project's own encoders (plus a few hand-made near-misses), laid out in each
// target's input format (see the header comment of each *_fuzz.cpp).
//
//   build/fuzz/make_seeds tests/fuzz/corpus     (make -f tests/fuzz/fuzz.mk seeds)
//
// Deterministic: running it again rewrites the same files. Files already in
// a target's directory that it does not produce (regression inputs added by
// hand) are left alone.
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ibnbd/core/proto.h"
#include "ibtrs/core/wire.h"

namespace {

using kx::u16;
using kx::u32;
using kx::u64;
using kx::u8;
using kx::usize;
using Bytes = std::vector<u8>;

std::string g_root;
int g_written = 0;

void die(const char* what) {
  fprintf(stderr, "make_seeds: %s\n", what);
  exit(1);
}

// The value of an encoder result that must succeed.
template <typename T> T must(kx::Result<T>&& r, const char* what) {
  if (r.is_error()) {
    fprintf(stderr, "make_seeds: %s: errno %d\n", what, r.error().code());
    exit(1);
  }
  return r.release_value();
}

void write_seed(const char* target, const char* name, const Bytes& b) {
  const std::string dir = g_root + "/" + target;
  mkdir(g_root.c_str(), 0755);
  mkdir(dir.c_str(), 0755);
  const std::string path = dir + "/" + name;
  FILE* f = fopen(path.c_str(), "wb");
  if (!f) die(path.c_str());
  if (!b.empty() && fwrite(b.data(), 1, b.size(), f) != b.size()) die(path.c_str());
  fclose(f);
  ++g_written;
}

void le16(Bytes& b, u16 v) {
  b.push_back(static_cast<u8>(v));
  b.push_back(static_cast<u8>(v >> 8));
}
void le32(Bytes& b, u32 v) {
  le16(b, static_cast<u16>(v));
  le16(b, static_cast<u16>(v >> 16));
}
void append(Bytes& b, const u8* p, usize n) { b.insert(b.end(), p, p + n); }
void append(Bytes& b, const Bytes& o) { b.insert(b.end(), o.begin(), o.end()); }

// ---------------------------------------------------------------------------
// RTRS

namespace w = ibtrs::wire;

w::Uuid uuid(u8 first) {
  w::Uuid u{};
  for (int i = 0; i < 16; ++i) u.bytes[i] = static_cast<u8>(first + 7 * i);
  return u;
}

Bytes conn_req(u16 cid, u16 cid_num, bool first) {
  Bytes b(sizeof(w::ConnReqWire));
  must(w::encode_conn_req(b.data(), b.size(),
                          w::ConnReq{w::kProtoVersion, cid, cid_num, 0, uuid(1), uuid(0x80), first}),
       "conn_req");
  return b;
}

Bytes conn_rsp(u16 qd, u32 io, u32 hdr, u32 flags) {
  Bytes b(sizeof(w::ConnRspWire));
  must(w::encode_conn_rsp(b.data(), b.size(), w::ConnRsp{w::kProtoVersion, qd, io, hdr, flags}),
       "conn_rsp");
  return b;
}

Bytes conn_reject(int e) {
  Bytes b(sizeof(w::ConnRspWire));
  must(w::encode_conn_reject(b.data(), b.size(), e), "conn_reject");
  return b;
}

void rtrs_conn() {
  const char* t = "rtrs_conn_fuzz";
  write_seed(t, "req_first_conn", conn_req(0, 5, true));
  write_seed(t, "req_cid3_of_9", conn_req(3, 9, false));
  Bytes minor = conn_req(1, 2, true);  // minor 1: reserved flag bit and bytes may be set
  minor[4] = 1;
  minor[44] |= 0x4;
  minor[50] = 0xaa;
  write_seed(t, "req_minor1_reserved", minor);
  write_seed(t, "req_truncated", Bytes(minor.begin(), minor.begin() + 20));
  write_seed(t, "rsp_qd512_128k", conn_rsp(512, 126976, 4096, w::kMsgFlagNewRkey));
  write_seed(t, "rsp_qd1_8k", conn_rsp(1, 8192 - 24, 24, 0));
  write_seed(t, "rsp_qd4096", conn_rsp(4096, 65536 - 512, 512, 0));
  write_seed(t, "reject_ebusy", conn_reject(-EBUSY));
  write_seed(t, "reject_econnreset", conn_reject(-ECONNRESET));
}

// [qd le16][chunk_shift u8][message]
Bytes info_prefix(u16 qd, u8 shift) {
  Bytes b;
  le16(b, qd);
  b.push_back(shift);
  return b;
}

Bytes info_rsp(u16 qd, u8 shift, u16 sg_cnt, u64 base) {
  const w::ChunkGeometry geo = must(w::ChunkGeometry::create(qd, 1u << shift), "geometry");
  std::vector<w::SgDesc> d(sg_cnt);
  const u32 per = qd / sg_cnt;
  for (u16 i = 0; i < sg_cnt; ++i)
    d[i] = w::SgDesc{base + u64{i} * 0x10000000u, 0x1000u + i, per << shift};
  Bytes msg(w::info_rsp_size(sg_cnt));
  must(w::encode_info_rsp(msg.data(), msg.size(), geo, d.data(), sg_cnt), "info_rsp");
  Bytes b = info_prefix(qd, shift);
  append(b, msg);
  return b;
}

void rtrs_info() {
  const char* t = "rtrs_info_fuzz";
  Bytes req(sizeof(w::InfoReqWire));
  must(w::encode_info_req(req.data(), req.size(), "clt-node1", 9), "info_req");
  Bytes b = info_prefix(512, 17);
  append(b, req);
  write_seed(t, "req_clt-node1", b);
  write_seed(t, "rsp_qd512_one_desc", info_rsp(512, 17, 1, 0x7f0000000000ull));
  write_seed(t, "rsp_qd512_four_desc", info_rsp(512, 17, 4, 0x1000000));
  write_seed(t, "rsp_qd8_per_chunk", info_rsp(8, 13, 8, 0x40000));
  write_seed(t, "rsp_qd1", info_rsp(1, 20, 1, 0xffffffff000ull));
}

// [qd le32][chunk_size le32][cid le32] then [imm][x][y][z] records.
void rtrs_imm() {
  const char* t = "rtrs_imm_fuzz";
  const w::ChunkGeometry geo = must(w::ChunkGeometry::create(512, 131072), "geometry");
  Bytes b;
  le32(b, 512);
  le32(b, 131072);
  le32(b, 0);
  auto record = [&](u32 imm, u32 x, u32 y, u32 z) {
    le32(b, imm);
    le32(b, x);
    le32(b, y);
    le32(b, z);
  };
  record(must(geo.write_request_imm(7, 4096, 32), "write imm"), 7, 4096, 32);
  record(must(geo.read_request_imm(511, 65536, 32, 1), "read imm"), 511, 65536, (1u << 16) | 32);
  record(must(w::io_rsp_imm(7, 0, false), "io_rsp"), 7, 0, 0);
  record(must(w::io_rsp_imm(511, -EIO, true), "io_rsp_inval"), 511, 0, 5);
  record(w::kHbMsgImm, 0, 0, 0);
  record(w::kHbAckImm, 0, 0, 0);
  write_seed(t, "qd512_mixed", b);

  b.clear();
  le32(b, 1);
  le32(b, 1u << 28);
  le32(b, 3);
  const w::ChunkGeometry one = must(w::ChunkGeometry::create(1, 1u << 28), "geometry1");
  record(must(one.io_req_imm(0, (1u << 28) - 1), "io_req max"), 0, (1u << 28) - 1, 0);
  record(w::kHbMsgImm, 0, 0, 0);  // on cid 3: refused
  write_seed(t, "qd1_max_chunk", b);
}

// [offset le32][qd le16][chunk]
void rtrs_io() {
  const char* t = "rtrs_io_fuzz";
  namespace p = ibnbd::proto;
  const p::Session session{2, 0};
  auto io_msg = [&](p::Op op, u32 bi_size) {
    Bytes m(sizeof(p::IoWire));
    must(p::encode_io(m.data(), m.size(), p::IoReq{3, 2048, op, 0, bi_size, 0}, session), "io");
    return m;
  };
  {  // WRITE: data | usr (IO message) | trailer
    Bytes chunk(512, 0x5a);
    const Bytes usr = io_msg(p::Op::kWrite, 512);
    append(chunk, usr);
    const usize off = chunk.size();
    chunk.resize(off + 4 + 60);
    must(w::encode_write_trailer(chunk.data() + off, 4, static_cast<u16>(usr.size())), "wtr");
    Bytes b;
    le32(b, static_cast<u32>(off));
    le16(b, 512);
    append(b, chunk);
    write_seed(t, "write_512", b);
  }
  {  // READ with one descriptor and NEED_INVAL
    Bytes chunk(512, 0);
    const Bytes usr = io_msg(p::Op::kRead, 512);
    append(chunk, usr);
    const usize off = chunk.size();
    chunk.resize(off + 24 + 8);
    const w::SgDesc desc{0x7f1234560000ull, 0xabcd, 512};
    must(w::encode_read_trailer(chunk.data() + off, 24, static_cast<u16>(usr.size()), &desc, true),
         "rtr");
    Bytes b;
    le32(b, static_cast<u32>(off));
    le16(b, 512);
    append(b, chunk);
    write_seed(t, "read_512_inval", b);
  }
  {  // READ without descriptor (how a FLUSH travels)
    Bytes chunk;
    const Bytes usr = io_msg(p::Op::kFlush, 0);
    append(chunk, usr);
    const usize off = chunk.size();
    chunk.resize(off + 8);
    must(w::encode_read_trailer(chunk.data() + off, 8, static_cast<u16>(usr.size()), nullptr,
                                false),
         "rtr0");
    Bytes b;
    le32(b, static_cast<u32>(off));
    le16(b, 512);
    append(b, chunk);
    write_seed(t, "read_flush_nodesc", b);
  }
  {  // RKEY_RSP
    Bytes m(sizeof(w::RkeyRspWire));
    must(w::encode_rkey_rsp(m.data(), m.size(), w::RkeyRsp{17, 0xfeedbeef}), "rkey");
    Bytes b;
    le32(b, 0);
    le16(b, 512);
    append(b, m);
    write_seed(t, "rkey_rsp_17", b);
  }
}

// ---------------------------------------------------------------------------
// RNBD: [flags u8][data_len le32][version u8][features le32][offered le32][msg]

namespace p = ibnbd::proto;

Bytes rnbd(bool write, u32 data_len, u8 version, u32 features, u32 offered, const Bytes& msg) {
  Bytes b;
  b.push_back(write ? 1 : 0);
  le32(b, data_len);
  b.push_back(version);
  le32(b, features);
  le32(b, offered);
  append(b, msg);
  return b;
}

void rnbd_msg() {
  const char* t = "rnbd_msg_fuzz";
  const u32 all = p::kKnownFeatures;
  Bytes m(sizeof(p::SessInfoWire));
  must(p::encode_sess_info(m.data(), m.size(), all), "sess_info");
  write_seed(t, "sess_info_features", rnbd(false, 36, 2, 0, all, m));
  must(p::encode_sess_info(m.data(), m.size(), 0), "sess_info0");
  write_seed(t, "sess_info_upstream", rnbd(false, 4096, 2, 0, 0, m));
  must(p::encode_sess_info_rsp(m.data(), m.size(), 2, all), "sess_info_rsp");
  write_seed(t, "sess_info_rsp", rnbd(false, 0, 2, all, all, m));

  m.assign(sizeof(p::OpenWire), 0);
  must(p::encode_open(m.data(), m.size(), p::AccessMode::kRw, "nullb0", 6), "open");
  write_seed(t, "open_rw", rnbd(false, 56, 2, 0, 0, m));
  must(p::encode_open(m.data(), m.size(), p::AccessMode::kRo, "vg/lv-data", 10), "open ro");
  write_seed(t, "open_ro", rnbd(false, 4096, 2, 0, 0, m));

  m.assign(sizeof(p::OpenRspWire), 0);
  const p::OpenRsp rsp{3, 2097152, 256, 0, 65535, 4096, 0, 4096, 512, 128, 0,
                       p::kCacheWriteback | p::kCacheFua, 65535};
  must(p::encode_open_rsp(m.data(), m.size(), rsp, p::kFeatureWriteZeroes), "open_rsp");
  write_seed(t, "open_rsp_wz", rnbd(false, 0, 2, p::kFeatureWriteZeroes, 0, m));

  m.assign(sizeof(p::CloseWire), 0);
  must(p::encode_close(m.data(), m.size(), 3), "close");
  write_seed(t, "close", rnbd(true, 0, 2, 0, 0, m));

  auto io = [&](const char* name, p::Op op, u32 flags, u32 bi_size, bool write, u32 data_len,
                u8 version, u32 features) {
    const p::Session s{version, features};
    Bytes msg(sizeof(p::IoWire));
    must(p::encode_io(msg.data(), msg.size(), p::IoReq{3, 8, op, flags, bi_size, 0}, s), name);
    if (version < 2) msg.resize(p::kIoWireSizeV1);
    write_seed(t, name, rnbd(write, data_len, version, features, 0, msg));
  };
  io("io_read_4k", p::Op::kRead, 0, 4096, false, 4096, 2, 0);
  io("io_write_fua", p::Op::kWrite, p::kFlagFua | p::kFlagSync, 4096, true, 4096, 2, 0);
  io("io_flush", p::Op::kFlush, 0, 0, false, 0, 2, 0);
  io("io_discard", p::Op::kDiscard, 0, 1 << 20, true, 0, 2, 0);
  io("io_write_same", p::Op::kWriteSame, 0, 4096, true, 512, 2, 0);
  io("io_write_zeroes", p::Op::kWriteZeroes, p::kFlagNoUnmap, 8192, true, 0, 2,
     p::kFeatureWriteZeroes);
  io("io_v1_write", p::Op::kWrite, 0, 512, true, 512, 1, 0);
}

// ---------------------------------------------------------------------------
// map_device strings, and [0][cap le16][n][search][m][sessname][device] for
// the raw resolve mode.

Bytes text(const char* s) { return Bytes(s, s + strlen(s)); }

Bytes resolve(u16 cap, const char* search, const char* sess, const char* dev) {
  Bytes b{0};
  le16(b, cap);
  b.push_back(static_cast<u8>(strlen(search)));
  append(b, reinterpret_cast<const u8*>(search), strlen(search));
  b.push_back(static_cast<u8>(strlen(sess)));
  append(b, reinterpret_cast<const u8*>(sess), strlen(sess));
  append(b, reinterpret_cast<const u8*>(dev), strlen(dev));
  return b;
}

void map_options() {
  const char* t = "map_options_fuzz";
  write_seed(t, "map_minimal", text("sessname=clt1 path=ip:10.0.0.2 device_path=disk0\n"));
  write_seed(t, "map_full",
             text("sessname=s-1 path=ip:192.168.1.1@ip:192.168.1.2 path=ip:10.0.0.1,ip:10.0.0.2 "
                  "device_path=vg/lv0 access_mode=ro dest_port=1235 nr_poll_queues=-1\n"));
  write_seed(t, "map_gid",
             text("sessname=x path=gid:fe80:0000:0000:0000:0002:c903:0010:c0f1 "
                  "device_path=/dev/ram0 access_mode=migration nr_poll_queues=4"));
  write_seed(t, "map_ipv6_scope",
             text("\tsessname=v6\tpath=ip:fe80::1%eth0@ip:fe80::2%eth0 device_path=nullb0\r\n"));
  std::string many = "sessname=many device_path=d";  // kMaxMapPaths paths: one more is E2BIG
  char addr[32];
  for (int i = 0; i < 128; ++i) {
    snprintf(addr, sizeof(addr), " path=ip:%x", i);
    many += addr;
  }
  write_seed(t, "map_128_paths", text(many.c_str()));
  write_seed(t, "map_bad_port", text("sessname=a device_path=b dest_port=65536"));
  write_seed(t, "resolve_sessname", resolve(4096, "/srv/%SESSNAME%/", "clt1", "disk0"));
  write_seed(t, "resolve_dotdot", resolve(4096, "/dev", "c", "a/../../etc/passwd"));
  write_seed(t, "resolve_too_long", resolve(16, "/very/long/search/path", "c", "disk"));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) die("usage: make_seeds <corpus dir>");
  g_root = argv[1];
  rtrs_conn();
  rtrs_info();
  rtrs_imm();
  rtrs_io();
  rnbd_msg();
  map_options();
  printf("make_seeds: %d seeds written under %s\n", g_written, g_root.c_str());
  return 0;
}
