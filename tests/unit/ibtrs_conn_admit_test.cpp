// Host tests of IBTRS connection set-up and request routing:
//
//  * ibtrs/core/conn_admit.h (server admission) over a simulated fabric:
//    simulated clients send, for every cid of a path, the real CONN_REQ
//    private data (wire::encode_conn_req); the simulated server decodes it
//    with wire::decode_conn_req, decides with conn_admit::admit, and keeps a
//    session/path table the way ibtrs/server/ibtrs_srv.cpp does (a new
//    session or path on admission, a connection slot per cid, an
//    asynchronous close of a stale path).
//  * ibtrs/core/con_route.h (which connection of a path a request goes out
//    on), directly and across a fail-over (ibtrs/core/failover.h).
#include <ibtrs/core/con_route.h>
#include <ibtrs/core/conn_admit.h>
#include <ibtrs/core/failover.h>
#include <ibtrs/core/wire.h>

#include <gtest/gtest.h>

#include <cstring>
#include <list>
#include <string>
#include <memory>
#include <vector>

namespace {

using ibtrs::conn_admit::Limits;
using ibtrs::conn_admit::Refusal;
using ibtrs::wire::ConnReq;
using ibtrs::wire::ConnReqWire;
using ibtrs::wire::Uuid;
using kx::u16;
using kx::u32;
using kx::u64;
using kx::u8;
using kx::usize;

Uuid make_uuid(u32 a, u32 b) {
  Uuid u{};
  for (int i = 0; i < 4; i++) {
    u.bytes[i] = static_cast<u8>(a >> (8 * i));
    u.bytes[4 + i] = static_cast<u8>(b >> (8 * i));
  }
  u.bytes[15] = 0x5a;  // never nil
  return u;
}

// ---------------------------------------------------------------------------
// The simulated server: the tables of ibtrs_srv.cpp reduced to what admission
// reads. Hosts are numbers (an address's host part, what same_host compares).

struct SimPath {
  Uuid sess_uuid;
  u32 src_host;  // ours
  u32 dst_host;  // the client's
  u16 cid_num;
  u16 recon_cnt;
  bool connecting = true;  // leaves CONNECTING once every cid is connected
  bool closing = false;    // schedule_close() ran, the close work did not yet
  std::vector<bool> cons;
};

struct SimSess {
  Uuid paths_uuid;
  u32 peer_host;  // the client host that created it
  u32 nr_cons = 0;
  std::list<SimPath> paths;
};

struct SimServer;

// conn_admit's View over SimServer, for one CONN_REQ from client_host to
// server_host (as SrvAdmitView in ibtrs_srv.cpp).
struct SimView {
  using Sess = SimSess;
  using Path = SimPath;
  SimServer* srv;
  u32 client_host, server_host;

  std::list<SimSess>& sessions() const;
  bool same_peer(const Sess& s) const { return s.peer_host == client_host; }
  u32 nr_cons(const Sess& s) const { return s.nr_cons; }
  const Uuid& paths_uuid(const Sess& s) const { return s.paths_uuid; }
  std::list<SimPath>& paths(Sess& s) const { return s.paths; }
  const Uuid& sess_uuid(const Path& p) const { return p.sess_uuid; }
  bool same_addrs(const Path& p) const { return p.src_host == server_host && p.dst_host == client_host; }
  bool connecting(const Path& p) const { return p.connecting; }
  u16 recon_cnt(const Path& p) const { return p.recon_cnt; }
  u16 cid_num(const Path& p) const { return p.cid_num; }
  bool has_con(const Path& p, u16 cid) const { return p.cons.at(cid); }
};

struct SimServer {
  Limits lim{16, 16, 1024};
  std::list<SimSess> sessions;
  std::vector<SimPath*> to_close;  // schedule_close()d, close work pending
  // The last decision, for tests that look at it.
  Refusal last_by = Refusal::kNone;
  std::string last_why;  // the reason the server logs; "" when admitted
  u32 last_peer_cons = 0;
  bool last_closed_path = false;

