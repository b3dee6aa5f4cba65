# tsdb/ — see STYLE.md: tsdb/tsdb_main.c is main(); every other tsdb/*.c is the daemon's library,
# also linked into the unit tests. tsdb/tsdb.example.yml is the embedded default config.
tsdb_EMBED := $(BUILD)/gen/embed_tsdb_default.o
$(eval $(call fw_embed,tsdb/tsdb.example.yml,tsdb_default))
$(eval $(call fw_daemon,tsdb))
