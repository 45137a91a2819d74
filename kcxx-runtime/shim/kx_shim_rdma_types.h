/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-side definitions of the RDMA wrapper objects that C++ embeds by
 * value. Only the RDMA shim (rdma_cm.c, verbs.c) and layout/kx_layout_rdma.h
 * include this; C++ sees the size and alignment through kx_layout.h.
 */
#ifndef KX_SHIM_RDMA_TYPES_H
#define KX_SHIM_RDMA_TYPES_H

#include <linux/build_bug.h>
#include <rdma/ib_verbs.h>
#include <kx/shim_rdma.h>

/* A kx_ constant in shim_rdma.h equals the kernel's (compared as integers:
 * the two enums are different types). */
#define KX_MIRROR(kx, kernel) \
	static_assert((long)(kx) == (long)(kernel), #kx " mirrors " #kernel)

/*
 * A completion entry: the ib_cqe that a WR's wr_cqe points at, plus the C++
 * callback. The shim's done trampoline recovers it with container_of, turns
 * the ib_wc into a kx_wc and calls done(ctx, &wc).
 */
struct kx_cqe {
	struct ib_cqe cqe;
	void (*done)(void *ctx, const struct kx_wc *wc);
	void *ctx;
};

#endif /* KX_SHIM_RDMA_TYPES_H */
