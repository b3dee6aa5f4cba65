# ruled/ — see STYLE.md: ruled/ruled_main.c is main(); every other ruled/*.c is the daemon's library,
# also linked into the unit tests. ruled/ruled.example.yml is the embedded default config.
ruled_EMBED := $(BUILD)/gen/embed_ruled_default.o
$(eval $(call fw_embed,ruled/ruled.example.yml,ruled_default))
$(eval $(call fw_daemon,ruled))
