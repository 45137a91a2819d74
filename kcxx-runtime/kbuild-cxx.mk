# SPDX-License-Identifier: GPL-2.0
#
# C++ support for kbuild, included by every module directory's Kbuild.
#
# A C++ object is compiled with kbuild's own c_flags minus the few that are
# C-only, by a rule built like rule_cc_o_c, so that fixdep dependency tracking,
# if_changed (rebuild when the command line changes) and objtool all apply
# (kernel-cxx.md §A2-A3). Flags are derived, never copied.
#
# A module directory's Kbuild does, with the include LAST (the shim rule
# needs the module lists):
#   obj-m          += foo.o
#   foo-y          := foo_cxx.o foo_main.o kx_shim_foo.o
#   include $(KBUILD_EXTMOD)/kcxx-runtime/kbuild-cxx.mk
# with exactly ONE C++ object per module (a unity file): two C++ objects that
# instantiate the same inline function break __mcount_loc / return-thunk
# patching (kernel-cxx.md §A4). kx_shim_<module>.o is that module's copy of
# the C shim.

KCXX_DIR := $(KBUILD_EXTMOD)/kcxx-runtime
KX_CXX ?= g++

ccflags-y += -I$(KCXX_DIR)/include

# C-only flags g++ rejects or warns about, and the forced includes whose
# _Generic/typeof macros do not parse as C++ (only kconfig.h comes back).
kx-cxx-drop := -std=gnu11 -Werror=strict-prototypes -Werror=implicit-function-declaration \
	-Werror=implicit-int -Werror=incompatible-pointer-types -Werror=designated-init \
	-Wno-pointer-sign -Wstrict-prototypes -Wdeclaration-after-statement \
	-Wno-declaration-after-statement -Wimplicit-fallthrough=5 \
	-include %/compiler_types.h %/compiler-version.h %/kconfig.h

kx_cxx_flags = $(filter-out $(kx-cxx-drop),$(c_flags)) \
	-include $(srctree)/include/linux/kconfig.h \
	-std=gnu++20 -fno-exceptions -fno-rtti -fno-threadsafe-statics -nostdinc++ \
	-fno-use-cxa-atexit -Wno-missing-field-initializers -Werror \
	-I$(KCXX_DIR) -I$(KBUILD_EXTMOD) -I$(KBUILD_EXTMOD)/include -I$(obj)

quiet_cmd_cxx_o_cpp = CXX $(quiet_modtag) $@
      cmd_cxx_o_cpp = $(KX_CXX) $(kx_cxx_flags) -c -o $@ $< $(cmd_objtool)

# Global constructors are silently never run (CONFIG_CONSTRUCTORS is unset),
# so an object that has them is refused. Runtime symbols the kernel does not
# provide are refused here with a clear message; modpost would also refuse
# them as undefined (tests/build proves both layers; KX_CXX_SYMCHECK=0
# disables this one to show modpost's).
kx-forbidden-undef := _Znwm _Znam _ZnwmSt11align_val_t __cxa_atexit __cxa_guard_acquire \
	__cxa_guard_release __dso_handle __gxx_personality_v0 _Unwind_Resume __cxa_throw atexit
KX_CXX_SYMCHECK ?= 1
quiet_cmd_cxx_check = CXXCHK  $@
      cmd_cxx_check = \
	if $(READELF) -SW $@ | grep -qE ' \.(init_array|ctors|preinit_array)'; then \
		echo "$@: error: C++ global constructor (.init_array/.ctors): constructors never run in this kernel; initialise explicitly" >&2; \
		rm -f $@; false; fi; \
	if [ "$(KX_CXX_SYMCHECK)" = 1 ]; then \
		bad=$$($(NM) -u $@ | awk '{print $$2}' | grep -xE '$(subst $(space),|,$(strip $(kx-forbidden-undef)))' | tr '\n' ' '); \
		if [ -n "$$bad" ]; then \
			echo "$@: error: needs C++ runtime symbols the kernel does not have: $$bad(plain new / static destructor / guarded static / exceptions)" >&2; \
			rm -f $@; false; fi; fi

define rule_cxx_o_cpp
	$(call cmd_and_fixdep,cxx_o_cpp)
	$(call cmd,cxx_check)
	$(call cmd,gen_objtooldep)
endef

$(obj)/%.o: $(src)/%.cpp $(obj)/kx_layout.h FORCE
	$(call if_changed_rule,cxx_o_cpp)

# One C++ translation unit per module, enforced: a module whose object list
# names two objects built from .cpp files is refused before anything builds.
kx-cxx-srcs := $(patsubst %.cpp,%.o,$(notdir $(wildcard $(src)/*.cpp)))
kx-multi-tu-modules := $(foreach m,$(obj-m),$(if $(word 2,$(filter $(kx-cxx-srcs),$($(m:.o=-y)))),$(m:.o=.ko)))
ifneq ($(strip $(kx-multi-tu-modules)),)
$(error $(kx-multi-tu-modules): more than one C++ translation unit in a module; use one unity .cpp that includes the others (kernel-cxx.md A4))
endif

# Each module's own copy of the C shim. A static pattern rule, so that the
# stem ($*) is the whole object name: kbuild derives KBUILD_MODNAME from it.
kx-shim-objs := $(addprefix $(obj)/,$(filter kx_shim_%.o,$(foreach m,$(obj-m),$($(m:.o=-y)))))
$(kx-shim-objs): $(obj)/%.o: $(KCXX_DIR)/shim/kx_shim_all.c FORCE
	$(call if_changed_rule,cc_o_c)

# kx_layout.h: sizes/alignments of embedded kernel objects and GFP values,
# generated from the real headers with the asm-offsets technique.
$(obj)/kx_layout.s: $(KCXX_DIR)/layout/kx_layout.c FORCE
	$(call if_changed_dep,cc_s_c)

$(obj)/kx_layout.h: $(obj)/kx_layout.s FORCE
	$(call filechk,offsets,KX_LAYOUT_H)

targets += kx_layout.s kx_layout.h