  // One CONNECT_REQUEST: 0 accepted, else the -errno of the reject.
  int connect_request(const u8* pdata, usize len, u32 client_host, u32 server_host) {
    last_by = Refusal::kNone;
    last_why.clear();
    last_closed_path = false;
    auto decoded = ibtrs::wire::decode_conn_req(pdata, len);
    if (decoded.is_error()) return decoded.error().code();
    const ConnReq req = decoded.value();
    const SimView view{this, client_host, server_host};
    const auto v = ibtrs::conn_admit::admit(view, req, lim);
    last_by = v.by;
    last_peer_cons = v.peer_cons;
    // Every refusal names its reason for the log line; an admission none.
    EXPECT_EQ(v.err != 0, v.why != nullptr);
    if (v.why) last_why = v.why;
    if (v.err) {
      EXPECT_EQ(v.sess, nullptr);
      EXPECT_EQ(v.path, nullptr);
      if (v.close_path) {
        EXPECT_EQ(v.err, -EBUSY);
        schedule_close(v.close_path);
        last_closed_path = true;
      }
      return v.err;
    }
    EXPECT_EQ(v.close_path, nullptr);
    SimSess* s = v.sess;
    if (!s) {
      EXPECT_EQ(v.path, nullptr) << "a new session has no path to join";
      sessions.push_back(SimSess{req.paths_uuid, client_host});
      s = &sessions.back();
    }
    SimPath* p = v.path;
    if (!p) {
      s->paths.push_back(SimPath{req.sess_uuid, server_host, client_host, req.cid_num, req.recon_cnt});
      p = &s->paths.back();
      p->cons.assign(req.cid_num, false);
    }
    EXPECT_FALSE(p->cons.at(req.cid));
    p->cons.at(req.cid) = true;
    s->nr_cons++;
    bool all = true;
    for (bool c : p->cons) all = all && c;
    if (all) p->connecting = false;  // INFO exchange done: CONNECTED
    return 0;
  }

  // SrvPath::schedule_close: the path stops taking connections now and is
  // removed by the close work later.
  void schedule_close(SimPath* p) {
    p->connecting = false;
    if (p->closing) return;
    p->closing = true;
    to_close.push_back(p);
  }

  // The close work: the path leaves its session, a session without paths
  // goes away.
  void run_close_work() {
    for (SimPath* p : to_close) {
      for (auto s = sessions.begin(); s != sessions.end(); ++s) {
        for (auto it = s->paths.begin(); it != s->paths.end(); ++it) {
          if (&*it != p) continue;
          for (bool c : it->cons) s->nr_cons -= c;
          s->paths.erase(it);
          if (s->paths.empty()) sessions.erase(s);
          goto next;
        }
      }
      ADD_FAILURE() << "closing a path that is not in the table";
    next:;
    }
    to_close.clear();
  }

  const SimSess* find_sess(const Uuid& paths_uuid) const {
    for (const SimSess& s : sessions)
      if (s.paths_uuid == paths_uuid) return &s;
    return nullptr;
  }
  const SimPath* find_path(const Uuid& paths_uuid, const Uuid& sess_uuid) const {
    const SimSess* s = find_sess(paths_uuid);
    if (!s) return nullptr;
    for (const SimPath& p : s->paths)
      if (p.sess_uuid == sess_uuid) return &p;
    return nullptr;
  }
};

std::list<SimSess>& SimView::sessions() const { return srv->sessions; }

// ---------------------------------------------------------------------------
// The simulated client: one session (paths_uuid), paths with their own
// sess_uuid, addresses, cid_num and recon_cnt, as ClPath::connect_con fills
// the CONN_REQ.

struct SimClientPath {
  Uuid sess_uuid;
  u32 client_host, server_host;
  u16 cid_num;
  u16 recon_cnt = 0;
};

struct SimClient {
  Uuid paths_uuid;
  std::vector<SimClientPath> paths;

  std::vector<u8> conn_req(u32 path, u16 cid, bool first_conn) const {
    const SimClientPath& p = paths.at(path);
    const ConnReq req{ibtrs::wire::kProtoVersion, cid, p.cid_num, p.recon_cnt, p.sess_uuid, paths_uuid,
                      first_conn};
    std::vector<u8> buf(sizeof(ConnReqWire));
    auto r = ibtrs::wire::encode_conn_req(buf.data(), buf.size(), req);
    EXPECT_TRUE(r.is_ok());
    EXPECT_EQ(r.value(), sizeof(ConnReqWire));
    return buf;
  }

  int connect_one(SimServer& srv, u32 path, u16 cid, bool first_conn) const {
    const auto buf = conn_req(path, cid, first_conn);
    return srv.connect_request(buf.data(), buf.size(), paths.at(path).client_host, paths.at(path).server_host);
  }

  // Every cid of the path in order, as ClPath::start does; stops at the
  // first reject and returns it.
  int connect_path(SimServer& srv, u32 path, bool first_conn) const {
    for (u16 cid = 0; cid < paths.at(path).cid_num; cid++) {
      const int err = connect_one(srv, path, cid, first_conn);
      if (err) return err;
    }
    return 0;
  }
};

SimClient make_client(u32 id, u32 nr_paths, u16 cid_num, u32 client_host = 1) {
  SimClient c{make_uuid(id, 0), {}};
  for (u32 i = 0; i < nr_paths; i++)
    c.paths.push_back(SimClientPath{make_uuid(id, i + 1), client_host, 100 + i, cid_num});
  return c;
}

// ---------------------------------------------------------------------------
// Set-up.

TEST(ConnAdmit, TwoPathSessionCidByCid) {
  SimServer srv;
  const SimClient c = make_client(1, 2, 3);

  // Path 0, cid by cid: cid 0 creates the session and the path, the others
  // join that path.
  ASSERT_EQ(c.connect_one(srv, 0, 0, true), 0);
  ASSERT_EQ(srv.sessions.size(), 1u);
  const SimSess* s = srv.find_sess(c.paths_uuid);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->peer_host, 1u);
  ASSERT_EQ(s->paths.size(), 1u);
  const SimPath* p0 = srv.find_path(c.paths_uuid, c.paths[0].sess_uuid);
  ASSERT_NE(p0, nullptr);
  EXPECT_EQ(p0->cid_num, 3);
  EXPECT_EQ(p0->src_host, 100u);
  EXPECT_EQ(p0->dst_host, 1u);
  EXPECT_EQ(p0->cons, (std::vector<bool>{true, false, false}));
  EXPECT_TRUE(p0->connecting);
  EXPECT_EQ(s->nr_cons, 1u);

  // Out of order is fine: cid 2 then cid 1.
  ASSERT_EQ(c.connect_one(srv, 0, 2, true), 0);
  EXPECT_EQ(p0->cons, (std::vector<bool>{true, false, true}));
  EXPECT_TRUE(p0->connecting);
  ASSERT_EQ(c.connect_one(srv, 0, 1, true), 0);
  EXPECT_EQ(p0->cons, (std::vector<bool>{true, true, true}));
  EXPECT_FALSE(p0->connecting);
  EXPECT_EQ(srv.sessions.size(), 1u);
  EXPECT_EQ(s->paths.size(), 1u);
  EXPECT_EQ(s->nr_cons, 3u);

  // Path 1 (another server address) joins the session: first_conn is off
  // because path 0 is connected.
  ASSERT_EQ(c.connect_one(srv, 1, 0, false), 0);
  EXPECT_EQ(srv.sessions.size(), 1u);
  EXPECT_EQ(s->paths.size(), 2u);
  const SimPath* p1 = srv.find_path(c.paths_uuid, c.paths[1].sess_uuid);
  ASSERT_NE(p1, nullptr);
  EXPECT_NE(p0, p1);
  EXPECT_EQ(p1->src_host, 101u);
  ASSERT_EQ(c.connect_one(srv, 1, 1, false), 0);
  ASSERT_EQ(c.connect_one(srv, 1, 2, false), 0);
  EXPECT_FALSE(p1->connecting);
  EXPECT_EQ(s->nr_cons, 6u);
  EXPECT_EQ(srv.last_by, Refusal::kNone);

  // A second client (another host) gets its own session.
  const SimClient d = make_client(2, 1, 2, /*client_host=*/2);
  ASSERT_EQ(d.connect_path(srv, 0, true), 0);
  EXPECT_EQ(srv.sessions.size(), 2u);
  EXPECT_EQ(srv.find_sess(d.paths_uuid)->nr_cons, 2u);
  EXPECT_EQ(s->nr_cons, 6u);
}

TEST(ConnAdmit, AdmitNamesTheSessionAndPathToJoin) {
  SimServer srv;
  const SimClient c = make_client(1, 1, 2);
  ASSERT_EQ(c.connect_one(srv, 0, 0, true), 0);
  const auto buf = c.conn_req(0, 1, true);
  const ConnReq req = ibtrs::wire::decode_conn_req(buf.data(), buf.size()).value();
  const auto v = ibtrs::conn_admit::admit(SimView{&srv, 1, 100}, req, srv.lim);
  EXPECT_EQ(v.err, 0);
  EXPECT_EQ(v.sess, &srv.sessions.front());
  EXPECT_EQ(v.path, &srv.sessions.front().paths.front());
  EXPECT_EQ(v.close_path, nullptr);
  EXPECT_EQ(v.peer_cons, 1u);

  // Unknown paths_uuid with first_conn: create (both nullptr).
  const SimClient d = make_client(2, 1, 2);
  const auto buf2 = d.conn_req(0, 0, true);
  const auto v2 = ibtrs::conn_admit::admit(SimView{&srv, 1, 100},
                                           ibtrs::wire::decode_conn_req(buf2.data(), buf2.size()).value(), srv.lim);
  EXPECT_EQ(v2.err, 0);
  EXPECT_EQ(v2.sess, nullptr);
  EXPECT_EQ(v2.path, nullptr);
}

// The client reconnected path 1 (recon_cnt + 1) before the server noticed
// the old path die: the old path is closed, the attempt is refused with
// EBUSY, and the retry after the close joins the session as a new path.
TEST(ConnAdmit, ReconnectBeforeServerNoticedOldPathDie) {
  SimServer srv;
  SimClient c = make_client(1, 2, 3);
  ASSERT_EQ(c.connect_path(srv, 0, true), 0);
  ASSERT_EQ(c.connect_path(srv, 1, false), 0);
  const SimSess* s = srv.find_sess(c.paths_uuid);
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->nr_cons, 6u);
  const SimPath* old = srv.find_path(c.paths_uuid, c.paths[1].sess_uuid);
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(old->recon_cnt, 0);

  c.paths[1].recon_cnt++;
  EXPECT_EQ(c.connect_one(srv, 1, 0, false), -EBUSY);
  EXPECT_TRUE(srv.last_closed_path);
  EXPECT_EQ(srv.last_by, Refusal::kPath);
  EXPECT_NE(srv.last_why.find("reconnected"), std::string::npos) << srv.last_why;
  ASSERT_EQ(srv.to_close.size(), 1u);
  EXPECT_EQ(srv.to_close[0], old);
  EXPECT_TRUE(old->closing);

  // A retry before the close work ran: still EBUSY, the path is closed once.
  EXPECT_EQ(c.connect_one(srv, 1, 0, false), -EBUSY);
  EXPECT_EQ(srv.to_close.size(), 1u);

  srv.run_close_work();
  EXPECT_EQ(srv.sessions.size(), 1u);
  EXPECT_EQ(s->paths.size(), 1u);
  EXPECT_EQ(s->nr_cons, 3u);
  EXPECT_EQ(srv.find_path(c.paths_uuid, c.paths[1].sess_uuid), nullptr);

  // The retry joins: a new path with the new recon_cnt, path 0 untouched.
  ASSERT_EQ(c.connect_path(srv, 1, false), 0);
  EXPECT_FALSE(srv.last_closed_path);
  EXPECT_EQ(s->paths.size(), 2u);
  EXPECT_EQ(s->nr_cons, 6u);
  const SimPath* fresh = srv.find_path(c.paths_uuid, c.paths[1].sess_uuid);
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(fresh->recon_cnt, 1);
  EXPECT_FALSE(fresh->connecting);
  EXPECT_FALSE(srv.find_path(c.paths_uuid, c.paths[0].sess_uuid)->closing);
}

// The same with the session's only path: closing it ends the session, and
// the client (no path connected: first_conn) creates a new one.
TEST(ConnAdmit, ReconnectOfTheOnlyPathRecreatesTheSession) {
  SimServer srv;
  SimClient c = make_client(1, 1, 2);
  ASSERT_EQ(c.connect_path(srv, 0, true), 0);
  c.paths[0].recon_cnt++;
  EXPECT_EQ(c.connect_one(srv, 0, 0, true), -EBUSY);
  EXPECT_TRUE(srv.last_closed_path);
  srv.run_close_work();
  EXPECT_TRUE(srv.sessions.empty());
  // Without first_conn the server may not recreate it.
  EXPECT_EQ(c.connect_one(srv, 0, 0, false), -ENXIO);
  ASSERT_EQ(c.connect_path(srv, 0, true), 0);
  ASSERT_EQ(srv.sessions.size(), 1u);
  EXPECT_EQ(srv.find_path(c.paths_uuid, c.paths[0].sess_uuid)->recon_cnt, 1);
}

// ---------------------------------------------------------------------------
// Rejects, each with its exact errno; a reject changes nothing.

TEST(ConnAdmit, UnknownSessionWithoutFirstConnIsEnxio) {
  SimServer srv;
  const SimClient c = make_client(1, 1, 2);
  EXPECT_EQ(c.connect_one(srv, 0, 0, false), -ENXIO);
  EXPECT_EQ(srv.last_by, Refusal::kSession);
  EXPECT_NE(srv.last_why.find("no session"), std::string::npos) << srv.last_why;
  EXPECT_TRUE(srv.sessions.empty());
  // A cid other than 0 of an unknown session is no different.
  EXPECT_EQ(c.connect_one(srv, 0, 1, false), -ENXIO);
  EXPECT_EQ(c.connect_one(srv, 0, 0, true), 0);
}

TEST(ConnAdmit, PastMaxSessionsIsEmfile) {
  SimServer srv;
  srv.lim.max_sessions = 2;
  ASSERT_EQ(make_client(1, 1, 1, 1).connect_path(srv, 0, true), 0);
  ASSERT_EQ(make_client(2, 1, 1, 2).connect_path(srv, 0, true), 0);
  const SimClient third = make_client(3, 1, 1, 3);
  EXPECT_EQ(third.connect_path(srv, 0, true), -EMFILE);
  EXPECT_EQ(srv.last_by, Refusal::kSession);
  EXPECT_NE(srv.last_why.find("max_sessions sessions"), std::string::npos) << srv.last_why;
  EXPECT_EQ(srv.sessions.size(), 2u);
  // Existing sessions still take paths.
  SimClient one = make_client(1, 2, 1, 1);
  EXPECT_EQ(one.connect_path(srv, 1, false), 0);
  // A closed session frees its place.
  srv.schedule_close(&srv.sessions.front().paths.front());
  srv.schedule_close(&srv.sessions.front().paths.back());
  srv.run_close_work();
  EXPECT_EQ(third.connect_path(srv, 0, true), 0);
}

