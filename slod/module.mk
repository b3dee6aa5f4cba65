# slod/ — see STYLE.md: slod/slod_main.c is main(); every other slod/*.c is the daemon's library,
# also linked into the unit tests. slod/slod.example.yml is the embedded default config.
slod_EMBED := $(BUILD)/gen/embed_slod_default.o
$(eval $(call fw_embed,slod/slod.example.yml,slod_default))
$(eval $(call fw_daemon,slod))
