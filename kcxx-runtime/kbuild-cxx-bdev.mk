# SPDX-License-Identifier: GPL-2.0
#
# Opt-in storage-backend shim (kcxx-runtime/shim/bdev.c: block devices and
# regular files as IBNBD backing stores). Modules that use kx/bdev.h list one
# more object and include this file after kbuild-cxx.mk:
#   obj-m          += foo.o
#   foo-y          := foo_cxx.o foo_main.o kx_shim_foo.o kx_bdev_shim_foo.o
#   include $(KBUILD_EXTMOD)/kcxx-runtime/kbuild-cxx.mk
#   include $(KBUILD_EXTMOD)/kcxx-runtime/kbuild-cxx-bdev.mk
# kx_bdev_shim_<module>.o is that module's copy of the shim. The block layer
# and VFS are built into the kernel, so this adds no module dependency; it is
# opt-in only to keep modules that do no storage IO small. The name must not
# start with kx_shim_ (kbuild-cxx.mk builds every kx_shim_%.o from
# kx_shim_all.c). A static pattern rule, so that the stem ($*) is the whole
# object name and kbuild derives KBUILD_MODNAME from the module lists.
ifndef KCXX_DIR
$(error kbuild-cxx-bdev.mk: include kcxx-runtime/kbuild-cxx.mk first)
endif
kx-bdev-shim-objs := $(addprefix $(obj)/,$(filter kx_bdev_shim_%.o,$(foreach m,$(obj-m),$($(m:.o=-y)))))
$(kx-bdev-shim-objs): $(obj)/%.o: $(KCXX_DIR)/shim/bdev.c FORCE
	$(call if_changed_rule,cc_o_c)
