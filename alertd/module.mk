# alertd/ — see STYLE.md: alertd/alertd_main.c is main(); every other alertd/*.c is the daemon's library,
# also linked into the unit tests. alertd/alertd.example.yml is the embedded default config.
alertd_EMBED := $(BUILD)/gen/embed_alertd_default.o
$(eval $(call fw_embed,alertd/alertd.example.yml,alertd_default))
$(eval $(call fw_daemon,alertd))
