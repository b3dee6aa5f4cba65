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
	$(QUIET_LINK)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs check)

check-unit: $(CHECK_BIN)
	@mkdir -p test/tmp
	$(CHECK_BIN)

# Every example config must pass its daemon's --check-config.
check-config: $(BINS)
	@sh test/check-configs.sh $(BUILD)/bin

# A script that cannot run here exits 77 and is counted as skipped, never as passed. Each
# script's wall time is printed after it (CI's 90 minutes: which scripts to make faster).
check-it: $(BINS)
	@pass=0; fail=0; skip=0; failed=""; skipped=""; t0=$$(date +%s); for t in test/it/*.sh; do case $$t in test/it/lib.sh | test/it/receivers_lib.sh) continue;; esac; \
	  echo "== $$t"; s=$$(date +%s); BUILD=$(BUILD) SHARED=$(SHARED) bash "$$t"; rc=$$?; \
	  echo "-- $$t: exit $$rc after $$(($$(date +%s) - s)) s"; \
	  if [ $$rc = 0 ]; then pass=$$((pass + 1)); \
	  elif [ $$rc = 77 ]; then skip=$$((skip + 1)); skipped="$$skipped $$t"; \
	  else fail=$$((fail + 1)); failed="$$failed $$t"; fi; done; \
	  [ -z "$$skipped" ] || echo "check-it: skipped:$$skipped"; \
	  [ -z "$$failed" ] || echo "check-it: failed:$$failed"; \
	  echo "check-it: $$pass passed, $$fail failed, $$skip skipped in $$(($$(date +%s) - t0)) s"; [ $$fail = 0 ]

# Fuzz targets: test/fuzz/fuzz_<target>.c. `make check` links each with replay.c and replays
# test/fuzz/corpus/<target>/; `make fuzz` builds real libFuzzer binaries with clang into
# $(FUZZ_BUILD); run one as $(FUZZ_BUILD)/fuzz_<t> -max_total_time=60 NEWDIR test/fuzz/corpus/<t>.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SRCS    := $(wildcard test/fuzz/fuzz_*.c)
# the fuzz objects see the daemons' headers
$(FUZZ_SRCS:%.c=$(BUILD)/%.o): ALL_CFLAGS += $(DAEMONS:%=-I%)
FUZZ_TARGETS := $(FUZZ_SRCS:test/fuzz/fuzz_%.c=%)
REPLAY_BINS  := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/replay_%)
TEST_BINS    += $(REPLAY_BINS)

$(BUILD)/fuzz/replay_%: $(BUILD)/test/fuzz/fuzz_%.o $(BUILD)/test/fuzz/replay.o $(LIB_OBJS) $(LIBFW)
	@mkdir -p $(dir $@)
	$(QUIET_LINK)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

check-fuzz: $(REPLAY_BINS)
	@for t in $(FUZZ_TARGETS); do printf 'check-fuzz: %s: ' $$t; \
	  $(BUILD)/fuzz/replay_$$t test/fuzz/corpus/$$t || exit 1; done

fuzz:
	@command -v clang >/dev/null || { echo "fuzz: needs clang (apt-get install clang)"; exit 1; }
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang CXX=clang++ SANITIZE=fuzzer-no-link,address,undefined CFLAGS="-O1 -g -Wno-missing-field-initializers" $(LIBFW:$(BUILD)/%=$(FUZZ_BUILD)/%) \
	  $(foreach t,$(FUZZ_TARGETS),$(FUZZ_BUILD)/test/fuzz/fuzz_$(t).o) $(LIB_OBJS:$(BUILD)/%=$(FUZZ_BUILD)/%)
	@for t in $(FUZZ_TARGETS); do \
	  clang -fsanitize=fuzzer,address,undefined -o $(FUZZ_BUILD)/fuzz_$$t $(FUZZ_BUILD)/test/fuzz/fuzz_$$t.o \
	    $(LIB_OBJS:$(BUILD)/%=$(FUZZ_BUILD)/%) $(FUZZ_BUILD)/libfw.a $(LDLIBS) && echo "built $(FUZZ_BUILD)/fuzz_$$t"; done

# Last, so that every += above is seen.
test-bins: $(TEST_BINS) $(BINS)

# Conformance runners (upstream test data in $(SHARED)/conformance; skipped when absent).
# The OpenMetrics runner links the exposition parser (common/fw_expfmt); the rules runner
# drives ruled's loader.
OM_CONF_BIN := $(BUILD)/test/conformance/openmetrics
$(OM_CONF_BIN): $(BUILD)/test/conformance/openmetrics.o $(LIBFW)
	@mkdir -p $(dir $@)
	$(QUIET_LINK)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: check-conformance-om check-conformance-rules
check-conformance-om: $(OM_CONF_BIN)
	@$(OM_CONF_BIN) test/conformance/openmetrics.floor

check-conformance-rules: $(BUILD)/bin/ruled $(BUILD)/bin/tsdb
	@BUILD=$(BUILD) SHARED=$(SHARED) bash test/conformance/rules.sh test/conformance/rules.floor
	@BUILD=$(BUILD) SHARED=$(SHARED) bash test/conformance/rules_unittest.sh

# PromQL conformance: the upstream promqltest scripts from $(SHARED)/conformance/promql run
# against a real tsdb (loaded through fwpush); fails when an eval fails that
# test/conformance/promql-known-failures.txt does not list, or one it lists passes.
.PHONY: check-conformance
check-conformance: $(BUILD)/bin/tsdb $(BUILD)/bin/fwpush
	@BUILD=$(BUILD) SHARED=$(SHARED) python3 test/conformance/promql.py

# Keep intermediate objects (replay.o) so make does not delete and rebuild them.
.SECONDARY:
