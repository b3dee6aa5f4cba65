# common/ — libfw.a, shared by every daemon and tool.
# fw_regex.cc is the one C++ file: RE2's C++ API behind a C interface.
common_SRCS := $(wildcard common/*.c) $(wildcard common/*.cc)
common_OBJS := $(patsubst %.cc,$(BUILD)/%.o,$(common_SRCS:%.c=$(BUILD)/%.o))
LIBFW       := $(BUILD)/libfw.a

$(LIBFW): $(common_OBJS)
	@mkdir -p $(dir $@)
	$(QUIET_AR)$(AR) rcs $@ $^
