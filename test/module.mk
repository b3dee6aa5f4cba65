# test/ — one Check binary holding every suite. Each test/check_<module>.c exports
# `Suite *<module>_suite(void)`; the table in check_main.c is generated from those
# definitions, so adding a file adds its suite. CK_RUN_SUITE / CK_RUN_CASE pick one.
TEST_SRCS  := $(wildcard test/check_*.c)
TEST_OBJS  := $(TEST_SRCS:%.c=$(BUILD)/%.o)
CHECK_BIN  := $(BUILD)/test/check_fw
TEST_BINS  := $(CHECK_BIN)

$(BUILD)/gen/check_suites.h: $(filter-out test/check_main.c,$(TEST_SRCS))
	@mkdir -p $(dir $@)
	@sed -n 's/^\([a-z0-9_]*_suite\)(void)$$/\1/p' $^ | sort -u | \
	  awk '{d = d "Suite *" $$1 "(void);\n"; t = t "    " $$1 ",\n"} \
	       END {printf "%s#define FW_SUITES \\\n%s\n", d, t}' | \
	  sed -e 's/,$$/, \\/' > $@.tmp && mv $@.tmp $@

$(BUILD)/test/check_main.o: $(BUILD)/gen/check_suites.h

# Suite constructors are found by the generated table, not through a header.
$(TEST_OBJS): ALL_CFLAGS += -Wno-missing-prototypes

$(CHECK_BIN): $(TEST_OBJS) $(LIB_OBJS) $(LIBFW)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs check)

test-bins: $(TEST_BINS) $(BINS)

check-unit: $(CHECK_BIN)
	@mkdir -p test/tmp
	$(CHECK_BIN)

# Every example config must pass its daemon's --check-config.
check-config: $(BINS)
	@sh test/check-configs.sh $(BUILD)/bin

check-it: $(BINS)
	@fail=0; for t in test/it/*.sh; do [ -f "$$t" ] || continue; \
	  echo "== $$t"; BUILD=$(BUILD) SHARED=$(SHARED) bash "$$t" || fail=1; done; \
	  [ $$fail = 0 ]
