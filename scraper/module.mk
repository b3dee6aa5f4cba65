# scraper/ — see STYLE.md: scraper/scraper_main.c is main(); every other scraper/*.c is the daemon's library,
# also linked into the unit tests. scraper/scraper.example.yml is the embedded default config.
scraper_EMBED := $(BUILD)/gen/embed_scraper_default.o
$(eval $(call fw_embed,scraper/scraper.example.yml,scraper_default))
$(eval $(call fw_daemon,scraper))
