# SPDX-License-Identifier: GPL-2.0
#
# make            build every module against the installed Debian kernel headers
# make check      install what is missing, build, unit tests, negative build
#                 tests, and the guest (qemu) tests
# make demo       boot the test bed and show the modules at work
# make unit       host unit tests only (GoogleTest, ASan + UBSan)
# make hostile    the userspace hostile RTRS peer (tests/hostile) for case 80
# make vmtest     guest tests only (CASES='glob ...' selects cases)
# make vmreboot   two-guest storage reboot test (scripts/vm-reboot-test.sh)
# make fuzz       host libFuzzer pass over the wire decoders and the map_device
#                 parser (FUZZ_SECONDS=30 per target)
# make tool       the ibnbd command-line tool (build/tools/ibnbd)
# make install    the built modules into /lib/modules/$(KVER)/updates/ + depmod,
#                 the tool into $(PREFIX)/sbin, its man page, the udev rule;
#                 DESTDIR=, PREFIX= (default /usr/local) honoured; modules must
#                 be built first (`make`), the tool is built if needed
# make uninstall  the reverse
# make bench      one guest boot: ibnbd vs upstream rnbd vs NVMe-oF RDMA vs local
#                 null_blk vs raw soft-RoCE; regenerates docs/benchmarks.md
#                 (BENCH_ROUNDS, BENCH_RUNTIME, BENCH_SMOKE=1; see scripts/bench.sh)
#
# KVER=<version> or KDIR=<build dir> override the kernel; by default the
# newest /lib/modules entry with a build link and a /boot/vmlinuz is used.

SHELL := /bin/bash
ROOT := $(CURDIR)
KVER ?= $(shell $(ROOT)/scripts/kver.sh 2>/dev/null)
KDIR ?= /lib/modules/$(KVER)/build
KX_CXX ?= g++
J ?= $(shell nproc)

.PHONY: all modules clean clean-modules check unit vmtest vmreboot buildtests demo deps fuzz hostile \
	tool install install-modules install-tool uninstall bench

all: modules

modules:
	@test -d "$(KDIR)" || { echo "no kernel build dir '$(KDIR)': run 'make deps' (or set KVER/KDIR)" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(ROOT) KX_CXX=$(KX_CXX) -j$(J) modules

clean: clean-modules
	rm -rf build

# Kbuild output only (keeps build/ with the unit-test objects and logs).
clean-modules:
	-$(MAKE) -C $(KDIR) M=$(ROOT) clean >/dev/null 2>&1
	find . \( -name '*.o' -o -name '*.ko' -o -name '*.cmd' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name 'kx_layout.[hs]' -o -name 'modules.order' -o -name 'Module.symvers' \) \
		-not -path './.git/*' -not -path './kcxx-runtime/user/*' -delete

deps:
	bash scripts/deps.sh

unit:
	$(MAKE) -f tests/unit/unit.mk -j$(J) run

buildtests:
	KDIR=$(KDIR) KX_CXX=$(KX_CXX) bash tests/build/run.sh

fuzz:
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

# The userspace hostile RTRS peer that guest case 80 runs (build/hostile).
hostile:
	$(MAKE) -f tests/hostile/hostile.mk build

vmtest: modules hostile tool
	bash scripts/vm-test.sh $(CASES)

# Two guests: storage (server guest) power-off and reboot under fio verify.
vmreboot: modules
	bash scripts/vm-reboot-test.sh

demo: modules
	bash scripts/demo.sh

bench: modules
	bash scripts/bench.sh

check:
	bash scripts/check.sh

# ---- the ibnbd tool and installation -----------------------------------------
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
UDEVRULESDIR ?= /etc/udev/rules.d
INSTALL_MOD_DIR ?= updates
DEPMOD ?= $(shell PATH=$$PATH:/sbin:/usr/sbin command -v depmod)
MODINFO ?= $(shell PATH=$$PATH:/sbin:/usr/sbin command -v modinfo)
MODDIR = $(DESTDIR)/lib/modules/$(KVER)/$(INSTALL_MOD_DIR)
# The product modules: every .ko kbuild left under ibtrs/ and ibnbd/ (the
# test modules under tests/ are never installed).
PRODUCT_KO_DIRS := ibtrs ibnbd

tool:
	$(MAKE) -f tools/ibnbd/tool.mk

install: install-modules install-tool

# Modules are not rebuilt here (a kbuild run as root in a packaging step is a
# surprise); each must have been built for $(KVER) (checked by vermagic).
install-modules:
	@test -n "$(KVER)" || { echo "install: no kernel version: set KVER=" >&2; exit 1; }
	@kos=$$(find $(PRODUCT_KO_DIRS) -name '*.ko' 2>/dev/null | sort); \
	test -n "$$kos" || { echo "install: no modules built: run 'make modules' first" >&2; exit 1; }; \
	for ko in $$kos; do \
		vm=$$($(MODINFO) -F vermagic "$$ko" | cut -d' ' -f1); \
		test "$$vm" = "$(KVER)" || { echo "install: $$ko was built for '$$vm', not $(KVER): rebuild with 'make modules KVER=$(KVER)'" >&2; exit 1; }; \
		echo "  INSTALL $(MODDIR)/$$ko"; \
		install -D -m 0644 "$$ko" "$(MODDIR)/$$ko" || exit 1; \
	done
	@if [ -z "$(DESTDIR)" ]; then echo "  DEPMOD  $(KVER)"; $(DEPMOD) -a $(KVER); \
	else echo "  (DESTDIR set: run 'depmod -a $(KVER)' on the target)"; fi

install-tool: tool
	install -D -m 0755 build/tools/ibnbd $(DESTDIR)$(SBINDIR)/ibnbd
	install -D -m 0644 tools/ibnbd/ibnbd.8 $(DESTDIR)$(MANDIR)/man8/ibnbd.8
	mkdir -p $(DESTDIR)$(UDEVRULESDIR)
	sed 's|@SBINDIR@|$(SBINDIR)|g' tools/ibnbd/udev/90-ibnbd.rules.in >$(DESTDIR)$(UDEVRULESDIR)/90-ibnbd.rules

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/ibnbd $(DESTDIR)$(MANDIR)/man8/ibnbd.8 $(DESTDIR)$(UDEVRULESDIR)/90-ibnbd.rules
	@test -n "$(KVER)" || { echo "uninstall: no kernel version: set KVER=" >&2; exit 1; }
	for d in $(PRODUCT_KO_DIRS); do rm -rf "$(MODDIR)/$$d"; done
	@if [ -z "$(DESTDIR)" ]; then $(DEPMOD) -a $(KVER); fi
