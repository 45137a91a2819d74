/* SPDX-License-Identifier: GPL-2.0 */
// IBTRS client: which connection of a path a request goes out on.
//
// Portable core: no allocation, no state, no kernel header. Used by
// ibtrs/client/ibtrs_clt.cpp (ClEnv::try_post) and by the host unit tests
// (tests/unit/ibtrs_conn_admit_test.cpp).
//
// A path's connections (ClPath::cons):
//   [0]                          admin: set-up, INFO, heartbeats, admin IO
//   [1, nr_irq_cons)             IO, one per online CPU (softirq CQs)
//   [nr_irq_cons, nr_cons)       poll connections (ibtrs_clt_permit_set_poll)
//
// Every path of a session is built with the same layout, so a request keeps
// its connection index, in particular its poll index, when fail-over re-posts
// it on another path: the polling user keeps reaping it with
// ibtrs_clt_rdma_cq_direct(poll_idx).
#pragma once

#include <kx/types.h>

namespace ibtrs::con_route {

using kx::u32;

// The values of enum ibtrs_con_type (include/ibtrs.h; ibtrs_clt.cpp pins
// them with static_asserts).
inline constexpr u32 kAdminCon = 0;
inline constexpr u32 kIoCon = 1;
inline constexpr u32 kPollCon = 2;

struct Route {
  u32 index;  // into the path's cons
  bool poll;  // a poll connection (counted in stats/poll)
};

// con_type and poll_idx: the permit's. nr_cons: the path's connections,
// nr_irq_cons of them softirq ones (1 <= nr_irq_cons <= nr_cons). cpu: the
// submitting CPU.
//
//  * kPollCon with poll_idx < nr_cons - nr_irq_cons: the poll connection
//    nr_irq_cons + poll_idx.
//  * kAdminCon: connection 0.
//  * otherwise (kIoCon, or kPollCon with an index this path does not have):
//    the CPU's IO connection 1 + cpu % (nr_irq_cons - 1); connection 0 when
//    the path has no IO connection (nr_irq_cons == 1).
// Any context; pure.
constexpr Route route(u32 con_type, u32 poll_idx, u32 nr_cons, u32 nr_irq_cons, u32 cpu) {
  if (con_type == kPollCon && poll_idx < nr_cons - nr_irq_cons) return Route{nr_irq_cons + poll_idx, true};
  if (con_type != kAdminCon && nr_irq_cons > 1) return Route{1 + cpu % (nr_irq_cons - 1), false};
  return Route{0, false};
}

}  // namespace ibtrs::con_route
