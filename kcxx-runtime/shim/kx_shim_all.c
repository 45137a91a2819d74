// SPDX-License-Identifier: GPL-2.0
/*
 * Every module links its own copy of the shim (kbuild builds this file once
 * per module as kx_shim_<module>.o, see kbuild-cxx.mk), so KBUILD_MODNAME in
 * log lines names the module that logged, and no runtime module has to be
 * loaded first. The per-subsystem files stay separate and plain.
 */
#include "mem.c"
#include "sync.c"
#include "work.c"
#include "percpu.c"
#include "kx_shim_blk_sysfs.inc.c"
