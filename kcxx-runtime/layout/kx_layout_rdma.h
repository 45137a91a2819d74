/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RDMA part of the generated kx_layout.h, included at the end of
 * layout/kx_layout.c (after <linux/kbuild.h>): sizes and alignments of the
 * RDMA objects C++ embeds by value. Like kx_layout.c, this is compiled to
 * assembly only, so including the RDMA headers here adds no module dependency.
 */
#ifndef KX_LAYOUT_RDMA_H
#define KX_LAYOUT_RDMA_H

#include <linux/kbuild.h>
#include <linux/scatterlist.h>
#include <linux/socket.h>
#include <rdma/ib_verbs.h>
#include "../shim/kx_shim_rdma_types.h"

void kx_layout_rdma(void);
void kx_layout_rdma(void)
{
	/* struct kx_cqe: ib_cqe + C++ callback (kx::rdma::Cqe) */
	DEFINE(KX_SIZEOF_CQE, sizeof(struct kx_cqe));
	DEFINE(KX_ALIGNOF_CQE, __alignof__(struct kx_cqe));
	/* one scatterlist entry (kx::rdma::SgTable) */
	DEFINE(KX_SIZEOF_SCATTERLIST, sizeof(struct scatterlist));
	DEFINE(KX_ALIGNOF_SCATTERLIST, __alignof__(struct scatterlist));
	/* struct sockaddr_storage (kx::rdma::SockAddr) */
	DEFINE(KX_SIZEOF_SOCKADDR, sizeof(struct sockaddr_storage));
	DEFINE(KX_ALIGNOF_SOCKADDR, __alignof__(struct sockaddr_storage));
}

#endif /* KX_LAYOUT_RDMA_H */
