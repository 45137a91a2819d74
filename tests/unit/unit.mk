# SPDX-License-Identifier: GPL-2.0
# Host unit tests: the C++ core and kx runtime headers, built for userspace
# against the fake kernel (kcxx-runtime/user), with GoogleTest under ASan and
# UBSan. Every tests/unit/*_test.cpp is one test source. Output in build/unit.

CXX ?= g++
BUILD := build/unit
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# The same language subset as the kernel build: no exceptions, no RTTI.
CXXFLAGS := -std=gnu++20 -DKX_USERSPACE -DKX_DEBUG -fno-exceptions -fno-rtti -g -O1 \
	-Wall -Wextra -Werror -Wno-missing-field-initializers $(SANITIZE) -pthread -MMD -MP \
	-I kcxx-runtime/include -I kcxx-runtime/user -I kcxx-runtime -I . -I include
LDFLAGS := $(SANITIZE) -pthread
LDLIBS := -lgtest -lgtest_main

TEST_SRCS := $(sort $(wildcard tests/unit/*_test.cpp))
SUPPORT_SRCS := kcxx-runtime/user/user_shim.cpp kcxx-runtime/runtime/runtime.cpp
# The ibnbd command-line tool's library (everything but main) for its tests.
TOOL_SRCS := $(filter-out tools/ibnbd/main.cpp,$(sort $(wildcard tools/ibnbd/*.cpp)))
OBJS := $(patsubst %.cpp,$(BUILD)/%.o,$(TEST_SRCS) $(SUPPORT_SRCS) $(TOOL_SRCS))

.PHONY: run build
build: $(BUILD)/unit_tests

run: $(BUILD)/unit_tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		$(BUILD)/unit_tests --gtest_brief=1

$(BUILD)/unit_tests: $(OBJS)
	$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c -o $@ $<

-include $(OBJS:.o=.d)
