/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Layout of the userspace fake kernel (user_shim.cpp), the counterpart of the
 * kbuild-generated kx_layout.h. Sizes are generous upper bounds; the shim
 * static_asserts that its objects fit. LOCK_CLASS_KEY is 0, as in a kernel
 * without lockdep, so the C++ side's ">= 1 byte" rule is exercised too.
 */
#ifndef KX_LAYOUT_H
#define KX_LAYOUT_H

#define KX_SIZEOF_SPINLOCK 64
#define KX_ALIGNOF_SPINLOCK 8
#define KX_SIZEOF_MUTEX 64
#define KX_ALIGNOF_MUTEX 8
#define KX_SIZEOF_COMPLETION 160
#define KX_ALIGNOF_COMPLETION 8
#define KX_SIZEOF_WAITQ 160
#define KX_ALIGNOF_WAITQ 8
#define KX_SIZEOF_WORK 96
#define KX_ALIGNOF_WORK 8
#define KX_SIZEOF_DWORK 128
#define KX_ALIGNOF_DWORK 8
#define KX_SIZEOF_TIMER 128
#define KX_ALIGNOF_TIMER 8
#define KX_SIZEOF_LOCK_CLASS_KEY 0
#define KX_ALIGNOF_LOCK_CLASS_KEY 1

/* Arbitrary distinct bits; only the shim interprets them. */
#define KX_GFP_KERNEL 0x0cc0
#define KX_GFP_NOIO 0x0c00
#define KX_GFP_ATOMIC 0x0a20
#define KX_GFP_NOWAIT 0x0800
#define KX_GFP_ZERO 0x0100
#define KX_GFP_NOWARN 0x2000

#define KX_PAGE_SIZE 4096
#define KX_PAGE_SHIFT 12
#define KX_CACHELINE 64

#endif
