# tools/ — each tools/<name>/ directory with .c files is one program, bin/<name>.
TOOL_NAMES := $(sort $(patsubst tools/%/,%,$(dir $(wildcard tools/*/*.c))))

define fw_tool
$(1)_TOOL_OBJS := $$(patsubst %.c,$$(BUILD)/%.o,$$(wildcard tools/$(1)/*.c))
BINS += $$(BUILD)/bin/$(1)
$$(BUILD)/bin/$(1): $$($(1)_TOOL_OBJS) $$(LIBFW)
	@mkdir -p $$(dir $$@)
	$$(QUIET_LINK)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
$(1): $$(BUILD)/bin/$(1)
endef
$(foreach t,$(TOOL_NAMES),$(eval $(call fw_tool,$(t))))
