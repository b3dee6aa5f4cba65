# floorwatch — one non-recursive Makefile; each directory adds itself through module.mk.
#
#   make            build every daemon and tool into $(BUILD)/bin
#   make check      install missing Debian packages, build with -Werror, run all tests
#   make run        install, build, start the whole stack on loopback (embedded defaults)
#   make asan       the same tests under AddressSanitizer + UBSan (in build-asan/)
#   make bench      side-by-side benchmarks against Prometheus/Alertmanager (needs ../shared)

BUILD    ?= build
SHARED   ?= ../shared
# Tests run from several directories, so they get the shared material's absolute path.
override SHARED := $(abspath $(SHARED))
export SHARED
PREFIX   ?= /usr/local
CC       ?= cc
CXX      ?= c++
SANITIZE ?=

# Libraries we link, by pkg-config name, and the Debian packages that provide them.
PKGS      := libczmq libzmq yaml-0.1 jansson libcurl lmdb libmicrohttpd re2 libxxhash libcrypto snappy \
             gnutls libcrypt libidn2
TEST_PKGS := check
DEB_BUILD := build-essential pkg-config clang-format libczmq-dev libzmq3-dev libyaml-dev libjansson-dev \
             libcurl4-openssl-dev liblmdb-dev libmicrohttpd-dev libre2-dev libxxhash-dev check libsubunit-dev \
             libssl-dev libsnappy-dev libgnutls28-dev libcrypt-dev libidn2-dev
DEB_TEST  := prometheus prometheus-alertmanager prometheus-node-exporter python3-aiosmtpd curl \
             jq python3 python3-yaml procps iproute2 linux-perf openssl
# `make fuzz`: clang with its libFuzzer and sanitizer runtimes.
DEB_FUZZ  := clang libclang-rt-dev

WARN   := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla \
          -Wwrite-strings -Wformat=2 -fno-common -Werror
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) $(CFLAGS) \
             -Icommon -I$(BUILD)/gen -MMD -MP $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# common/fw_regex.cc: C++17 for RE2's headers, no exceptions or RTTI of our own.
CXXWARN := -Wall -Wextra -Wpedantic -Wshadow -Wvla -Wformat=2 -Werror
ALL_CXXFLAGS = -std=c++17 -fno-exceptions -fno-rtti $(CXXWARN) $(CFLAGS) -Icommon -MMD -MP \
               $(shell pkg-config --cflags re2 2>/dev/null)
# The C link needs libstdc++ for RE2.
LDLIBS  = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lstdc++ -lm -lpthread
ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
ALL_CXXFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS    += -fsanitize=$(SANITIZE)
endif

DAEMONS := scraper tsdb ruled alertd notifyd slod
TOOLS   :=
BINS    :=
TEST_SRCS :=
GEN_SRCS  :=

.PHONY: manifests test-bins check-fuzz fuzz check-wire all deps deps-fuzz check check-unit check-it check-config check-headers check-kustomize \
        check-empty run asan bench clean install format-check $(DAEMONS)
all:


# --- flags file: a change of compiler flags rebuilds everything (git's GIT-CFLAGS) ---
$(BUILD)/.flags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(ALL_CFLAGS) $(CXX) $(ALL_CXXFLAGS) $(LDFLAGS)' | cmp -s - $@ || \
	  echo '$(CC) $(ALL_CFLAGS) $(CXX) $(ALL_CXXFLAGS) $(LDFLAGS)' > $@
FORCE:

# Quiet by default, like git's Makefile; V=1 shows the commands.
ifneq ($(V),1)
QUIET_CC   = @echo '   ' CC $@;
QUIET_CXX  = @echo '   ' CXX $@;
QUIET_LINK = @echo '   ' LINK $@;
QUIET_AR   = @echo '   ' AR $@;
QUIET_GEN  = @echo '   ' GEN $@;
endif

$(BUILD)/%.o: %.c $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.cc $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(QUIET_CXX)$(CXX) $(ALL_CXXFLAGS) -c -o $@ $<

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c $(BUILD)/.flags
	$(QUIET_CC)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Embedded default configs: $(eval $(call fw_embed,FILE,NAME)) turns FILE into the C string
