# common/ — libfw.a, shared by every daemon and tool.
# fw_regex.cc is the one C++ file: RE2's C++ API behind a C interface.
common_SRCS := $(wildcard common/*.c) $(wildcard common/*.cc)
common_OBJS := $(patsubst %.cc,$(BUILD)/%.o,$(common_SRCS:%.c=$(BUILD)/%.o))
LIBFW       := $(BUILD)/libfw.a

# common/fw_tmpl_default.tmpl, floorwatch's default notification templates, compiled in as
# fw_embed_fw_tmpl_default (common/fw_tmpl_default.c parses it).
$(eval $(call fw_embed,common/fw_tmpl_default.tmpl,fw_tmpl_default))
common_OBJS += $(BUILD)/gen/embed_fw_tmpl_default.o
# one string of about 20 KB: past C99's 4095-byte minimum, which GCC and Clang exceed
$(BUILD)/gen/embed_fw_tmpl_default.o: ALL_CFLAGS += -Wno-overlength-strings

$(LIBFW): $(common_OBJS)
	@mkdir -p $(dir $@)
	$(QUIET_AR)$(AR) rcs $@ $^
