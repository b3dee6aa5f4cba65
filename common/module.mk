# common/ — libfw.a, shared by every daemon and tool.
common_SRCS := $(wildcard common/*.c)
common_OBJS := $(common_SRCS:%.c=$(BUILD)/%.o)
LIBFW       := $(BUILD)/libfw.a

$(LIBFW): $(common_OBJS)
	@mkdir -p $(dir $@)
	$(QUIET_AR)$(AR) rcs $@ $^
