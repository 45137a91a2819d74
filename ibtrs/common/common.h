/* SPDX-License-Identifier: GPL-2.0 */
// Code shared by ibtrs-server and ibtrs-client, included by each module's
// unity translation unit (one C++ object per module, kernel-cxx.md §A4).
#pragma once

#include <kx/kx.h>
#include <kx/rdma.h>
#include <ibtrs/core/wire.h>
#include <ibtrs.h>

namespace ibtrs {

using namespace kx;
namespace rdma = kx::rdma;

// rdma_cm timeouts for address/route resolution and connection set-up
// (upstream RTRS_CONNECT_TIMEOUT_MS).
inline constexpr u32 kConnectTimeoutMs = 30000;
// Max length of "src@dst" path names ("ip:..." twice and the '@').
inline constexpr usize kPathNameMax = 2 * IBTRS_ADDR_STR_MAX;

// ERR_PTR / IS_ERR for the C API.
template <typename T> inline T* err_ptr(int err) {
  return reinterpret_cast<T*>(static_cast<uptr>(static_cast<isize>(err)));
}

// A fixed-size array of non-movable T (locks, Cqe, lists...), allocated once
// and default-constructed in place; elements are destroyed in reverse order.
template <typename T>
class Array {
 public:
  Array() = default;
  static Result<Array> create(usize n, Gfp gfp) {
    if (n == 0) return Array();
    if (n > ~usize(0) / sizeof(T)) return Error(-EOVERFLOW);
    T* p = static_cast<T*>(alloc_raw(n * sizeof(T), gfp | kGfpZero));
    if (!p) return Error(-ENOMEM);
    for (usize i = 0; i < n; i++) new (&p[i]) T();
    return Array(p, n);
  }
  Array(Array&& o) : data_(exchange(o.data_, nullptr)), size_(exchange(o.size_, 0)) {}
  Array& operator=(Array&& o) {
    if (this != &o) {
      reset();
      data_ = exchange(o.data_, nullptr);
      size_ = exchange(o.size_, 0);
    }
    return *this;
  }
  KX_NONCOPYABLE(Array);
  ~Array() { reset(); }
  void reset() {
    if (!data_) return;
    for (usize i = size_; i-- > 0;) data_[i].~T();
    free_raw(exchange(data_, nullptr));
    size_ = 0;
  }
  T& operator[](usize i) {
    KX_BUG_ON(i >= size_);
    return data_[i];
  }
  usize size() const { return size_; }
  T* data() { return data_; }

 private:
  Array(T* p, usize n) : data_(p), size_(n) {}
  T* data_ = nullptr;
  usize size_ = 0;
};

// Bounded string copy; always NUL-terminates (cap > 0).
inline usize copy_str(char* dst, usize cap, const char* src, usize max_src = ~usize(0)) {
  usize n = 0;
  while (n + 1 < cap && n < max_src && src[n]) {
    dst[n] = src[n];
    n++;
  }
  dst[n] = '\0';
  return n;
}

// "ip:10.99.0.2@ip:10.99.0.1" (upstream rtrs_addr_to_str order: src@dst).
inline void format_path_name(char* out, usize cap, const rdma::SockAddr& src,
                             const rdma::SockAddr& dst) {
  char a[IBTRS_ADDR_STR_MAX], b[IBTRS_ADDR_STR_MAX];
  if (src.to_str(a, sizeof(a)) < 0) copy_str(a, sizeof(a), "?");
  if (dst.to_str(b, sizeof(b)) < 0) copy_str(b, sizeof(b), "?");
  usize n = copy_str(out, cap, a);
  if (n + 1 < cap) {
    out[n++] = '@';
    copy_str(out + n, cap - n, b);
  }
}

// The REG_MR fence. Soft-RoCE (rdma_rxe, Linux 6.1) re-executes the local
// operations (REG_MR, LOCAL_INV) that are still in a send queue behind an
// unacknowledged WQE whenever it retransmits (req_retry rewinds to the
// oldest uncompleted WQE and the requester runs every local op again). A
// REG_MR run a second time finds its MR valid ("rxe_reg_fast_mr: ... not
// free"), the QP stops sending and no completion reports it: requests
// behind it are lost without an error (seen on both paths of a session under
// load and link flaps). rxe runs a LOCAL_INV only once every earlier WQE
// has completed, and invalidating an MR that is never registered is
// idempotent; so a LOCAL_INV of such a fence MR posted in front of each
// REG_MR keeps the REG_MR out of every retransmission window. Cost: the
// REG_MR waits for the acknowledgement of what was posted before it on
// that queue. Not tested on hardware HCAs (only on rxe); there the fence is
// one more local WR per REG_MR.
class RegFence {
 public:
  static Result<RegFence> create(rdma::Pd& pd) {
    return RegFence(KX_TRY(rdma::FastRegMr::create(pd, 1)));
  }
  RegFence() = default;
  // Unsignaled; completions (flush errors included) go to cqe.
  rdma::SendWr wr(kx_cqe* cqe) { return mr_.local_inv_wr(cqe, 0); }
  void reset() { mr_.reset(); }

