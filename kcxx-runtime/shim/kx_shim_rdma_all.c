// SPDX-License-Identifier: GPL-2.0
/*
 * The RDMA shim, for modules that opt in (kbuild-cxx-rdma.mk): built once per
 * module as kx_rdma_shim_<module>.o, next to that module's kx_shim_<module>.o.
 * Kept out of kx_shim_all.c because these symbols make a module depend on
 * ib_core and rdma_cm at load time, which only RDMA modules may do.
 */
#include "rdma_cm.c"
#include "verbs.c"
