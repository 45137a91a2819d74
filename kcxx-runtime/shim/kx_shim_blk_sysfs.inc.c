// SPDX-License-Identifier: GPL-2.0
/*
 * The blk-mq and sysfs shims, included by kx_shim_all.c. Both subsystems are
 * built into every kernel this project supports (no module dependency), so
 * every module carries them; THIS_MODULE in them is the including module.
 */
#include "blk.c"
#include "sysfs.c"