TEST(ConnAdmit, PastMaxSessionsPerPeerIsEusers) {
  SimServer srv;
  srv.lim.max_sessions_per_peer = 2;
  ASSERT_EQ(make_client(1, 1, 1, 7).connect_path(srv, 0, true), 0);
  ASSERT_EQ(make_client(2, 1, 1, 7).connect_path(srv, 0, true), 0);
  EXPECT_EQ(make_client(3, 1, 1, 7).connect_path(srv, 0, true), -EUSERS);
  EXPECT_EQ(srv.last_by, Refusal::kSession);
  EXPECT_NE(srv.last_why.find("max_sessions_per_peer"), std::string::npos) << srv.last_why;
  EXPECT_EQ(srv.sessions.size(), 2u);
  // Another host is not limited by host 7's sessions.
  EXPECT_EQ(make_client(4, 1, 1, 8).connect_path(srv, 0, true), 0);
  EXPECT_EQ(srv.sessions.size(), 3u);
}

TEST(ConnAdmit, PastMaxConnsPerPeerIsEusers) {
  SimServer srv;
  srv.lim.max_conns_per_peer = 4;
  const SimClient c = make_client(1, 2, 3, 5);
  ASSERT_EQ(c.connect_path(srv, 0, true), 0);
  ASSERT_EQ(c.connect_one(srv, 1, 0, false), 0);  // the 4th
  EXPECT_EQ(c.connect_one(srv, 1, 1, false), -EUSERS);
  EXPECT_EQ(srv.last_by, Refusal::kPeerConns);
  EXPECT_NE(srv.last_why.find("max_conns_per_peer"), std::string::npos) << srv.last_why;
  EXPECT_EQ(srv.last_peer_cons, 4u);
  EXPECT_EQ(srv.sessions.front().nr_cons, 4u);
  // Counted per host over every session of that host, before the session
  // lookup: a new session of the same host is refused the same way.
  EXPECT_EQ(make_client(2, 1, 1, 5).connect_one(srv, 0, 0, true), -EUSERS);
  EXPECT_EQ(srv.last_by, Refusal::kPeerConns);
  EXPECT_EQ(make_client(3, 1, 1, 5).connect_one(srv, 0, 0, false), -EUSERS) << "checked before ENXIO";
  EXPECT_EQ(srv.sessions.size(), 1u);
  // Another host is not.
  EXPECT_EQ(make_client(4, 1, 1, 6).connect_path(srv, 0, true), 0);
  EXPECT_EQ(srv.last_peer_cons, 0u);
}

TEST(ConnAdmit, MaxConnsPerPeerBelowOneRefusesAll) {
  SimServer srv;
  for (int max : {0, -1}) {
    srv.lim.max_conns_per_peer = max;
    EXPECT_EQ(make_client(1, 1, 1).connect_one(srv, 0, 0, true), -EUSERS) << max;
    EXPECT_EQ(srv.last_by, Refusal::kPeerConns);
    EXPECT_EQ(srv.last_peer_cons, 0u);
  }
  srv.lim.max_conns_per_peer = 1;
  EXPECT_EQ(make_client(1, 1, 1).connect_one(srv, 0, 0, true), 0);
  EXPECT_TRUE(srv.sessions.size() == 1);
}

TEST(ConnAdmit, PastMaxPathsIsEconnreset) {
  SimServer srv;
  const u32 n = ibtrs::wire::kMaxPaths;
  // 129 paths from distinct client addresses of one session.
  SimClient c{make_uuid(1, 0), {}};
  for (u32 i = 0; i <= n; i++) c.paths.push_back(SimClientPath{make_uuid(1, i + 1), 1000 + i, 100, 1});
  // The peer (the session's creator host) keeps under max_conns_per_peer.
  for (u32 i = 0; i < n; i++) ASSERT_EQ(c.connect_path(srv, i, i == 0), 0) << i;
  EXPECT_EQ(srv.sessions.front().paths.size(), n);
  EXPECT_EQ(c.connect_path(srv, n, false), -ECONNRESET);
  EXPECT_EQ(srv.last_by, Refusal::kPath);
  EXPECT_NE(srv.last_why.find("128 paths"), std::string::npos) << srv.last_why;
  EXPECT_EQ(srv.sessions.front().paths.size(), n);
  // A connection of an existing path is still fine at the limit... (all are
  // connected: EBUSY is the path's answer, not ECONNRESET)
  EXPECT_EQ(c.connect_one(srv, 5, 0, false), -EBUSY);
  // ...and one path less makes room.
  srv.schedule_close(&srv.sessions.front().paths.back());
  srv.run_close_work();
  EXPECT_EQ(c.connect_path(srv, n, false), 0);
}

