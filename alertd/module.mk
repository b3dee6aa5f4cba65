# alertd/ — see STYLE.md: alertd/alertd_main.c is main(); every other alertd/*.c is the daemon's library,
# also linked into the unit tests. alertd/alertd.example.yml is the embedded default config.
alertd_EMBED := $(BUILD)/gen/embed_alertd_default.o
$(eval $(call fw_embed,alertd/alertd.example.yml,alertd_default))
$(eval $(call fw_daemon,alertd))

# The build's identity for /api/v2/status versionInfo, rewritten only when it changes.
$(BUILD)/gen/alertd_buildinfo.h: FORCE
	@mkdir -p $(dir $@)
	@sh tools/buildinfo.sh > $@.tmp && { cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@; }
$(BUILD)/alertd/alertd_api.o: $(BUILD)/gen/alertd_buildinfo.h
