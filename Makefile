# SPDX-License-Identifier: GPL-2.0
#
# make            build every module against the installed Debian kernel headers
# make check      install what is missing, build, unit tests, negative build
#                 tests, and the guest (qemu) tests
# make demo       boot the test bed and show the modules at work
# make unit       host unit tests only (GoogleTest, ASan + UBSan)
# make vmtest     guest tests only (CASES='glob ...' selects cases)
# make fuzz       host libFuzzer pass over the wire decoders and the map_device
#                 parser (FUZZ_SECONDS=30 per target)
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

.PHONY: all modules clean clean-modules check unit vmtest buildtests demo deps fuzz bench

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

vmtest: modules
	bash scripts/vm-test.sh $(CASES)

demo: modules
	bash scripts/demo.sh

bench: modules
	bash scripts/bench.sh

check:
	bash scripts/check.sh