TEST(ConnAdmit, SecondPathBetweenSameAddressesIsEexist) {
  SimServer srv;
  SimClient c = make_client(1, 2, 2);
  c.paths[1].server_host = c.paths[0].server_host;  // same src and dst hosts
  ASSERT_EQ(c.connect_path(srv, 0, true), 0);
  EXPECT_EQ(c.connect_one(srv, 1, 0, false), -EEXIST);
  EXPECT_EQ(srv.last_by, Refusal::kPath);
  EXPECT_NE(srv.last_why.find("between these addresses"), std::string::npos) << srv.last_why;
  EXPECT_EQ(srv.sessions.front().paths.size(), 1u);
  // Only both addresses equal clash: another client address is a new path.
  c.paths[1].client_host = 9;
  EXPECT_EQ(c.connect_path(srv, 1, false), 0);
  EXPECT_EQ(srv.sessions.front().paths.size(), 2u);
}

TEST(ConnAdmit, ConnectionOfAPathNotConnectingIsEbusy) {
  SimServer srv;
  const SimClient c = make_client(1, 1, 2);
  ASSERT_EQ(c.connect_path(srv, 0, true), 0);  // CONNECTED
  for (u16 cid = 0; cid < 2; cid++) {
    EXPECT_EQ(c.connect_one(srv, 0, cid, false), -EBUSY);
    EXPECT_EQ(srv.last_by, Refusal::kPath);
    EXPECT_NE(srv.last_why.find("not taking connections"), std::string::npos) << srv.last_why;
    EXPECT_FALSE(srv.last_closed_path) << "same recon_cnt: the path is not closed";
  }
  EXPECT_TRUE(srv.to_close.empty());
  EXPECT_EQ(srv.sessions.front().nr_cons, 2u);
}

TEST(ConnAdmit, CidNumMismatchIsEinval) {
  SimServer srv;
  SimClient c = make_client(1, 1, 3);
  ASSERT_EQ(c.connect_one(srv, 0, 0, true), 0);
  c.paths[0].cid_num = 4;
  EXPECT_EQ(c.connect_one(srv, 0, 1, true), -EINVAL);
  EXPECT_EQ(srv.last_by, Refusal::kPath);
  EXPECT_NE(srv.last_why.find("cid_num differs"), std::string::npos) << srv.last_why;
  c.paths[0].cid_num = 2;
  EXPECT_EQ(c.connect_one(srv, 0, 1, true), -EINVAL);
  c.paths[0].cid_num = 3;
  EXPECT_EQ(c.connect_one(srv, 0, 1, true), 0);
  EXPECT_EQ(srv.sessions.front().nr_cons, 2u);
}

TEST(ConnAdmit, CidAlreadyConnectedIsEinval) {
  SimServer srv;
  const SimClient c = make_client(1, 1, 3);
  ASSERT_EQ(c.connect_one(srv, 0, 0, true), 0);
  ASSERT_EQ(c.connect_one(srv, 0, 1, true), 0);
  EXPECT_EQ(c.connect_one(srv, 0, 1, true), -EINVAL);
  EXPECT_EQ(c.connect_one(srv, 0, 0, true), -EINVAL);
  EXPECT_EQ(srv.last_by, Refusal::kPath);
  EXPECT_NE(srv.last_why.find("already connected"), std::string::npos) << srv.last_why;
  EXPECT_EQ(srv.sessions.front().nr_cons, 2u);
  EXPECT_EQ(c.connect_one(srv, 0, 2, true), 0);
}

// Bad private data: decode_conn_req's errno, and the table is untouched.
TEST(ConnAdmit, BadPrivateDataIsRefusedByTheDecoder) {
  SimServer srv;
  const SimClient c = make_client(1, 1, 2);
  ASSERT_EQ(c.connect_one(srv, 0, 0, true), 0);
  const std::vector<u8> good = c.conn_req(0, 1, true);

  auto patched = [&](auto fn) {
    ConnReqWire w;
    std::memcpy(&w, good.data(), sizeof(w));
    fn(w);
    std::vector<u8> b(sizeof(w));
    std::memcpy(b.data(), &w, sizeof(w));
    return b;
  };
  struct Case {
    const char* what;
    std::vector<u8> buf;
    usize len;
    int err;
  };
  std::vector<Case> cases;
  cases.push_back({"truncated", good, good.size() - 1, -EBADMSG});
  cases.push_back({"empty", good, 0, -EBADMSG});
  cases.push_back({"magic", patched([](ConnReqWire& w) { w.magic.set(0x1234); }), 56, -EPROTO});
  cases.push_back({"major", patched([](ConnReqWire& w) { w.version.set(0x0300); }), 56, -EPROTONOSUPPORT});
  cases.push_back({"cid_num 0", patched([](ConnReqWire& w) { w.cid_num.set(0); }), 56, -ERANGE});
  cases.push_back({"cid >= cid_num", patched([](ConnReqWire& w) { w.cid.set(2); }), 56, -ERANGE});
  cases.push_back({"nil sess_uuid", patched([](ConnReqWire& w) { w.sess_uuid = Uuid{}; }), 56, -EPROTO});
  cases.push_back({"nil paths_uuid", patched([](ConnReqWire& w) { w.paths_uuid = Uuid{}; }), 56, -EPROTO});
  cases.push_back({"reserved flag", patched([](ConnReqWire& w) { w.flags |= 0x80; }), 56, -EPROTO});
  cases.push_back({"reserved byte", patched([](ConnReqWire& w) { w.reserved[3] = 1; }), 56, -EPROTO});
  for (const Case& k : cases) {
    EXPECT_EQ(srv.connect_request(k.buf.data(), k.len, 1, 100), k.err) << k.what;
    EXPECT_EQ(srv.last_by, Refusal::kNone) << k.what;
  }
  const SimSess& s = srv.sessions.front();
  EXPECT_EQ(srv.sessions.size(), 1u);
  EXPECT_EQ(s.nr_cons, 1u);
  EXPECT_EQ(s.paths.front().cons, (std::vector<bool>{true, false}));
  // The good one still passes.
  EXPECT_EQ(srv.connect_request(good.data(), good.size(), 1, 100), 0);
}

