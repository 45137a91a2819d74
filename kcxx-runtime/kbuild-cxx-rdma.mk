# SPDX-License-Identifier: GPL-2.0
#
# Opt-in RDMA shim (rdma_cm + verbs, kcxx-runtime/shim/kx_shim_rdma_all.c).
# Modules that use kx/rdma.h list one more object and include this file
# after kbuild-cxx.mk:
#   obj-m          += foo.o
#   foo-y          := foo_cxx.o foo_main.o kx_shim_foo.o kx_rdma_shim_foo.o
#   include $(KBUILD_EXTMOD)/kcxx-runtime/kbuild-cxx.mk
#   include $(KBUILD_EXTMOD)/kcxx-runtime/kbuild-cxx-rdma.mk
# kx_rdma_shim_<module>.o is that module's copy of the RDMA shim; modpost then
# records ib_core and rdma_cm in the module's "depends". The name must not
# start with kx_shim_ (kbuild-cxx.mk builds every kx_shim_%.o from
# kx_shim_all.c).
#
# A static pattern rule as in kbuild-cxx.mk, so that the stem ($*) is the
# whole object name and kbuild derives KBUILD_MODNAME from the module lists.
ifndef KCXX_DIR
$(error kbuild-cxx-rdma.mk: include kcxx-runtime/kbuild-cxx.mk first)
endif
kx-rdma-shim-objs := $(addprefix $(obj)/,$(filter kx_rdma_shim_%.o,$(foreach m,$(obj-m),$($(m:.o=-y)))))
$(kx-rdma-shim-objs): $(obj)/%.o: $(KCXX_DIR)/shim/kx_shim_rdma_all.c FORCE
	$(call if_changed_rule,cc_o_c)
