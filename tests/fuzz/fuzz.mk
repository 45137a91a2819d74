# SPDX-License-Identifier: GPL-2.0
# Host fuzzing: one libFuzzer target per wire-decoder family, built from the
# same portable C++ core the kernel modules compile (ibtrs/core, ibnbd/core)
# with clang, libFuzzer, ASan and UBSan. See docs/fuzzing.md.
#
#   make -f tests/fuzz/fuzz.mk build            build every target
#   make -f tests/fuzz/fuzz.mk run              run each target FUZZ_SECONDS (30)
#   make -f tests/fuzz/fuzz.mk run FUZZ_TARGETS=rtrs_imm_fuzz FUZZ_SECONDS=60
#   make -f tests/fuzz/fuzz.mk replay           every seed once, no fuzzing
#   make -f tests/fuzz/fuzz.mk seeds            regenerate tests/fuzz/corpus
#   make -f tests/fuzz/fuzz.mk coverage         source coverage of the decoders
#                                               reached by the last run's corpus
#
# Targets run one after the other (one fuzzer process at a time), each from a
# fresh COPY of its checked-in seed corpus in build/fuzz/corpus/<target>; the
# checked-in corpus is never written by a run. Crash/timeout/OOM inputs land
# in build/fuzz/artifacts/<target>/, full logs in build/fuzz/logs/.
#
# Needs clang++ (14 here) and the libFuzzer/sanitizer runtimes: on Debian
# bookworm the packages clang-14 and libclang-rt-14-dev.

SHELL := /bin/bash
FUZZ_CXX ?= $(shell command -v clang++-14 2>/dev/null || command -v clang++ 2>/dev/null || echo clang++)
FUZZ_SECONDS ?= 30
# Limits: an input that takes FUZZ_TIMEOUT seconds, or a process above
# FUZZ_RSS_MB, is a finding too (no decoder here should need either).
FUZZ_TIMEOUT ?= 5
FUZZ_RSS_MB ?= 1024
FUZZ_MAX_LEN ?= 4096
FUZZ_EXTRA ?=

BUILD := build/fuzz
SRCDIR := tests/fuzz
SEEDS := $(SRCDIR)/corpus

FUZZ_TARGETS ?= $(sort $(patsubst $(SRCDIR)/%.cpp,%,$(wildcard $(SRCDIR)/*_fuzz.cpp)))

# The unit tests' language subset and host defines (tests/unit/unit.mk).
LANG := -std=gnu++20 -DKX_USERSPACE -DKX_DEBUG -fno-exceptions -fno-rtti
INCS := -I kcxx-runtime/include -I kcxx-runtime/user -I kcxx-runtime -I . -I include
WARN := -Wall -Wextra -Werror -Wno-missing-field-initializers
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# Targets get libFuzzer's coverage instrumentation; the support sources
# (kx_* hooks: kx_bug() aborts, logging, allocation) only the sanitizers, so
# that coverage figures count the code under test and the target.
TARGET_FLAGS := $(LANG) $(INCS) $(WARN) -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer -MMD -MP
SUPPORT_FLAGS := $(LANG) $(INCS) $(WARN) -g -O1 $(SAN) -MMD -MP
SEEDGEN_FLAGS := $(LANG) $(INCS) $(WARN) -g -O1 $(SAN) -MMD -MP

SUPPORT_SRCS := kcxx-runtime/user/user_shim.cpp kcxx-runtime/runtime/runtime.cpp
SUPPORT_OBJS := $(patsubst %.cpp,$(BUILD)/support/%.o,$(SUPPORT_SRCS))
BINS := $(addprefix $(BUILD)/,$(FUZZ_TARGETS))

.PHONY: build run replay seeds coverage clean
.SECONDARY:
build: $(BINS)

$(BUILD)/support/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(SUPPORT_FLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: $(SRCDIR)/%.cpp
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(TARGET_FLAGS) -c -o $@ $<

$(BUILD)/%_fuzz: $(BUILD)/obj/%_fuzz.o $(SUPPORT_OBJS)
	$(FUZZ_CXX) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -pthread -o $@ $^

$(BUILD)/make_seeds: $(SRCDIR)/make_seeds.cpp $(SUPPORT_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(SEEDGEN_FLAGS) -pthread -o $@ $(filter %.cpp %.o,$^)

# Rewrites the checked-in seeds from the encoders (deterministic).
seeds: $(BUILD)/make_seeds
	$(BUILD)/make_seeds $(SEEDS)

# Every checked-in seed through its target once (a regression pass).
replay: $(BINS)
	@passed=0; failed=0; \
	for t in $(FUZZ_TARGETS); do \
		n=$$(ls $(SEEDS)/$$t | wc -l); \
		if $(BUILD)/$$t -runs=0 $(SEEDS)/$$t >$(BUILD)/$$t.replay.log 2>&1; then \
			echo "replay $$t: $$n seeds ok"; passed=$$((passed + 1)); \
		else \
			echo "replay $$t: FAILED (log: $(BUILD)/$$t.replay.log)"; tail -n 30 $(BUILD)/$$t.replay.log; \
			failed=$$((failed + 1)); \
		fi; \
	done; \
	echo "fuzz replay: $$passed passed, $$failed failed"; \
	test $$failed = 0

# One target after the other, each for FUZZ_SECONDS, from a fresh copy of its
# seeds. A target fails on any crash, timeout, OOM or violated property
# (libFuzzer exits non-zero and leaves an artifact).
run: $(BINS)
	@mkdir -p $(BUILD)/logs; passed=0; failed=0; \
	for t in $(FUZZ_TARGETS); do \
		corpus=$(BUILD)/corpus/$$t; art=$(BUILD)/artifacts/$$t; log=$(BUILD)/logs/$$t.log; \
		rm -rf $$corpus $$art; mkdir -p $$corpus $$art; cp $(SEEDS)/$$t/* $$corpus/; \
		seeds=$$(ls $$corpus | wc -l); \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(BUILD)/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) \
			-rss_limit_mb=$(FUZZ_RSS_MB) -max_len=$(FUZZ_MAX_LEN) -print_final_stats=1 \
			-artifact_prefix=$$art/ $(FUZZ_EXTRA) $$corpus >$$log 2>&1; \
		rc=$$?; \
		crashes=$$(find $$art -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \
			-o -name 'leak-*' \) | wc -l); \
		total=$$(sed -nE 's/.*Loaded [0-9]+ modules +\(([0-9]+) inline 8-bit counters\).*/\1/p' $$log | head -n1); \
		last=$$(grep -E '^#[0-9]+' $$log | tail -n1); \
		cov=$$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$$last"); \
		ft=$$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$$last"); \
		execs=$$(sed -nE 's/^stat::number_of_executed_units: ([0-9]+)/\1/p' $$log); \
		eps=$$(sed -nE 's/^stat::average_exec_per_sec: +([0-9]+)/\1/p' $$log); \
		corp=$$(ls $$corpus | wc -l); \
		if [[ $$rc == 0 && $$crashes == 0 && -n $$execs ]]; then \
			verdict=ok; passed=$$((passed + 1)); \
		else \
			verdict="FAILED (exit $$rc, log $$log)"; failed=$$((failed + 1)); \
			[[ $$crashes == 0 && $$rc != 0 ]] && crashes=1; \
		fi; \
		printf 'fuzz %-18s %4ss  execs: %s (%s/s)  cov: %s/%s  ft: %s  corpus: %s -> %s  crashes: %s  %s\n' \
			$$t $(FUZZ_SECONDS) "$${execs:-?}" "$${eps:-?}" "$${cov:-?}" "$${total:-?}" "$${ft:-?}" \
			$$seeds $$corp $$crashes "$$verdict"; \
		if [[ $$verdict != ok ]]; then \
			grep -E 'ERROR: |PROPERTY VIOLATED|kx BUG|runtime error|Test unit written' $$log | head -n 10; \
		fi; \
	done; \
	echo "fuzz: $$passed passed, $$failed failed"; \
	test $$failed = 0

# Source-based coverage (clang -fprofile-instr-generate) of the code under
# test: every input of build/fuzz/corpus/<target> (the last run's corpus, or
# the seeds if there was no run) replayed once by an instrumented build,
# reported per header by llvm-cov (Debian package llvm-14).
LLVM_PROFDATA ?= $(shell command -v llvm-profdata-14 2>/dev/null || echo llvm-profdata)
LLVM_COV ?= $(shell command -v llvm-cov-14 2>/dev/null || echo llvm-cov)
COV_FILES := ibtrs/core/wire.h ibnbd/core/proto.h ibnbd/core/map_options.h ibnbd/core/dev_path.h
COV_FLAGS := $(LANG) $(INCS) $(WARN) -g -O1 -fsanitize=fuzzer -fprofile-instr-generate \
	-fcoverage-mapping -MMD -MP
COV_BINS := $(addprefix $(BUILD)/cov/,$(FUZZ_TARGETS))

$(BUILD)/cov/obj/%.o: $(SRCDIR)/%.cpp
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(COV_FLAGS) -c -o $@ $<

$(BUILD)/cov/support/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(LANG) $(INCS) $(WARN) -g -O1 -c -o $@ $<

$(BUILD)/cov/%_fuzz: $(BUILD)/cov/obj/%_fuzz.o $(patsubst %.cpp,$(BUILD)/cov/support/%.o,$(SUPPORT_SRCS))
	$(FUZZ_CXX) -fsanitize=fuzzer -fprofile-instr-generate -pthread -o $@ $^

coverage: $(COV_BINS)
	@rm -f $(BUILD)/cov/*.profraw; \
	for t in $(FUZZ_TARGETS); do \
		corpus=$(BUILD)/corpus/$$t; [[ -d $$corpus ]] || corpus=$(SEEDS)/$$t; \
		LLVM_PROFILE_FILE=$(BUILD)/cov/$$t.profraw $(BUILD)/cov/$$t -runs=0 $$corpus \
			>$(BUILD)/cov/$$t.log 2>&1 || { echo "coverage: $$t replay failed"; exit 1; }; \
	done; \
	$(LLVM_PROFDATA) merge -sparse $(BUILD)/cov/*.profraw -o $(BUILD)/cov/all.profdata && \
	$(LLVM_COV) report $(firstword $(COV_BINS)) $(addprefix -object ,$(wordlist 2,99,$(COV_BINS))) \
		-instr-profile=$(BUILD)/cov/all.profdata $(COV_FILES) >$(BUILD)/cov/report.txt && \
	awk '/^TOTAL/ || /\.h / { \
		printf "fuzz coverage %-24s regions %7s (%d/%d)  functions %7s  lines %7s  branches %7s\n", \
			$$1, $$4, $$2 - $$3, $$2, $$7, $$10, $$13 }' $(BUILD)/cov/report.txt

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/support/*/*/*.d $(BUILD)/make_seeds.d \
	$(BUILD)/cov/obj/*.d $(BUILD)/cov/support/*/*/*.d)
