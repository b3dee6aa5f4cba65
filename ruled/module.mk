# ruled/ — see STYLE.md: ruled/ruled_main.c is main(); every other ruled/*.c is the daemon's library,
# also linked into the unit tests. ruled/ruled.example.yml is the embedded default config;
# ruled/ruled.rules.yml is the rule file it names, embedded too.
ruled_EMBED := $(BUILD)/gen/embed_ruled_default.o $(BUILD)/gen/embed_ruled_rules.o
$(eval $(call fw_embed,ruled/ruled.example.yml,ruled_default))
$(eval $(call fw_embed,ruled/ruled.rules.yml,ruled_rules))
$(eval $(call fw_daemon,ruled))