// ---------------------------------------------------------------------------
// Poll routing (con_route.h).

using ibtrs::con_route::kAdminCon;
using ibtrs::con_route::kIoCon;
using ibtrs::con_route::kPollCon;
using ibtrs::con_route::route;

TEST(ConRoute, ValidPollIndexGoesToItsPollConnection) {
  // 4 CPUs: cons 0 (admin), 1..4 (IO), 5..7 (poll 0..2).
  for (u32 idx = 0; idx < 3; idx++) {
    for (u32 cpu : {0u, 3u, 17u}) {
      const auto r = route(kPollCon, idx, 8, 5, cpu);
      EXPECT_EQ(r.index, 5 + idx);
      EXPECT_TRUE(r.poll);
    }
  }
}

TEST(ConRoute, InvalidPollIndexFallsBackToTheCpuConnection) {
  for (u32 idx : {3u, 4u, 1000u, ~0u}) {
    const auto r = route(kPollCon, idx, 8, 5, 6);
    EXPECT_EQ(r.index, 1 + 6 % 4) << idx;
    EXPECT_FALSE(r.poll) << idx;
  }
  // A path without poll connections.
  const auto r = route(kPollCon, 0, 5, 5, 2);
  EXPECT_EQ(r.index, 3u);
  EXPECT_FALSE(r.poll);
}

TEST(ConRoute, AdminGoesToConnectionZero) {
  for (u32 idx : {0u, 2u, ~0u}) {
    const auto r = route(kAdminCon, idx, 8, 5, 3);
    EXPECT_EQ(r.index, 0u);
    EXPECT_FALSE(r.poll);
  }
}

TEST(ConRoute, IoGoesToTheCpuConnection) {
  // poll_idx is ignored for IO.
  for (u32 cpu = 0; cpu < 12; cpu++) {
    const auto r = route(kIoCon, 0, 8, 5, cpu);
    EXPECT_EQ(r.index, 1 + cpu % 4) << cpu;
    EXPECT_FALSE(r.poll);
  }
  // One CPU: every IO on connection 1.
  EXPECT_EQ(route(kIoCon, 0, 2, 2, 0).index, 1u);
  EXPECT_EQ(route(kIoCon, 0, 2, 2, 5).index, 1u);
}

TEST(ConRoute, OneIrqConnectionUsesConnectionZero) {
  // nr_irq_cons == 1: no IO connection, IO and invalid poll go to con 0.
  EXPECT_EQ(route(kIoCon, 0, 1, 1, 0).index, 0u);
  EXPECT_EQ(route(kIoCon, 0, 1, 1, 7).index, 0u);
  EXPECT_EQ(route(kAdminCon, 0, 1, 1, 7).index, 0u);
  EXPECT_EQ(route(kPollCon, 0, 1, 1, 7).index, 0u);
  EXPECT_FALSE(route(kPollCon, 0, 1, 1, 7).poll);
  // With poll connections after con 0: valid indexes still poll.
  EXPECT_EQ(route(kPollCon, 1, 3, 1, 7).index, 2u);
  EXPECT_TRUE(route(kPollCon, 1, 3, 1, 7).poll);
  EXPECT_EQ(route(kPollCon, 2, 3, 1, 7).index, 0u);
  EXPECT_EQ(route(kIoCon, 1, 3, 1, 7).index, 0u);
}

// Every route stays inside the path and lands on the right kind of
// connection, over a range of layouts.
TEST(ConRoute, AlwaysInRangeAndOfTheRightKind) {
  for (u32 irq = 1; irq <= 9; irq++) {
    for (u32 polls = 0; polls <= 4; polls++) {
      const u32 n = irq + polls;
      for (u32 type : {kAdminCon, kIoCon, kPollCon}) {
        for (u32 idx = 0; idx < 7; idx++) {
          for (u32 cpu = 0; cpu < 20; cpu++) {
            const auto r = route(type, idx, n, irq, cpu);
            ASSERT_LT(r.index, n);
            ASSERT_EQ(r.poll, r.index >= irq);
            ASSERT_EQ(r.poll, type == kPollCon && idx < polls);
            if (type == kAdminCon) {
              ASSERT_EQ(r.index, 0u);
            }
            if (!r.poll && type != kAdminCon && irq > 1) {
              ASSERT_GE(r.index, 1u);
            }
          }
        }
      }
    }
  }
}