# `const char fw_embed_NAME[]` compiled into $(BUILD)/gen/embed_NAME.o.
define fw_embed
$(BUILD)/gen/embed_$(2).c: $(1) tools/embed.sh
	@mkdir -p $$(dir $$@)
	$$(QUIET_GEN)sh tools/embed.sh $(1) fw_embed_$(2) > $$@
endef

# $(eval $(call fw_daemon,NAME)): every NAME/*.c except NAME_main.c is NAME's library (also
# linked into the unit-test binary); NAME_EMBED lists extra generated objects.
define fw_daemon
$(1)_SRCS     := $$(filter-out $(1)/$(1)_main.c,$$(wildcard $(1)/*.c))
$(1)_OBJS     := $$($(1)_SRCS:%.c=$$(BUILD)/%.o) $$($(1)_EMBED)
LIB_OBJS      += $$($(1)_OBJS)
BINS          += $$(BUILD)/bin/$(1)
$$(BUILD)/bin/$(1): $$(BUILD)/$(1)/$(1)_main.o $$($(1)_OBJS) $$(LIBFW)
	@mkdir -p $$(dir $$@)
	$$(QUIET_LINK)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
$(1): $$(BUILD)/bin/$(1)
endef

include common/module.mk
include $(wildcard scraper/module.mk tsdb/module.mk ruled/module.mk alertd/module.mk \
                   notifyd/module.mk slod/module.mk tools/module.mk test/module.mk)

all: $(BINS)

# --- setup: install what is missing, as the README promises ---
deps:
	@sh tools/deps.sh $(DEB_BUILD) $(DEB_TEST)

deps-fuzz:
	@sh tools/deps.sh $(DEB_BUILD) $(DEB_FUZZ)
fuzz: deps-fuzz

# --- tests ---
check: deps
	$(MAKE) all test-bins
	$(MAKE) format-check check-unit check-fuzz check-config check-wire check-headers check-kustomize check-conformance check-conformance-om check-conformance-rules check-it check-empty

asan: deps
	$(MAKE) BUILD=build-asan SANITIZE=address,undefined all test-bins
	$(MAKE) BUILD=build-asan SANITIZE=address,undefined check-unit check-fuzz check-config check-conformance check-conformance-om check-conformance-rules check-it check-empty

check-headers:
	@fail=0; for h in common/*.h $(foreach d,$(DAEMONS),$(wildcard $(d)/*.h)); do \
	  printf "#include \"%s\"\ntypedef int fw_hdr_check_t;\n" "$$h" | $(CC) $(filter-out -MMD -MP,$(ALL_CFLAGS)) -I. -x c \
	    -fsyntax-only - || { echo "check-headers: $$h does not compile alone"; fail=1; }; \
	done; [ $$fail = 0 ] && echo "check-headers: every header compiles alone"

check-wire:
	@sh test/check-wire-doc.sh
	@sh tools/manifest-configs.sh --check

# Rewrite the manifests' ConfigMap sources from the embedded default configs.
manifests:
	@sh tools/manifest-configs.sh

check-kustomize:
	@if command -v kubectl >/dev/null 2>&1; then \
	  kubectl kustomize manifests/ > $(BUILD)/manifests.yaml && \
	  echo "check-kustomize: kubectl kustomize manifests/ OK ($$(grep -c '^kind:' $(BUILD)/manifests.yaml) objects)"; \
	else echo "check-kustomize: skipped, kubectl is not installed"; fi

check-empty:
	@if [ -n "$$(ls -A test/tmp 2>/dev/null)" ]; then \
	  echo "check-empty: test/tmp is not empty:"; ls -A test/tmp; exit 1; fi

run: deps
	$(MAKE) all
	@BUILD=$(BUILD) sh tools/run-stack.sh

bench: deps
	$(MAKE) all
	@BUILD=$(BUILD) SHARED=$(SHARED) bash tools/bench.sh

format-check:
	@files=$$(git ls-files '*.c' '*.cc' '*.h' 2>/dev/null || find common tools test $(DAEMONS) -name '*.[ch]' -o -name '*.cc'); \
	  clang-format --dry-run --Werror $$files && echo "format-check: $$(echo $$files | wc -w) files follow .clang-format"

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build build-asan test/tmp

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
