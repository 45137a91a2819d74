/* SPDX-License-Identifier: GPL-2.0 */
// IBTRS server: connection admission. For one CONN_REQ (decoded with
// wire::decode_conn_req), decides whether the connection is accepted, into
// which session and path, or with which errno it is rejected. The decision
// only: allocation, RDMA resources and the accept/reject itself stay in
// ibtrs/server/ibtrs_srv.cpp, which runs exactly this code; the host tests
// (tests/unit/ibtrs_conn_admit_test.cpp) drive it over a simulated fabric.
//
// Portable core: no allocation, no kernel header, no global state.
//
// The View concept (the module's table and the simulator's each provide
// one; the view knows the request's addresses: peer = the client's address,
// src/dst = the path's two addresses as the server sees them):
//
//   using Sess = ...; using Path = ...;
//   <range of Sess&>  sessions() const;        every live session
//   bool same_peer(const Sess&) const;        created from the peer's host
//   u32  nr_cons(const Sess&) const;          its connections (all paths)
//   const wire::Uuid& paths_uuid(const Sess&) const;
//   <range of Path&>  paths(Sess&) const;     the session's live paths
//   const wire::Uuid& sess_uuid(const Path&) const;
//   bool same_addrs(const Path&) const;       same src and dst hosts
//   bool connecting(const Path&) const;       still taking connections
//   u16  recon_cnt(const Path&) const;        the CONN_REQs' recon_cnt
//   u16  cid_num(const Path&) const;
//   bool has_con(const Path&, u16 cid) const; cid already connected
//
// The order of the checks is the contract (the first failing one decides):
//   1. the peer holds >= max_conns_per_peer connections (or the limit is
//      < 1): EUSERS                                      (kPeerConns)
//   2. session by paths_uuid; none: a new one, only if first_conn (else
//      ENXIO), only below max_sessions (else EMFILE) and below
//      max_sessions_per_peer sessions from the peer (else EUSERS) (kSession)
//   3. path by sess_uuid; none: a new one, only below wire::kMaxPaths paths
//      (else ECONNRESET) and only if no path of the session has the same
//      two addresses (else EEXIST: same sysfs name)      (kPath)
//   4. the path exists: recon_cnt differs (the client reconnected before we
//      noticed the old path die): close it (close_path), EBUSY; the path is
//      not connecting any more: EBUSY; cid_num differs or cid is already
//      connected: EINVAL                                 (kPath)
// A new session always gets a new path (it has none, checks 3 and 4 pass).
#pragma once

#include <ibtrs/core/wire.h>
#include <kx/errno.h>
#include <kx/types.h>

namespace ibtrs::conn_admit {

using kx::u16;
using kx::u32;

struct Limits {
  u32 max_sessions;           // sessions on this server
  u32 max_sessions_per_peer;  // sessions created from one client host
  int max_conns_per_peer;     // connections of one client host; < 1 refuses all
};

// Which check refused (for the caller's log lines).
enum class Refusal { kNone, kPeerConns, kSession, kPath };

template <typename Sess, typename Path>
struct Verdict {
  int err = 0;  // 0: admit; else the -errno to reject with
  Refusal by = Refusal::kNone;
  // Reject: what was wrong, in words, for the caller's one log line (a
  // static string); nullptr when admitted.
  const char* why = nullptr;
  u32 peer_cons = 0;     // the peer's connections (check 1)
  Sess* sess = nullptr;  // admit: the session to join; nullptr: create one
  Path* path = nullptr;  // admit: the path to add req.cid to; nullptr: a new path
  // Reject (EBUSY): the reconnecting client's stale path, to be closed.
  Path* close_path = nullptr;
};

namespace detail {
template <typename V>
using SessOf = typename V::Sess;
template <typename V>
using PathOf = typename V::Path;
}  // namespace detail

// Caller holds the lock that serialises connection requests with session
// and path creation and removal (ibtrs_srv_ctx::mutex), so that the table
// does not change between the decision and its execution. O(sessions +
// paths of the session). Allocates nothing.
template <typename View>
Verdict<detail::SessOf<View>, detail::PathOf<View>> admit(const View& v, const wire::ConnReq& req,
                                                          const Limits& lim) {
  using Sess = detail::SessOf<View>;
  using Path = detail::PathOf<View>;
  Verdict<Sess, Path> out;
  auto refuse = [&out](Refusal by, int err, const char* why) {
    out.by = by;
    out.err = err;
    out.why = why;
    out.sess = nullptr;
    out.path = nullptr;
    return out;
  };

  // 1. Every connection costs a QP and a CQ: bounded per client host,
  // before anything is allocated.
  for (Sess& s : v.sessions())
    if (v.same_peer(s)) out.peer_cons += v.nr_cons(s);
  if (lim.max_conns_per_peer < 1 || out.peer_cons >= static_cast<u32>(lim.max_conns_per_peer))
    return refuse(Refusal::kPeerConns, -EUSERS, "the client host holds max_conns_per_peer connections");

  // 2. The session.
  u32 nr_sessions = 0, from_peer = 0;
  for (Sess& s : v.sessions()) {
    if (v.paths_uuid(s) == req.paths_uuid) {
      out.sess = &s;
      break;
    }
    nr_sessions++;
    from_peer += v.same_peer(s);
  }
  if (!out.sess) {
    if (!req.first_conn)
      return refuse(Refusal::kSession, -ENXIO, "no session with these paths_uuid (and not a first connection)");
    if (nr_sessions >= lim.max_sessions)
      return refuse(Refusal::kSession, -EMFILE, "max_sessions sessions already");
    if (from_peer >= lim.max_sessions_per_peer)
      return refuse(Refusal::kSession, -EUSERS, "the client host holds max_sessions_per_peer sessions");
    return out;  // new session, new path
  }

  // 3. The path.
  u32 npaths = 0;
  bool same_addrs = false;
  Path* p = nullptr;
  for (Path& it : v.paths(*out.sess)) {
    npaths++;
    if (v.sess_uuid(it) == req.sess_uuid) p = &it;
    else if (v.same_addrs(it)) same_addrs = true;
  }
  if (!p) {
    if (npaths >= wire::kMaxPaths)
      return refuse(Refusal::kPath, -ECONNRESET, "the session already has the maximum of 128 paths");
    if (same_addrs)
      return refuse(Refusal::kPath, -EEXIST, "the session already has a path between these addresses");
    return out;  // new path in an existing session
  }

  // 4. A connection of an existing path.
  if (v.recon_cnt(*p) != req.recon_cnt) {
    refuse(Refusal::kPath, -EBUSY,
           "the client reconnected before the old path was seen to fail: closing it, retry later");
    out.close_path = p;
    return out;
  }
  if (!v.connecting(*p))
    return refuse(Refusal::kPath, -EBUSY, "the path is established or closing, not taking connections");
  if (v.cid_num(*p) != req.cid_num)
    return refuse(Refusal::kPath, -EINVAL, "cid_num differs from the path's earlier connections");
  if (v.has_con(*p, req.cid)) return refuse(Refusal::kPath, -EINVAL, "this cid is already connected");
  out.path = p;
  return out;
}

}  // namespace ibtrs::conn_admit
