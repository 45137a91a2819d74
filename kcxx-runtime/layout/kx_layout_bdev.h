/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Storage-backend part of the generated kx_layout.h, included at the end of
 * layout/kx_layout.c: size and alignment of the per-IO object C++ embeds
 * (kx::bdev::Io). Compiled to assembly only.
 */
#ifndef KX_LAYOUT_BDEV_H
#define KX_LAYOUT_BDEV_H

#include <linux/kbuild.h>
#include "../shim/kx_shim_bdev_types.h"

void kx_layout_bdev(void);
void kx_layout_bdev(void)
{
	DEFINE(KX_SIZEOF_BDEV_IO, sizeof(struct kx_bdev_io));
	DEFINE(KX_ALIGNOF_BDEV_IO, __alignof__(struct kx_bdev_io));
}

#endif /* KX_LAYOUT_BDEV_H */