// Fail-over (failover.h) re-posts a poll request on another path: there it
// goes out on the same poll index, whatever CPU re-posts it, while an IO
// request follows the re-posting CPU.
struct RouteFabric {
  struct Req {
    u32 permit;
    u32 con_type;
    u32 poll_idx;
  };
  using Request = Req;
  struct Path {
    u32 nr_cons, nr_irq_cons;
    bool connected = true;
    ibtrs::mpath::PathMetrics metrics;
    ibtrs::failover::Slot slots[4];
    Req saved[4];
    u32 con[4] = {};  // the connection each permit went out on
    bool poll[4] = {};
  };
  std::vector<std::unique_ptr<Path>> paths;
  u32 cpu = 0;
  std::vector<int> completed;

  usize size() const { return paths.size(); }
  bool usable(usize i) const { return paths[i]->connected; }
  const ibtrs::mpath::PathMetrics& metrics(usize i) const { return paths[i]->metrics; }
  int try_post(u32 i, const Req& rq) {
    Path& p = *paths[i];
    if (!p.connected) return ibtrs::failover::kTryNextPath;
    if (!p.slots[rq.permit].claim()) return -EBUSY;
    const auto r = route(rq.con_type, rq.poll_idx, p.nr_cons, p.nr_irq_cons, cpu);
    p.con[rq.permit] = r.index;
    p.poll[rq.permit] = r.poll;
    p.saved[rq.permit] = rq;
    return 0;
  }
  usize nr_slots(u32) const { return 4; }
  ibtrs::failover::Slot& slot(u32 path, u32 i) { return paths[path]->slots[i]; }
  Req saved_request(u32 path, u32 i) { return paths[path]->saved[i]; }
  void detach(u32, u32) {}
  void moved(u32 path, u32 i, u32) { paths[path]->slots[i].release(); }
  void complete(u32 path, u32 i, int err) {
    paths[path]->slots[i].release();
    completed.push_back(err);
  }
};

TEST(ConRoute, FailoverKeepsThePollIndex) {
  RouteFabric f;
  // Two paths of one session: the same layout (5 irq cons: 4 CPUs; 3 poll).
  for (int i = 0; i < 2; i++) f.paths.push_back(std::unique_ptr<RouteFabric::Path>(new RouteFabric::Path{8, 5}));
  ibtrs::mpath::RrCursor cursor;
  ibtrs::mpath::PathMask only_path0;
  only_path0.set(1);
  f.cpu = 1;
  ASSERT_EQ(ibtrs::failover::submit(f, RouteFabric::Req{0, kPollCon, 2}, only_path0,
                                    ibtrs::mpath::MpathPolicy::kRoundRobin, cursor, 0),
            0);
  ASSERT_EQ(ibtrs::failover::submit(f, RouteFabric::Req{1, kIoCon, 0}, only_path0,
                                    ibtrs::mpath::MpathPolicy::kRoundRobin, cursor, 0),
            0);
  ASSERT_EQ(ibtrs::failover::submit(f, RouteFabric::Req{2, kPollCon, 0}, only_path0,
                                    ibtrs::mpath::MpathPolicy::kRoundRobin, cursor, 0),
            0);
  EXPECT_EQ(f.paths[0]->con[0], 7u);
  EXPECT_TRUE(f.paths[0]->poll[0]);
  EXPECT_EQ(f.paths[0]->con[1], 2u);
  EXPECT_EQ(f.paths[0]->con[2], 5u);

  // Path 0 dies; its teardown runs on CPU 3.
  f.paths[0]->connected = false;
  f.cpu = 3;
  const auto st = ibtrs::failover::fail_path(f, 0, -ECONNRESET, true, ibtrs::mpath::MpathPolicy::kRoundRobin,
                                             cursor, 0);
  EXPECT_EQ(st.moved, 3u);
  EXPECT_EQ(st.completed, 0u);
  EXPECT_TRUE(f.completed.empty());
  EXPECT_EQ(f.paths[1]->con[0], 7u) << "poll index 2 on path 1 too";
  EXPECT_TRUE(f.paths[1]->poll[0]);
  EXPECT_EQ(f.paths[1]->con[2], 5u) << "poll index 0 on path 1 too";
  EXPECT_TRUE(f.paths[1]->poll[2]);
  EXPECT_EQ(f.paths[1]->con[1], 4u) << "IO follows the re-posting CPU";
  EXPECT_FALSE(f.paths[1]->poll[1]);
}

}  // namespace
