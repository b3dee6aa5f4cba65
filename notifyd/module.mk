# notifyd/ — see STYLE.md: notifyd/notifyd_main.c is main(); every other notifyd/*.c is the daemon's library,
# also linked into the unit tests. notifyd/notifyd.example.yml is the embedded default config.
notifyd_EMBED := $(BUILD)/gen/embed_notifyd_default.o
$(eval $(call fw_embed,notifyd/notifyd.example.yml,notifyd_default))
$(eval $(call fw_daemon,notifyd))
