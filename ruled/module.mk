# ruled/ — see STYLE.md: ruled/ruled_main.c is main(); every other ruled/*.c is the daemon's library,
# also linked into the unit tests. ruled/ruled.example.yml is the embedded default config;
# ruled/ruled.rules.yml and ruled/ruled.prices.yml are the rule files it names, embedded too.
ruled_EMBED := $(BUILD)/gen/embed_ruled_default.o $(BUILD)/gen/embed_ruled_rules.o \
	$(BUILD)/gen/embed_ruled_prices.o
$(eval $(call fw_embed,ruled/ruled.example.yml,ruled_default))
$(eval $(call fw_embed,ruled/ruled.rules.yml,ruled_rules))
$(eval $(call fw_embed,ruled/ruled.prices.yml,ruled_prices))
# The plant's rules are longer than the 4095 bytes ISO C promises for a string literal;
# gcc and clang take any length.
$(BUILD)/gen/embed_ruled_rules.o: ALL_CFLAGS += -Wno-overlength-strings
$(eval $(call fw_daemon,ruled))
