/* SPDX-License-Identifier: GPL-2.0 */
/*
 * blk-mq part of the generated kx_layout.h, included at the end of
 * layout/kx_layout.c (after <linux/kbuild.h>): sizes and alignments of the
 * block-layer objects C++ embeds by value. Compiled to assembly only.
 *
 * One scatterlist entry (the inline table after a PDU, kx::blk::Pdu) is
 * KX_SIZEOF_SCATTERLIST / KX_ALIGNOF_SCATTERLIST from kx_layout_rdma.h,
 * the same table type that kx::rdma DMA-maps.
 */
#include <linux/kbuild.h>
#include <linux/blk-mq.h>

void kx_layout_blk(void);
void kx_layout_blk(void)
{
	/* struct blk_mq_tag_set (kx::blk::TagSet) */
	DEFINE(KX_SIZEOF_BLK_TAG_SET, sizeof(struct blk_mq_tag_set));
	DEFINE(KX_ALIGNOF_BLK_TAG_SET, __alignof__(struct blk_mq_tag_set));
	/* alignment blk-mq guarantees for the PDU (it follows struct request) */
	DEFINE(KX_ALIGNOF_BLK_PDU, __alignof__(struct request));
}
