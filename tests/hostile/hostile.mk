# SPDX-License-Identifier: GPL-2.0
# The hostile RTRS peer (userspace, librdmacm + libibverbs), built on the
# host; the test guest runs it from the same path (tests/vm/cases/80-*.sh).
# Output: build/hostile/ibtrs-hostile.

CXX ?= g++
BUILD := build/hostile
HOSTILE_CXXFLAGS := -std=gnu++20 -DKX_USERSPACE -O2 -g -Wall -Wextra -Werror \
	-Wno-missing-field-initializers -fno-exceptions -fno-rtti -MMD -MP \
	-I kcxx-runtime/include -I kcxx-runtime/user -I kcxx-runtime -I . -I include

.PHONY: build
build: $(BUILD)/ibtrs-hostile

$(BUILD)/ibtrs-hostile: tests/hostile/hostile.cpp
	@mkdir -p $(BUILD)
	$(CXX) $(HOSTILE_CXXFLAGS) -o $@ $< -lrdmacm -libverbs

-include $(BUILD)/ibtrs-hostile.d