 private:
  explicit RegFence(rdma::FastRegMr mr) : mr_(move(mr)) {}
  rdma::FastRegMr mr_;
};

// Unsignaled sends with a signal interval: every interval-th WR posted on a
// send queue is SIGNALED, so the SQ slots of the unsignaled WRs before it
// are reclaimed by its completion. The SQ is sized for the WRs of every
// request that can be in flight plus one interval.
class SignalCounter {
 public:
  void init(u32 interval) { interval_ = interval ? interval : 1; }
  // flags for the last WR of a chain of n WRs.
  u32 flags_for(u32 n) {
    const u32 before = count_.fetch_add(n);
    return (before / interval_ != (before + n) / interval_) ? KX_SEND_SIGNALED : 0;
  }

 private:
  Atomic<u32> count_{0};
  u32 interval_ = 1;
};

// The RC QP of a cm_id. Teardown order (ClPath::stop, SrvPath::teardown):
// rdma_disconnect (QP to error) -> nothing posts any more (submitters / ops
// accounted) -> drain() -> reset() (rdma_destroy_qp) -> free the CQ, which
// waits for a running completion handler -> fail whatever is still in
// flight.
//
// Why drain before destroy: soft-RoCE in 6.1 runs a QP's requester,
// completer and responder as tasklets that schedule one another, and its
// destroy kills them one by one with an unlocked "destroyed" check; a
// completer still flushing the queue can re-schedule the requester after
// its tasklet_kill, leaving a tasklet of a freed QP queued (the kernel's
// "tasklet SCHED state not set" WARN in tasklet_clear_sched, seen while
// the hostile peer made the server tear down thousands of paths). Once
// ib_drain_qp has seen the flush of its marker WRs on both queues, those
// tasks are idle and the error state refuses new packets, so nothing
// schedules them during the destroy. The drain needs one free SQ and RQ
// slot and CQ entry each: the queues and CQs are sized with room to spare.
class QpHandle {
 public:
  QpHandle() = default;
  static Result<QpHandle> create(rdma::CmId& id, rdma::Pd& pd, rdma::Cq& send_cq,
                                 rdma::Cq& recv_cq, rdma::QpCaps& caps) {
    kx_qp* qp = nullptr;
    KX_TRY(to_result(kx_cm_create_qp(id.get(), pd.get(), send_cq.get(), recv_cq.get(), &caps, &qp)));
    return QpHandle(id.get(), qp);
  }
  QpHandle(QpHandle&& o) : id_(exchange(o.id_, nullptr)), qp_(exchange(o.qp_, nullptr)) {}
  QpHandle& operator=(QpHandle&& o) {
    if (this != &o) {
      reset();
      id_ = exchange(o.id_, nullptr);
      qp_ = exchange(o.qp_, nullptr);
    }
    return *this;
  }
  KX_NONCOPYABLE(QpHandle);
  ~QpHandle() { reset(); }

  // ib_drain_qp: QP to error, waits for the flush of everything posted
  // (see the class comment). Call after rdma_disconnect, once nothing
  // posts any more, with the CQs still alive. Process context.
  void drain() {
    if (qp_) kx_ib_drain_qp(qp_);
  }
  // rdma_destroy_qp. Process context.
  void reset() {
    if (!qp_) return;
    qp_ = nullptr;
    kx_cm_destroy_qp(exchange(id_, nullptr));
  }
  Result<void> post_send(const rdma::SendWr* wrs, u32 n, u32* bad = nullptr) {
    return to_result(kx_ib_post_send(qp_, wrs, n, bad));
  }
  Result<void> post_send(const rdma::SendWr& wr) { return post_send(&wr, 1); }
  Result<void> post_recv(kx_cqe* cqe, const rdma::Sge* sges = nullptr, u32 n = 0) {
    return to_result(kx_ib_post_recv(qp_, cqe, sges, n));
  }
  kx_qp* get() const { return qp_; }

 private:
  QpHandle(kx_cm_id* id, kx_qp* qp) : id_(id), qp_(qp) {}
  kx_cm_id* id_ = nullptr;
  kx_qp* qp_ = nullptr;
};

// Completion status worth a log line (flushes are the normal end of a QP).
inline bool wc_flushed(const rdma::Wc& wc) { return wc.status == KX_WC_WR_FLUSH_ERR; }

}  // namespace ibtrs
