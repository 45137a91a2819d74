# SPDX-License-Identifier: GPL-2.0
# The ibnbd command-line tool: plain userspace C++20, no kernel headers.
# Built by `make tool` into build/tools/ibnbd (the unit tests compile the same
# sources, minus main.cpp, into build/unit/unit_tests).
CXX ?= g++
BUILD := build/tools
TOOL_CXXFLAGS := -std=c++20 -O2 -g -Wall -Wextra -Werror -D_FORTIFY_SOURCE=2 -fstack-protector-strong -MMD -MP
SRCS := $(sort $(wildcard tools/ibnbd/*.cpp))
OBJS := $(patsubst tools/ibnbd/%.cpp,$(BUILD)/obj/%.o,$(SRCS))

$(BUILD)/ibnbd: $(OBJS)
	$(CXX) -o $@ $^

$(BUILD)/obj/%.o: tools/ibnbd/%.cpp tools/ibnbd/tool.mk
	@mkdir -p $(dir $@)
	$(CXX) $(TOOL_CXXFLAGS) $(CXXFLAGS) -c -o $@ $<

-include $(OBJS:.o=.d)
